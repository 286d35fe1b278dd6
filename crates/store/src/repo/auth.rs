//! Logins: password check with failure limits, refresh-token rotation with reuse
//! detection, revocation. Access tokens are signed by the API and name a login;
//! every request checks that login here, so revocation takes effect at once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::users::{User, find_by_username, get};
use crate::entity::{login, login_attempt, refresh_token};
use crate::write::WriteTx;
use crate::{Actor, Db, Error, Result, password};

pub use anjian_domain::account::{FAILURE_WINDOW, LOGIN_TTL, MAX_FAILURES};

/// A started or refreshed login.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub login_id: Uuid,
    /// The refresh token in clear; only its hash is stored.
    pub refresh_token: String,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_refresh_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn issue_refresh(tx: &WriteTx, login_id: Uuid, now: DateTime<Utc>) -> Result<String> {
    let token = new_refresh_token();
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        token_hash: sea_orm::Set(token_hash(&token)),
        login_id: sea_orm::Set(login_id),
        created_at: sea_orm::Set(now),
        rotated_at: sea_orm::Set(None),
    })
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    Ok(token)
}

/// Counts an attempt for `key` in one atomic statement (a new window when the
/// last one ended) and returns the count and the start of its window.
async fn count_attempt(
    tx: &WriteTx,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(i64, DateTime<Utc>)> {
    use login_attempt::{Column as C, Entity as E};
    use sea_orm::sea_query::{ExprTrait, OnConflict};
    let current = Expr::col((E, C::WindowStartedAt)).gt(now - FAILURE_WINDOW);
    let row = E::insert(login_attempt::ActiveModel {
        key: sea_orm::Set(key.to_owned()),
        window_started_at: sea_orm::Set(now),
        failures: sea_orm::Set(1),
    })
    .on_conflict(
        OnConflict::column(C::Key)
            .values([
                (
                    C::Failures,
                    Expr::case(current.clone(), Expr::col((E, C::Failures)).add(1))
                        .finally(Expr::val(1))
                        .into(),
                ),
                (
                    C::WindowStartedAt,
                    Expr::case(current, Expr::col((E, C::WindowStartedAt)))
                        .finally(Expr::val(now))
                        .into(),
                ),
            ])
            .to_owned(),
    )
    .exec_with_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    Ok((row.failures, row.window_started_at))
}

/// Takes back the attempt of a login that succeeded.
async fn refund_attempt(tx: &WriteTx, key: &str) -> Result<()> {
    use login_attempt::{Column as C, Entity as E};
    use sea_orm::sea_query::ExprTrait;
    E::update_many()
        .col_expr(C::Failures, Expr::col(C::Failures).sub(1))
        .filter(C::Key.eq(key))
        .filter(C::Failures.gt(0))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(())
}

/// Seconds until the window ends, when `count` went past `max` in it.
fn over_limit((count, started): (i64, DateTime<Utc>), max: i64, now: DateTime<Utc>) -> Option<u64> {
    (count > max).then(|| ((started + FAILURE_WINDOW) - now).num_seconds().max(1) as u64)
}

/// Checks a password and starts a login. Unknown user and wrong password give the
/// same answer; too many attempts for the username or the client give `rate_limited`.
///
/// Every attempt is counted, atomically, *before* its password is checked, and
/// a successful one is refunded: however many arrive at once, at most
/// [`MAX_FAILURES`] passwords per username are tried in a window.
#[tracing::instrument(name = "login", skip_all, fields(client = %client))]
pub async fn login(
    db: &Db,
    username: &str,
    pw: &str,
    device_id: Option<Uuid>,
    client: &str,
    request_id: Option<String>,
) -> Result<Session> {
    let now = Utc::now();
    let username = username.trim().to_lowercase();
    let user_key = format!("user:{username}");
    let client_key = format!("client:{client}");
    {
        let tx = db.write(Actor::system()).await?;
        let per_user = count_attempt(&tx, &user_key, now).await?;
        let per_client = count_attempt(&tx, &client_key, now).await?;
        tx.commit().await?;
        let wait = over_limit(per_user, MAX_FAILURES, now).max(over_limit(
            per_client,
            MAX_FAILURES * 10,
            now,
        ));
        if let Some(retry_after_secs) = wait {
            return Err(Error::RateLimited { retry_after_secs });
        }
    }
    // The hash check runs outside any transaction: it is the slow part.
    let found = find_by_username(db.conn(), &username).await?;
    let phc = found.as_ref().map(|u| u.user.password_hash.as_str());
    let ok = password::verify_blocking(pw, phc).await?;
    let user = match found {
        Some(u) if ok && !u.user.disabled => u,
        // The attempt stays counted.
        _ => return Err(Error::Unauthenticated),
    };
    let mut tx = db
        .write(Actor {
            user_id: Some(user.user.id),
            request_id,
        })
        .await?;
    refund_attempt(&tx, &user_key).await?;
    refund_attempt(&tx, &client_key).await?;
    let login_id = Uuid::now_v7();
    login::Entity::insert(login::ActiveModel {
        id: sea_orm::Set(login_id),
        user_id: sea_orm::Set(user.user.id),
        device_id: sea_orm::Set(device_id),
        created_at: sea_orm::Set(now),
        last_used_at: sea_orm::Set(now),
        expires_at: sea_orm::Set(now + LOGIN_TTL),
        revoked_at: sea_orm::Set(None),
        revoked_reason: sea_orm::Set(None),
    })
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    let refresh_token = issue_refresh(&tx, login_id, now).await?;
    tx.audit(
        "auth.login",
        "login",
        login_id,
        None,
        Some(serde_json::json!({"user_id": user.user.id, "device_id": device_id})),
    );
    tx.commit().await?;
    Ok(Session {
        user,
        login_id,
        refresh_token,
    })
}

/// Exchanges a refresh token for a new one. A token that was already rotated
/// means it leaked: the whole login is revoked.
pub async fn refresh(db: &Db, token: &str, request_id: Option<String>) -> Result<Session> {
    let now = Utc::now();
    let mut tx = db
        .write(Actor {
            user_id: None,
            request_id,
        })
        .await?;
    let Some(rt) = refresh_token::Entity::find_by_id(token_hash(token))
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
    else {
        return Err(Error::Unauthenticated);
    };
    let lg = login::Entity::find_by_id(rt.login_id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::Unauthenticated)?;
    if lg.revoked_at.is_some() || lg.expires_at <= now {
        return Err(Error::Unauthenticated);
    }
    if rt.rotated_at.is_some() {
        revoke(&tx, lg.id, "refresh_token_reused").await?;
        tx.audit("auth.refresh_reuse", "login", lg.id, None, None);
        tx.commit().await?;
        return Err(Error::Unauthenticated);
    }
    // Only one of two concurrent refreshes with the same token can rotate it.
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(rt.token_hash.clone()))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    if rotated.rows_affected != 1 {
        return Err(Error::Unauthenticated);
    }
    login::Entity::update_many()
        .col_expr(login::Column::LastUsedAt, Expr::value(now))
        .col_expr(login::Column::ExpiresAt, Expr::value(now + LOGIN_TTL))
        .filter(login::Column::Id.eq(lg.id))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    let refresh_token = issue_refresh(&tx, lg.id, now).await?;
    tx.commit().await?;
    let user = active_user(db, lg.user_id).await?;
    Ok(Session {
        user,
        login_id: lg.id,
        refresh_token,
    })
}

async fn active_user(db: &Db, id: Uuid) -> Result<User> {
    let u = get(db, id).await.map_err(|_| Error::Unauthenticated)?;
    if u.user.disabled {
        return Err(Error::Unauthenticated);
    }
    Ok(u)
}

/// Revokes one login.
pub async fn revoke(tx: &WriteTx, login_id: Uuid, reason: &str) -> Result<()> {
    login::Entity::update_many()
        .col_expr(login::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(login::Column::RevokedReason, Expr::value(reason))
        .filter(login::Column::Id.eq(login_id))
        .filter(login::Column::RevokedAt.is_null())
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(())
}

/// Revokes every login of a user.
pub async fn revoke_all(tx: &WriteTx, user_id: Uuid, reason: &str) -> Result<()> {
    login::Entity::update_many()
        .col_expr(login::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(login::Column::RevokedReason, Expr::value(reason))
        .filter(login::Column::UserId.eq(user_id))
        .filter(login::Column::RevokedAt.is_null())
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(())
}

/// Ends a login.
pub async fn logout(db: &Db, actor: Actor, login_id: Uuid) -> Result<()> {
    let mut tx = db.write(actor).await?;
    revoke(&tx, login_id, "logout").await?;
    tx.audit("auth.logout", "login", login_id, None, None);
    tx.commit().await?;
    Ok(())
}

/// The user behind a login named by a valid access token, if the login is still
/// live and the user still enabled.
pub async fn authenticate(db: &Db, login_id: Uuid) -> Result<User> {
    let now = Utc::now();
    let lg = login::Entity::find_by_id(login_id)
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::Unauthenticated)?;
    if lg.revoked_at.is_some() || lg.expires_at <= now {
        return Err(Error::Unauthenticated);
    }
    active_user(db, lg.user_id).await
}
