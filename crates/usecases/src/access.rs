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
    let username = account_name(db, username).await?;
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

/// The account a login name stands for: the username itself, or, for the
/// credit code of an enterprise that has exactly one enabled account and no
/// account named so, that account's username (its attempts count against it).
async fn account_name(db: &Db, name: &str) -> Result<String> {
    let username = name.trim().to_lowercase();
    let upper = name.trim().to_uppercase();
    if anjian_domain::CreditCode::parse(&upper).is_err()
        || repo::users::exists(db, &username).await?
    {
        return Ok(username);
    }
    let mut accounts = repo::users::enabled_of_credit_code(db.conn(), &upper).await?;
    match (accounts.pop(), accounts.is_empty()) {
        (Some(only), true) => Ok(only.username),
        _ => Ok(username),
    }
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
    let email = account::email(&mut f, &n.email);
    let phone = account::phone(&mut f, &n.phone);
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
        email,
        phone,
        must_change_password: n.must_change_password,
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
    if let Some(e) = &p.email {
        after.email = account::email(&mut f, e);
    }
    if let Some(ph) = &p.phone {
        after.phone = account::phone(&mut f, ph);
    }
    if let Some(m) = p.must_change_password {
        after.must_change_password = m;
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

/// An account given to an enterprise with its one-time password.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub enterprise: anjian_store::entity::enterprise::Model,
    pub username: String,
    pub initial_password: String,
}

/// What provisioning did.
#[derive(Debug, Clone, Default)]
pub struct Provision {
    pub created: Vec<Provisioned>,
    /// Enterprises that already had an account (or whose credit code is
    /// another account's username).
    pub skipped: u64,
}

/// Gives every roster enterprise that has no account one (admin): username
/// its credit code, a one-time initial password to be changed at the first
/// login. In one transaction; running it again creates only what is missing.
#[tracing::instrument(name = "users.provision", skip_all, fields(user.id = %by.user.id, created = tracing::field::Empty))]
pub async fn provision_enterprises(db: &Db, actor: Actor, by: &User) -> Result<Provision> {
    require(by, Capability::ManageUsers)?;
    provision(db, actor).await
}

/// [`provision_enterprises`] on behalf of `actor`, who is trusted (the
/// command line, run by whoever runs the server).
pub async fn provision(db: &Db, actor: Actor) -> Result<Provision> {
    let mut tx = db.write(actor).await?;
    let (todo, mut skipped) = repo::users::enterprises_without_account(&tx).await?;
    let names: Vec<String> = todo.iter().map(|e| e.credit_code.to_lowercase()).collect();
    let taken = repo::users::taken(&tx, &names).await?;
    let todo: Vec<_> = todo
        .into_iter()
        .filter(|e| {
            let free = !taken.contains(&e.credit_code.to_lowercase());
            skipped += u64::from(!free);
            free
        })
        .collect();
    let passwords = password::initial_passwords(todo.len()).await?;
    let now = tx.now();
    let mut rows = Vec::with_capacity(todo.len());
    let mut created = Vec::with_capacity(todo.len());
    for (e, (pw, hash)) in todo.into_iter().zip(passwords) {
        let username = e.credit_code.to_lowercase();
        rows.push(user::Model {
            id: Uuid::now_v7(),
            username: username.clone(),
            display_name: e.name.chars().take(account::DISPLAY_NAME_MAX).collect(),
            role: Role::Enterprise.into(),
            enterprise_id: Some(e.id),
            password_hash: hash,
            disabled: false,
            email: None,
            phone: None,
            must_change_password: true,
            version: 1,
            created_at: now,
            updated_at: now,
        });
        created.push(Provisioned {
            enterprise: e,
            username,
            initial_password: pw,
        });
    }
    tx.insert_many("user.provision", rows).await?;
    tx.commit().await?;
    tracing::Span::current().record("created", created.len());
    Ok(Provision { created, skipped })
}

/// Gives an account a new one-time password (admin; the office for
/// enterprise accounts): its logins end, and it must choose its own password
/// at the next login. The new password, to hand over.
#[tracing::instrument(name = "user.reset_password", skip_all, fields(user.id = %by.user.id, target = %id))]
pub async fn reset_password(db: &Db, actor: Actor, by: &User, id: Uuid) -> Result<String> {
    let office = by.role() == Role::Office;
    if !office {
        require(by, Capability::ManageUsers)?;
    }
    let (pw, hash) = password::initial_passwords(1)
        .await?
        .pop()
        .ok_or_else(|| Error::internal(anyhow::anyhow!("no password made")))?;
    let mut tx = db.write(actor).await?;
    let (before, _) = repo::users::find_row(&tx, id)
        .await?
        .ok_or(Error::NotFound)?;
    if office && *before.role != Role::Enterprise {
        return Err(Error::Forbidden);
    }
    let after = user::Model {
        password_hash: hash,
        must_change_password: true,
        ..before.clone()
    };
    tx.update("user.reset_password", &before, after).await?;
    repo::auth::revoke_all(&tx, id, "password_reset").await?;
    tx.commit().await?;
    Ok(pw)
}

/// The signed-in user changes its own password, proving the current one
/// (a wrong one counts as a failed login attempt): its other logins end, and
/// a required change is done.
#[tracing::instrument(name = "me.password", skip_all, fields(user.id = %user.user.id, outcome = tracing::field::Empty))]
pub async fn change_own_password(
    (db, clock): (&Db, &dyn Clock),
    (user, login_id): (&User, Uuid),
    current: &str,
    new: &str,
    request_id: Option<String>,
) -> Result<()> {
    let r =
        change_password_checked((db, clock), (user, login_id), (current, new), request_id).await;
    tracing::Span::current().record(
        "outcome",
        r.as_ref().map_or_else(|e| e.code().as_str(), |()| "ok"),
    );
    r
}

async fn change_password_checked(
    (db, clock): (&Db, &dyn Clock),
    (user, login_id): (&User, Uuid),
    (current, new): (&str, &str),
    request_id: Option<String>,
) -> Result<()> {
    let key = format!("user:{}", user.user.username);
    {
        let tx = db.write_at(Actor::system(), clock).await?;
        let n = repo::auth::count_attempt(&tx, &key).await?;
        let now = tx.now();
        tx.commit().await?;
        let no_client = login::Attempts {
            count: 0,
            window_started_at: now,
        };
        if let Some(retry_after_secs) = login::wait_before_check(n, no_client, now) {
            return Err(Error::RateLimited { retry_after_secs });
        }
    }
    let mut f = FieldErrors::new();
    if let Err(reason) = anjian_domain::password::check(new) {
        f.add("new_password", reason);
    } else if new == current {
        f.add("new_password", "unchanged");
    }
    let matches = password::verify_blocking(current, Some(&user.user.password_hash)).await?;
    if !matches {
        f.add("current_password", "incorrect");
    }
    f.into_result()?;
    let hash = password::hash_blocking(new).await?;
    let actor = Actor {
        user_id: Some(user.user.id),
        request_id,
    };
    let mut tx = db.write_at(actor, clock).await?;
    repo::auth::refund_attempt(&tx, &key).await?;
    let (before, _) = repo::users::find_row(&tx, user.user.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let after = user::Model {
        password_hash: hash,
        must_change_password: false,
        ..before.clone()
    };
    tx.update("user.password", &before, after).await?;
    repo::auth::revoke_others(&tx, user.user.id, login_id, "password_changed").await?;
    tx.commit().await.map(|_| ())
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
