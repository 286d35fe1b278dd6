//! The weekly report's files, in Chinese for the office's clerks: an XLSX
//! workbook (summary with a native chart of the completion rate by village,
//! sheets by village and by category, the overdue list, the week's new
//! hazards) and a CSV of the by-village table with a total row (UTF-8 with a
//! BOM, so that Excel opens it in Chinese).

use anjian_domain::report::{Counters, Facts, Group, HazardFact, Weekly};
use anjian_domain::{HazardStatus, Severity};
use rust_xlsxwriter::{
    Chart, ChartType, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
    XlsxError,
};

/// How a counter is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Count,
    Rate,
}

/// The counters in the order the tables show them: (heading, kind, value).
type Column = (&'static str, Kind, fn(&Counters) -> Option<f64>);

fn n(v: u64) -> Option<f64> {
    Some(v as f64)
}

const COLUMNS: &[Column] = &[
    ("在册企业", Kind::Count, |c| {
        c.enterprises_total.map(|v| v as f64)
    }),
    ("本周检查企业", Kind::Count, |c| {
        c.enterprises_inspected_week.map(|v| v as f64)
    }),
    ("年度检查企业", Kind::Count, |c| {
        c.enterprises_inspected_ytd.map(|v| v as f64)
    }),
    ("本周发现隐患", Kind::Count, |c| {
        n(c.hazards_found_week)
    }),
    ("本周销号隐患", Kind::Count, |c| {
        n(c.hazards_closed_week)
    }),
    ("未销号隐患", Kind::Count, |c| n(c.hazards_open)),
    ("其中待复查", Kind::Count, |c| n(c.hazards_submitted)),
    ("逾期未整改", Kind::Count, |c| n(c.hazards_overdue)),
    ("重大隐患未销号", Kind::Count, |c| n(c.major_open)),
    ("年度发现隐患", Kind::Count, |c| n(c.hazards_found_ytd)),
    ("年度销号隐患", Kind::Count, |c| {
        n(c.hazards_closed_ytd)
    }),
    ("其中按期整改", Kind::Count, |c| {
        n(c.hazards_closed_on_time_ytd)
    }),
    ("年度问题企业", Kind::Count, |c| {
        n(c.problem_enterprises_ytd)
    }),
    ("整改完成企业", Kind::Count, |c| {
        n(c.problem_enterprises_rectified_ytd)
    }),
    ("企业整改完成率", Kind::Rate, |c| {
        Some(c.enterprise_completion_rate)
    }),
    ("隐患整改完成率", Kind::Rate, |c| {
        Some(c.hazard_completion_rate)
    }),
];

/// Index of "企业整改完成率" in [`COLUMNS`] (the chart's values).
const ENTERPRISE_RATE: usize = 14;

pub fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::General => "一般隐患",
        Severity::Major => "重大隐患",
    }
}

pub fn status_label(s: HazardStatus) -> &'static str {
    match s {
        HazardStatus::Open => "待整改",
        HazardStatus::Submitted => "待复查",
        HazardStatus::Closed => "已销号",
        HazardStatus::Cancelled => "已撤销",
    }
}

/// The report's title line.
pub fn title(w: &Weekly) -> String {
    format!(
        "安全生产隐患排查治理周报 {}（{} 至 {}）",
        w.week, w.period_start, w.period_end
    )
}

/// A total row over the villages: the town's own counters.
fn total_row(w: &Weekly) -> Group {
    Group {
        key: String::new(),
        name: "合计".into(),
        counters: w.counters.clone(),
    }
}

/// The by-village table as CSV (UTF-8 with BOM), with a total row.
pub fn csv(w: &Weekly) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| -> String {
        let quoted: Vec<String> = cells
            .into_iter()
            .map(|c| {
                if c.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c
                }
            })
            .collect();
        quoted.join(",") + "\r\n"
    };
    let mut head = vec!["村（社区）".to_owned()];
    head.extend(COLUMNS.iter().map(|(h, _, _)| (*h).to_owned()));
    out.push_str(&line(head));
    let total = total_row(w);
    for g in w.by_village.iter().chain(std::iter::once(&total)) {
        let mut cells = vec![g.name.clone()];
        cells.extend(
            COLUMNS
                .iter()
                .map(|(_, kind, get)| match (get(&g.counters), kind) {
                    (None, _) => String::new(),
                    (Some(v), Kind::Count) => format!("{v:.0}"),
                    (Some(v), Kind::Rate) => format!("{:.2}%", v * 100.0),
                }),
        );
        out.push_str(&line(cells));
    }
    out.into_bytes()
}

struct Formats {
    title: Format,
    head: Format,
    text: Format,
    count: Format,
    rate: Format,
    total: Format,
    total_count: Format,
    total_rate: Format,
    date: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new().set_border(FormatBorder::Thin);
        let total = cell.clone().set_bold().set_background_color("F2F2F2");
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            head: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color("DDEBF7"),
            text: cell.clone(),
            count: cell.clone().set_num_format("#,##0"),
            rate: cell.clone().set_num_format("0.00%"),
            total_count: total.clone().set_num_format("#,##0"),
            total_rate: total.clone().set_num_format("0.00%"),
            total,
            date: cell.set_num_format("yyyy-mm-dd"),
        }
    }
}

/// Writes a table of groups (with a total row when `total`) from `row`;
/// returns the row after it.
fn groups(
    ws: &mut Worksheet,
    f: &Formats,
    (first_head, row): (&str, u32),
    rows: &[Group],
    total: Option<&Group>,
) -> Result<u32, XlsxError> {
    ws.set_row_height(row, 32)?;
    ws.write_string_with_format(row, 0, first_head, &f.head)?;
    ws.set_column_width(0, 16)?;
    for (i, (h, _, _)) in COLUMNS.iter().enumerate() {
        let col = i as u16 + 1;
        ws.write_string_with_format(row, col, *h, &f.head)?;
        ws.set_column_width(col, 11)?;
    }
    let mut r = row + 1;
    for (g, is_total) in rows
        .iter()
        .map(|g| (g, false))
        .chain(total.map(|t| (t, true)))
    {
        ws.write_string_with_format(r, 0, &g.name, if is_total { &f.total } else { &f.text })?;
        for (i, (_, kind, get)) in COLUMNS.iter().enumerate() {
            let col = i as u16 + 1;
            let fmt = match (kind, is_total) {
                (Kind::Count, false) => &f.count,
                (Kind::Rate, false) => &f.rate,
                (Kind::Count, true) => &f.total_count,
                (Kind::Rate, true) => &f.total_rate,
            };
            match get(&g.counters) {
                Some(v) => ws.write_number_with_format(r, col, v, fmt)?,
                None => ws.write_string_with_format(r, col, "—", fmt)?,
            };
        }
        r += 1;
    }
    ws.set_freeze_panes(row + 1, 1)?;
    Ok(r)
}

/// A list's header row (row 3) with its columns' widths; the rows below
/// it stay in view when scrolling.
fn table_head(ws: &mut Worksheet, f: &Formats, columns: &[(&str, f64)]) -> Result<(), XlsxError> {
    for (i, (head, width)) in columns.iter().enumerate() {
        let col = u16::try_from(i).unwrap_or(u16::MAX);
        ws.write_string_with_format(2, col, *head, &f.head)?;
        ws.set_column_width(col, *width)?;
    }
    ws.set_freeze_panes(3, 0)?;
    Ok(())
}

fn excel_date(d: chrono::NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    use chrono::Datelike;
    ExcelDateTime::from_ymd(
        u16::try_from(d.year()).unwrap_or(1900),
        d.month() as u8,
        d.day() as u8,
    )
}

/// The workbook.
pub fn xlsx(w: &Weekly, facts: &Facts) -> Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut book = Workbook::new();

    // By village first: the summary's chart reads its rows.
    let mut villages = Worksheet::new();
    villages.set_name("按村")?;
    villages.write_string_with_format(0, 0, title(w), &f.title)?;
    let total = total_row(w);
    groups(
        &mut villages,
        &f,
        ("村（社区）", 2),
        &w.by_village,
        Some(&total),
    )?;

    let mut summary = Worksheet::new();
    summary.set_name("汇总")?;
    summary.write_string_with_format(0, 0, title(w), &f.title)?;
    summary.write_string(1, 0, "统计口径：截至周报截止时间（下周一 08:00）服务器已接收的记录；状态按本周末，期限、等级、所属村按截止时间。")?;
    summary.set_column_width(0, 22)?;
    summary.set_column_width(1, 14)?;
    summary.write_string_with_format(3, 0, "指标", &f.head)?;
    summary.write_string_with_format(3, 1, "数值", &f.head)?;
    for (i, (h, kind, get)) in COLUMNS.iter().enumerate() {
        let r = 4 + i as u32;
        summary.write_string_with_format(r, 0, *h, &f.text)?;
        let fmt = if *kind == Kind::Rate {
            &f.rate
        } else {
            &f.count
        };
        match get(&w.counters) {
            Some(v) => summary.write_number_with_format(r, 1, v, fmt)?,
            None => summary.write_string_with_format(r, 1, "—", fmt)?,
        };
    }
    if !w.by_village.is_empty() {
        let last = 2 + w.by_village.len() as u32;
        let rate_col = ENTERPRISE_RATE as u16 + 1;
        let mut chart = Chart::new(ChartType::Column);
        chart.title().set_name("各村企业整改完成率");
        chart
            .add_series()
            .set_name("企业整改完成率")
            .set_categories(("按村", 3, 0, last, 0))
            .set_values(("按村", 3, rate_col, last, rate_col));
        chart
            .y_axis()
            .set_num_format("0%")
            .set_max(1.0)
            .set_min(0.0);
        chart.legend().set_hidden();
        chart.set_width(720).set_height(360);
        summary.insert_chart(3, 3, &chart)?;
    }
    book.push_worksheet(summary);
    book.push_worksheet(villages);

    let mut categories = Worksheet::new();
    categories.set_name("按类别")?;
    categories.write_string_with_format(0, 0, title(w), &f.title)?;
    let r = groups(&mut categories, &f, ("隐患类别", 2), &w.by_category, None)?;
    let severities: Vec<Group> = w
        .by_severity
        .iter()
        .map(|g| Group {
            name: Severity::parse(&g.key)
                .map_or_else(|| g.name.clone(), |s| severity_label(s).to_owned()),
            ..g.clone()
        })
        .collect();
    groups(&mut categories, &f, ("隐患等级", r + 1), &severities, None)?;
    book.push_worksheet(categories);

    let mut overdue = Worksheet::new();
    overdue.set_name("逾期隐患")?;
    overdue.write_string_with_format(
        0,
        0,
        format!("{}：逾期未整改隐患（挂牌督办候选）", title(w)),
        &f.title,
    )?;
    table_head(
        &mut overdue,
        &f,
        &[
            ("企业名称", 34.0),
            ("所属村", 14.0),
            ("隐患", 36.0),
            ("等级", 10.0),
            ("整改期限", 12.0),
            ("逾期天数", 10.0),
        ],
    )?;
    for (i, o) in w.overdue.iter().enumerate() {
        let r = 3 + i as u32;
        overdue.write_string_with_format(r, 0, &o.enterprise_name, &f.text)?;
        overdue.write_string_with_format(r, 1, &o.village, &f.text)?;
        overdue.write_string_with_format(r, 2, &o.title, &f.text)?;
        overdue.write_string_with_format(r, 3, severity_label(o.severity), &f.text)?;
        overdue.write_date_with_format(r, 4, excel_date(o.deadline)?, &f.date)?;
        overdue.write_number_with_format(r, 5, o.days_overdue as f64, &f.count)?;
    }
    book.push_worksheet(overdue);

    let mut found = Worksheet::new();
    found.set_name("本周新增隐患")?;
    found.write_string_with_format(0, 0, format!("{}：本周新增隐患", title(w)), &f.title)?;
    table_head(
        &mut found,
        &f,
        &[
            ("企业名称", 34.0),
            ("所属村", 14.0),
            ("隐患", 36.0),
            ("类别", 12.0),
            ("等级", 10.0),
            ("发现日期", 12.0),
            ("整改期限", 12.0),
            ("周末状态", 10.0),
        ],
    )?;
    let names: std::collections::HashMap<_, _> =
        facts.enterprises.iter().map(|e| (e.id, e)).collect();
    let mut new: Vec<&HazardFact> = facts
        .hazards
        .iter()
        .filter(|h| h.found_on >= w.period_start && h.found_on <= w.period_end)
        .collect();
    new.sort_by(|a, b| a.found_on.cmp(&b.found_on).then(a.id.cmp(&b.id)));
    for (i, h) in new.iter().enumerate() {
        let r = 3 + i as u32;
        let e = names.get(&h.enterprise_id);
        let village = e
            .and_then(|e| facts.villages.get(&e.village_id))
            .map_or("", String::as_str);
        found.write_string_with_format(r, 0, e.map_or("", |e| e.name.as_str()), &f.text)?;
        found.write_string_with_format(r, 1, village, &f.text)?;
        found.write_string_with_format(r, 2, &h.title, &f.text)?;
        found.write_string_with_format(r, 3, &h.category, &f.text)?;
        found.write_string_with_format(r, 4, severity_label(h.severity), &f.text)?;
        found.write_date_with_format(r, 5, excel_date(h.found_on)?, &f.date)?;
        found.write_date_with_format(r, 6, excel_date(h.deadline)?, &f.date)?;
        found.write_string_with_format(r, 7, status_label(h.status), &f.text)?;
    }
    book.push_worksheet(found);

    book.save_to_buffer()
}
