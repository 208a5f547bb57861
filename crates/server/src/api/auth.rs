//! Bearer tokens for admin and read routes, compared in constant time.

use axum::http::{HeaderMap, StatusCode, header};

use super::problem::Problem;

/// The tokens a request may present.
#[derive(Clone)]
pub struct Tokens {
    pub admin: String,
    pub read: Option<String>,
}

/// Which kind of route is being entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Streams and log reads: the read token or the admin token.
    Read,
    /// Everything that changes configuration or replays deliveries.
    Admin,
}

pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Tokens {
    /// Checks the `Authorization: Bearer …` header for `access`.
    pub fn check(&self, headers: &HeaderMap, access: Access) -> Result<(), Problem> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = presented else {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
                "send 'Authorization: Bearer <token>'",
            ));
        };
        let admin = same(token, &self.admin);
        let read = self.read.as_deref().is_some_and(|r| same(token, r));
        if admin || (access == Access::Read && read) {
            Ok(())
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "The token does not grant this",
                match access {
                    Access::Admin => "this route needs the admin token",
                    Access::Read => "this route needs the read token or the admin token",
                },
            ))
        }
    }
}
