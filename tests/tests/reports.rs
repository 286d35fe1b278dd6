//! The weekly report (api.md "Reports"): figures as the server knew them at
//! the week's cut-off (Monday 08:00 office time), whatever arrives later;
//! the same figures each time a week is made again; ISO weeks in the office
//! time zone across a year end; who may read them.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::sync::Arc;

use anjian_domain::FixedClock;
use anjian_tests::field::{Field, field_on, hazard, submit};
use anjian_tests::{Device, TestApp, envelope_code};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// An office-time moment (`2026-11-29 23:59`) as an instant.
fn local(s: &str) -> DateTime<Utc> {
    let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    anjian_domain::DeadlinePolicy::default()
        .tz
        .from_local_datetime(&n)
        .unwrap()
        .with_timezone(&Utc)
}

struct Town {
    f: Field,
    clock: FixedClock,
    insp: Device,
    office: String,
    template: Value,
}

async fn town(start: &str) -> Town {
    let clock = FixedClock::at(local(start));
    let app = TestApp::spawn_with(anjian::StartOptions {
        clock: Some(Arc::new(clock.clone())),
        ..anjian::StartOptions::default()
    })
    .await;
    let f = field_on(app).await;
    let insp = f.inspector("insp_r", 0).await;
    let office = f.office("office_r").await.token;
    let (_, t) = f.app.get("/api/v1/templates", &f.admin).await;
    let template = t["items"][0].clone();
    Town {
        f,
        clock,
        insp,
        office,
        template,
    }
}

impl Town {
    /// Pushes, at office time `at`, a hazard of enterprise `e` (of village
    /// 0) found at office time `found`, due `deadline` when given.
    async fn hazard(&mut self, at: &str, e: usize, found: &str, deadline: Option<&str>) -> String {
        self.clock.set(local(at));
        let mut h = hazard(&self.f.ents[0][e], "general");
        h["found_at"] = json!(local(found));
        if let Some(d) = deadline {
            h["deadline"] = json!(d);
        }
        let m = self.insp.mutation("hazard.create", None, h.clone());
        let (_, b) = self.f.app.push(&self.insp, vec![m]).await;
        assert_eq!(b["results"][0]["status"], "applied", "{b}");
        h["id"].as_str().unwrap().to_owned()
    }

    /// Pushes, at office time `at`, an inspection of enterprise `e` finished at `finished`.
    async fn inspection(&mut self, at: &str, e: usize, finished: &str) {
        self.clock.set(local(at));
        let item = self.template["items"][0]["code"].clone();
        let m = self.insp.mutation(
            "inspection.create",
            None,
            json!({"id": Uuid::now_v7(), "enterprise_id": self.f.ents[0][e]["id"],
                "template_id": self.template["id"], "template_version": self.template["version"],
                "started_at": local(finished) - chrono::Duration::hours(1), "finished_at": local(finished),
                "results": [{"item_code": item, "outcome": "pass", "note": ""}], "summary": "未发现隐患"}),
        );
        let (_, b) = self.f.app.push(&self.insp, vec![m]).await;
        assert_eq!(b["results"][0]["status"], "applied", "{b}");
    }

    /// At office time `at`: a rectification recorded on site, then the office's acceptance.
    async fn close(&self, at: &str, id: &str) {
        self.clock.set(local(at));
        submit(&self.f, id).await;
        let (s, b) = self
            .f
            .app
            .post(
                &format!("/api/v1/hazards/{id}/review"),
                &self.office,
                json!({"decision": "accept", "comment": ""}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    /// Makes the report of `week` at office time `at`.
    async fn generate(&self, at: &str, week: &str) -> Value {
        self.clock.set(local(at));
        let (s, b) = self
            .f
            .app
            .post(
                &format!("/api/v1/reports/weekly/{week}/generate"),
                &self.office,
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }
}

/// The figures without the moment they were made.
fn figures(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("generated_at");
    r
}

fn counters(r: &Value, names: &[&str]) -> Vec<i64> {
    names.iter().map(|n| r[*n].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_week_counts_what_the_server_knew_at_its_cut_off() {
    let mut t = town("2026-11-23 09:00").await;
    // W48: Monday 23 to Sunday 29 November 2026; cut-off Monday 30, 08:00.
    t.inspection("2026-11-24 11:00", 0, "2026-11-24 10:00")
        .await;
    let h1 = t
        .hazard(
            "2026-11-24 11:00",
            0,
            "2026-11-24 10:00",
            Some("2026-11-27"),
        )
        .await;
    let _h2 = t
        .hazard(
            "2026-11-25 11:00",
            0,
            "2026-11-25 10:00",
            Some("2026-11-29"),
        )
        .await;
    let h3 = t
        .hazard(
            "2026-11-25 11:00",
            0,
            "2026-11-24 10:00",
            Some("2026-12-09"),
        )
        .await;
    let h4 = t
        .hazard(
            "2026-11-25 12:00",
            0,
            "2026-11-25 10:00",
            Some("2026-12-10"),
        )
        .await;
    // Closed on Sunday at 23:59: in the week. Closed at Monday 00:00: not.
    t.close("2026-11-29 23:59", &h3).await;
    t.inspection("2026-11-29 23:59", 1, "2026-11-29 23:59")
        .await;
    t.close("2026-11-30 00:00", &h4).await;
    t.inspection("2026-11-30 00:00", 2, "2026-11-30 00:00")
        .await;
    // Found on Sunday, pushed before the cut-off: counts; after it: does not.
    let _h5 = t
        .hazard("2026-11-30 07:59", 1, "2026-11-29 22:00", None)
        .await;
    let h6 = t
        .hazard("2026-11-30 08:00", 1, "2026-11-29 21:00", None)
        .await;

    let w48 = t.generate("2026-11-30 10:00", "2026-W48").await;
    assert_eq!(w48["week"], "2026-W48");
    assert_eq!(
        (&w48["period_start"], &w48["period_end"]),
        (&json!("2026-11-23"), &json!("2026-11-29"))
    );
    assert_eq!(w48["provisional"], false);
    assert_eq!(
        counters(
            &w48,
            &[
                "hazards_found_week",
                "hazards_closed_week",
                "hazards_open",
                "hazards_overdue",
                "major_open",
                "problem_enterprises_ytd",
                "problem_enterprises_rectified_ytd",
                "enterprises_inspected_week",
                "enterprises_inspected_ytd",
            ]
        ),
        [5, 1, 4, 1, 0, 2, 0, 2, 2],
        "{w48}"
    );
    assert_eq!(w48["hazard_completion_rate"], 0.2);
    assert_eq!(w48["enterprise_completion_rate"], 0.0);
    // Overdue the day after its deadline (27th): two days on the Sunday;
    // due on the Sunday itself is not overdue.
    let overdue = w48["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1, "{w48}");
    assert_eq!(overdue[0]["hazard_id"], json!(h1));
    assert_eq!(overdue[0]["days_overdue"], 2);
    assert_eq!(overdue[0]["deadline"], "2026-11-27");
    assert_eq!(
        overdue[0]["enterprise_name"], t.f.ents[0][0]["name"],
        "{w48}"
    );
    assert!(!overdue[0]["village"].as_str().unwrap().is_empty());
    // Breakdowns carry the same counters.
    let village0 = w48["by_village"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == json!(t.f.villages[0]))
        .unwrap();
    assert_eq!(village0["hazards_found_week"], 5);
    let total: i64 = w48["by_village"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["enterprises_total"].as_i64().unwrap())
        .sum();
    assert_eq!(Some(total), w48["enterprises_total"].as_i64());
    assert!(total > 0);
    let general = &w48["by_severity"][0];
    assert_eq!(
        (&general["key"], &general["hazards_found_week"]),
        (&json!("general"), &json!(5))
    );
    assert_eq!(w48["by_category"][0]["key"], "电气");
    assert_eq!(w48["by_category"][0]["enterprises_total"], Value::Null);

    files_open_cleanly(&t, &h1).await;

    // Made again at once: the same figures, to the byte.
    let again = t.generate("2026-11-30 10:05", "2026-W48").await;
    assert_eq!(
        serde_json::to_string(&figures(again)).unwrap(),
        serde_json::to_string(&figures(w48.clone())).unwrap()
    );

    // Later: h1 closed, a W48 finding pushed only now, the deadline of
    // nothing else moves. W48 stays as it was.
    t.close("2026-12-01 09:00", &h1).await;
    let _late = t
        .hazard("2026-12-01 09:30", 1, "2026-11-26 10:00", None)
        .await;
    t.inspection("2026-12-01 09:30", 3, "2026-11-27 10:00")
        .await;
    let regenerated = t.generate("2026-12-01 10:00", "2026-W48").await;
    assert_eq!(figures(regenerated), figures(w48.clone()));
    let (s, stored) =
        t.f.app
            .get("/api/v1/reports/weekly/2026-W48", &t.office)
            .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(figures(stored.clone()), figures(w48.clone()));
    assert_ne!(stored["generated_at"], w48["generated_at"]);

    // The week in progress is provisional, and counts the late records in
    // the year's figures.
    let w49 = t.generate("2026-12-01 10:00", "2026-W49").await;
    assert_eq!(w49["provisional"], true);
    assert_eq!(
        counters(
            &w49,
            &[
                "hazards_found_week",
                "hazards_closed_week",
                "hazards_found_ytd",
                "hazards_closed_ytd",
                "enterprises_inspected_ytd",
            ]
        ),
        [0, 2, 7, 3, 4],
        "{w49}"
    );
    let _ = h6;
    let (s, list) = t.f.app.get("/api/v1/reports/weekly", &t.office).await;
    assert_eq!(s, StatusCode::OK);
    let weeks: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["week"].as_str().unwrap())
        .collect();
    assert_eq!(weeks, ["2026-W49", "2026-W48"]);
}

/// The week's files: the workbook opens with its five sheets, the figures
/// and the overdue hazard in them; the CSV is the table by village with a
/// total row, UTF-8 with a BOM.
async fn files_open_cleanly(t: &Town, overdue_id: &str) {
    use calamine::Reader;
    let get = |path: &'static str| {
        let app = &t.f.app;
        app.req(reqwest::Method::GET, path, Some(&t.office)).send()
    };
    let r = get("/api/v1/reports/weekly/2026-W48.xlsx").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%E5%AE%89%E5%85%A8")
    );
    let bytes = r.bytes().await.unwrap();
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(
        wb.sheet_names(),
        ["汇总", "按村", "按类别", "逾期隐患", "本周新增隐患"]
    );
    let rows = |wb: &mut calamine::Xlsx<_>, name: &str| -> Vec<Vec<String>> {
        wb.worksheet_range(name)
            .unwrap()
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    };
    let summary = rows(&mut wb, "汇总");
    let found = summary.iter().find(|r| r[0] == "本周发现隐患").unwrap();
    assert_eq!(found[1], "5");
    let overdue = rows(&mut wb, "逾期隐患");
    assert_eq!(overdue[2][..2], ["企业名称", "所属村"]);
    assert_eq!(overdue[3][0], t.f.ents[0][0]["name"].as_str().unwrap());
    assert_eq!(overdue[3][5], "2");
    assert_eq!(overdue.len(), 4, "one overdue hazard ({overdue_id})");
    assert_eq!(rows(&mut wb, "本周新增隐患").len(), 3 + 5);
    let villages = rows(&mut wb, "按村");
    assert_eq!(villages.last().unwrap()[0], "合计");

    let r = get("/api/v1/reports/weekly/2026-W48.csv").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = r.bytes().await.unwrap();
    assert!(text.starts_with("\u{feff}".as_bytes()));
    let text = std::str::from_utf8(&text[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("村（社区）,在册企业,"), "{}", lines[0]);
    assert!(lines.last().unwrap().starts_with("合计,"));
    assert_eq!(lines.len(), 2 + t.f.villages.len());
    // A week never made has no files.
    let r = get("/api/v1/reports/weekly/2026-W40.xlsx").await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn weeks_cross_the_year_end_in_the_office_time_zone() {
    let mut t = town("2027-01-03 09:00").await;
    // Sunday 3 January 2027, 23:59 is in 2026-W53; a minute later is 2027-W01.
    t.hazard("2027-01-03 23:59", 0, "2027-01-03 23:59", None)
        .await;
    t.hazard("2027-01-04 00:00", 1, "2027-01-04 00:00", None)
        .await;
    let w53 = t.generate("2027-01-04 09:00", "2026-W53").await;
    assert_eq!(
        (&w53["period_start"], &w53["period_end"]),
        (&json!("2026-12-28"), &json!("2027-01-03"))
    );
    assert_eq!(
        counters(
            &w53,
            &["hazards_found_week", "hazards_found_ytd", "hazards_open"]
        ),
        [1, 1, 1]
    );
    let w01 = t.generate("2027-01-11 09:00", "2027-W01").await;
    assert_eq!(w01["period_start"], "2027-01-04");
    // The year is 2027's: last week's finding is still open, but not this year's.
    assert_eq!(
        counters(
            &w01,
            &[
                "hazards_found_week",
                "hazards_found_ytd",
                "hazards_open",
                "problem_enterprises_ytd"
            ]
        ),
        [1, 1, 2, 1]
    );
    // 2027 has no week 53.
    let (s, _) =
        t.f.app
            .post(
                "/api/v1/reports/weekly/2027-W53/generate",
                &t.office,
                json!({}),
            )
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_week_without_data_and_who_may_see_reports() {
    let t = town("2026-03-09 09:00").await;
    let w = t.generate("2026-03-09 09:00", "2026-W11").await;
    // The week in progress, with nothing in it.
    assert_eq!(w["provisional"], true);
    assert_eq!(
        counters(
            &w,
            &[
                "hazards_found_week",
                "hazards_open",
                "hazards_overdue",
                "problem_enterprises_ytd",
                "enterprises_inspected_ytd"
            ]
        ),
        [0, 0, 0, 0, 0]
    );
    assert_eq!(w["enterprise_completion_rate"], 0.0);
    assert!(w["overdue"].as_array().unwrap().is_empty());
    assert!(!w["by_village"].as_array().unwrap().is_empty());
    let app = &t.f.app;
    // Not begun yet: nothing to count.
    let (s, b) = app
        .post(
            "/api/v1/reports/weekly/2026-W12/generate",
            &t.office,
            json!({}),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed".into())
    );
    // Never made, or not a week: not found.
    for path in ["2026-W10", "2026-W99", "2026-48", "x"] {
        let (s, _) = app
            .get(&format!("/api/v1/reports/weekly/{path}"), &t.office)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    // Office and admin only.
    app.create_user(
        &t.f.admin,
        json!({"username": "ent_r", "display_name": "ent_r", "role": "enterprise",
            "enterprise_id": t.f.ents[0][0]["id"], "password": "enterprise-pass-1"}),
    )
    .await;
    let ent = app.login("ent_r", "enterprise-pass-1").await;
    for token in [&t.insp.token, &ent] {
        for path in ["/api/v1/reports/weekly", "/api/v1/reports/weekly/2026-W11"] {
            let (s, b) = app.get(path, token).await;
            assert_eq!(
                (s, envelope_code(&b)),
                (StatusCode::FORBIDDEN, "forbidden".into())
            );
        }
        let (s, _) = app
            .post("/api/v1/reports/weekly/2026-W11/generate", token, json!({}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _) = app.get("/api/v1/reports/weekly", "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b) = app.get("/api/v1/reports/weekly/2026-W11", &t.f.admin).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(figures(b), figures(w));
}
