//! Roster files (CSV or XLSX): parsing, and the import that creates, updates or
//! leaves unchanged each enterprise by credit code. A rejected row changes
//! nothing; the accepted rows are written in one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;

use anjian_domain::enterprise::EnterpriseDraft;
use anjian_domain::{Error, FieldErrors, Result};
use anjian_store::entity::{enterprise, village};
use anjian_store::repo::enterprises::{self, apply, new_model};
use anjian_store::repo::villages;
use anjian_store::{Actor, Db, WriteTx};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Columns of a roster, with the Chinese headings accepted as well.
const COLUMNS: &[(&str, &str)] = &[
    ("credit_code", "统一社会信用代码"),
    ("name", "企业名称"),
    ("address", "地址"),
    ("village", "村社区"),
    ("industry_code", "行业代码"),
    ("scale", "规模"),
    ("risk_tags", "风险标签"),
    ("status", "状态"),
    ("contact_name", "联系人"),
    ("contact_phone", "联系电话"),
    ("lat", "纬度"),
    ("lon", "经度"),
];
const REQUIRED: &[&str] = &[
    "credit_code",
    "name",
    "address",
    "village",
    "industry_code",
    "scale",
    "contact_name",
    "contact_phone",
];

/// One data row: its spreadsheet row number (the heading is row 1) and its cells by column.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: usize,
    pub cells: HashMap<&'static str, String>,
}

impl Row {
    fn get(&self, col: &str) -> &str {
        self.cells.get(col).map_or("", String::as_str)
    }
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub row: usize,
    pub errors: BTreeMap<String, Vec<String>>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportOutcome {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: Vec<Rejected>,
}

fn column_of(heading: &str) -> Option<&'static str> {
    let h = heading.trim().trim_start_matches('\u{feff}');
    let lower = h.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "village_code" | "village_name" | "village_id" => "village",
        other => other,
    };
    COLUMNS
        .iter()
        .find(|(en, zh)| *en == alias || *zh == h)
        .map(|(en, _)| *en)
}

fn rows_from(headings: Vec<String>, data: Vec<(usize, Vec<String>)>) -> Result<Vec<Row>> {
    let cols: Vec<Option<&'static str>> = headings.iter().map(|h| column_of(h)).collect();
    let mut missing = FieldErrors::new();
    for req in REQUIRED {
        if !cols.contains(&Some(*req)) {
            missing.add("file", format!("missing_column:{req}"));
        }
    }
    missing.into_result()?;
    Ok(data
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(number, cells)| Row {
            number,
            cells: cols
                .iter()
                .zip(cells)
                .filter_map(|(c, v)| c.map(|c| (c, v)))
                .collect(),
        })
        .collect())
}

/// Parses a CSV roster (UTF-8, heading row first).
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<Row>> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::validation("file", "not_utf8"))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let headings: Vec<String> = match records.next() {
        Some(Ok(r)) => r.iter().map(str::to_owned).collect(),
        Some(Err(_)) => return Err(Error::validation("file", "malformed_csv")),
        None => return Err(Error::validation("file", "empty")),
    };
    let mut data = Vec::new();
    for (i, rec) in records.enumerate() {
        let rec = rec.map_err(|_| {
            Error::validation("file", format!("malformed_csv_row:{}", i + 2).as_str())
        })?;
        data.push((i + 2, rec.iter().map(str::to_owned).collect()));
    }
    rows_from(headings, data)
}

fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Parses the first worksheet of an XLSX roster.
pub fn parse_xlsx(bytes: &[u8]) -> Result<Vec<Row>> {
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(Cursor::new(bytes))
        .map_err(|_| Error::validation("file", "malformed_xlsx"))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| Error::validation("file", "empty"))?
        .map_err(|_| Error::validation("file", "malformed_xlsx"))?;
    let start_row = range.start().map_or(0, |(r, _)| r as usize);
    let mut rows = range.rows();
    let headings: Vec<String> = rows
        .next()
        .ok_or_else(|| Error::validation("file", "empty"))?
        .iter()
        .map(cell_text)
        .collect();
    let data = rows
        .enumerate()
        .map(|(i, r)| (start_row + i + 2, r.iter().map(cell_text).collect()))
        .collect();
    rows_from(headings, data)
}

/// Parses CSV or XLSX, told apart by content (an XLSX file is a ZIP archive).
pub fn parse(bytes: &[u8]) -> Result<Vec<Row>> {
    if bytes.starts_with(b"PK\x03\x04") {
        parse_xlsx(bytes)
    } else {
        parse_csv(bytes)
    }
}

fn parse_coord(row: &Row, col: &str, errors: &mut FieldErrors) -> Option<f64> {
    let v = row.get(col).trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() => Some(f),
        _ => {
            errors.add(col, "invalid");
            None
        }
    }
}

/// Turns rows into validated models; rows with errors are returned as rejected.
fn validate_rows(
    villages: &[village::Model],
    rows: &[Row],
    now: DateTime<Utc>,
) -> (Vec<(usize, enterprise::Model)>, Vec<Rejected>) {
    let village_of = |key: &str| {
        let key = key.trim();
        villages
            .iter()
            .find(|v| v.code == key || v.name == key || v.id.to_string() == key)
            .map(|v| v.id)
    };
    let mut seen = HashSet::new();
    let mut ok = Vec::new();
    let mut rejected = Vec::new();
    for row in rows {
        let mut errors = FieldErrors::new();
        let village_id = village_of(row.get("village"));
        if village_id.is_none() {
            errors.add("village", "unknown");
        }
        let draft = EnterpriseDraft {
            credit_code: row.get("credit_code").to_owned(),
            name: row.get("name").to_owned(),
            address: row.get("address").to_owned(),
            village_id: village_id.or(Some(Uuid::nil())),
            industry_code: row.get("industry_code").to_owned(),
            scale: row.get("scale").to_owned(),
            risk_tags: row
                .get("risk_tags")
                .split(['|', ';', ',', '；', '，'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            status: row.get("status").to_owned(),
            contact_name: row.get("contact_name").to_owned(),
            contact_phone: row.get("contact_phone").to_owned(),
            lat: parse_coord(row, "lat", &mut errors),
            lon: parse_coord(row, "lon", &mut errors),
        };
        match draft.validate() {
            Ok(f) if errors.is_empty() => {
                if seen.insert(f.credit_code.clone()) {
                    ok.push((row.number, new_model(Uuid::now_v7(), &f, now)));
                } else {
                    errors.add("credit_code", "duplicate_in_file");
                }
            }
            Ok(_) => {}
            Err(e) => {
                for (field, reasons) in e.0 {
                    for r in reasons {
                        errors.add(field.clone(), r);
                    }
                }
            }
        }
        if !errors.is_empty() {
            rejected.push(Rejected {
                row: row.number,
                errors: errors.0,
            });
        }
    }
    (ok, rejected)
}

/// Imports a roster inside `tx`: creates new credit codes, updates changed
/// ones, counts the rest.
pub(crate) async fn import_in(tx: &mut WriteTx, bytes: &[u8]) -> Result<ImportOutcome> {
    let rows = parse(bytes)?;
    // Optional columns the file does not have keep their stored values.
    let has = |col: &str| rows.first().is_some_and(|r| r.cells.contains_key(col));
    let (keep_tags, keep_status, keep_location) = (
        !has("risk_tags"),
        !has("status"),
        !has("lat") || !has("lon"),
    );
    let villages = villages::all(tx).await?;
    let (valid, rejected) = validate_rows(&villages, &rows, tx.now());
    let mut out = ImportOutcome {
        rejected,
        ..ImportOutcome::default()
    };
    let codes: Vec<String> = valid.iter().map(|(_, m)| m.credit_code.clone()).collect();
    let existing = enterprises::by_credit_code(tx, &codes).await?;
    let mut new = Vec::new();
    for (_, m) in valid {
        let Some(before) = existing.get(&m.credit_code) else {
            new.push(m);
            continue;
        };
        let fields = enterprises::to_draft(&m)
            .validate()
            .map_err(Error::Validation)?;
        let mut after = apply(before.clone(), &fields);
        if keep_tags {
            after.risk_tags = before.risk_tags.clone();
        }
        if keep_status {
            after.status = before.status;
        }
        if keep_location {
            (after.lat, after.lon) = (before.lat, before.lon);
        }
        if &after == before {
            out.unchanged += 1;
        } else {
            enterprises::write_update(tx, "enterprise.import", before, after).await?;
            out.updated += 1;
        }
    }
    out.created = new.len() as u64;
    tx.insert_many("enterprise.import", new).await?;
    Ok(out)
}

/// Imports a roster in one transaction.
pub(crate) async fn import(db: &Db, actor: Actor, bytes: &[u8]) -> Result<ImportOutcome> {
    let mut tx = db.write(actor).await?;
    let out = import_in(&mut tx, bytes).await?;
    tx.commit().await?;
    Ok(out)
}
