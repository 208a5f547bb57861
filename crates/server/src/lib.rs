//! beckon-server: the library behind the `beckon` binary.
//!
//! The binary (`main.rs`) is only the command line; everything it runs lives in these modules so
//! that benchmarks and tests can reach the store and the API directly. See `ARCHITECTURE.md` for
//! the map.

pub mod api;
pub mod app;
pub mod catalogs;
pub mod chat;
pub mod cli;
pub mod config;
pub mod decisions;
pub mod demo;
pub mod enrich;
pub mod geoip;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod provisioning;
pub mod record;
pub mod reports;
pub mod store;
pub mod stream;
