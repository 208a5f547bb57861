//! Agent sign-in quotas (`[chat] sign_ins_per_minute`, `sign_in_burst` and their `_per_email`
//! twins): attempts per client and per email address, far below the request rate, so that
//! passwords cannot be guessed at the rate of ingestion and a client cannot keep the argon2
//! runs busy. Each is a token bucket (GCRA: a key's theoretical arrival time) counted
//! before the password is checked; a sign-in that succeeds is given back, so only failed
//! attempts (and those refused or cut short before their answer) use a quota. A locked-out
//! email address is refused even with the right password until its quota refills. A client is
//! counted as the request rate counts it ([`RateKey`]: an IPv4 address or an IPv6 /64).
//!
//! Memory is bounded: each map holds at most [`MAX_TRACKED`] keys, emails kept as a keyed
//! 64-bit hash (never the text). A new key meeting a full map first drops every key whose
//! bucket has refilled (the same as a fresh one); should the map still be full, the attempt is
//! refused until entries refill: a flood from that many addresses cannot grow memory, and it
//! would take the password checks' turns anyway.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::limits::RateKey;
use super::problem::Problem;
use crate::chat::ChatSettings;
use crate::chat::agents::normalize_email;

/// Most clients, and most email addresses, whose buckets are kept.
pub const MAX_TRACKED: usize = 100_000;

/// The sign-in quotas of every client and email address.
pub struct SignInLimiter {
    /// Times are durations since this instant.
    start: Instant,
    clients: Buckets<RateKey>,
    emails: Buckets<u64>,
    /// Keys emails' hashes (SipHash with random keys: a client cannot make two emails share one
    /// bucket).
    hasher: RandomState,
}

/// One sign-in attempt admitted: counted against its client and its email address until
/// [`Attempt::succeeded`] gives it back.
#[must_use]
pub struct Attempt<'a> {
    limiter: &'a SignInLimiter,
    client: RateKey,
    email: u64,
}

impl Attempt<'_> {
    /// The password was right: the attempt does not count.
    pub fn succeeded(self) {
        self.limiter.clients.give_back(self.client);
        self.limiter.emails.give_back(self.email);
    }
}

impl SignInLimiter {
    pub fn new(settings: &ChatSettings) -> SignInLimiter {
        SignInLimiter {
            start: Instant::now(),
            clients: Buckets::new(settings.sign_ins_per_minute, settings.sign_in_burst),
            emails: Buckets::new(
                settings.sign_ins_per_minute_per_email,
                settings.sign_in_burst_per_email,
            ),
            hasher: RandomState::new(),
        }
    }

    /// Counts a sign-in attempt by `client` for `email`: the attempt, or the 429 problem telling
    /// how long to wait. The client's quota is checked first; an attempt it refuses does not
    /// count against the email address.
    pub fn admit(&self, client: IpAddr, email: &str) -> Result<Attempt<'_>, Problem> {
        let email = self.hasher.hash_one(normalize_email(email));
        self.admit_at(client, email, self.start.elapsed())
    }

    fn admit_at(&self, client: IpAddr, email: u64, now: Duration) -> Result<Attempt<'_>, Problem> {
        let client = RateKey::of(client);
        let refused = |wait: Duration, whose: &str, (per_minute, burst): (u32, u32)| {
            let wait = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many sign-in attempts",
                format!(
                    "{whose} may try to sign in {} times a minute ({} at once); retry after {} s",
                    per_minute,
                    burst,
                    wait.max(1)
                ),
            )
            .retry_after(wait.max(1))
        };
        self.clients
            .take(client, now)
            .map_err(|wait| refused(wait, "this client", self.clients.quota()))?;
        self.emails
            .take(email, now)
            .map_err(|wait| refused(wait, "this email address", self.emails.quota()))?;
        Ok(Attempt {
            limiter: self,
            client,
            email,
        })
    }
}

/// Token buckets by key, as theoretical arrival times (GCRA): an attempt is allowed when the
/// key's time is at most `burst - 1` intervals ahead of now, and moves it one interval on.
struct Buckets<K> {
    per_minute: u32,
    burst: u32,
    /// Time that refills one attempt.
    interval: Duration,
    /// How far ahead of now a key's time may be and still allow an attempt.
    tolerance: Duration,
    times: Mutex<HashMap<K, Duration>>,
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn new(per_minute: u32, burst: u32) -> Buckets<K> {
        let (per_minute, burst) = (per_minute.max(1), burst.max(1));
        let interval = Duration::from_secs(60) / per_minute;
        Buckets {
            per_minute,
            burst,
            interval,
            tolerance: interval * (burst - 1),
            times: Mutex::default(),
        }
    }

    /// Attempts per minute and at once, for the refusal's words.
    fn quota(&self) -> (u32, u32) {
        (self.per_minute, self.burst)
    }

    /// Counts an attempt for `key` at `now`, or how long until one would be allowed.
    fn take(&self, key: K, now: Duration) -> Result<(), Duration> {
        let mut times = self.times.lock().expect("sign-in quota");
        let known = times.get(&key).copied();
        let time = known.unwrap_or(now).max(now);
        let allowed_at = time.saturating_sub(self.tolerance);
        if allowed_at > now {
            return Err(allowed_at - now);
        }
        if known.is_none() && times.len() >= MAX_TRACKED {
            // A key whose time has passed has a full bucket: it is as good as absent.
            times.retain(|_, t| *t > now);
            if times.len() >= MAX_TRACKED {
                return Err(self.interval);
            }
        }
        times.insert(key, time + self.interval);
        Ok(())
    }

    /// Gives back an attempt counted for `key`.
    fn give_back(&self, key: K) {
        if let Some(t) = self.times.lock().expect("sign-in quota").get_mut(&key) {
            *t = t.saturating_sub(self.interval);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.times.lock().expect("sign-in quota").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, burst: u32, per_email: u32, email_burst: u32) -> SignInLimiter {
        SignInLimiter::new(&ChatSettings {
            sign_ins_per_minute: per_minute,
            sign_in_burst: burst,
            sign_ins_per_minute_per_email: per_email,
            sign_in_burst_per_email: email_burst,
            ..ChatSettings::default()
        })
    }

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// The `Retry-After` of a refusal.
    fn refused(r: Result<Attempt<'_>, Problem>) -> u64 {
        match r {
            Ok(_) => panic!("admitted"),
            Err(p) => {
                let response = axum::response::IntoResponse::into_response(p);
                assert_eq!(response.status(), 429);
                response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            }
        }
    }

    #[test]
    fn an_email_gets_its_burst_then_one_attempt_per_interval_from_any_client() {
        let l = limiter(600, 1000, 2, 3);
        for _ in 0..3 {
            let _failed = l.admit_at(CLIENT, 1, secs(0)).unwrap();
        }
        // Another client for the same email: refused until an attempt refills (30 s).
        assert_eq!(refused(l.admit_at(OTHER, 1, secs(0))), 30);
        assert_eq!(refused(l.admit_at(CLIENT, 1, secs(29))), 1);
        let _failed = l.admit_at(CLIENT, 1, secs(30)).unwrap();
        assert_eq!(refused(l.admit_at(CLIENT, 1, secs(31))), 29);
        // Another email is not concerned; after the whole window the burst is back.
        let _other = l.admit_at(CLIENT, 2, secs(31)).unwrap();
        for _ in 0..3 {
            let _failed = l.admit_at(CLIENT, 1, secs(200)).unwrap();
        }
        refused(l.admit_at(CLIENT, 1, secs(200)));
    }

    #[test]
    fn a_client_is_held_across_emails_and_its_refusals_do_not_count_for_the_email() {
        let l = limiter(1, 2, 600, 1000);
        let _a = l.admit_at(CLIENT, 1, secs(0)).unwrap();
        let _b = l.admit_at(CLIENT, 2, secs(0)).unwrap();
        assert_eq!(refused(l.admit_at(CLIENT, 3, secs(0))), 60);
        let _other_client = l.admit_at(OTHER, 3, secs(0)).unwrap();
        assert_eq!(
            l.emails.len(),
            3,
            "the refused attempt took no email bucket"
        );
    }

    #[test]
    fn a_successful_sign_in_is_given_back() {
        let l = limiter(1, 2, 1, 2);
        for _ in 0..10 {
            l.admit_at(CLIENT, 1, secs(0)).unwrap().succeeded();
        }
        let _failed = l.admit_at(CLIENT, 1, secs(0)).unwrap();
        let _failed = l.admit_at(CLIENT, 1, secs(0)).unwrap();
        refused(l.admit_at(CLIENT, 1, secs(0)));
    }

    #[test]
    fn the_maps_stay_bounded_and_refilled_keys_make_room() {
        let b: Buckets<u64> = Buckets::new(60, 1);
        for k in 0..MAX_TRACKED as u64 {
            b.take(k, secs(0)).unwrap();
        }
        // Full of buckets still refilling: a new key waits, an old one is answered as usual.
        assert_eq!(b.take(u64::MAX, secs(0)), Err(secs(1)));
        assert_eq!(b.take(0, secs(0)), Err(secs(1)));
        assert_eq!(b.len(), MAX_TRACKED);
        // Once they refilled, the new key takes the room they leave.
        b.take(u64::MAX, secs(1)).unwrap();
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn emails_are_compared_as_sign_in_does() {
        let l = limiter(600, 1000, 1, 1);
        let _failed = l.admit(CLIENT, "Ada@Shop.test").unwrap();
        let again = l.admit(CLIENT, " ada@shop.test ");
        assert!(again.is_err(), "one bucket for one address");
    }
}
