//! Deciding what to offer (spec section 6).

pub(crate) mod compile;
pub(crate) mod operators;
pub(crate) mod schedule;
