//! Photo evidence over HTTP (api.md "Photo evidence"): declare, upload
//! (presigned PUT or through the API, streamed to a spool file and hashed on
//! the way), complete (the use case `anjian_usecases::photos::complete`),
//! metadata, and variants by short-lived presigned GET.

use anjian_domain::ErrorCode;
use anjian_domain::photo::Variant;
use anjian_evidence::imaging::MAX_BYTES;
use anjian_evidence::{StoreError, keys};
use anjian_store::entity::photo;
use anjian_usecases::photos::{self as usecase, PhotoError};
use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::json;
use sha2::Digest;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::dto::{DeclaredPhotoOut, ErrorEnvelope, PhotoIn, PhotoOut, UploadOut};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Auth, PathId};
use crate::state::{AppState, Photos};

fn photos(state: &AppState) -> ApiResult<&Photos> {
    state.photos.as_ref().ok_or_else(|| {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable);
        e.retry_after = Some(30);
        e
    })
}

fn store_err(e: StoreError) -> ApiError {
    let mut err = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable);
    err.retry_after = Some(5);
    err.cause = Some(anyhow::anyhow!(e));
    err
}

/// The bytes are not the declared ones: `reason` is `size` or `sha256`.
fn checksum_mismatch(reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ChecksumMismatch,
    )
    .with_details(json!({ "reason": reason }))
}

fn out(auth: &Auth, p: photo::Model) -> PhotoOut {
    PhotoOut::new(p, usecase::may_see_original(&auth.user))
}

/// Declares a photo: a presigned upload when its bytes are new, or the
/// processed photo at once when bytes with that SHA-256 are already stored.
/// Declaring again is safe and hands out a fresh URL.
#[utoipa::path(post, path = "/photos", tag = "photos", request_body = PhotoIn,
    responses(
        (status = 201, body = DeclaredPhotoOut, description = "declared; upload the bytes"),
        (status = 200, body = DeclaredPhotoOut, description = "these bytes are already stored: processed"),
        (status = 409, body = ErrorEnvelope, description = "another photo has this id"),
        (status = 429, body = ErrorEnvelope, description = "too many photos declared and not yet uploaded"),
        (status = 503, body = ErrorEnvelope, description = "object store unreachable")))]
pub async fn declare(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<PhotoIn>,
) -> ApiResult<Response> {
    let ph = photos(&state)?;
    let m = usecase::declare(
        &state.db,
        (auth.actor(), state.clock.as_ref()),
        &auth.user,
        body.into(),
        state.settings.max_pending_photos,
    )
    .await?;
    if m.status.has_bytes() {
        let body = DeclaredPhotoOut {
            photo: out(&auth, m),
            upload: None,
        };
        return Ok((StatusCode::OK, Json(body)).into_response());
    }
    let up = ph
        .store
        .presign_put(
            &keys::staging(&m.id),
            &m.sha256,
            m.size,
            &m.content_type,
            ph.upload_ttl,
        )
        .await
        .map_err(store_err)?;
    let body = DeclaredPhotoOut {
        photo: out(&auth, m),
        upload: Some(UploadOut {
            method: "PUT".into(),
            url: up.url,
            headers: up.headers.into_iter().collect(),
            expires_at: up.expires_at,
        }),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The bytes through the API, for phones that can't reach the store. The body
/// is streamed to disk and hashed on the way; it goes to the store only when it
/// matches the declaration.
#[utoipa::path(put, path = "/photos/{id}/content", tag = "photos", params(("id" = Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 204, description = "stored; now complete the photo"),
        (status = 422, body = ErrorEnvelope, description = "checksum_mismatch"),
        (status = 413, body = ErrorEnvelope, description = "over 25 MB")))]
pub async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    req: Request,
) -> ApiResult<StatusCode> {
    let ph = photos(&state)?;
    let p = usecase::uploadable(&state.db, &auth.user, id).await?;
    if p.status.has_bytes() {
        return Ok(StatusCode::NO_CONTENT);
    }
    tokio::fs::create_dir_all(&ph.spool_dir)
        .await
        .map_err(ApiError::internal)?;
    let spool = ph.spool_dir.join(format!("{id}.{}", Uuid::new_v4()));
    let result = spool_body(req, &spool, p.size).await;
    let stored = match result {
        Ok(sha) if sha == p.sha256 => ph
            .store
            .put_file(
                &keys::staging(&id),
                &spool,
                p.size,
                &p.sha256,
                &p.content_type,
            )
            .await
            .map_err(store_err),
        Ok(_) => Err(checksum_mismatch("sha256")),
        Err(e) => Err(e),
    };
    let _ = tokio::fs::remove_file(&spool).await;
    stored.map(|()| StatusCode::NO_CONTENT)
}

/// Writes the body to `path`; the hex SHA-256 of exactly `size` bytes, or the
/// error that stopped it (more or fewer bytes than declared).
async fn spool_body(req: Request, path: &std::path::Path, size: i64) -> ApiResult<String> {
    let size = size.max(0) as u64;
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(ApiError::internal)?;
    let mut hasher = sha2::Sha256::new();
    let mut n: u64 = 0;
    let mut stream = req.into_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("body"))?;
        n += chunk.len() as u64;
        if n > MAX_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
            ));
        }
        if n > size {
            return Err(checksum_mismatch("size"));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    if n != size {
        return Err(checksum_mismatch("size"));
    }
    file.flush().await.map_err(ApiError::internal)?;
    file.sync_all().await.map_err(ApiError::internal)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Verifies the uploaded bytes (size and SHA-256 computed here, format,
/// dimensions and structure), stores the original durably and answers
/// `verified`: the phone may delete its copy. The variants are made after the
/// answer; the photo becomes `processed` when they exist. Bytes the caller may
/// already see as a processed photo answer `processed` at once. Safe to repeat.
#[utoipa::path(post, path = "/photos/{id}/complete", tag = "photos", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PhotoOut),
        (status = 409, body = ErrorEnvelope, description = "not_uploaded: no bytes arrived"),
        (status = 422, body = ErrorEnvelope, description = "checksum_mismatch | not_an_image | image_too_large")))]
pub async fn complete(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<PhotoOut>> {
    let ph = photos(&state)?;
    let tz = state.settings.policy.tz;
    let r = usecase::complete(
        ph,
        &state.db,
        (auth.actor(), state.clock.as_ref()),
        &auth.user,
        id,
        tz,
    )
    .await;
    match &r {
        Ok(c) => state.metrics.photo(c.outcome),
        Err(e)
            if matches!(
                e.code(),
                ErrorCode::ChecksumMismatch | ErrorCode::NotAnImage | ErrorCode::ImageTooLarge
            ) =>
        {
            state.metrics.photo(e.code().as_str())
        }
        Err(_) => {}
    }
    match r {
        Ok(c) => Ok(Json(out(&auth, c.photo))),
        Err(e) => Err(photo_err(e)),
    }
}

/// When to ask again for a variant being made: a phone photo's variants
/// take a fraction of a second once a worker is free.
const NOT_READY_RETRY_SECS: u64 = 2;

/// The answer to a failed completion.
fn photo_err(e: PhotoError) -> ApiError {
    match e {
        PhotoError::Domain(e) => e.into(),
        PhotoError::ChecksumMismatch(reason) => checksum_mismatch(reason),
        // What the decoder said goes to the log only: its wording is no part
        // of the contract and may echo the file.
        PhotoError::NotAnImage(_) | PhotoError::ImageTooLarge(_) => {
            tracing::info!(error = %e, "photo refused");
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code())
        }
        PhotoError::NotUploaded => ApiError::new(StatusCode::CONFLICT, ErrorCode::NotUploaded),
        PhotoError::NotReady => ApiError {
            retry_after: Some(NOT_READY_RETRY_SECS),
            ..ApiError::new(StatusCode::CONFLICT, ErrorCode::NotReady)
        },
        PhotoError::Store(e) => store_err(e),
    }
}

/// A photo's metadata. GPS only for those who may see originals.
#[utoipa::path(get, path = "/photos/{id}", tag = "photos", params(("id" = Uuid, Path)),
    responses((status = 200, body = PhotoOut), (status = 404, body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
) -> ApiResult<Json<PhotoOut>> {
    let p = usecase::visible(&state.db, &auth.user, id).await?;
    Ok(Json(out(&auth, p)))
}

/// 302 to a short-lived presigned GET of `original`, `preview` or `thumb`.
#[utoipa::path(get, path = "/photos/{id}/{variant}", tag = "photos",
    params(("id" = Uuid, Path), ("variant" = String, Path, description = "original | preview | thumb")),
    responses(
        (status = 302, description = "Location: a presigned URL of the bytes"),
        (status = 403, body = ErrorEnvelope, description = "originals are not for enterprise users"),
        (status = 409, body = ErrorEnvelope, description = "not_uploaded: no bytes arrived; not_ready: the variant is being made (Retry-After)")))]
pub async fn variant(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, variant)): Path<(String, String)>,
) -> ApiResult<Response> {
    redirect_to_variant(&state, &auth.user, (&id, &variant)).await
}

/// A 302 to a short-lived presigned GET of the photo's variant, when `user`
/// may have it (also for the portal's pages, signed in by cookie).
pub async fn redirect_to_variant(
    state: &AppState,
    user: &anjian_store::repo::users::User,
    (id, variant): (&str, &str),
) -> ApiResult<Response> {
    let ph = photos(state)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::not_found())?;
    let Some(variant) = Variant::parse(variant) else {
        return Err(ApiError::not_found());
    };
    let (p, key) = usecase::variant(&state.db, user, id, variant)
        .await
        .map_err(photo_err)?;
    let (content_type, ext) = match (variant, p.content_type.as_str()) {
        (Variant::Original, "image/png") => ("image/png", "png"),
        (Variant::Original, "image/webp") => ("image/webp", "webp"),
        (Variant::Original, t) => (t, "jpg"),
        _ => ("image/jpeg", "jpg"),
    };
    let variant = variant.as_str();
    let disposition = format!("inline; filename=\"{id}-{variant}.{ext}\"");
    let url = ph
        .store
        .presign_get(&key, content_type, &disposition, ph.download_ttl)
        .await
        .map_err(store_err)?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
    )
        .into_response())
}
