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
