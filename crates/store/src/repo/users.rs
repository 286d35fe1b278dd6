//! User accounts and their village assignments.

use std::collections::{BTreeSet, HashMap};

use anjian_domain::account::{self, Assignment};
use anjian_domain::{FieldErrors, Role, Scope};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{enterprise, user, user_village, village};
use crate::write::WriteTx;
use crate::{Actor, Db, Error, Result, password};

/// A user with the villages assigned to it.
#[derive(Debug, Clone)]
pub struct User {
    pub user: user::Model,
    pub village_ids: Vec<Uuid>,
    /// `user.role`; a row whose role is unreadable is never read.
    role: Role,
}

impl User {
    /// A user from its row (a row whose stored role is unreadable fails to
    /// read: it never falls back to some role).
    pub fn from_row(user: user::Model, village_ids: Vec<Uuid>) -> Result<User> {
        let role = *user.role;
        Ok(User {
            user,
            village_ids,
            role,
        })
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// What this user may see.
    pub fn scope(&self) -> Scope {
        Scope::of(self.role(), &self.village_ids, self.user.enterprise_id)
    }
}

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub enterprise_id: Option<Uuid>,
    pub village_ids: Vec<Uuid>,
    pub password: String,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub enterprise_id: Option<Option<Uuid>>,
    pub village_ids: Option<Vec<Uuid>>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

async fn villages_of(
    conn: &impl sea_orm::ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>> {
    let rows = user_village::Entity::find()
        .filter(user_village::Column::UserId.is_in(ids.to_vec()))
        .all(conn)
        .await
        .map_err(Error::internal)?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        out.entry(r.user_id).or_default().push(r.village_id);
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}

async fn load(conn: &impl sea_orm::ConnectionTrait, u: user::Model) -> Result<User> {
    // Only some roles have villages; the others need no second query.
    if !account::has_villages(*u.role) {
        return User::from_row(u, Vec::new());
    }
    let mut v = villages_of(conn, &[u.id]).await?;
    let villages = v.remove(&u.id).unwrap_or_default();
    User::from_row(u, villages)
}

/// A page of users by id.
pub async fn list(db: &Db, page: &PageRequest) -> Result<Page<User>> {
    let mut q = user::Entity::find()
        .order_by_asc(user::Column::Id)
        .limit(page.limit + 1);
    if let Some(after) = &page.after {
        let after: Uuid = after
            .parse()
            .map_err(|_| Error::BadRequest("cursor".into()))?;
        q = q.filter(user::Column::Id.gt(after));
    }
    let rows = q.all(db.conn()).await.map_err(Error::internal)?;
    let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
    let mut villages = villages_of(db.conn(), &ids).await?;
    let users = rows
        .into_iter()
        .map(|u| {
            let v = villages.remove(&u.id).unwrap_or_default();
            User::from_row(u, v)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(users, page.limit, |u| {
        u.user.id.to_string()
    }))
}

pub async fn get(db: &Db, id: Uuid) -> Result<User> {
    let u = user::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?;
    load(db.conn(), u).await
}

pub async fn find_by_username(
    conn: &impl sea_orm::ConnectionTrait,
    username: &str,
) -> Result<Option<User>> {
    match user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(conn)
        .await
        .map_err(Error::internal)?
    {
        Some(u) => Ok(Some(load(conn, u).await?)),
        None => Ok(None),
    }
}

/// Checks the role's requirements: an enterprise user names an existing
/// enterprise, an inspector has at least one existing village.
async fn check_assignment(
    tx: &WriteTx,
    e: &mut FieldErrors,
    role: Option<Role>,
    enterprise_id: Option<Uuid>,
    village_ids: &[Uuid],
) -> Result<()> {
    Assignment {
        role,
        enterprise_id,
        village_ids,
    }
    .check(e);
    if let Some(id) = (Assignment {
        role,
        enterprise_id,
        village_ids,
    })
    .names_enterprise()
    {
        let found = enterprise::Entity::find_by_id(id)
            .one(tx.txn())
            .await
            .map_err(Error::internal)?;
        if found.is_none() {
            e.add("enterprise_id", "unknown");
        }
    }
    if !village_ids.is_empty() {
        let found: Vec<Uuid> = village::Entity::find()
            .select_only()
            .column(village::Column::Id)
            .filter(village::Column::Id.is_in(village_ids.to_vec()))
            .into_tuple()
            .all(tx.txn())
            .await
            .map_err(Error::internal)?;
        if village_ids.iter().any(|v| !found.contains(v)) {
            e.add("village_ids", "unknown");
        }
    }
    Ok(())
}

/// Makes `village_ids` the villages of the user: removes the others, adds the new ones.
async fn set_villages(tx: &mut WriteTx, user_id: Uuid, village_ids: &[Uuid]) -> Result<()> {
    let current = user_village::Entity::find()
        .filter(user_village::Column::UserId.eq(user_id))
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    let wanted: BTreeSet<Uuid> = village_ids.iter().copied().collect();
    let (kept, gone): (Vec<_>, Vec<_>) = current
        .into_iter()
        .partition(|r| wanted.contains(&r.village_id));
    tx.delete_children("user.villages", gone).await?;
    let new: Vec<user_village::Model> = wanted
        .into_iter()
        .filter(|v| !kept.iter().any(|k| k.village_id == *v))
        .map(|village_id| user_village::Model {
            user_id,
            village_id,
        })
        .collect();
    tx.insert_children("user.villages", new).await
}

/// Creates a user within `tx`, with an already computed password hash.
pub async fn insert_hashed(tx: &mut WriteTx, n: &NewUser, password_hash: String) -> Result<User> {
    let mut e = FieldErrors::new();
    let username = n.username.trim().to_owned();
    if !account::valid_username(&username) {
        e.add("username", "invalid");
    }
    let display_name = account::display_name(&mut e, &n.display_name);
    let role: Option<Role> = n.role.parse().ok();
    if role.is_none() {
        e.add("role", "invalid");
    }
    check_assignment(tx, &mut e, role, n.enterprise_id, &n.village_ids).await?;
    e.into_result()?;
    let Some(role) = role else {
        return Err(Error::internal(anyhow::anyhow!(
            "a checked user without a role"
        )));
    };
    if find_by_username(tx.txn(), &username).await?.is_some() {
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
    set_villages(tx, m.id, &n.village_ids).await?;
    let mut village_ids = n.village_ids.clone();
    village_ids.sort();
    village_ids.dedup();
    User::from_row(m, village_ids)
}

fn check_password(p: &str) -> Result<()> {
    anjian_domain::password::check(p).map_err(|reason| Error::validation("password", reason))
}

/// Creates a user.
pub async fn create(db: &Db, actor: Actor, n: &NewUser) -> Result<User> {
    check_password(&n.password)?;
    let hash = password::hash_blocking(&n.password).await?;
    let mut tx = db.write(actor).await?;
    let u = insert_hashed(&mut tx, n, hash).await?;
    tx.commit().await?;
    Ok(u)
}

/// Changes a user. Disabling it or changing its password revokes its logins at once.
pub async fn patch(
    db: &Db,
    actor: Actor,
    id: Uuid,
    if_match: Option<i64>,
    p: &UserPatch,
) -> Result<User> {
    if let Some(pw) = &p.password {
        check_password(pw)?;
    }
    let new_hash = match p.password.as_deref() {
        Some(pw) => Some(password::hash_blocking(pw).await?),
        None => None,
    };
    let mut tx = db.write(actor).await?;
    let before = user::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
        .ok_or(Error::NotFound)?;
    crate::write::check_if_match(if_match, before.version)?;
    let before_villages = villages_of(tx.txn(), &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let mut after = before.clone();
    let mut e = FieldErrors::new();
    if let Some(d) = &p.display_name {
        after.display_name = account::display_name(&mut e, d);
    }
    let mut role_invalid = false;
    if let Some(r) = &p.role {
        match r.parse::<Role>() {
            Ok(r) => after.role = r.into(),
            Err(()) => {
                role_invalid = true;
                e.add("role", "invalid");
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
    check_assignment(&tx, &mut e, role, after.enterprise_id, &village_ids).await?;
    e.into_result()?;
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
        set_villages(&mut tx, id, &village_ids).await?;
    }
    let revoke = account::revocation(before.disabled, after.disabled, p.password.is_some());
    if let Some(reason) = revoke {
        super::auth::revoke_all(&tx, id, reason).await?;
    }
    let u = load(tx.txn(), after).await?;
    tx.commit().await?;
    Ok(u)
}

/// Creates the first admin (`admin`) unless it exists. Returns the password when it
/// was generated here, so that it can be printed once.
pub async fn ensure_admin(db: &Db, configured: Option<&str>) -> Result<Option<String>> {
    if find_by_username(db.conn(), account::FIRST_ADMIN)
        .await?
        .is_some()
    {
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
