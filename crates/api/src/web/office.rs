//! The office dashboard (安监办工作台), for the office and admins: today's
//! figures with the by-village table and a chart of the last weeks, the
//! review queue (accept or reject with a comment; a major hazard with its
//! plan), the overdue list (挂牌督办 candidates) sortable by days overdue,
//! and the extension requests waiting for a decision.

use anjian_domain::Error;
use anjian_domain::hazard::lifecycle::{Decision, PLAN_PARTS, Plan};
use anjian_domain::hazard::{HazardStatus, Severity};
use anjian_domain::photo::PhotoStatus;
use anjian_usecases::lifecycle::{self, Input, Target};
use anjian_usecases::{dashboard, records};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::portal::{
    csrf_ok, csrf_refused, failure, flash, form_errors, record_page, signed_in, status_of,
};
use super::{Frame, i18n, lang, see_other};
use crate::context::{self, Lang};
use crate::state::AppState;

fn percent(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// Today's figures, the by-village table and the weekly chart.
pub async fn overview(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = "/office";
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = lang(&headers);
    let policy = state.settings.policy;
    let f = match dashboard::figures(&state.db, &s.user, (&policy, state.clock.now())).await {
        Ok(f) => f,
        Err(e) => return failure(&state, &headers, path, e),
    };
    let t = &f.total;
    let w = |k: &str| i18n::word(l, k);
    let figures = json!([
        {"label": w("fig_open"), "value": t.open},
        {"label": w("fig_submitted"), "value": t.submitted},
        {"label": w("fig_overdue"), "value": t.overdue},
        {"label": w("fig_major_open"), "value": t.major_open},
        {"label": w("fig_found_ytd"), "value": t.found_ytd},
        {"label": w("fig_closed_ytd"), "value": t.closed_ytd},
        {"label": w("fig_on_time"), "value": t.closed_on_time_ytd},
        {"label": w("fig_hazard_rate"), "value": percent(t.hazard_completion_rate)},
        {"label": w("fig_problem"), "value": t.problem_enterprises_ytd},
        {"label": w("fig_rectified"), "value": t.problem_enterprises_rectified_ytd},
        {"label": w("fig_enterprise_rate"), "value": percent(t.enterprise_completion_rate)},
    ]);
    let row = |name: &str, t: &anjian_domain::figures::Tally, total: bool| {
        json!({
            "name": name, "t": t, "total": total,
            "hazard_rate": percent(t.hazard_completion_rate),
            "enterprise_rate": percent(t.enterprise_completion_rate),
        })
    };
    let mut villages: Vec<Value> = f
        .villages
        .iter()
        .map(|(v, t)| row(&v.name, t, false))
        .collect();
    villages.push(row(w("total"), t, true));
    // Bars of the chart, scaled to the busiest week.
    let (width, height, top, bar) = (560i64, 190i64, 20i64, 16i64);
    let base = height - 24;
    let max = f
        .weeks
        .iter()
        .map(|(_, found, closed)| (*found).max(*closed))
        .max()
        .unwrap_or(0)
        .max(1);
    let span = base - top;
    let h = |n: u64| (n as i64 * span) / max as i64;
    let weeks: Vec<Value> = f
        .weeks
        .iter()
        .enumerate()
        .map(|(i, (monday, found, closed))| {
            let x = 40 + i as i64 * 43;
            json!({
                "x": x, "label": monday.format("%m-%d").to_string(),
                "found": found, "closed": closed,
                "found_y": base - h(*found), "found_h": h(*found),
                "closed_y": base - h(*closed), "closed_h": h(*closed),
            })
        })
        .collect();
    Frame {
        lang: l,
        path,
        session: Some(&s),
        flash: flash(l, q.done.as_deref()),
        errors: Vec::new(),
    }
    .render(
        StatusCode::OK,
        "office.html",
        json!({
            "heading": w("today_figures").replace("{date}", &f.today.to_string()),
            "figures": figures,
            "villages": villages,
            "chart": {"width": width, "height": height, "top": top, "base": base, "bar": bar, "max": max, "weeks": weeks},
        }),
    )
}

fn plan_view(l: Lang, stored: Option<&Value>) -> (Vec<Value>, bool) {
    let plan = Plan::from_stored(stored);
    let complete = plan.as_ref().is_some_and(Plan::is_complete);
    let plan = plan.unwrap_or_default();
    let parts = PLAN_PARTS
        .iter()
        .zip(plan.parts())
        .map(|(k, v)| json!({"label": i18n::word(l, &format!("plan_{k}")), "value": v}))
        .collect();
    (parts, complete)
}

/// The review queue.
pub async fn reviews(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = "/office/reviews";
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    reviews_view(
        &state,
        &headers,
        &s,
        (
            StatusCode::OK,
            flash(lang(&headers), q.done.as_deref()),
            Vec::new(),
        ),
    )
    .await
}

async fn reviews_view(
    state: &AppState,
    headers: &HeaderMap,
    s: &super::session::WebSession,
    (status, flash, errors): (StatusCode, Option<String>, Vec<String>),
) -> Response {
    let path = "/office/reviews";
    let l = lang(headers);
    let policy = state.settings.policy;
    let queue = match records::review_queue(&state.db, &s.user, (&policy, state.clock.now())).await
    {
        Ok(q) => q,
        Err(e) => return failure(state, headers, path, e),
    };
    let ids: Vec<Uuid> = queue.iter().map(|(h, _)| h.hazard.enterprise_id).collect();
    let names = match records::enterprise_names(&state.db, &s.user, &ids).await {
        Ok(n) => n,
        Err(e) => return failure(state, headers, path, e),
    };
    let mut photo_ids: Vec<Uuid> = Vec::new();
    for (_, r) in &queue {
        if let Some(r) = r {
            photo_ids.extend(records::ids_of(&r.photo_ids));
        }
    }
    let ready = match records::photo_statuses(&state.db, &photo_ids).await {
        Ok(m) => m,
        Err(e) => return failure(state, headers, path, e),
    };
    let tz = policy.tz;
    let items: Vec<Value> = queue
        .iter()
        .map(|(f, r)| {
            let h = &f.hazard;
            let (plan, plan_complete) = plan_view(l, h.plan.as_ref());
            let (enterprise, village) = names.get(&h.enterprise_id).cloned().unwrap_or_default();
            json!({
                "id": h.id, "title": h.title, "description": h.description,
                "category": h.category, "deadline": h.deadline.to_string(),
                "major": *h.severity == Severity::Major,
                "enterprise": format!("{enterprise}（{village}）"),
                "plan": plan, "plan_complete": plan_complete,
                "rectification": r.as_ref().map(|r| json!({
                    "description": r.description,
                    "at": r.submitted_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                    "photos": records::ids_of(&r.photo_ids)
                        .into_iter()
                        .map(|p| json!({"id": p, "ready": ready.get(&p) == Some(&PhotoStatus::Processed)}))
                        .collect::<Vec<_>>(),
                })),
            })
        })
        .collect();
    Frame {
        lang: l,
        path,
        session: Some(s),
        flash,
        errors,
    }
    .render(status, "reviews.html", json!({ "items": items }))
}

/// A decision form of the dashboard: a review's, or an extension request's.
#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    /// `accept` | `reject`, or `approve` | `deny`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

/// Accepts or rejects a rectification from the queue.
pub async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let path = "/office/reviews";
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !csrf_ok(&state, &s, &f.csrf) {
        return csrf_refused(&headers, path, &s);
    }
    let (Ok(id), Some(decision)) = (id.parse::<Uuid>(), Decision::parse(&f.decision)) else {
        return failure(&state, &headers, path, Error::NotFound);
    };
    let input = Input::Review {
        decision,
        comment: f.comment,
        photo_ids: Vec::new(),
    };
    run(&state, &headers, &s, (Target::Hazard(id), input), path).await
}

/// Runs a command from the dashboard: back to its list with `done`, or the
/// list again with the refusal.
async fn run(
    state: &AppState,
    headers: &HeaderMap,
    s: &super::session::WebSession,
    (target, input): (Target, Input),
    path: &str,
) -> Response {
    let actor = anjian_store::Actor::user(s.user.user.id, Some(context::current().request_id));
    let r = lifecycle::execute(
        &state.db,
        actor,
        state.clock.as_ref(),
        &s.user,
        target,
        input,
    )
    .await;
    let done = if path == "/office/reviews" {
        "reviewed"
    } else {
        "decided"
    };
    match r {
        Ok(_) => see_other(&format!("{path}?done={done}")),
        Err(e @ (Error::NotFound | Error::Forbidden | Error::Internal(_))) => {
            failure(state, headers, path, e)
        }
        Err(e) => {
            let view = (status_of(&e), None, form_errors(lang(headers), &e));
            if path == "/office/reviews" {
                reviews_view(state, headers, s, view).await
            } else {
                extensions_view(state, headers, s, view).await
            }
        }
    }
}

#[derive(Deserialize)]
pub struct OverdueQuery {
    sort: Option<String>,
}

/// Open hazards past their deadline, most overdue first (or least, `?sort=asc`).
pub async fn overdue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<OverdueQuery>,
) -> Response {
    let path = "/office/overdue";
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = lang(&headers);
    let policy = state.settings.policy;
    let now = state.clock.now();
    let filter = records::HazardFilter {
        overdue: Some(true),
        ..records::HazardFilter::default()
    };
    let mut rows: Vec<_> =
        match records::all_hazards(&state.db, &s.user, &filter, (&policy, now)).await {
            Ok(r) => r.into_iter().map(|f| f.hazard).collect(),
            Err(e) => return failure(&state, &headers, path, e),
        };
    let ids: Vec<Uuid> = rows.iter().map(|h| h.enterprise_id).collect();
    let names = match records::enterprise_names(&state.db, &s.user, &ids).await {
        Ok(n) => n,
        Err(e) => return failure(&state, &headers, path, e),
    };
    let today = policy.office_date(now);
    let ascending = q.sort.as_deref() == Some("asc");
    rows.sort_by_key(|h| h.deadline);
    if ascending {
        rows.reverse();
    }
    let items: Vec<Value> = rows
        .iter()
        .filter(|h| *h.status == HazardStatus::Open)
        .map(|h| {
            let (enterprise, village) = names.get(&h.enterprise_id).cloned().unwrap_or_default();
            json!({
                "enterprise": enterprise, "village": village, "title": h.title,
                "major": *h.severity == Severity::Major,
                "deadline": h.deadline.to_string(),
                "days": (today - h.deadline).num_days(),
            })
        })
        .collect();
    Frame {
        lang: l,
        path,
        session: Some(&s),
        flash: None,
        errors: Vec::new(),
    }
    .render(
        StatusCode::OK,
        "overdue.html",
        json!({
            "items": items,
            "next_sort": if ascending { "desc" } else { "asc" },
            "arrow": if ascending { "↑" } else { "↓" },
        }),
    )
}

/// Extension requests waiting for a decision.
pub async fn extensions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = "/office/extensions";
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let view = (
        StatusCode::OK,
        flash(lang(&headers), q.done.as_deref()),
        Vec::new(),
    );
    extensions_view(&state, &headers, &s, view).await
}

async fn extensions_view(
    state: &AppState,
    headers: &HeaderMap,
    s: &super::session::WebSession,
    (status, flash, errors): (StatusCode, Option<String>, Vec<String>),
) -> Response {
    let path = "/office/extensions";
    let l = lang(headers);
    let pending = match records::pending_extensions(&state.db, &s.user).await {
        Ok(p) => p,
        Err(e) => return failure(state, headers, path, e),
    };
    let ids: Vec<Uuid> = pending.iter().map(|(x, _)| x.enterprise_id).collect();
    let names = match records::enterprise_names(&state.db, &s.user, &ids).await {
        Ok(n) => n,
        Err(e) => return failure(state, headers, path, e),
    };
    let items: Vec<Value> = pending
        .iter()
        .map(|(x, h)| {
            let (enterprise, village) = names.get(&x.enterprise_id).cloned().unwrap_or_default();
            json!({
                "id": x.id, "title": h.title, "enterprise": format!("{enterprise}（{village}）"),
                "deadline": h.deadline.to_string(), "requested": x.requested_deadline.to_string(),
                "reason": x.reason,
            })
        })
        .collect();
    Frame {
        lang: l,
        path,
        session: Some(s),
        flash,
        errors,
    }
    .render(status, "extensions.html", json!({ "items": items }))
}

/// Approves or denies an extension request.
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let path = "/office/extensions";
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !csrf_ok(&state, &s, &f.csrf) {
        return csrf_refused(&headers, path, &s);
    }
    let approve = match f.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return failure(&state, &headers, path, Error::NotFound),
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return failure(&state, &headers, path, Error::NotFound);
    };
    let input = Input::DecideExtension {
        approve,
        comment: f.comment,
    };
    run(&state, &headers, &s, (Target::Extension(id), input), path).await
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    village: Option<String>,
}

/// At most this many enterprises on one search page.
const SEARCH_LIMIT: u64 = 50;

fn risk_tags_view(l: Lang, stored: &str) -> String {
    anjian_store::repo::enterprises::decode_tags(stored)
        .into_iter()
        .map(|t| match l {
            Lang::En => t.as_str().replace('_', " "),
            _ => t.label_zh().to_owned(),
        })
        .collect::<Vec<_>>()
        .join("、")
}

/// Enterprise search: by name, credit code, address or contact, and village.
pub async fn enterprises(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    let path = "/office/enterprises";
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = lang(&headers);
    let text = q.q.unwrap_or_default().trim().to_owned();
    let village = q.village.as_deref().and_then(|v| v.parse::<Uuid>().ok());
    let page = anjian_store::repo::PageRequest {
        after: None,
        limit: 500,
    };
    let villages = match anjian_usecases::reference::villages(&state.db, &page).await {
        Ok(v) => v.items,
        Err(e) => return failure(&state, &headers, path, e),
    };
    let searched = !text.is_empty() || village.is_some();
    let (found, more) = if searched {
        let filter = anjian_usecases::reference::EnterpriseFilter {
            village_id: village,
            q: Some(text.clone()).filter(|t| !t.is_empty()),
            ..Default::default()
        };
        let page = anjian_store::repo::PageRequest {
            after: None,
            limit: SEARCH_LIMIT,
        };
        match anjian_usecases::reference::enterprises(&state.db, &s.user, &filter, &page).await {
            Ok(p) => (p.items, p.next_after.is_some()),
            Err(e) => return failure(&state, &headers, path, e),
        }
    } else {
        (Vec::new(), false)
    };
    let village_name = |id: Uuid| {
        villages
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.name.clone())
            .unwrap_or_default()
    };
    let mut items: Vec<Value> = found
        .iter()
        .map(|e| {
            json!({
                "id": e.id, "name": e.name, "credit_code": e.credit_code,
                "village": village_name(e.village_id), "address": e.address,
                "risk_tags": risk_tags_view(l, &e.risk_tags),
                "status": i18n::word(l, &format!("ent_{}", e.status.as_str())),
            })
        })
        .collect();
    items.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let options: Vec<Value> = villages
        .iter()
        .map(|v| json!({"id": v.id, "name": v.name, "on": Some(v.id) == village}))
        .collect();
    Frame {
        lang: l,
        path,
        session: Some(&s),
        flash: None,
        errors: Vec::new(),
    }
    .render(
        StatusCode::OK,
        "enterprises.html",
        json!({
            "q": text, "villages": options, "searched": searched, "items": items,
            "found": i18n::word(l, "found_n").replace("{n}", &items.len().to_string()),
            "more": more.then(|| i18n::word(l, "first_n").replace("{n}", &SEARCH_LIMIT.to_string())),
        }),
    )
}

/// One enterprise's file: its roster entry, inspections, hazards and photos.
pub async fn enterprise(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/office/enterprises/{id}");
    let (s, id) = match record_page(&state, &headers, &path, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let l = lang(&headers);
    let policy = state.settings.policy;
    let now = state.clock.now();
    let file = match records::enterprise_file(&state.db, &s.user, id, (&policy, now)).await {
        Ok(f) => f,
        Err(e) => return failure(&state, &headers, &path, e),
    };
    let tz = policy.tz;
    let today = policy.office_date(now);
    let at = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
    };
    let e = &file.enterprise;
    let inspections: Vec<Value> = file
        .inspections
        .iter()
        .map(|i| {
            let count = |o: anjian_domain::inspection::ItemOutcome| {
                i.results
                    .iter()
                    .filter(|r| *r.outcome == o)
                    .count()
                    .to_string()
            };
            use anjian_domain::inspection::ItemOutcome as O;
            let i = &i.inspection;
            json!({
                "started_at": at(i.started_at),
                "finished_at": i.finished_at.map(at),
                "checklist": file.templates.get(&i.template_id).cloned().unwrap_or_default(),
                "inspector": file.people.get(&i.inspector_id).cloned().unwrap_or_default(),
                "summary": i.summary,
                "results": i18n::word(l, "result_counts")
                    .replace("{pass}", &count(O::Pass))
                    .replace("{fail}", &count(O::Fail))
                    .replace("{na}", &count(O::Na)),
            })
        })
        .collect();
    let hazards: Vec<Value> = file
        .hazards
        .iter()
        .map(|f| {
            let h = &f.hazard;
            let (label, colour) = super::portal::status_view(l, *h.status);
            let overdue = *h.status == HazardStatus::Open && h.deadline < today;
            json!({
                "id": h.id, "title": h.title, "category": h.category,
                "major": *h.severity == Severity::Major,
                "status_label": label, "status_colour": colour, "overdue": overdue,
                "found_on": h.found_at.with_timezone(&tz).date_naive().to_string(),
                "deadline": h.deadline.to_string(),
            })
        })
        .collect();
    let open = file
        .hazards
        .iter()
        .filter(|f| !f.hazard.status.is_final())
        .count();
    let photos: Vec<Value> = file
        .photo_ids()
        .into_iter()
        .map(|p| json!({"id": p, "ready": file.photos.get(&p) == Some(&PhotoStatus::Processed)}))
        .collect();
    Frame {
        lang: l,
        path: &path,
        session: Some(&s),
        flash: None,
        errors: Vec::new(),
    }
    .render(
        StatusCode::OK,
        "enterprise.html",
        json!({
            "e": {
                "name": e.name, "credit_code": e.credit_code, "address": e.address,
                "village": file.village, "industry": e.industry_code,
                "scale": i18n::word(l, &format!("scale_{}", e.scale.as_str())),
                "status": i18n::word(l, &format!("ent_{}", e.status.as_str())),
                "risk_tags": risk_tags_view(l, &e.risk_tags),
                "contact": format!("{} {}", e.contact_name, e.contact_phone).trim().to_owned(),
            },
            "open": open,
            "inspections": inspections,
            "hazards": hazards,
            "photos": photos,
        }),
    )
}

/// A hazard's page, read only (from an enterprise's file).
pub async fn hazard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/office/hazards/{id}");
    let (s, id) = match record_page(&state, &headers, &path, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    super::portal::hazard_view(
        &state,
        &headers,
        (&s, super::portal::Realm::Office),
        id,
        (StatusCode::OK, None, Vec::new()),
        &Default::default(),
    )
    .await
}

/// The weekly report archive: every stored week, newest first, with its
/// headline figures and its files.
pub async fn reports(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let path = "/office/reports";
    let s = match signed_in(&state, &headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = lang(&headers);
    let page = anjian_store::repo::PageRequest {
        after: None,
        limit: ARCHIVE_WEEKS,
    };
    let list = match anjian_usecases::reports::list(&state.db, &s.user, &page).await {
        Ok(p) => p.items,
        Err(e) => return failure(&state, &headers, path, e),
    };
    let tz = state.settings.policy.tz;
    let pct = |v: &Value| format!("{:.2}%", v.as_f64().unwrap_or(0.0) * 100.0);
    let mut items = Vec::new();
    for (week, generated_at, r) in list {
        let r = r.unwrap_or_default();
        items.push(json!({
            "week": week,
            "period": format!("{} – {}", r["period_start"].as_str().unwrap_or(""), r["period_end"].as_str().unwrap_or("")),
            "generated": generated_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            "provisional": r["provisional"].as_bool().unwrap_or(false),
            "found": r["hazards_found_week"], "closed": r["hazards_closed_week"],
            "overdue": r["hazards_overdue"],
            "rectified": format!("{}/{}", r["problem_enterprises_rectified_ytd"], r["problem_enterprises_ytd"]),
            "rate": pct(&r["enterprise_completion_rate"]),
        }));
    }
    Frame {
        lang: l,
        path,
        session: Some(&s),
        flash: None,
        errors: Vec::new(),
    }
    .render(StatusCode::OK, "reports.html", json!({ "items": items }))
}

/// Weeks the archive lists.
const ARCHIVE_WEEKS: u64 = 104;

/// A stored report's file (`2026-W48.xlsx`, `2026-W48.csv`) for the office.
pub async fn report_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    use axum::response::IntoResponse;
    let path = format!("/office/reports/{name}");
    let s = match signed_in(&state, &headers, &path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok((week, Some(kind))) = crate::routes::reports::week_and_file(&name) else {
        return failure(&state, &headers, &path, Error::NotFound);
    };
    match crate::routes::reports::file_response(&state, &s.user, (week, kind)).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}
