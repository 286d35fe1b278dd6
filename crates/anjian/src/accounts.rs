//! `anjian users provision-enterprises`: the enterprise accounts made, written
//! as a spreadsheet the office can print or send to each enterprise.

use std::collections::HashMap;
use std::path::Path;

use anjian_store::repo::PageRequest;
use anjian_usecases::access::Provision;
use anyhow::Context;
use rust_xlsxwriter::{Format, FormatBorder, Workbook};
use uuid::Uuid;

/// Makes the accounts and writes the list to `xlsx`. The file is opened
/// before anything is made (an unwritable path changes nothing: the one-time
/// passwords exist nowhere else), written under a temporary name, synced, and
/// renamed into place.
pub async fn provision(db: &anjian_store::Db, xlsx: &Path) -> anyhow::Result<Provision> {
    let tmp = xlsx.with_extension("xlsx.part");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let p = anjian_usecases::access::provision(db, anjian_store::Actor::system())
        .await
        .context("provisioning the enterprise accounts")?;
    let page = PageRequest {
        after: None,
        limit: 500,
    };
    let villages: HashMap<Uuid, String> = anjian_usecases::reference::villages(db, &page)
        .await?
        .items
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect();
    let bytes = list(&p, &villages)?;
    std::io::Write::write_all(&mut file, &bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, xlsx).with_context(|| format!("writing {}", xlsx.display()))?;
    Ok(p)
}

/// One row per account: village, enterprise, credit code, username, initial
/// password; Chinese headers, widths for printing, a frozen header row.
fn list(p: &Provision, villages: &HashMap<Uuid, String>) -> anyhow::Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("企业账号")?;
    let head = Format::new().set_bold().set_border(FormatBorder::Thin);
    let cell = Format::new().set_border(FormatBorder::Thin);
    let code = Format::new()
        .set_border(FormatBorder::Thin)
        .set_font_name("Consolas");
    let headers = [
        ("序号", 6.0),
        ("所属村（社区）", 14.0),
        ("企业名称", 40.0),
        ("统一社会信用代码", 24.0),
        ("登录用户名", 24.0),
        ("初始密码", 16.0),
    ];
    for (col, (h, width)) in headers.iter().enumerate() {
        let col = u16::try_from(col)?;
        ws.write_string_with_format(0, col, *h, &head)?;
        ws.set_column_width(col, *width)?;
    }
    for (i, a) in p.created.iter().enumerate() {
        let row = u32::try_from(i + 1)?;
        let village = villages
            .get(&a.enterprise.village_id)
            .map_or("", String::as_str);
        ws.write_number_with_format(row, 0, f64::from(row), &cell)?;
        ws.write_string_with_format(row, 1, village, &cell)?;
        ws.write_string_with_format(row, 2, &a.enterprise.name, &cell)?;
        ws.write_string_with_format(row, 3, &a.enterprise.credit_code, &code)?;
        ws.write_string_with_format(row, 4, &a.username, &code)?;
        ws.write_string_with_format(row, 5, &a.initial_password, &code)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let note_row = u32::try_from(p.created.len() + 2)?;
    ws.write_string(
        note_row,
        0,
        "初始密码仅可使用一次：首次登录企业端后须立即修改。也可用统一社会信用代码登录。请妥善分发，勿外传。",
    )?;
    Ok(wb.save_to_buffer()?)
}
