//! Per-client request rates for the public routes: a token bucket per client address.
//!
//! The client ([`ClientAddress`], which geolocation shares) is the TCP peer, or, for a request from one of `limits.trusted_proxies`, the last
//! address in `limits.client_ip_header` (from its right end) that is not a trusted proxy: behind
//! a proxy every visitor would otherwise share the proxy's bucket, and the entries left of the
//! first untrusted one are the client's to forge.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::http::{HeaderMap, HeaderName, StatusCode};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::problem::Problem;
use crate::config::{Limits, Network};

/// Requests per second per client address, with a burst allowance.
pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// The rate, for the refusal's words.
    per_second: u32,
    clock: DefaultClock,
    clients: ClientAddress,
}

/// Who the client behind a request is: the TCP peer, or, for a request from a trusted proxy, the
/// address the proxies' header names. The rate limiter and geolocation both ask this.
#[derive(Debug, Clone)]
pub struct ClientAddress {
    header: Option<HeaderName>,
    trusted: Vec<Network>,
}

impl ClientAddress {
    /// `header` (checked with the configuration, `Config::check`) as set by `trusted` proxies;
    /// without a header, every request's client is its TCP peer.
    pub fn new(header: Option<&str>, trusted: &[Network]) -> ClientAddress {
        ClientAddress {
            header: header.and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok()),
            trusted: trusted.to_vec(),
        }
    }

    /// The client of a request from `peer`: for a request from a trusted proxy, the header's
    /// entries (all its lines, in order) are walked from the right past the trusted proxies, and
    /// the first other address is the client; an entry that is no address stops the walk at the
    /// last trusted hop. Any other request's client is its TCP peer, whatever its header says.
    pub fn client(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        let Some(name) = &self.header else {
            return peer;
        };
        let trusted = |a: IpAddr| self.trusted.iter().any(|n| n.contains(a));
        if !trusted(peer) {
            return peer;
        }
        // Split as bytes: a line with bytes that are not text (which a client can put before
        // what its proxy appends) still has its proxies' entries.
        let entries: Vec<&[u8]> = headers
            .get_all(name)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(hop) = std::str::from_utf8(entry)
                .ok()
                .and_then(|e| address(e.trim()))
            else {
                break;
            };
            client = hop;
            if !trusted(hop) {
                break;
            }
        }
        client
    }
}

impl RateLimiter {
    pub fn new(limits: &Limits) -> RateLimiter {
        let rate = NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.burst).unwrap_or(NonZeroU32::MIN);
        RateLimiter {
            limiter: governor::RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            per_second: rate.get(),
            clock: DefaultClock::default(),
            clients: ClientAddress::new(
                limits.client_ip_header.as_deref(),
                &limits.trusted_proxies,
            ),
        }
    }

    /// The address a request counts against ([`ClientAddress::client`]).
    pub fn client(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        self.clients.client(headers, peer)
    }

    /// `Ok` if the client of a request from `peer` may go on, else the 429 problem telling it
    /// how long to wait.
    pub fn admit(&self, headers: &HeaderMap, peer: IpAddr) -> Result<(), Problem> {
        self.check(headers, peer).map_err(|wait| {
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!(
                    "this client may send {} requests per second; retry after {wait} s",
                    self.per_second
                ),
            )
            .retry_after(wait.max(1))
        })
    }

    /// `Ok` if the client of a request from `peer` may go on, or the whole seconds it should wait.
    fn check(&self, headers: &HeaderMap, peer: IpAddr) -> Result<(), u64> {
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
pub(crate) fn address(entry: &str) -> Option<IpAddr> {
    entry
        .parse()
        .or_else(|_| entry.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(header: Option<&str>, trusted: &[&str]) -> RateLimiter {
        RateLimiter::new(&Limits {
            client_ip_header: header.map(str::to_owned),
            trusted_proxies: trusted.iter().map(|n| n.parse().unwrap()).collect(),
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
    const XFF: Option<&str> = Some("X-Forwarded-For");

    fn client(limiter: &RateLimiter, headers: &HeaderMap, peer: IpAddr) -> String {
        limiter.client(headers, peer).to_string()
    }

    #[test]
    fn without_the_setting_or_from_an_untrusted_peer_the_peer_is_the_client() {
        let h = headers(&["203.0.113.7"]);
        assert_eq!(limiter(None, &[]).client(&h, PEER), PEER);
        let elsewhere: IpAddr = "198.51.100.20".parse().unwrap();
        assert_eq!(
            limiter(XFF, &["10.0.0.0/8"]).client(&h, elsewhere),
            elsewhere
        );
    }

    #[test]
    fn the_client_is_the_first_untrusted_address_from_the_right() {
        let one = limiter(XFF, &["10.0.0.0/8"]);
        // The client wrote 198.51.100.1 itself; the proxy appended what it saw.
        let h = headers(&["198.51.100.1, 203.0.113.7"]);
        assert_eq!(client(&one, &h, PEER), "203.0.113.7");
        // Two proxies, the second on its own header line.
        let h = headers(&["198.51.100.1, 203.0.113.7", "10.0.0.9"]);
        assert_eq!(client(&one, &h, PEER), "203.0.113.7");
        // Bytes that are not text, left of the proxy's entry.
        let mut h = HeaderMap::new();
        let forged = axum::http::HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.9").unwrap();
        h.append("x-forwarded-for", forged);
        assert_eq!(client(&one, &h, PEER), "203.0.113.9");
        let h = headers(&["[2001:db8::1]:4711"]);
        assert_eq!(client(&one, &h, PEER), "2001:db8::1");
        // A peer on IPv6 that is an IPv4 proxy.
        let mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert_eq!(
            client(&one, &headers(&["203.0.113.7"]), mapped),
            "203.0.113.7"
        );
    }

    #[test]
    fn a_missing_or_unreadable_header_stops_at_the_last_trusted_hop() {
        let one = limiter(XFF, &["10.0.0.0/8", "192.0.2.1"]);
        assert_eq!(one.client(&HeaderMap::new(), PEER), PEER);
        assert_eq!(
            client(&one, &headers(&["unknown, 10.0.0.9"]), PEER),
            "10.0.0.9"
        );
        assert_eq!(
            client(&one, &headers(&["10.0.0.5, 192.0.2.1"]), PEER),
            "10.0.0.5"
        );
    }
}
