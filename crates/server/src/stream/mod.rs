//! What leaves the server after commit: sinks, each with its own durable cursor.

pub mod sinks;
