//! Pagination shared by every list.

use serde::{Deserialize, Serialize};

use crate::error::Error;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Highest page number accepted.
pub const MAX_PAGE: u32 = 1_000_000;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl PageRequest {
    /// Parses the `page` and `limit` query parameters as sent.
    pub fn parse(page: Option<&str>, limit: Option<&str>) -> Result<PageRequest, Error> {
        let page = match page {
            None => 1,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    return Err(Error::validation(
                        "page",
                        format!("page must be a whole number from 1 to {MAX_PAGE}"),
                    ));
                }
            },
        };
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(Error::validation(
                        "limit",
                        format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        Ok(PageRequest { page, limit })
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub total_pages: u64,
    pub has_more: bool,
}

impl Pagination {
    pub fn new(req: PageRequest, total: u64) -> Pagination {
        let total_pages = total.div_ceil(u64::from(req.limit));
        Pagination {
            page: req.page,
            limit: req.limit,
            total,
            total_pages,
            has_more: u64::from(req.page) < total_pages,
        }
    }
}

/// One page of items plus the pagination block.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub pagination: Pagination,
}

/// Sort direction of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(rename_all = "lowercase"))]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

impl SortOrder {
    pub fn parse(s: Option<&str>) -> Result<SortOrder, Error> {
        match s {
            None | Some("desc") => Ok(SortOrder::Desc),
            Some("asc") => Ok(SortOrder::Asc),
            Some(_) => Err(Error::validation("sortOrder", "sortOrder must be 'asc' or 'desc'")),
        }
    }

    pub fn sql(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_counts_pages() {
        let p = Pagination::new(PageRequest { page: 1, limit: 20 }, 157);
        assert_eq!((p.total_pages, p.has_more), (8, true));
        let p = Pagination::new(PageRequest { page: 8, limit: 20 }, 157);
        assert!(!p.has_more);
        assert_eq!(Pagination::new(PageRequest::default(), 0).total_pages, 0);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (page, limit, field) in [
            (Some("0"), None, "page"),
            (Some("-1"), None, "page"),
            (Some("x"), None, "page"),
            (None, Some("0"), "limit"),
            (None, Some("101"), "limit"),
            (None, Some("1.5"), "limit"),
        ] {
            match PageRequest::parse(page, limit).unwrap_err() {
                Error::Invalid { field: f, .. } => assert_eq!(f, field),
                e => panic!("{e}"),
            }
        }
    }
}
