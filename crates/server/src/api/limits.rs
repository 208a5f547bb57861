//! Per-client request rates for the public routes: a token bucket per client ([`RateKey`]: an
//! IPv4 address, or an IPv6 address's /64 network).
//!
//! The client ([`ClientAddress`], which geolocation shares) is the TCP peer, or, for a request
//! from one of `limits.trusted_proxies`, the last address in `limits.client_ip_header` (from its
//! right end) that is not a trusted proxy: behind a proxy every visitor would otherwise share the
//! proxy's bucket, and the entries left of the first untrusted one are the client's to forge.
//!
//! An IPv6 client counts by its /64: one subscriber commonly gets a whole /64 and picks any
//! address in it, so a bucket per address would be no limit at all. The table of buckets is
//! pruned by a timer ([`RateLimiter::prune`]) of the clients whose buckets are full again, not
//! on the request path, where a client with many addresses would make every request scan it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Weak;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, StatusCode};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::problem::Problem;
use crate::config::{Limits, Network};

/// Requests per second per client ([`RateKey`]), with a burst allowance.
pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<RateKey>,
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

    /// The client address of a request ([`ClientAddress::client`]); it counts against its
    /// [`RateKey`].
    pub fn client(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        self.clients.client(headers, peer)
    }

    /// Every `period`, forgets the clients whose buckets are full again (as if never seen), on
    /// the blocking pool: the table holds only the clients of the last moments, however many
    /// addresses they came from, and no request waits for its scan. Ends when the limiter is
    /// dropped.
    pub async fn prune(limiter: Weak<RateLimiter>, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is at once
        loop {
            ticks.tick().await;
            let Some(limiter) = limiter.upgrade() else {
                return;
            };
            let _ = tokio::task::spawn_blocking(move || limiter.prune_now()).await;
        }
    }

    /// Forgets the clients whose buckets are full again; gives memory back after a crowd.
    fn prune_now(&self) {
        let before = self.limiter.len();
        self.limiter.retain_recent();
        if self.limiter.len() < before / 2 {
            self.limiter.shrink_to_fit();
        }
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
        let key = RateKey::of(self.client(headers, peer));
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// What a client's rate is counted against: an IPv4 address, or the /64 network (the first 64
/// bits) of an IPv6 address. An IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, a dual-stack
/// socket's view of an IPv4 peer) is its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateKey {
    V4(Ipv4Addr),
    /// The network prefix, an IPv6 address's first 64 bits.
    V6Net(u64),
}

impl RateKey {
    /// The key of a client address.
    pub fn of(client: IpAddr) -> RateKey {
        match client {
            IpAddr::V4(v4) => RateKey::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => RateKey::V4(v4),
                None => RateKey::V6Net((v6.to_bits() >> 64) as u64),
            },
        }
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

    fn key(address: &str) -> RateKey {
        RateKey::of(address.parse().unwrap())
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network_and_ipv4_by_address() {
        // One /64, whatever the interface identifier.
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2::2"));
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(
            key("2001:db8:1:2::1"),
            RateKey::V6Net(0x2001_0db8_0001_0002)
        );
        // Another /64, even the next one or one differing in the first bit.
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("2001:db8:1:2::1"), key("a001:db8:1:2::1"));
        // IPv4 per address; a mapped IPv4 address is that address.
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_eq!(
            key("::ffff:192.0.2.7"),
            RateKey::V4(Ipv4Addr::new(192, 0, 2, 7))
        );
        assert_ne!(key("::ffff:192.0.2.7"), key("::ffff:192.0.2.8"));
        // Not IPv4: the deprecated IPv4-compatible form is an IPv6 address in ::/64.
        assert_eq!(key("::192.0.2.7"), key("::1"));
        assert_ne!(key("::192.0.2.7"), key("192.0.2.7"));
    }

    #[test]
    fn two_addresses_of_one_64_share_a_bucket() {
        let one = RateLimiter::new(&Limits {
            requests_per_second: 1,
            burst: 2,
            ..Limits::default()
        });
        let none = HeaderMap::new();
        let at = |a: &str| a.parse::<IpAddr>().unwrap();
        assert!(one.check(&none, at("2001:db8::1")).is_ok());
        assert!(one.check(&none, at("2001:db8::2:3")).is_ok());
        assert!(one.check(&none, at("2001:db8::ffff")).is_err());
        assert!(one.check(&none, at("2001:db8:0:1::1")).is_ok());
        // Pruning keeps the buckets still being refilled.
        one.prune_now();
        assert!(one.check(&none, at("2001:db8::4")).is_err());
    }

    #[tokio::test]
    async fn a_timer_forgets_the_clients_whose_buckets_are_full_again() {
        let limiter = std::sync::Arc::new(RateLimiter::new(&Limits {
            requests_per_second: 1000,
            burst: 1,
            ..Limits::default()
        }));
        for n in 0..100u32 {
            assert!(
                limiter
                    .check(&HeaderMap::new(), Ipv4Addr::from(n).into())
                    .is_ok()
            );
        }
        assert_eq!(limiter.limiter.len(), 100);
        let pruning = tokio::spawn(RateLimiter::prune(
            std::sync::Arc::downgrade(&limiter),
            Duration::from_millis(10),
        ));
        let started = std::time::Instant::now();
        while !limiter.limiter.is_empty() {
            assert!(started.elapsed() < Duration::from_secs(10), "not pruned");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(limiter);
        tokio::time::timeout(Duration::from_secs(10), pruning)
            .await
            .expect("the timer ends with its limiter")
            .unwrap();
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
