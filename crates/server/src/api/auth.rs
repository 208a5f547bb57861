//! Bearer tokens for admin and read routes, compared in constant time (`same`).

use axum::http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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

/// Whether two secrets are equal, in a time that tells neither their content nor their lengths
/// apart: their SHA-256 digests (32 bytes whatever the input) are compared with `subtle`'s
/// constant-time equality, which the optimizer cannot cut short.
pub(crate) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.as_slice().ct_eq(b.as_slice()).into()
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

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_are_the_same_only_when_equal() {
        let token = "3f9a1c0e5b7d4a2f8e6c1b0a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e";
        assert!(same(token, token));
        assert!(same("", ""));
        // One byte different, first or last.
        assert!(!same(token, &token.replacen('3', "4", 1)));
        assert!(!same(token, &format!("{}f", &token[..token.len() - 1])));
        // Different lengths: a prefix, a longer token, the empty token.
        assert!(!same(token, &token[..10]));
        assert!(!same(&token[..10], token));
        assert!(!same(token, &format!("{token}0")));
        assert!(!same(token, ""));
        assert!(!same("", token));
    }
}
