//! Page URL conditions (spec 6.3, `PageUrlConditionsNotMatching`), indexed.
//!
//! Every map tried for an offer is checked against the page, and the maps of a catalog mostly
//! share a few page conditions (`startsWith https://shop.example.com/checkout`, an `equal` list
//! of landing pages). So each distinct condition is compiled once, and a decision answers the
//! conditions by looking the page URL up rather than by testing map after map:
//! - `equal`: the values (WHATWG-normalized, lower-cased) map to their conditions; the page URL
//!   is looked up once.
//! - `startsWith`: the values map to their conditions, and the distinct value lengths are kept;
//!   the page URL's prefix of each of those lengths is looked up once.
//! - every other operator (`containsAny`, `endsWith`, `notEqual`, …) cannot be looked up: such a
//!   condition is tested when a map first needs it, and its answer kept for the decision.
//!
//! The index cannot skip maps: a map whose conditions fail still qualifies and is reported as
//! blocked (spec 3.4), so it answers each qualified map's check from a table instead.
//! [`super::decide_by_scan`] tests every condition of every map instead; the property tests
//! hold the two to the same decisions.

use std::collections::HashMap;

use super::operators::{Op, Test, fold_case};
use crate::model::{Operator, UrlCondition};

/// The distinct page URL conditions of a catalog, and the indexes that answer them.
#[derive(Debug, Clone, Default)]
pub(crate) struct UrlConditions {
    tests: Vec<Test>,
    /// `equal` values → the conditions that list them.
    exact: HashMap<Box<str>, Vec<u32>>,
    /// `startsWith` values → the conditions that list them.
    prefixes: HashMap<Box<str>, Vec<u32>>,
    /// The byte lengths of the `startsWith` values, ascending, without duplicates.
    prefix_lengths: Vec<usize>,
    /// Per condition, what a decision knows before looking the page up: `No` for those the
    /// indexes answer (a lookup turns it into `Yes`), `Unknown` for the others.
    before_lookup: Vec<Answer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Unknown,
    Yes,
    No,
}

/// URL conditions are never case-sensitive; `equal` and `notEqual` compare the URL as the
/// WHATWG parser writes it, so `https://Example.com` equals `https://example.com/`. The other
/// operators take parts of a URL, which cannot be parsed: their non-ASCII characters are
/// lower-cased and percent-encoded as the parser writes them in a path or query, so
/// `startsWith https://example.org/café` matches the page `https://example.org/caf%C3%A9`.
/// (Non-ASCII host names are not turned into punycode.)
fn url_test(c: &UrlCondition) -> Test {
    let values: Vec<String> = match c.operator {
        Operator::Equal | Operator::NotEqual => c
            .values
            .iter()
            .map(|v| url::Url::parse(v).map(String::from).unwrap_or(v.clone()))
            .collect(),
        _ => c
            .values
            .iter()
            .map(|v| percent_encode_non_ascii(v))
            .collect(),
    };
    Test::new(&c.operator, &values, true)
}

/// `value` with each non-ASCII character lower-cased and written as `%XX` per UTF-8 byte.
fn percent_encode_non_ascii(value: &str) -> String {
    if value.is_ascii() {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() * 3);
    for c in value.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        for lower in c.to_lowercase() {
            let mut utf8 = [0; 4];
            for byte in lower.encode_utf8(&mut utf8).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

impl UrlConditions {
    /// Compiles the conditions of every map (in catalog order) and returns, per map, the
    /// positions of its conditions.
    pub(crate) fn compile<'a>(
        maps: impl Iterator<Item = &'a [UrlCondition]>,
    ) -> (UrlConditions, Vec<Box<[u32]>>) {
        let mut out = UrlConditions::default();
        let mut known: HashMap<(&'a Operator, &'a [String]), u32> = HashMap::new();
        let per_map = maps
            .map(|conditions| {
                conditions
                    .iter()
                    .map(|c| {
                        *known
                            .entry((&c.operator, &c.values))
                            .or_insert_with(|| out.add(url_test(c)))
                    })
                    .collect()
            })
            .collect();
        out.prefix_lengths.sort_unstable();
        out.prefix_lengths.dedup();
        (out, per_map)
    }

    fn add(&mut self, test: Test) -> u32 {
        let id = self.tests.len() as u32;
        let index = match test.op() {
            Op::Equal => Some(&mut self.exact),
            Op::StartsWith => Some(&mut self.prefixes),
            _ => None,
        };
        match index {
            Some(index) => {
                for v in test.values() {
                    let ids = index.entry(v.as_str().into()).or_default();
                    if ids.last() != Some(&id) {
                        ids.push(id);
                    }
                }
                if test.op() == Op::StartsWith {
                    self.prefix_lengths
                        .extend(test.values().iter().map(String::len));
                }
                self.before_lookup.push(Answer::No);
            }
            None => self.before_lookup.push(Answer::Unknown),
        }
        self.tests.push(test);
        id
    }
}

/// How a decision answers page URL conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Through the indexes, each condition answered at most once.
    Indexed,
    /// Every condition of every map tested on its own (the reference).
    Scan,
}

/// The answers for one page, found when a map first needs them.
pub(crate) struct PageMatches<'a> {
    conditions: &'a UrlConditions,
    url: &'a str,
    lookup: Lookup,
    /// Empty until the first question.
    answers: Vec<Answer>,
}

impl<'a> PageMatches<'a> {
    pub(crate) fn new(conditions: &'a UrlConditions, url: &'a str, lookup: Lookup) -> Self {
        PageMatches {
            conditions,
            url,
            lookup,
            answers: Vec::new(),
        }
    }

    /// Whether the page meets every one of these conditions (a map's, by position).
    pub(crate) fn all(&mut self, conditions: &[u32]) -> bool {
        conditions.iter().all(|&c| self.holds(c as usize))
    }

    fn holds(&mut self, c: usize) -> bool {
        if self.lookup == Lookup::Scan {
            return self.conditions.tests[c].matches(Some(self.url));
        }
        if self.answers.is_empty() {
            self.look_up();
        }
        match self.answers[c] {
            Answer::Yes => true,
            Answer::No => false,
            Answer::Unknown => {
                let yes = self.conditions.tests[c].matches(Some(self.url));
                self.answers[c] = if yes { Answer::Yes } else { Answer::No };
                yes
            }
        }
    }

    fn look_up(&mut self) {
        let index = self.conditions;
        self.answers = index.before_lookup.clone();
        let url = fold_case(self.url);
        let mut found = |ids: Option<&Vec<u32>>| {
            for &id in ids.into_iter().flatten() {
                self.answers[id as usize] = Answer::Yes;
            }
        };
        found(index.exact.get(&*url));
        for &len in index
            .prefix_lengths
            .iter()
            .take_while(|&&len| len <= url.len())
        {
            if url.is_char_boundary(len) {
                found(index.prefixes.get(&url[..len]));
            }
        }
    }
}
