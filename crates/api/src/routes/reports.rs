//! The weekly report (api.md "Reports"): the archive, one week's figures,
//! and making them now (office, admin).

use anjian_domain::report::IsoWeek;
use anjian_usecases::reports::{self, FileKind};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{PageQuery, page_out};
use crate::dto::{ErrorEnvelope, Page, WeeklyReportItem, WeeklyReportOut};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Auth};
use crate::state::AppState;

/// A week named in a path (`2026-W48`); anything else is not found.
fn week(raw: &str) -> Result<IsoWeek, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// Stored weekly reports, newest week first (office, admin).
#[utoipa::path(get, path = "/reports/weekly", tag = "reports", params(PageQuery),
    responses((status = 200, body = Page<WeeklyReportItem>), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<WeeklyReportItem>>> {
    let page = q.page(&state)?;
    let rows = reports::list(&state.db, &auth.user, &page).await?;
    Ok(Json(page_out(&state, rows, |(week, generated_at, _)| {
        WeeklyReportItem { week, generated_at }
    })))
}

/// A week's stored report, as it was generated (office, admin), or one of
/// its files: `{week}.xlsx` (the workbook) or `{week}.csv` (the table by
/// village, UTF-8 with BOM). Unknown or never generated: 404.
#[utoipa::path(get, path = "/reports/weekly/{week}", tag = "reports",
    params(("week" = String, Path, description = "ISO week, `2026-W48`; with `.xlsx` or `.csv`: that file")),
    responses((status = 200, description = "The report, or the file its name ends with",
            content((WeeklyReportOut = "application/json"), (String = "text/csv"),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let (week, kind) = week_and_file(&raw)?;
    let Some(kind) = kind else {
        return Ok(Json(reports::get(&state.db, &auth.user, week).await?).into_response());
    };
    file_response(&state, &auth.user, (week, kind)).await
}

/// A week named in a path, and the file its name ends with (`.xlsx`, `.csv`).
pub(crate) fn week_and_file(raw: &str) -> Result<(IsoWeek, Option<FileKind>), ApiError> {
    let (name, kind) = match raw.rsplit_once('.') {
        Some((name, "xlsx")) => (name, Some(FileKind::Xlsx)),
        Some((name, "csv")) => (name, Some(FileKind::Csv)),
        _ => (raw, None),
    };
    Ok((week(name)?, kind))
}

/// A stored report's file as a download.
pub(crate) async fn file_response(
    state: &AppState,
    user: &anjian_store::repo::users::User,
    (week, kind): (IsoWeek, FileKind),
) -> ApiResult<Response> {
    let store = &state.photos.as_ref().ok_or_else(ApiError::not_found)?.store;
    let bytes = reports::file(&state.db, store, user, (week, kind)).await?;
    let disposition = format!(
        "attachment; filename=\"anjian-weekly-{week}.{ext}\"; filename*=UTF-8''{name}",
        ext = kind.extension(),
        name = percent_encoded(&kind.file_name(week)),
    );
    Ok((
        [
            (header::CONTENT_TYPE, kind.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// RFC 5987 value: every byte but unreserved ones as `%XX`.
fn percent_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Makes the week's report now and stores it (office, admin): a past week as
/// the server knew it at its cut-off, the week in progress as of now
/// (`provisional`). A week not yet begun: 422.
#[utoipa::path(post, path = "/reports/weekly/{week}/generate", tag = "reports",
    params(("week" = String, Path, description = "ISO week, `2026-W48`")),
    responses((status = 200, body = WeeklyReportOut), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn generate(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<WeeklyReportOut>> {
    let week = week(&raw)?;
    let r = reports::generate(
        &state.db,
        state.photos.as_ref().map(|p| &p.store),
        &auth.user,
        week,
        (&state.settings.policy, state.clock.now()),
    )
    .await?;
    Ok(Json(WeeklyReportOut {
        figures: r.figures,
        generated_at: r.generated_at,
        provisional: r.provisional,
    }))
}
