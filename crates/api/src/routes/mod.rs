//! One module per resource of api.md.

pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod enterprises;
pub mod hazards;
pub mod lifecycle;
pub mod notifications;
pub mod ops;
pub mod photos;
pub mod reports;
pub mod sync;
pub mod templates;
pub mod users;
pub mod villages;

use anjian_store::repo::{Page, PageRequest};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::dto;
use crate::error::ApiError;
use crate::state::AppState;

/// Default and largest `limit` of a collection.
pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 500;

/// The query of a collection with no filters of its own.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    #[param(inline)]
    pub cursor: Option<anjian_domain::Text<512>>,
}

impl PageQuery {
    /// The page this query asks for.
    pub fn page(&self, state: &AppState) -> Result<PageRequest, ApiError> {
        page_request(state, self.limit, self.cursor.as_deref())
    }
}

/// `limit` and `cursor` of a collection request; the cursor is sealed so that
/// clients can't forge positions.
pub fn page_request(
    state: &AppState,
    limit: Option<u64>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request("limit"));
    }
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            let raw = state
                .keys
                .open("page", c)
                .ok_or_else(|| ApiError::bad_request("cursor"))?;
            Some(String::from_utf8(raw).map_err(|_| ApiError::bad_request("cursor"))?)
        }
    };
    Ok(PageRequest { after, limit })
}

/// A page on the wire.
pub fn page_out<T, O: ToSchema>(
    state: &AppState,
    page: Page<T>,
    f: impl Fn(T) -> O,
) -> dto::Page<O> {
    dto::Page {
        next_cursor: page
            .next_after
            .map(|a| state.keys.seal("page", a.as_bytes())),
        items: page.items.into_iter().map(f).collect(),
    }
}
