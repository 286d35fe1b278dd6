//! Who may do what, and the accounts: signing in and out, the signed-in user
//! of a request, users (admin), the audit trail (office, admin).

use anjian_domain::{Capability, Error, Result};
use anjian_store::repo::users::{NewUser, User, UserPatch};
use anjian_store::repo::{self, Page, PageRequest};
use anjian_store::{Actor, Db};
use uuid::Uuid;

pub use anjian_store::repo::auth::Session;

/// `forbidden` unless `user`'s role has `cap`.
pub fn require(user: &User, cap: Capability) -> Result<()> {
    if user.role().can(cap) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Signs in with a password, counted against the username and the client
/// address before the password is checked.
#[tracing::instrument(name = "login", skip_all, fields(client = %client,
    user.id = tracing::field::Empty, outcome = tracing::field::Empty))]
pub async fn login(
    db: &Db,
    username: &str,
    password: &str,
    device_id: Option<Uuid>,
    client: &str,
    request_id: Option<String>,
) -> Result<Session> {
    let r = repo::auth::login(db, username, password, device_id, client, request_id).await;
    let span = tracing::Span::current();
    match &r {
        Ok(s) => {
            span.record("user.id", tracing::field::display(s.user.user.id));
            span.record("outcome", "ok");
        }
        Err(e) => {
            span.record("outcome", e.code().as_str());
        }
    }
    r
}

/// Exchanges a refresh token for a new one (a reused one ends the login).
#[tracing::instrument(name = "refresh", skip_all)]
pub async fn refresh(db: &Db, token: &str, request_id: Option<String>) -> Result<Session> {
    repo::auth::refresh(db, token, request_id).await
}

/// Ends a login.
#[tracing::instrument(name = "logout", skip_all, fields(login.id = %login_id))]
pub async fn logout(db: &Db, actor: Actor, login_id: Uuid) -> Result<()> {
    repo::auth::logout(db, actor, login_id).await
}

/// The user a live login belongs to (revoked, expired, disabled: unauthenticated).
pub async fn authenticate(db: &Db, login_id: Uuid) -> Result<User> {
    repo::auth::authenticate(db, login_id).await
}

/// A page of users (admin).
pub async fn list_users(db: &Db, by: &User, page: &PageRequest) -> Result<Page<User>> {
    require(by, Capability::ManageUsers)?;
    repo::users::list(db, page).await
}

/// One user (admin).
pub async fn get_user(db: &Db, by: &User, id: Uuid) -> Result<User> {
    require(by, Capability::ManageUsers)?;
    repo::users::get(db, id).await
}

/// Creates a user (admin).
#[tracing::instrument(name = "user.create", skip_all, fields(user.id = %by.user.id, role = %n.role))]
pub async fn create_user(db: &Db, actor: Actor, by: &User, n: &NewUser) -> Result<User> {
    require(by, Capability::ManageUsers)?;
    repo::users::create(db, actor, n).await
}

/// Changes a user (admin); disabling it or changing its password ends its logins.
#[tracing::instrument(name = "user.update", skip_all, fields(user.id = %by.user.id, target = %id))]
pub async fn patch_user(
    db: &Db,
    actor: Actor,
    by: &User,
    (id, if_match): (Uuid, Option<i64>),
    p: &UserPatch,
) -> Result<User> {
    require(by, Capability::ManageUsers)?;
    repo::users::patch(db, actor, id, if_match, p).await
}

/// A page of the audit trail (office, admin).
pub async fn audit(
    db: &Db,
    by: &User,
    f: &repo::audit::Filter,
    page: &PageRequest,
) -> Result<Page<anjian_store::entity::audit_log::Model>> {
    require(by, Capability::ReadAudit)?;
    repo::audit::list(db, f, page).await
}
