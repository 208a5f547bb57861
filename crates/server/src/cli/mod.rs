//! Command-line tools that talk to a running server.

pub mod tail;
