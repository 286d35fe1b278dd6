//! Use cases that read or write the database. Reads take the caller's
//! [`anjian_domain::Scope`]; writes take a [`crate::WriteTx`] or open one.

pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod enterprises;
pub mod hazards;
pub mod jobs;
pub mod notifications;
pub mod outbox;
pub mod photo_jobs;
pub mod photos;
pub mod rectifications;
pub mod reports;
pub mod templates;
pub mod users;
pub mod villages;

/// One page of a keyset-paginated listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The key to continue after, when there is more.
    pub next_after: Option<String>,
}

/// Limit and position of a listing.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Sort key of the last item of the previous page.
    pub after: Option<String>,
    pub limit: u64,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, key: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_after = if more { rows.last().map(key) } else { None };
        Page {
            items: rows,
            next_after,
        }
    }
}

/// Inserts the rows whose `unique` column holds a value not yet in the
/// table (the others are left as they are), inside `tx`; how many were.
/// For rows that are not records of their own (notifications, outbox
/// messages): no audit entry, no feed.
pub(crate) async fn insert_new<A>(
    tx: &crate::WriteTx,
    rows: Vec<A>,
    unique: <A::Entity as sea_orm::EntityTrait>::Column,
) -> crate::Result<u64>
where
    A: sea_orm::ActiveModelTrait + Send,
{
    use sea_orm::EntityTrait;
    let mut n = 0;
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<A> = rows.by_ref().take(200).collect();
        if chunk.is_empty() {
            return Ok(n);
        }
        n += <A::Entity as EntityTrait>::insert_many(chunk)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(unique)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(tx.txn())
            .await
            .map_err(crate::Error::internal)?;
    }
}
