//! Where a visitor is (`geolocation.*` segment criteria): from the headers a trusted reverse
//! proxy sets and, when `[geolocation] database` names one, from a MaxMind DB file (GeoLite2 or
//! GeoIP2 City or Country, or a compatible one such as DB-IP's) looked up by the client's
//! address. Both are off by default: without them no location is known.
//!
//! The file is read once at start; a file that cannot be read or is not a City/Country database
//! stops the start (and `beckon check-config`) with its path. The client's address is the TCP
//! peer, or, for a request from one of `limits.trusted_proxies`, the address `client_ip_header`
//! names (a proxy's `X-Forwarded-For`), found as the rate limiter finds it
//! ([`crate::api::limits::ClientAddress`]): a visitor cannot choose their own location by
//! writing the header. For each key, a configured header that is present wins over the database,
//! so a proxy that knows better can correct it one key at a time.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use axum::http::HeaderMap;
use beckon_core::decide::Geolocation;
use maxminddb::geoip2;

use crate::api::limits::ClientAddress;
use crate::config;

/// A MaxMind DB file of City or Country records, read into memory.
pub struct Database {
    reader: maxminddb::Reader<Vec<u8>>,
    path: PathBuf,
}

/// Why a configured database cannot be used; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("geolocation.database: cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: maxminddb::MaxMindDbError,
    },
    #[error(
        "geolocation.database: {path} is a '{kind}' database, not a City or Country one (e.g. GeoLite2-City)"
    )]
    Kind { path: PathBuf, kind: String },
}

impl Database {
    /// Reads the file and checks that its records are City or Country ones.
    pub fn open(path: &Path) -> Result<Database, DatabaseError> {
        let reader =
            maxminddb::Reader::open_readfile(path).map_err(|source| DatabaseError::Open {
                path: path.to_owned(),
                source,
            })?;
        let kind = &reader.metadata().database_type;
        if !["City", "Country", "Enterprise"]
            .iter()
            .any(|k| kind.contains(k))
        {
            return Err(DatabaseError::Kind {
                path: path.to_owned(),
                kind: kind.clone(),
            });
        }
        Ok(Database {
            reader,
            path: path.to_owned(),
        })
    }

    /// The location the database gives for an address; empty when it has none.
    pub fn locate(&self, address: IpAddr) -> Geolocation {
        let record = self
            .reader
            .lookup(address)
            .and_then(|found| found.decode::<geoip2::City>());
        match record {
            Ok(Some(record)) => location(&record),
            Ok(None) => Geolocation::default(),
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %address, %error, "GeoIP lookup failed");
                Geolocation::default()
            }
        }
    }
}

/// A City (or Country) record as segment keys: ISO country code, English country name, the
/// first (largest) subdivision's ISO code and English name, English city name, postal code and
/// IANA time zone. A part the record lacks stays absent.
pub fn location(record: &geoip2::City) -> Geolocation {
    let text = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    let region = record.subdivisions.first();
    Geolocation {
        country: text(record.country.iso_code),
        country_name: text(record.country.names.english),
        region: text(region.and_then(|r| r.iso_code)),
        region_name: text(region.and_then(|r| r.names.english)),
        locality: text(record.city.names.english),
        postal_code: text(record.postal.code),
        timezone: text(record.location.time_zone),
    }
}

/// The configured sources of a request's location.
pub struct Locator {
    trusted: config::Geolocation,
    database: Option<Database>,
    clients: ClientAddress,
}

impl Locator {
    /// Opens the configured database, if any; `proxies` are the trusted proxies
    /// (`limits.trusted_proxies`), whose `client_ip_header` is believed.
    pub fn open(
        trusted: &config::Geolocation,
        proxies: &[config::Network],
    ) -> Result<Locator, DatabaseError> {
        Ok(Locator {
            clients: ClientAddress::new(trusted.client_ip_header.as_deref(), proxies),
            trusted: trusted.clone(),
            database: trusted
                .database
                .as_deref()
                .map(Database::open)
                .transpose()?,
        })
    }

    /// The location of the client behind a request that came from `peer`: each key from its
    /// trusted header when present, else from the database.
    pub fn locate(&self, headers: &HeaderMap, peer: IpAddr) -> Geolocation {
        let told = crate::enrich::geolocation(&self.trusted, headers);
        let Some(database) = &self.database else {
            return told;
        };
        let looked_up = database.locate(self.clients.client(headers, peer));
        Geolocation {
            country: told.country.or(looked_up.country),
            country_name: told.country_name.or(looked_up.country_name),
            region: told.region.or(looked_up.region),
            region_name: told.region_name.or(looked_up.region_name),
            locality: told.locality.or(looked_up.locality),
            postal_code: told.postal_code.or(looked_up.postal_code),
            timezone: told.timezone.or(looked_up.timezone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_file(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/geoip")
            .join(name)
    }

    fn fixture() -> PathBuf {
        fixture_file("beckon-test-city.mmdb")
    }

    fn with_database(extra: config::Geolocation) -> Locator {
        Locator::open(
            &config::Geolocation {
                database: Some(fixture()),
                ..extra
            },
            &["127.0.0.1".parse().unwrap()],
        )
        .expect("the fixture opens")
    }

    #[test]
    fn the_fixture_reads_back_as_city_records() {
        let db = Database::open(&fixture()).unwrap();
        assert_eq!(db.reader.metadata().database_type, "GeoLite2-City");
        let found = db.reader.lookup("127.0.0.1".parse().unwrap()).unwrap();
        let record: geoip2::City = found.decode().unwrap().expect("loopback is in it");
        assert_eq!(record.city.names.german, Some("Amsterdam"));
        assert_eq!(record.subdivisions.len(), 1);
    }

    #[test]
    fn a_city_record_fills_every_key_in_english() {
        let db = Database::open(&fixture()).unwrap();
        let munich = Geolocation {
            country: Some("DE".into()),
            country_name: Some("Germany".into()),
            region: Some("BY".into()),
            region_name: Some("Bavaria".into()),
            locality: Some("Munich".into()),
            postal_code: Some("80331".into()),
            timezone: Some("Europe/Berlin".into()),
        };
        assert_eq!(db.locate("192.0.2.200".parse().unwrap()), munich);
        let amsterdam = db.locate("::1".parse().unwrap());
        assert_eq!(amsterdam.locality.as_deref(), Some("Amsterdam"));
        assert_eq!(amsterdam.timezone.as_deref(), Some("Europe/Amsterdam"));
    }

    #[test]
    fn a_country_only_record_leaves_the_rest_absent_and_unknown_addresses_give_nothing() {
        let db = Database::open(&fixture()).unwrap();
        assert_eq!(
            db.locate("203.0.113.9".parse().unwrap()),
            Geolocation {
                country: Some("JP".into()),
                country_name: Some("Japan".into()),
                ..Geolocation::default()
            }
        );
        assert_eq!(
            db.locate("10.1.2.3".parse().unwrap()),
            Geolocation::default()
        );
    }

    #[test]
    fn the_client_address_header_is_read_only_when_configured_and_only_from_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "198.51.100.7".parse().unwrap());
        // 127.0.0.1 is the trusted proxy (`with_database`).
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let plain = with_database(config::Geolocation::default());
        assert_eq!(
            plain.locate(&headers, proxy).locality.as_deref(),
            Some("Amsterdam")
        );
        let proxied = with_database(config::Geolocation {
            client_ip_header: Some("X-Forwarded-For".into()),
            ..config::Geolocation::default()
        });
        let city = |headers: &HeaderMap, peer: &str| {
            let g = proxied.locate(headers, peer.parse().unwrap());
            g.locality.or(g.country)
        };
        assert_eq!(
            city(&headers, "127.0.0.1").as_deref(),
            Some("San Francisco")
        );
        // Anything the visitor wrote left of what the proxy appended is not believed.
        headers.insert(
            "x-forwarded-for",
            "198.51.100.7, 192.0.2.200".parse().unwrap(),
        );
        assert_eq!(city(&headers, "127.0.0.1").as_deref(), Some("Munich"));
        // A peer that is no trusted proxy is the client, whatever it writes.
        headers.insert("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(city(&headers, "192.0.2.200").as_deref(), Some("Munich"));
        headers.insert("x-forwarded-for", "[::1]:4711".parse().unwrap());
        assert_eq!(
            proxied.locate(&headers, proxy).country.as_deref(),
            Some("NL")
        );
        headers.insert("x-forwarded-for", "unknown".parse().unwrap());
        assert_eq!(
            city(&headers, "127.0.0.1").as_deref(),
            Some("Amsterdam"),
            "an unreadable header stops at the proxy"
        );
    }

    #[test]
    fn a_present_trusted_header_wins_over_the_database_key_by_key() {
        let locator = with_database(config::Geolocation {
            country_header: Some("CF-IPCountry".into()),
            city_header: Some("X-City".into()),
            ..config::Geolocation::default()
        });
        let mut headers = HeaderMap::new();
        headers.insert("x-city", "Haarlem".parse().unwrap());
        let g = locator.locate(&headers, "127.0.0.1".parse().unwrap());
        assert_eq!(g.locality.as_deref(), Some("Haarlem"));
        assert_eq!(g.country.as_deref(), Some("NL"), "header absent: database");
        assert_eq!(g.postal_code.as_deref(), Some("1012"));
    }

    #[test]
    fn files_that_are_not_city_databases_are_refused_with_their_path() {
        let missing = Path::new("/nonexistent/GeoLite2-City.mmdb");
        let error = Database::open(missing).err().expect("missing").to_string();
        assert!(error.contains("/nonexistent/GeoLite2-City.mmdb"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.mmdb");
        std::fs::write(&junk, b"not a database").unwrap();
        let error = Database::open(&junk).err().expect("junk").to_string();
        assert!(error.contains("junk.mmdb"), "{error}");
        let asn = fixture_file("beckon-test-asn.mmdb");
        let error = Database::open(&asn).err().expect("ASN").to_string();
        assert!(
            error.contains("beckon-test-asn.mmdb") && error.contains("'GeoLite2-ASN'"),
            "{error}"
        );
    }
}
