//! User accounts and their village assignments.

use std::collections::{BTreeSet, HashMap};

use anjian_domain::account;
use anjian_domain::{Role, Scope};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::entity::{enterprise, user, user_village, village};
use crate::write::WriteTx;
use crate::{Db, Error, Result};

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
    pub email: String,
    pub phone: String,
    pub must_change_password: bool,
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
    /// `Some("")` clears it.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub must_change_password: Option<bool>,
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

/// Which of the references an account names do not exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Missing {
    pub enterprise: bool,
    pub villages: bool,
}

/// Looks up the enterprise (when given) and the villages an account names.
pub async fn missing(
    tx: &WriteTx,
    enterprise_id: Option<Uuid>,
    village_ids: &[Uuid],
) -> Result<Missing> {
    let mut out = Missing::default();
    if let Some(id) = enterprise_id {
        out.enterprise = enterprise::Entity::find_by_id(id)
            .one(tx.txn())
            .await
            .map_err(Error::internal)?
            .is_none();
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
        out.villages = village_ids.iter().any(|v| !found.contains(v));
    }
    Ok(out)
}

/// Whether an account has this username (outside a transaction).
pub async fn exists(db: &Db, username: &str) -> Result<bool> {
    Ok(find_by_username(db.conn(), username).await?.is_some())
}

/// Whether an account has this username.
pub async fn username_taken(tx: &WriteTx, username: &str) -> Result<bool> {
    Ok(find_by_username(tx.txn(), username).await?.is_some())
}

/// The account row `id` and its villages, sorted.
pub async fn find_row(tx: &WriteTx, id: Uuid) -> Result<Option<(user::Model, Vec<Uuid>)>> {
    let Some(u) = user::Entity::find_by_id(id)
        .one(tx.txn())
        .await
        .map_err(Error::internal)?
    else {
        return Ok(None);
    };
    let villages = villages_of(tx.txn(), &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(Some((u, villages)))
}

/// The user of a row, read inside `tx`.
pub async fn load_in(tx: &WriteTx, u: user::Model) -> Result<User> {
    load(tx.txn(), u).await
}

/// Makes `village_ids` the villages of the user: removes the others, adds the new ones.
pub async fn set_villages(tx: &mut WriteTx, user_id: Uuid, village_ids: &[Uuid]) -> Result<()> {
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

/// Roster enterprises that no account belongs to, by credit code, and how
/// many have one.
pub async fn enterprises_without_account(tx: &WriteTx) -> Result<(Vec<enterprise::Model>, u64)> {
    let with: BTreeSet<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::EnterpriseId)
        .filter(user::Column::EnterpriseId.is_not_null())
        .into_tuple::<Option<Uuid>>()
        .all(tx.txn())
        .await
        .map_err(Error::internal)?
        .into_iter()
        .flatten()
        .collect();
    let all = enterprise::Entity::find()
        .order_by_asc(enterprise::Column::CreditCode)
        .all(tx.txn())
        .await
        .map_err(Error::internal)?;
    let (had, todo): (Vec<_>, Vec<_>) = all.into_iter().partition(|e| with.contains(&e.id));
    Ok((todo, had.len() as u64))
}

/// Which of `usernames` accounts already have.
pub async fn taken(tx: &WriteTx, usernames: &[String]) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for chunk in usernames.chunks(500) {
        let found: Vec<String> = user::Entity::find()
            .select_only()
            .column(user::Column::Username)
            .filter(user::Column::Username.is_in(chunk.to_vec()))
            .into_tuple()
            .all(tx.txn())
            .await
            .map_err(Error::internal)?;
        out.extend(found);
    }
    Ok(out)
}

/// The enabled accounts of the enterprise with this credit code.
pub async fn enabled_of_credit_code(
    conn: &impl sea_orm::ConnectionTrait,
    credit_code: &str,
) -> Result<Vec<user::Model>> {
    let Some(e) = enterprise::Entity::find()
        .filter(enterprise::Column::CreditCode.eq(credit_code))
        .one(conn)
        .await
        .map_err(Error::internal)?
    else {
        return Ok(Vec::new());
    };
    user::Entity::find()
        .filter(user::Column::EnterpriseId.eq(e.id))
        .filter(user::Column::Disabled.eq(false))
        .all(conn)
        .await
        .map_err(Error::internal)
}

/// The display names of the users of `ids` (for pages naming who did what).
pub async fn display_names(db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    let ids: BTreeSet<Uuid> = ids.iter().copied().collect();
    let mut out = HashMap::new();
    for chunk in ids.into_iter().collect::<Vec<_>>().chunks(500) {
        let rows: Vec<(Uuid, String)> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::DisplayName)
            .filter(user::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db.conn())
            .await
            .map_err(Error::internal)?;
        out.extend(rows);
    }
    Ok(out)
}
