//! The twelve operators applied to one attribute value (spec 6.1).
//!
//! Genesys documents the operators loosely; Beckon's reading (ours where it is silent):
//! - `containsAll`: the value contains every one of the values (substring);
//!   `containsAny`: at least one. `notContainsAll` is "not containsAll" (some value is missing),
//!   `notContainsAny` is "not containsAny" (none of them occurs).
//! - `equal`: the value equals one of the values; `notEqual`: it equals none of them.
//! - `startsWith` / `endsWith`: with one of the values.
//! - `greaterThan`, `greaterThanOrEqual`, `lessThan`, `lessThanOrEqual`: numeric, true when the
//!   comparison holds for at least one of the values. Both sides are read as decimal numbers;
//!   failing that, as dotted versions (`120.0.6099` > `99`, compared part by part), so that
//!   `browser.version` and `os.version` compare as people expect. A value that is neither never
//!   matches.
//! - An attribute that is absent matches no positive operator and every negative one
//!   (`notEqual`, `notContainsAll`, `notContainsAny`): nothing is contained in nothing.
//! - `shouldIgnoreCase`: both sides are compared in Unicode lower case. Page URL conditions are
//!   always compared ignoring case (Genesys: "expressions are not case-sensitive").

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::model::Operator;

/// An operator with its values, ready to test many attribute values quickly: the values are
/// lower-cased once, and numbers parsed once.
#[derive(Debug, Clone)]
pub(crate) struct Test {
    op: Op,
    ignore_case: bool,
    values: Box<[String]>,
    numbers: Box<[Number]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    ContainsAll,
    ContainsAny,
    NotContainsAll,
    NotContainsAny,
    Equal,
    NotEqual,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    StartsWith,
    EndsWith,
}

/// A number as an operator reads it: a decimal, or a dotted version.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Number {
    Decimal(f64),
    Version(Box<[u64]>),
}

/// Reads a value as a number (see the module docs), `None` when it is not one.
pub(crate) fn parse_number(text: &str) -> Option<Number> {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>()
        && n.is_finite()
    {
        return Some(Number::Decimal(n));
    }
    let parts: Option<Vec<u64>> = t.split('.').map(|p| p.parse::<u64>().ok()).collect();
    parts
        .filter(|p| p.len() > 1)
        .map(|p| Number::Version(p.into()))
}

fn version_of(n: &Number) -> Vec<u64> {
    match n {
        Number::Version(v) => v.to_vec(),
        Number::Decimal(d) => {
            // `2.5` as a version is [2, 5]; integers are [n].
            let text = d.to_string();
            text.split('.').filter_map(|p| p.parse().ok()).collect()
        }
    }
}

fn compare(a: &Number, b: &Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Decimal(x), Number::Decimal(y)) => x.partial_cmp(y),
        _ => {
            let (x, y) = (version_of(a), version_of(b));
            let len = x.len().max(y.len());
            for i in 0..len {
                let (p, q) = (
                    x.get(i).copied().unwrap_or(0),
                    y.get(i).copied().unwrap_or(0),
                );
                match p.cmp(&q) {
                    Ordering::Equal => continue,
                    other => return Some(other),
                }
            }
            Some(Ordering::Equal)
        }
    }
}

/// A value as a test ignoring case compares it: in Unicode lower case (borrowed when it has
/// no upper-case letter).
pub(crate) fn fold_case(value: &str) -> Cow<'_, str> {
    if value.chars().any(char::is_uppercase) {
        Cow::Owned(value.to_lowercase())
    } else {
        Cow::Borrowed(value)
    }
}

impl Test {
    /// Prepares an operator (one of the twelve; validation refused the others) with its values.
    pub(crate) fn new(operator: &Operator, values: &[String], ignore_case: bool) -> Test {
        let op = match operator {
            Operator::ContainsAll => Op::ContainsAll,
            Operator::ContainsAny => Op::ContainsAny,
            Operator::NotContainsAll => Op::NotContainsAll,
            Operator::NotContainsAny => Op::NotContainsAny,
            Operator::Equal | Operator::Other(_) => Op::Equal,
            Operator::NotEqual => Op::NotEqual,
            Operator::GreaterThan => Op::GreaterThan,
            Operator::GreaterThanOrEqual => Op::GreaterThanOrEqual,
            Operator::LessThan => Op::LessThan,
            Operator::LessThanOrEqual => Op::LessThanOrEqual,
            Operator::StartsWith => Op::StartsWith,
            Operator::EndsWith => Op::EndsWith,
        };
        let values: Box<[String]> = values
            .iter()
            .map(|v| {
                if ignore_case {
                    v.to_lowercase()
                } else {
                    v.clone()
                }
            })
            .collect();
        let numbers = if operator.is_numeric() {
            values.iter().filter_map(|v| parse_number(v)).collect()
        } else {
            Box::default()
        };
        Test {
            op,
            ignore_case,
            values,
            numbers,
        }
    }

    /// The operator, for indexes that answer it without calling [`Test::matches`].
    pub(crate) fn op(&self) -> Op {
        self.op
    }

    /// The values as [`Test::matches`] compares them (lower-cased when ignoring case), for
    /// indexes; an index must fold what it looks up with [`fold_case`].
    pub(crate) fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether the attribute value (absent: `None`) passes.
    pub(crate) fn matches(&self, value: Option<&str>) -> bool {
        let Some(value) = value else {
            return matches!(
                self.op,
                Op::NotEqual | Op::NotContainsAll | Op::NotContainsAny
            );
        };
        let folded = if self.ignore_case {
            fold_case(value)
        } else {
            Cow::Borrowed(value)
        };
        let v: &str = &folded;
        let values = self.values.iter().map(String::as_str);
        match self.op {
            Op::ContainsAll => values.clone().all(|x| v.contains(x)),
            Op::ContainsAny => values.clone().any(|x| v.contains(x)),
            Op::NotContainsAll => !values.clone().all(|x| v.contains(x)),
            Op::NotContainsAny => !values.clone().any(|x| v.contains(x)),
            Op::Equal => values.clone().any(|x| v == x),
            Op::NotEqual => !values.clone().any(|x| v == x),
            Op::StartsWith => values.clone().any(|x| v.starts_with(x)),
            Op::EndsWith => values.clone().any(|x| v.ends_with(x)),
            Op::GreaterThan | Op::GreaterThanOrEqual | Op::LessThan | Op::LessThanOrEqual => {
                let Some(n) = parse_number(v) else {
                    return false;
                };
                self.numbers.iter().any(|x| {
                    let Some(ord) = compare(&n, x) else {
                        return false;
                    };
                    match self.op {
                        Op::GreaterThan => ord == Ordering::Greater,
                        Op::GreaterThanOrEqual => ord != Ordering::Less,
                        Op::LessThan => ord == Ordering::Less,
                        _ => ord != Ordering::Greater,
                    }
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(op: &str, values: &[&str], ignore: bool, v: Option<&str>) -> bool {
        let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        Test::new(&Operator::from(op.to_owned()), &values, ignore).matches(v)
    }

    #[test]
    fn numbers_and_versions() {
        assert!(t("greaterThan", &["99"], false, Some("120.0.6099.71")));
        assert!(t("lessThan", &["10.2.1"], false, Some("9.8")));
        // One dot reads as a decimal: 2.9 > 2.10.
        assert!(!t("lessThan", &["2.10"], false, Some("2.9")));
        assert!(!t("lessThan", &["10"], false, Some("ten")));
        assert!(t("greaterThanOrEqual", &["3"], false, Some("3")));
        assert!(t("lessThanOrEqual", &["3.5"], false, Some("3.25")));
    }

    #[test]
    fn absent_values() {
        assert!(t("notEqual", &["x"], false, None));
        assert!(!t("equal", &["x"], false, None));
        assert!(t("notContainsAny", &["x"], false, None));
    }

    #[test]
    fn case() {
        assert!(t("equal", &["Chrome"], true, Some("CHROME")));
        assert!(!t("equal", &["Chrome"], false, Some("CHROME")));
    }
}
