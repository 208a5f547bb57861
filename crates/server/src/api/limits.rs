//! Per-client request rates for the public routes: a token bucket per client address.
//!
//! The client is the TCP peer, or, behind reverse proxies that say so (`limits.client_ip_header`),
//! the address the nearest `limits.proxies` of them recorded: behind a proxy every visitor would
//! otherwise share the proxy's bucket, and the header's other entries are the client's to forge.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::http::{HeaderMap, HeaderName};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::Limits;

/// Requests per second per client address, with a burst allowance.
pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    client_ip_header: Option<HeaderName>,
    proxies: usize,
}

impl RateLimiter {
    pub fn new(limits: &Limits) -> RateLimiter {
        let rate = NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.burst).unwrap_or(NonZeroU32::MIN);
        RateLimiter {
            limiter: governor::RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
            // Checked with the configuration (`Config::check`).
            client_ip_header: limits
                .client_ip_header
                .as_deref()
                .and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok()),
            proxies: limits.proxies.max(1),
        }
    }

    /// The address a request counts against: `proxies` entries from the right of the client
    /// address header (all its lines, in order), when that is configured and has them; else the
    /// TCP peer (a request that did not come through the proxies, or an entry that is no address).
    pub fn client(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        let Some(name) = &self.client_ip_header else {
            return peer;
        };
        // Split as bytes: a line with bytes that are not text (which a client can put before
        // what its proxy appends) still has its proxies' entries.
        let entries: Vec<&[u8]> = headers
            .get_all(name)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .collect();
        entries
            .len()
            .checked_sub(self.proxies)
            .and_then(|i| std::str::from_utf8(entries[i]).ok())
            .and_then(|entry| address(entry.trim()))
            .unwrap_or(peer)
    }

    /// `Ok` if the client of a request from `peer` may go on, or the whole seconds it should wait.
    pub fn check(&self, headers: &HeaderMap, peer: IpAddr) -> Result<(), u64> {
        let client = self.client(headers, peer);
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, or either with a port.
fn address(entry: &str) -> Option<IpAddr> {
    entry
        .parse()
        .or_else(|_| entry.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(header: Option<&str>, proxies: usize) -> RateLimiter {
        RateLimiter::new(&Limits {
            client_ip_header: header.map(str::to_owned),
            proxies,
            ..Limits::default()
        })
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", line.parse().unwrap());
        }
        headers
    }

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn without_the_setting_the_peer_is_the_client_whatever_the_headers_say() {
        let limiter = limiter(None, 1);
        assert_eq!(limiter.client(&headers(&["203.0.113.7"]), PEER), PEER);
    }

    #[test]
    fn the_client_is_the_entry_the_nearest_proxies_added() {
        let one = limiter(Some("X-Forwarded-For"), 1);
        // The client wrote 198.51.100.1 itself; the proxy appended what it saw.
        let h = headers(&["198.51.100.1, 203.0.113.7"]);
        assert_eq!(one.client(&h, PEER).to_string(), "203.0.113.7");
        let two = limiter(Some("X-Forwarded-For"), 2);
        let h = headers(&["198.51.100.1, 203.0.113.7", "10.0.0.9"]);
        assert_eq!(two.client(&h, PEER).to_string(), "203.0.113.7");
        let mut h = HeaderMap::new();
        let forged = axum::http::HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.9").unwrap();
        h.append("x-forwarded-for", forged);
        assert_eq!(one.client(&h, PEER).to_string(), "203.0.113.9");
        let h = headers(&["[2001:db8::1]:4711"]);
        assert_eq!(one.client(&h, PEER).to_string(), "2001:db8::1");
    }

    #[test]
    fn a_missing_short_or_unreadable_header_counts_against_the_peer() {
        let two = limiter(Some("X-Forwarded-For"), 2);
        assert_eq!(two.client(&HeaderMap::new(), PEER), PEER);
        assert_eq!(two.client(&headers(&["203.0.113.7"]), PEER), PEER);
        assert_eq!(two.client(&headers(&["unknown, 10.0.0.9"]), PEER), PEER);
    }
}
