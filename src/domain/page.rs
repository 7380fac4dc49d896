//! Keyset pagination: every list is in id order and a page ends where the
//! next begins (`after_id`), so pages stay right while rows are added.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after_id: i64,
}

/// Anything listed has an id to continue after.
pub trait Listed {
    fn id(&self) -> i64;
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after_id` to get the next page; absent on the last page.
    pub next_after_id: Option<i64>,
}

impl<T: Listed> Page<T> {
    pub fn new(items: Vec<T>, page: PageRequest) -> Self {
        let full = items.len() as i64 == page.limit;
        let next_after_id = if full {
            items.last().map(Listed::id)
        } else {
            None
        };
        Self {
            items,
            next_after_id,
        }
    }
}

impl Listed for super::Booking {
    fn id(&self) -> i64 {
        self.id
    }
}

impl Listed for super::Event {
    fn id(&self) -> i64 {
        self.id
    }
}
