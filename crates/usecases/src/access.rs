//! Who may do what, and the accounts: signing in and out, the signed-in user
//! of a request, users (admin), the audit trail (office, admin).

use anjian_domain::account::{self, Assignment};
use anjian_domain::login;
use anjian_domain::{Capability, Clock, Error, FieldErrors, Result, Role};
use anjian_store::entity::user;
use anjian_store::repo::users::{NewUser, User, UserPatch};
use anjian_store::repo::{self, Page, PageRequest};
use anjian_store::{Actor, Db, WriteTx, password};
use uuid::Uuid;

/// A started or refreshed login.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub login_id: Uuid,
    /// The refresh token in clear; only its hash is stored.
    pub refresh_token: String,
}

/// `forbidden` unless `user`'s role has `cap`.
pub fn require(user: &User, cap: Capability) -> Result<()> {
    if user.role().can(cap) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Signs in with a password. Unknown user, wrong password and disabled
/// account give the same answer; too many attempts for the username or the
/// client address give `rate_limited`.
///
/// Every attempt is counted, atomically, *before* its password is checked, and
/// a successful one is refunded: however many arrive at once, at most
/// [`login::MAX_FAILURES`] passwords per username are tried in a window.
#[tracing::instrument(name = "login", skip_all, fields(client = %client,
    user.id = tracing::field::Empty, outcome = tracing::field::Empty))]
pub async fn login(
    (db, clock): (&Db, &dyn Clock),
    (username, password): (&str, &str),
    device_id: Option<Uuid>,
    client: &str,
    request_id: Option<String>,
) -> Result<Session> {
    let r = sign_in(
        (db, clock),
        (username, password),
        device_id,
        client,
        request_id,
    )
    .await;
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

async fn sign_in(
    (db, clock): (&Db, &dyn Clock),
    (username, pw): (&str, &str),
    device_id: Option<Uuid>,
    client: &str,
    request_id: Option<String>,
) -> Result<Session> {
    let username = username.trim().to_lowercase();
    let user_key = format!("user:{username}");
    let client_key = format!("client:{client}");
    {
        let tx = db.write_at(Actor::system(), clock).await?;
        let per_user = repo::auth::count_attempt(&tx, &user_key).await?;
        let per_client = repo::auth::count_attempt(&tx, &client_key).await?;
        let now = tx.now();
        tx.commit().await?;
        if let Some(retry_after_secs) = login::wait_before_check(per_user, per_client, now) {
            return Err(Error::RateLimited { retry_after_secs });
        }
    }
    // The hash check runs outside any transaction: it is the slow part.
    let found = repo::users::find_by_username(db.conn(), &username).await?;
    let phc = found.as_ref().map(|u| u.user.password_hash.as_str());
    let matches = password::verify_blocking(pw, phc).await?;
    let user = match found {
        Some(u) if login::may_sign_in(matches, u.user.disabled) => u,
        // The attempt stays counted.
        _ => return Err(Error::Unauthenticated),
    };
    let actor = Actor {
        user_id: Some(user.user.id),
        request_id,
    };
    let mut tx = db.write_at(actor, clock).await?;
    repo::auth::refund_attempt(&tx, &user_key).await?;
    repo::auth::refund_attempt(&tx, &client_key).await?;
    let expires_at = tx.now() + login::LOGIN_TTL;
    let login_id = repo::auth::start(&mut tx, user.user.id, device_id, expires_at).await?;
    let refresh_token = repo::auth::issue_refresh(&tx, login_id).await?;
    tx.commit().await?;
    Ok(Session {
        user,
        login_id,
        refresh_token,
    })
}

/// Exchanges a refresh token for a new one. A token that was already
/// exchanged means it leaked: its whole login ends.
#[tracing::instrument(name = "refresh", skip_all, fields(login.id = tracing::field::Empty))]
pub async fn refresh(
    (db, clock): (&Db, &dyn Clock),
    token: &str,
    request_id: Option<String>,
) -> Result<Session> {
    let actor = Actor {
        user_id: None,
        request_id,
    };
    let mut tx = db.write_at(actor, clock).await?;
    let Some((lg, rotated)) = repo::auth::find_by_refresh(&tx, token).await? else {
        return Err(Error::Unauthenticated);
    };
    tracing::Span::current().record("login.id", tracing::field::display(lg.id));
    match login::refresh(lg.state, rotated, tx.now()) {
        login::Refresh::Dead => return Err(Error::Unauthenticated),
        login::Refresh::Reused => {
            repo::auth::revoke(&mut tx, lg.id, "refresh_token_reused", "auth.refresh_reuse")
                .await?;
            tx.commit().await?;
            return Err(Error::Unauthenticated);
        }
        login::Refresh::Rotate => {}
    }
    let expires_at = tx.now() + login::LOGIN_TTL;
    // Only one of two concurrent exchanges of the same token rotates it.
    if !repo::auth::rotate(&tx, token, lg.id, expires_at).await? {
        return Err(Error::Unauthenticated);
    }
    let refresh_token = repo::auth::issue_refresh(&tx, lg.id).await?;
    tx.commit().await?;
    let user = enabled_user(db, lg.user_id).await?;
    Ok(Session {
        user,
        login_id: lg.id,
        refresh_token,
    })
}

/// Ends a login.
#[tracing::instrument(name = "logout", skip_all, fields(login.id = %login_id))]
pub async fn logout(db: &Db, actor: Actor, login_id: Uuid) -> Result<()> {
    let mut tx = db.write(actor).await?;
    repo::auth::revoke(&mut tx, login_id, "logout", "auth.logout").await?;
    tx.commit().await?;
    Ok(())
}

async fn enabled_user(db: &Db, id: Uuid) -> Result<User> {
    let u = repo::users::get(db, id)
        .await
        .map_err(|_| Error::Unauthenticated)?;
    if !login::may_sign_in(true, u.user.disabled) {
        return Err(Error::Unauthenticated);
    }
    Ok(u)
}

/// The user a live login belongs to (revoked, expired, disabled: unauthenticated).
pub async fn authenticate((db, clock): (&Db, &dyn Clock), login_id: Uuid) -> Result<User> {
    let lg = repo::auth::find(db.conn(), login_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if !lg.state.is_live(clock.now()) {
        return Err(Error::Unauthenticated);
    }
    enabled_user(db, lg.user_id).await
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

/// Adds `unknown` for the enterprise and villages an account names that do
/// not exist (the enterprise only where its role names one).
async fn check_references(tx: &WriteTx, f: &mut FieldErrors, a: Assignment<'_>) -> Result<()> {
    let missing = repo::users::missing(tx, a.names_enterprise(), a.village_ids).await?;
    if missing.enterprise {
        f.add("enterprise_id", "unknown");
    }
    if missing.villages {
        f.add("village_ids", "unknown");
    }
    Ok(())
}

fn check_password(p: &str) -> Result<()> {
    anjian_domain::password::check(p).map_err(|reason| Error::validation("password", reason))
}

/// Creates an account inside `tx` with an already computed password hash
/// (the seed's demo accounts share one).
pub async fn insert_user(tx: &mut WriteTx, n: &NewUser, password_hash: String) -> Result<User> {
    let mut f = FieldErrors::new();
    let checked = account::check_new(
        &mut f,
        (&n.username, &n.display_name),
        &n.role,
        n.enterprise_id,
        &n.village_ids,
    );
    let a = Assignment {
        role: checked.as_ref().map(|c| c.2),
        enterprise_id: n.enterprise_id,
        village_ids: &n.village_ids,
    };
    check_references(tx, &mut f, a).await?;
    f.into_result()?;
    let Some((username, display_name, role)) = checked else {
        return Err(Error::internal(anyhow::anyhow!(
            "a checked user without a role"
        )));
    };
    if repo::users::username_taken(tx, &username).await? {
        return Err(Error::Conflict("username".into()));
    }
    let now = tx.now();
    let m = user::Model {
        id: Uuid::now_v7(),
        username,
        display_name,
        role: role.into(),
        enterprise_id: n.enterprise_id,
        password_hash,
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let m = tx.insert("user.create", m).await?;
    repo::users::set_villages(tx, m.id, &n.village_ids).await?;
    let mut village_ids = n.village_ids.clone();
    village_ids.sort();
    village_ids.dedup();
    User::from_row(m, village_ids)
}

/// Creates an account (admin).
#[tracing::instrument(name = "user.create", skip_all, fields(user.id = %by.user.id, role = %n.role))]
pub async fn create_user(db: &Db, actor: Actor, by: &User, n: &NewUser) -> Result<User> {
    require(by, Capability::ManageUsers)?;
    create(db, actor, n).await
}

async fn create(db: &Db, actor: Actor, n: &NewUser) -> Result<User> {
    check_password(&n.password)?;
    let hash = password::hash_blocking(&n.password).await?;
    let mut tx = db.write(actor).await?;
    let u = insert_user(&mut tx, n, hash).await?;
    tx.commit().await?;
    Ok(u)
}

/// Changes an account (admin), guarded by `if_match`; disabling it or
/// changing its password ends its logins at once; the first administrator
/// stays an enabled admin.
#[tracing::instrument(name = "user.update", skip_all, fields(user.id = %by.user.id, target = %id))]
pub async fn patch_user(
    db: &Db,
    actor: Actor,
    by: &User,
    (id, if_match): (Uuid, Option<i64>),
    p: &UserPatch,
) -> Result<User> {
    require(by, Capability::ManageUsers)?;
    if let Some(pw) = &p.password {
        check_password(pw)?;
    }
    let new_hash = match p.password.as_deref() {
        Some(pw) => Some(password::hash_blocking(pw).await?),
        None => None,
    };
    let mut tx = db.write(actor).await?;
    let (before, before_villages) = repo::users::find_row(&tx, id)
        .await?
        .ok_or(Error::NotFound)?;
    anjian_store::write::check_if_match(if_match, before.version)?;
    let mut after = before.clone();
    let mut f = FieldErrors::new();
    if let Some(d) = &p.display_name {
        after.display_name = account::display_name(&mut f, d);
    }
    let mut role_invalid = false;
    if let Some(r) = &p.role {
        match r.parse::<Role>() {
            Ok(r) => after.role = r.into(),
            Err(()) => {
                role_invalid = true;
                f.add("role", "invalid");
            }
        }
    }
    if let Some(ent) = p.enterprise_id {
        after.enterprise_id = ent;
    }
    if let Some(d) = p.disabled {
        after.disabled = d;
    }
    if let Some(h) = new_hash {
        after.password_hash = h;
    }
    let village_ids = p
        .village_ids
        .clone()
        .unwrap_or_else(|| before_villages.clone());
    let role = (!role_invalid).then_some(*after.role);
    let a = Assignment {
        role,
        enterprise_id: after.enterprise_id,
        village_ids: &village_ids,
    };
    a.check(&mut f);
    check_references(&tx, &mut f, a).await?;
    f.into_result()?;
    if account::locks_out_first_admin(&before.username, after.disabled, role) {
        return Err(Error::Conflict("first_admin".into()));
    }
    let villages_changed = p.village_ids.is_some() && {
        let mut v = village_ids.clone();
        v.sort();
        v.dedup();
        v != before_villages
    };
    if after == before && !villages_changed {
        return User::from_row(before, before_villages);
    }
    let after = tx.update("user.update", &before, after).await?;
    if villages_changed {
        repo::users::set_villages(&mut tx, id, &village_ids).await?;
    }
    let revoke = account::revocation(before.disabled, after.disabled, p.password.is_some());
    if let Some(reason) = revoke {
        repo::auth::revoke_all(&tx, id, reason).await?;
    }
    let u = repo::users::load_in(&tx, after).await?;
    tx.commit().await?;
    Ok(u)
}

/// Creates the first administrator unless it exists. Returns the password
/// when it was generated here, so that it can be printed once.
pub async fn ensure_admin(db: &Db, configured: Option<&str>) -> Result<Option<String>> {
    if repo::users::exists(db, account::FIRST_ADMIN).await? {
        return Ok(None);
    }
    let generated = configured.is_none().then(|| password::random(16));
    let pw = configured
        .map(str::to_owned)
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let n = NewUser {
        username: account::FIRST_ADMIN.into(),
        display_name: "系统管理员".into(),
        role: Role::Admin.as_str().into(),
        password: pw,
        ..NewUser::default()
    };
    create(db, Actor::system(), &n).await?;
    Ok(generated)
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
