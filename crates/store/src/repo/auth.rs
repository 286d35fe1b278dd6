//! Rows of signing in: attempt counters, logins, refresh tokens. Access tokens
//! are signed by the API and name a login; every request reads that login here,
//! so revocation takes effect at once. What the rows mean is decided in
//! `anjian_domain::login`.

use anjian_domain::login::{Attempts, FAILURE_WINDOW, LoginState};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entity::{login, login_attempt, refresh_token};
use crate::write::WriteTx;
use crate::{Error, Result};

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_refresh_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Stores a new refresh token for `login_id` and returns it in clear; only
/// its hash is kept.
pub async fn issue_refresh(tx: &WriteTx, login_id: Uuid) -> Result<String> {
    let token = new_refresh_token();
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        token_hash: sea_orm::Set(token_hash(&token)),
        login_id: sea_orm::Set(login_id),
        created_at: sea_orm::Set(tx.now()),
        rotated_at: sea_orm::Set(None),
    })
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    Ok(token)
}

/// Counts an attempt for `key` in one atomic statement (a new window when the
/// last one ended, [`FAILURE_WINDOW`] after it started).
pub async fn count_attempt(tx: &WriteTx, key: &str) -> Result<Attempts> {
    use login_attempt::{Column as C, Entity as E};
    use sea_orm::sea_query::{ExprTrait, OnConflict};
    let now = tx.now();
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
    Ok(Attempts {
        count: row.failures,
        window_started_at: row.window_started_at,
    })
}

/// Takes back one attempt counted under `key`.
pub async fn refund_attempt(tx: &WriteTx, key: &str) -> Result<()> {
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

/// Records a new login of `user_id` that lives until `expires_at`, on the
/// audit trail, and returns its id.
pub async fn start(
    tx: &mut WriteTx,
    user_id: Uuid,
    device_id: Option<Uuid>,
    expires_at: DateTime<Utc>,
) -> Result<Uuid> {
    let now = tx.now();
    let login_id = Uuid::now_v7();
    login::Entity::insert(login::ActiveModel {
        id: sea_orm::Set(login_id),
        user_id: sea_orm::Set(user_id),
        device_id: sea_orm::Set(device_id),
        created_at: sea_orm::Set(now),
        last_used_at: sea_orm::Set(now),
        expires_at: sea_orm::Set(expires_at),
        revoked_at: sea_orm::Set(None),
        revoked_reason: sea_orm::Set(None),
    })
    .exec_without_returning(tx.txn())
    .await
    .map_err(Error::internal)?;
    tx.audit(
        "auth.login",
        "login",
        login_id,
        None,
        Some(serde_json::json!({"user_id": user_id, "device_id": device_id})),
    );
    Ok(login_id)
}

/// A login's rule state and its user.
#[derive(Debug, Clone, Copy)]
pub struct Login {
    pub id: Uuid,
    pub user_id: Uuid,
    pub state: LoginState,
}

impl From<login::Model> for Login {
    fn from(l: login::Model) -> Login {
        Login {
            id: l.id,
            user_id: l.user_id,
            state: LoginState {
                revoked: l.revoked_at.is_some(),
                expires_at: l.expires_at,
            },
        }
    }
}

/// A login by id.
pub async fn find(conn: &impl sea_orm::ConnectionTrait, id: Uuid) -> Result<Option<Login>> {
    Ok(login::Entity::find_by_id(id)
        .one(conn)
        .await
        .map_err(Error::internal)?
        .map(Login::from))
}

/// The login a refresh token belongs to, and whether the token was already
/// exchanged; `None` for a token never issued (or of a login since removed).
pub async fn find_by_refresh(tx: &WriteTx, token: &str) -> Result<Option<(Login, bool)>> {
    let Some(rt) = refresh_token::Entity::find_by_id(token_hash(token))
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
    else {
        return Ok(None);
    };
    Ok(find(tx.txn(), rt.login_id)
        .await?
        .map(|l| (l, rt.rotated_at.is_some())))
}

/// Marks a refresh token exchanged and extends its login to `expires_at`;
/// `false` when a concurrent exchange of the same token got there first.
pub async fn rotate(
    tx: &WriteTx,
    token: &str,
    login_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<bool> {
    let now = tx.now();
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(token_hash(token)))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    if rotated.rows_affected != 1 {
        return Ok(false);
    }
    login::Entity::update_many()
        .col_expr(login::Column::LastUsedAt, Expr::value(now))
        .col_expr(login::Column::ExpiresAt, Expr::value(expires_at))
        .filter(login::Column::Id.eq(login_id))
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(true)
}

/// Revokes one login, on the audit trail under `action`.
pub async fn revoke(tx: &mut WriteTx, login_id: Uuid, reason: &str, action: &str) -> Result<()> {
    login::Entity::update_many()
        .col_expr(login::Column::RevokedAt, Expr::value(tx.now()))
        .col_expr(login::Column::RevokedReason, Expr::value(reason))
        .filter(login::Column::Id.eq(login_id))
        .filter(login::Column::RevokedAt.is_null())
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    tx.audit(action, "login", login_id, None, None);
    Ok(())
}

/// Revokes every login of a user.
/// Ends every live login of the user but `keep`.
pub async fn revoke_others(tx: &WriteTx, user_id: Uuid, keep: Uuid, reason: &str) -> Result<()> {
    login::Entity::update_many()
        .col_expr(login::Column::RevokedAt, Expr::value(tx.now()))
        .col_expr(login::Column::RevokedReason, Expr::value(reason))
        .filter(login::Column::UserId.eq(user_id))
        .filter(login::Column::Id.ne(keep))
        .filter(login::Column::RevokedAt.is_null())
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(())
}

pub async fn revoke_all(tx: &WriteTx, user_id: Uuid, reason: &str) -> Result<()> {
    login::Entity::update_many()
        .col_expr(login::Column::RevokedAt, Expr::value(tx.now()))
        .col_expr(login::Column::RevokedReason, Expr::value(reason))
        .filter(login::Column::UserId.eq(user_id))
        .filter(login::Column::RevokedAt.is_null())
        .exec(tx.txn())
        .await
        .map_err(Error::internal)?;
    Ok(())
}
