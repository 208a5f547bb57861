//! Who the visitor is: the customer (a first-party cookie holding a UUIDv4, spec section 1) and
//! the session (a UUIDv4 and a small `shortId`, new after a stretch without activity).
//!
//! Both live in cookies so that every tab of the site shares them: `beckon_customer` lasts
//! `cookieLifetimeDays` and is renewed on every page; `beckon_session` holds
//! `<id>.<shortId>.<last activity in ms>` and expires after `sessionTimeoutMinutes`, and the time
//! of last activity is checked too, for a tab left open past the timeout. Cookies are
//! `SameSite=Lax`, `Secure` on https, and scoped to `cookieDomain` when it is set (`init` refuses
//! one that does not include the page's host, [`covers`]). When the browser refuses the cookies
//! all the same (a public suffix, cookies blocked), the page goes on with its own session.
//!
//! Reading `document.cookie` right after writing it is a synchronous round trip to the browser
//! (about half a millisecond, more on a busy machine), and start-up used to do it four times. So
//! the cookies are read once when the SDK starts, and what this page wrote last is taken as what
//! the session cookie holds for a short while after ([`Identity::fresh_millis`]): another tab
//! cannot have started a new session in that time, since ours was active.

use uuid::Uuid;

use crate::browser::{document, field, now, set, string_field, window};
use crate::ids::{decimal, new_uuid, parse as parse_id, random_u64, text as id_text};
use beckon_core::text::concat;

const CUSTOMER_COOKIE: &str = "beckon_customer";
const SESSION_COOKIE: &str = "beckon_session";

#[derive(Debug, Clone)]
pub struct CookieSettings {
    pub domain: Option<String>,
    pub lifetime_days: f64,
    pub session_timeout_minutes: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub short_id: u32,
    last_activity: u64,
}

pub struct Identity {
    settings: CookieSettings,
    pub customer_id: Uuid,
    session: Session,
    /// When this page last read or wrote the session cookie (`now()`).
    synced_at: f64,
}

impl Identity {
    /// Reads the cookies (creating what is missing or expired) and renews them.
    pub fn load(settings: CookieSettings) -> Identity {
        let cookies = read_cookies();
        let customer_id = cookie(&cookies, CUSTOMER_COOKIE)
            .and_then(parse_id)
            .filter(|id| id.get_version_num() == 4)
            .unwrap_or_else(new_uuid);
        let mut identity = Identity {
            session: Session {
                id: Uuid::nil(),
                short_id: 0,
                last_activity: 0,
            },
            customer_id,
            settings,
            synced_at: f64::NEG_INFINITY,
        };
        identity.write(
            CUSTOMER_COOKIE,
            &id_text(&customer_id),
            identity.settings.lifetime_days * 86_400.0,
        );
        identity.renew(cookie(&cookies, SESSION_COOKIE).and_then(parse_session));
        identity
    }

    /// The current session, without counting as activity.
    pub fn session(&mut self) -> Session {
        let timeout = self.timeout_millis();
        let stored = self.stored_session();
        if (now() as u64).saturating_sub(stored.last_activity) <= timeout {
            self.session = stored;
            return stored;
        }
        self.renew(Some(stored))
    }

    /// Something happened on the page: the session goes on, or a new one starts if the last
    /// activity is longer ago than the timeout.
    pub fn touch(&mut self) -> Session {
        let stored = self.stored_session();
        self.renew(Some(stored))
    }

    /// The session cookie's content: what this page wrote, while that is fresh, else read; this
    /// page's session when there is no cookie (the browser refused it), rather than a new one at
    /// every read.
    fn stored_session(&mut self) -> Session {
        if now() - self.synced_at < self.fresh_millis() {
            return self.session;
        }
        self.synced_at = now();
        cookie(&read_cookies(), SESSION_COOKIE)
            .and_then(parse_session)
            .unwrap_or(self.session)
    }

    /// Goes on with `stored` (the session cookie's content) or starts a new session, and writes
    /// the cookie with now as the last activity.
    fn renew(&mut self, stored: Option<Session>) -> Session {
        let at = now() as u64;
        let timeout = self.timeout_millis();
        let session = match stored {
            Some(s) if at.saturating_sub(s.last_activity) <= timeout => s,
            _ => Session {
                id: new_uuid(),
                short_id: (random_u64() % 99_999) as u32 + 1,
                last_activity: at,
            },
        };
        self.session = Session {
            last_activity: at,
            ..session
        };
        let value = concat(&[
            &id_text(&session.id),
            ".",
            &decimal(session.short_id.into()),
            ".",
            &decimal(at),
        ]);
        self.write(SESSION_COOKIE, &value, timeout as f64 / 1000.0);
        self.synced_at = now();
        self.session
    }

    /// How long after this page read or wrote the session cookie its own copy is trusted: a
    /// second at most, and a small part of the timeout, so a session that ends is seen ending.
    fn fresh_millis(&self) -> f64 {
        (self.timeout_millis() as f64 / 10.0).min(1000.0)
    }

    fn timeout_millis(&self) -> u64 {
        (self.settings.session_timeout_minutes * 60_000.0) as u64
    }

    fn write(&self, name: &str, value: &str, max_age_seconds: f64) {
        let mut cookie = concat(&[
            name,
            "=",
            value,
            "; Path=/; Max-Age=",
            &decimal(max_age_seconds.ceil() as u64),
            "; SameSite=Lax",
        ]);
        if let Some(domain) = &self.settings.domain {
            cookie.push_str("; Domain=");
            cookie.push_str(domain);
        }
        if field(&field(&window(), "location"), "protocol")
            .as_string()
            .as_deref()
            == Some("https:")
        {
            cookie.push_str("; Secure");
        }
        set(&document(), "cookie", &cookie.into());
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: whether `domain` (a `cookieDomain`) includes the page's host;
    /// the browser refuses cookies for one that does not.
    #[wasm_bindgen(js_name = beckonCovers)]
    pub fn covers(domain: &str) -> bool;
}

/// `document.cookie`: one synchronous call to the browser.
fn read_cookies() -> String {
    string_field(&document(), "cookie").unwrap_or_default()
}

fn cookie<'a>(all: &'a str, name: &str) -> Option<&'a str> {
    all.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

fn parse_session(value: &str) -> Option<Session> {
    let mut parts = value.split('.');
    let id = parse_id(parts.next()?)?;
    let short_id = whole(parts.next()?).and_then(|n| u32::try_from(n).ok())?;
    let last_activity = whole(parts.next()?)?;
    Some(Session {
        id,
        short_id,
        last_activity,
    })
}

/// A whole number in decimal, as `u64::from_str` reads it (an optional `+`, then digits), with a
/// loop of its own: `from_str` brings the generic integer parser, which is larger.
fn whole(text: &str) -> Option<u64> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0u64, |n, byte| {
        let digit = char::from(byte).to_digit(10)?;
        n.checked_mul(10)?.checked_add(digit.into())
    })
}

#[cfg(test)]
mod tests {
    /// `whole` reads what `u64::from_str` reads.
    #[test]
    fn whole_reads_what_from_str_reads() {
        for text in [
            "0",
            "7",
            "+7",
            "00012",
            "1764403200000",
            "18446744073709551615",
            "18446744073709551616",
            "",
            "+",
            "-1",
            "1.5",
            " 1",
            "1 ",
            "12a",
            "++1",
        ] {
            assert_eq!(super::whole(text), text.parse::<u64>().ok(), "{text:?}");
        }
    }
}
