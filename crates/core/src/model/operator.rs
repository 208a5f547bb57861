//! The twelve Genesys comparison operators, shared by URL conditions, event conditions and
//! segment criteria.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A comparison operator. Any other spelling deserializes as [`Operator::Other`], round-trips
/// unchanged, and is refused by validation with the list of the twelve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Operator {
    ContainsAll,
    ContainsAny,
    NotContainsAll,
    NotContainsAny,
    /// The default where the operator is optional (as in Genesys and its Terraform provider).
    #[default]
    Equal,
    NotEqual,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    StartsWith,
    EndsWith,
    /// A spelling that is not one of the twelve (Genesys has no `contains`, `like` or `regex`).
    Other(String),
}

impl Operator {
    /// The twelve, in the order Genesys lists them.
    pub const ALL: [Operator; 12] = [
        Operator::ContainsAll,
        Operator::ContainsAny,
        Operator::NotContainsAll,
        Operator::NotContainsAny,
        Operator::Equal,
        Operator::NotEqual,
        Operator::GreaterThan,
        Operator::GreaterThanOrEqual,
        Operator::LessThan,
        Operator::LessThanOrEqual,
        Operator::StartsWith,
        Operator::EndsWith,
    ];

    /// The Genesys spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Operator::ContainsAll => "containsAll",
            Operator::ContainsAny => "containsAny",
            Operator::NotContainsAll => "notContainsAll",
            Operator::NotContainsAny => "notContainsAny",
            Operator::Equal => "equal",
            Operator::NotEqual => "notEqual",
            Operator::GreaterThan => "greaterThan",
            Operator::GreaterThanOrEqual => "greaterThanOrEqual",
            Operator::LessThan => "lessThan",
            Operator::LessThanOrEqual => "lessThanOrEqual",
            Operator::StartsWith => "startsWith",
            Operator::EndsWith => "endsWith",
            Operator::Other(s) => s,
        }
    }

    /// Whether it is one of the twelve.
    pub fn is_known(&self) -> bool {
        !matches!(self, Operator::Other(_))
    }

    /// Whether it compares numbers (the greater/less family).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Operator::GreaterThan
                | Operator::GreaterThanOrEqual
                | Operator::LessThan
                | Operator::LessThanOrEqual
        )
    }

    pub(crate) fn unknown_reason(name: &str) -> String {
        let all: Vec<&str> = Operator::ALL.iter().map(Operator::as_str).collect();
        format!(
            "unknown operator '{name}'; expected one of: {}",
            all.join(", ")
        )
    }
}

impl From<String> for Operator {
    fn from(s: String) -> Self {
        Operator::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .unwrap_or(Operator::Other(s))
    }
}

impl From<Operator> for String {
    fn from(op: Operator) -> Self {
        match op {
            Operator::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
