//! Keyset pagination, one page type for every list: `?limit=&after_id=` in,
//! `{items, next_after_id}` out, oldest first.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A validated `?limit=&after_id=` (see `PageQuery`).
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after_id: i64,
}

/// What a list can be paged over: a positive id that grows with time.
pub trait Keyed {
    fn key(&self) -> i64;
}

/// One page of a list. The schema is generic, so each list documents its
/// own item type (`Page_Booking`, `Page_Venue`, ...).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after_id` to get the next page; null on the last page.
    pub next_after_id: Option<i64>,
}

impl<T: Keyed> Page<T> {
    /// A page holding as many items as asked for may have a successor; a
    /// shorter one is the last.
    pub fn new(items: Vec<T>, page: PageRequest) -> Self {
        let full = items.len() as i64 == page.limit;
        let next_after_id = if full {
            items.last().map(Keyed::key)
        } else {
            None
        };
        Self {
            items,
            next_after_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(i64);

    impl Keyed for Item {
        fn key(&self) -> i64 {
            self.0
        }
    }

    #[test]
    fn only_a_full_page_points_to_the_next() {
        let request = PageRequest {
            limit: 2,
            after_id: 0,
        };
        let full = Page::new(vec![Item(3), Item(7)], request);
        assert_eq!(full.next_after_id, Some(7));
        let last = Page::new(vec![Item(9)], request);
        assert_eq!(last.next_after_id, None);
        let empty = Page::<Item>::new(vec![], request);
        assert_eq!(empty.next_after_id, None);
    }
}
