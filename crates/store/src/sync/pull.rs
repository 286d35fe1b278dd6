//! Pull: the caller's scope as of one moment, then every change after it.
//!
//! Without a cursor the answer starts with a snapshot of the scope in pages
//! (records by type and id); it remembers the feed position when it began and
//! continues from there with the change feed, so changes made while the
//! snapshot was being paged arrive too (possibly twice; clients apply by
//! version). Feed entries are filtered by the scope as it is now; an upsert
//! whose record is no longer visible is answered as a delete.

use std::collections::{BTreeMap, HashMap, HashSet};

use anjian_domain::{EnterpriseId, Error, Result, Scope, VillageId};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entity::{
    change_feed, checklist_item, checklist_template, enterprise, extension_request, hazard,
    inspection, photo, rectification, village,
};
use crate::repo::hazards::{HazardFull, InspectionFull, with_history, with_results};
use crate::repo::templates::Template;
use crate::repo::users::User;
use crate::write::FeedOp;
use crate::{Db, scope};

/// Entity types served to phones, in snapshot order (new types are added at
/// the end, so that a cursor in the middle of a snapshot keeps its meaning).
pub const TYPES: [&str; 8] = [
    "village",
    "enterprise",
    "template",
    "inspection",
    "hazard",
    "photo",
    "rectification",
    "extension_request",
];
/// Types every user sees.
const GLOBAL: [&str; 2] = ["village", "template"];

/// Where a pull continues; sealed by the API so clients can't forge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    pub user_id: Uuid,
    /// The scope the replica was built for.
    pub scope: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pos {
    /// Paging the snapshot taken at feed position `base`.
    Snapshot {
        base: i64,
        type_idx: usize,
        after: Option<Uuid>,
    },
    /// Everything up to and including this feed entry is applied.
    Feed { position: i64, ordinal: i64 },
}

/// A record as served.
#[derive(Debug, Clone)]
pub enum Record {
    Village(village::Model),
    Enterprise(enterprise::Model),
    Template(Template),
    Inspection(InspectionFull),
    Hazard(HazardFull),
    Photo(photo::Model),
    Rectification(rectification::Model),
    ExtensionRequest(extension_request::Model),
}

/// One change of the answer.
#[derive(Debug, Clone)]
pub struct Change {
    pub entity_type: &'static str,
    pub entity_id: Uuid,
    pub version: i64,
    /// `None`: deleted or out of scope.
    pub data: Option<Record>,
}

/// The answer to a pull.
#[derive(Debug, Clone)]
pub struct PullAnswer {
    pub changes: Vec<Change>,
    pub cursor: CursorState,
    pub has_more: bool,
    pub reset: bool,
    pub last_processed_seq: i64,
}

fn ty(s: &str) -> Option<&'static str> {
    TYPES.iter().copied().find(|t| *t == s)
}

/// The scope fingerprint of a user, bound to the user.
pub fn fingerprint(user: &User) -> String {
    format!("{}|{}", user.user.id, user.scope().fingerprint())
}

fn visible(scope: &Scope, villages: &HashMap<Uuid, Uuid>, enterprise_id: Option<Uuid>) -> bool {
    match (scope, enterprise_id) {
        (Scope::All, _) => true,
        (_, None) => false,
        (s, Some(e)) => villages
            .get(&e)
            .is_some_and(|v| s.sees_enterprise(EnterpriseId(e), VillageId(*v))),
    }
}

/// Loads the current records of `ids`, by type, keeping only what the scope sees.
async fn load(
    txn: &impl ConnectionTrait,
    scope: &Scope,
    wanted: &BTreeMap<&'static str, Vec<Uuid>>,
) -> Result<HashMap<(&'static str, Uuid), Record>> {
    let mut out = HashMap::new();
    let ie = Error::internal;
    for (t, ids) in wanted {
        for chunk in ids.chunks(500) {
            let ids = chunk.to_vec();
            match *t {
                "village" => {
                    for v in village::Entity::find()
                        .filter(village::Column::Id.is_in(ids))
                        .all(txn)
                        .await
                        .map_err(ie)?
                    {
                        out.insert(("village", v.id), Record::Village(v));
                    }
                }
                "enterprise" => {
                    let rows = enterprise::Entity::find()
                        .filter(enterprise::Column::Id.is_in(ids))
                        .filter(scope::enterprises(scope))
                        .all(txn)
                        .await
                        .map_err(ie)?;
                    for e in rows {
                        out.insert(("enterprise", e.id), Record::Enterprise(e));
                    }
                }
                "template" => {
                    let ts = checklist_template::Entity::find()
                        .filter(checklist_template::Column::Id.is_in(ids.clone()))
                        .all(txn)
                        .await
                        .map_err(ie)?;
                    let items = checklist_item::Entity::find()
                        .filter(checklist_item::Column::TemplateId.is_in(ids))
                        .order_by_asc(checklist_item::Column::Position)
                        .all(txn)
                        .await
                        .map_err(ie)?;
                    for t in ts {
                        let its = items
                            .iter()
                            .filter(|i| i.template_id == t.id)
                            .cloned()
                            .collect();
                        out.insert(
                            ("template", t.id),
                            Record::Template(Template {
                                template: t,
                                items: its,
                            }),
                        );
                    }
                }
                "inspection" => {
                    let rows = inspection::Entity::find()
                        .filter(inspection::Column::Id.is_in(ids))
                        .filter(scope::by_enterprise(
                            scope,
                            inspection::Column::EnterpriseId,
                        ))
                        .all(txn)
                        .await
                        .map_err(ie)?;
                    for i in with_results(txn, rows).await? {
                        out.insert(("inspection", i.inspection.id), Record::Inspection(i));
                    }
                }
                "hazard" => {
                    let rows = hazard::Entity::find()
                        .filter(hazard::Column::Id.is_in(ids))
                        .filter(scope::by_enterprise(scope, hazard::Column::EnterpriseId))
                        .all(txn)
                        .await
                        .map_err(ie)?;
                    for h in with_history(txn, rows).await? {
                        out.insert(("hazard", h.hazard.id), Record::Hazard(h));
                    }
                }
                "photo" => {
                    let rows = photo::Entity::find()
                        .filter(photo::Column::Id.is_in(ids))
                        .all(txn)
                        .await
                        .map_err(ie)?;
                    let ents: Vec<Uuid> = rows.iter().filter_map(|p| p.enterprise_id).collect();
                    let villages: HashMap<Uuid, Uuid> = enterprise::Entity::find()
                        .select_only()
                        .column(enterprise::Column::Id)
                        .column(enterprise::Column::VillageId)
                        .filter(enterprise::Column::Id.is_in(ents))
                        .into_tuple()
                        .all(txn)
                        .await
                        .map_err(ie)?
                        .into_iter()
                        .collect();
                    for p in rows {
                        if visible(scope, &villages, p.enterprise_id) {
                            out.insert(("photo", p.id), Record::Photo(p));
                        }
                    }
                }
                "rectification" => {
                    for r in rectification::Entity::find()
                        .filter(rectification::Column::Id.is_in(ids))
                        .filter(scope::by_enterprise(
                            scope,
                            rectification::Column::EnterpriseId,
                        ))
                        .all(txn)
                        .await
                        .map_err(ie)?
                    {
                        out.insert(("rectification", r.id), Record::Rectification(r));
                    }
                }
                "extension_request" => {
                    for x in extension_request::Entity::find()
                        .filter(extension_request::Column::Id.is_in(ids))
                        .filter(scope::by_enterprise(
                            scope,
                            extension_request::Column::EnterpriseId,
                        ))
                        .all(txn)
                        .await
                        .map_err(ie)?
                    {
                        out.insert(("extension_request", x.id), Record::ExtensionRequest(x));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

fn version_of(r: &Record) -> i64 {
    match r {
        Record::Village(v) => v.version,
        Record::Enterprise(e) => e.version,
        Record::Template(t) => t.template.version,
        Record::Inspection(i) => i.inspection.version,
        Record::Hazard(h) => h.hazard.version,
        Record::Photo(p) => p.version,
        Record::Rectification(r) => r.version,
        Record::ExtensionRequest(x) => x.version,
    }
}

/// Ids of one type in the scope after `after`, by id.
async fn snapshot_ids(
    txn: &impl ConnectionTrait,
    scope: &Scope,
    t: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Uuid>> {
    macro_rules! page {
        ($ent:ident, $cond:expr) => {{
            let mut q = $ent::Entity::find()
                .select_only()
                .column($ent::Column::Id)
                .filter($cond);
            if let Some(a) = after {
                q = q.filter($ent::Column::Id.gt(a));
            }
            q.order_by_asc($ent::Column::Id)
                .limit(limit)
                .into_tuple()
                .all(txn)
                .await
                .map_err(Error::internal)
        }};
    }
    match t {
        "village" => page!(village, Condition::all()),
        "enterprise" => page!(enterprise, scope::enterprises(scope)),
        "template" => page!(checklist_template, Condition::all()),
        "inspection" => page!(
            inspection,
            scope::by_enterprise(scope, inspection::Column::EnterpriseId)
        ),
        "hazard" => page!(
            hazard,
            scope::by_enterprise(scope, hazard::Column::EnterpriseId)
        ),
        "photo" => {
            let cond = match scope {
                Scope::All => Condition::all(),
                s => Condition::all()
                    .add(photo::Column::EnterpriseId.is_not_null())
                    .add(scope::by_enterprise(s, photo::Column::EnterpriseId)),
            };
            page!(photo, cond)
        }
        "rectification" => page!(
            rectification,
            scope::by_enterprise(scope, rectification::Column::EnterpriseId)
        ),
        "extension_request" => page!(
            extension_request,
            scope::by_enterprise(scope, extension_request::Column::EnterpriseId)
        ),
        _ => Ok(Vec::new()),
    }
}

/// Feed entries after `(position, ordinal)` that the scope may see.
fn feed_condition(scope: &Scope, position: i64, ordinal: i64) -> Condition {
    // `position >= p` on its own lets the primary key index bound the scan.
    let after = Condition::all()
        .add(change_feed::Column::Position.gte(position))
        .add(
            Condition::any()
                .add(change_feed::Column::Position.gt(position))
                .add(change_feed::Column::Ordinal.gt(ordinal)),
        );
    let typed = change_feed::Column::EntityType.is_in(TYPES);
    let global = change_feed::Column::EntityType.is_in(GLOBAL);
    let mine = match scope {
        Scope::All => Condition::all(),
        Scope::Villages(v) => Condition::any()
            .add(global)
            .add(change_feed::Column::VillageId.is_in(v.iter().copied())),
        Scope::Enterprise(e) => Condition::any()
            .add(global)
            .add(change_feed::Column::EnterpriseId.eq(*e)),
        Scope::Nothing => Condition::all().add(global),
    };
    Condition::all().add(after).add(typed).add(mine)
}

async fn clock(txn: &impl ConnectionTrait) -> Result<i64> {
    let row = txn
        .query_one_raw(Statement::from_string(
            txn.get_database_backend(),
            "SELECT position FROM feed_clock WHERE id = 1",
        ))
        .await
        .map_err(Error::internal)?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("feed_clock row missing")))?;
    row.try_get("", "position").map_err(Error::internal)
}

/// Reads a pull's page, for a device that has reached `last_processed_seq`
/// (read before: see below). `cursor` is `None` for a first pull, `Some(None)`
/// for a cursor that could not be opened (forged or from another server),
/// `Some(Some(_))` otherwise.
pub async fn pull(
    db: &Db,
    user: &User,
    last_processed_seq: i64,
    cursor: Option<Option<CursorState>>,
    limit: usize,
) -> Result<PullAnswer> {
    let fp = fingerprint(user);
    let scope = user.scope();
    let (mut pos, reset) = match cursor {
        Some(Some(c)) if c.user_id == user.user.id && c.scope == fp => (Some(c.pos), false),
        Some(_) => (None, true),
        None => (None, false),
    };
    // No transaction is needed for one moment's view: the device's position was
    // read first, and the feed follows commit order, so every mutation it counts
    // has its changes visible to the reads that follow. (Changes beyond it may
    // show too; the phone learns of their acknowledgement at its next push.)
    let txn = db.conn();
    if pos.is_none() {
        pos = Some(Pos::Snapshot {
            base: clock(txn).await?,
            type_idx: 0,
            after: None,
        });
    }
    let mut pos = pos.unwrap_or(Pos::Feed {
        position: 0,
        ordinal: -1,
    });
    let mut keys: Vec<(&'static str, Uuid, &'static str)> = Vec::new();
    let has_more;
    loop {
        let room = limit.saturating_sub(keys.len());
        if room == 0 {
            has_more = true;
            break;
        }
        match pos.clone() {
            Pos::Snapshot {
                base,
                type_idx,
                after,
            } => {
                let Some(t) = TYPES.get(type_idx) else {
                    pos = Pos::Feed {
                        position: base,
                        ordinal: i64::MAX,
                    };
                    continue;
                };
                let ids = snapshot_ids(txn, &scope, t, after, room as u64).await?;
                let full = ids.len() == room;
                keys.extend(ids.iter().map(|id| (*t, *id, "upsert")));
                pos = match (full, ids.last()) {
                    (true, Some(last)) => Pos::Snapshot {
                        base,
                        type_idx,
                        after: Some(*last),
                    },
                    _ => Pos::Snapshot {
                        base,
                        type_idx: type_idx + 1,
                        after: None,
                    },
                };
            }
            Pos::Feed { position, ordinal } => {
                let rows = change_feed::Entity::find()
                    .filter(feed_condition(&scope, position, ordinal))
                    .order_by_asc(change_feed::Column::Position)
                    .order_by_asc(change_feed::Column::Ordinal)
                    .limit(room as u64 + 1)
                    .all(txn)
                    .await
                    .map_err(Error::internal)?;
                has_more = rows.len() > room;
                for r in rows.iter().take(room) {
                    if let Some(t) = ty(&r.entity_type) {
                        keys.push((
                            t,
                            r.entity_id,
                            if *r.op == FeedOp::Delete {
                                "delete"
                            } else {
                                "upsert"
                            },
                        ));
                    }
                    pos = Pos::Feed {
                        position: r.position,
                        ordinal: r.ordinal,
                    };
                }
                break;
            }
        }
    }
    // The last word on a record within this page wins.
    let mut last_op: HashMap<(&'static str, Uuid), &'static str> = HashMap::new();
    for (t, id, op) in &keys {
        last_op.insert((*t, *id), *op);
    }
    let mut wanted: BTreeMap<&'static str, Vec<Uuid>> = BTreeMap::new();
    for ((t, id), op) in &last_op {
        if *op == "upsert" {
            wanted.entry(*t).or_default().push(*id);
        }
    }
    let mut records = load(txn, &scope, &wanted).await?;
    let mut emitted = HashSet::new();
    let mut changes = Vec::new();
    for (t, id, _) in keys.iter().rev() {
        if !emitted.insert((*t, *id)) {
            continue;
        }
        let data = records.remove(&(*t, *id));
        let version = data.as_ref().map_or(0, version_of);
        changes.push(Change {
            entity_type: t,
            entity_id: *id,
            version,
            data,
        });
    }
    changes.reverse();
    Ok(PullAnswer {
        changes,
        cursor: CursorState {
            user_id: user.user.id,
            scope: fp,
            pos,
        },
        has_more,
        reset,
        last_processed_seq,
    })
}

/// Records of an enterprise that moved village leave the old village's feed
/// (delete) and enter the new one's (upsert).
pub async fn enterprise_moved(
    tx: &mut crate::WriteTx,
    e: &enterprise::Model,
    old_village: Uuid,
) -> Result<()> {
    use crate::write::FeedScope;
    let txn = tx.txn();
    let ie = Error::internal;
    let mut rows: Vec<(&'static str, Uuid, i64)> = vec![("enterprise", e.id, e.version)];
    macro_rules! dependents {
        ($ent:ident, $ty:literal) => {
            for (id, v) in $ent::Entity::find()
                .select_only()
                .column($ent::Column::Id)
                .column($ent::Column::Version)
                .filter($ent::Column::EnterpriseId.eq(e.id))
                .into_tuple::<(Uuid, i64)>()
                .all(txn)
                .await
                .map_err(ie)?
            {
                rows.push(($ty, id, v));
            }
        };
    }
    dependents!(inspection, "inspection");
    dependents!(hazard, "hazard");
    dependents!(photo, "photo");
    dependents!(rectification, "rectification");
    dependents!(extension_request, "extension_request");
    let old = FeedScope {
        enterprise_id: Some(e.id),
        village_id: Some(old_village),
    };
    let new = FeedScope {
        enterprise_id: Some(e.id),
        village_id: Some(e.village_id),
    };
    for (t, id, v) in &rows {
        tx.feed_raw(t, *id, *v, FeedOp::Delete, old);
    }
    for (t, id, v) in &rows {
        tx.feed_raw(t, *id, *v, FeedOp::Upsert, new);
    }
    Ok(())
}
