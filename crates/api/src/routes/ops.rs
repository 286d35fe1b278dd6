//! `/healthz`, `/readyz`, `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::dto::{Health, Readiness};
use crate::state::AppState;

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The database and the object store's bucket answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (db, store) = tokio::join!(state.db.ping(), async {
        match &state.photos {
            Some(p) => Some(p.store.check().await),
            None => None,
        }
    });
    let database = match db {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(error = ?e, "database not reachable");
            "unreachable"
        }
    };
    let object_store = match store {
        Some(Ok(())) => "ok",
        Some(Err(e)) => {
            tracing::warn!(error = %e, "object store not reachable");
            "unreachable"
        }
        None => "not_configured",
    };
    let ready = database == "ok" && object_store == "ok";
    let mut resp = (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(Readiness {
            status: if ready { "ready" } else { "not_ready" }.into(),
            database: database.into(),
            object_store: object_store.into(),
        }),
    )
        .into_response();
    // The 503 body is the readiness report, not the error envelope.
    resp.extensions_mut().insert(crate::error::Enveloped);
    resp
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    // The variant queue, as the database has it (shared by every replica).
    match anjian_usecases::photos::queue_depth(&state.db).await {
        Ok((depth, oldest)) => {
            let age = oldest.map_or(0, |t| (chrono::Utc::now() - t).num_seconds().max(0));
            text.push_str(&format!(
                "# HELP anjian_photo_queue_depth Photos verified and waiting for their variants.\n\
                 # TYPE anjian_photo_queue_depth gauge\n\
                 anjian_photo_queue_depth {depth}\n\
                 # HELP anjian_photo_queue_oldest_seconds Age of the oldest entry of the variant queue.\n\
                 # TYPE anjian_photo_queue_oldest_seconds gauge\n\
                 anjian_photo_queue_oldest_seconds {age}\n"
            ));
        }
        Err(e) => tracing::warn!(error = %e, "variant queue depth unreadable"),
    }
    // Messages waiting to be delivered (never dropped: they wait here).
    match anjian_usecases::outbox::backlog(&state.db).await {
        Ok(rows) => {
            text.push_str(
                "# HELP anjian_outbox_pending Messages waiting to be delivered.\n\
                 # TYPE anjian_outbox_pending gauge\n",
            );
            for (channel, n, _, _) in &rows {
                text.push_str(&format!(
                    "anjian_outbox_pending{{channel=\"{channel}\"}} {n}\n"
                ));
            }
            text.push_str(
                "# HELP anjian_outbox_failed_attempts Failed attempts of the messages still waiting.\n\
                 # TYPE anjian_outbox_failed_attempts gauge\n",
            );
            for (channel, _, attempts, _) in &rows {
                text.push_str(&format!(
                    "anjian_outbox_failed_attempts{{channel=\"{channel}\"}} {attempts}\n"
                ));
            }
            text.push_str(
                "# HELP anjian_outbox_oldest_seconds Age of the oldest message waiting.\n\
                 # TYPE anjian_outbox_oldest_seconds gauge\n",
            );
            for (channel, _, _, oldest) in &rows {
                let age = oldest.map_or(0, |t| (chrono::Utc::now() - t).num_seconds().max(0));
                text.push_str(&format!(
                    "anjian_outbox_oldest_seconds{{channel=\"{channel}\"}} {age}\n"
                ));
            }
        }
        Err(e) => tracing::warn!(error = %e, "outbox unreadable"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
