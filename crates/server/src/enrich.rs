//! What the server adds to a web event before deciding: the visit, keyed as segment criteria
//! are (`browser.family`, `device.category`, `referrer.medium`, `mktCampaign.source`, …), and
//! the event as one step of the session's journey.
//!
//! Page, referrer and campaign come from core's [`Visit::on_page`], on the page each event's
//! journey step has parsed ([`Page::from_url`]): one parse of the URL for both. The user agent
//! is parsed with `woothee`, whose rules are compiled into the crate: no data file, no network.
//! The location (`geolocation.*`) comes from the request headers a trusted reverse proxy sets,
//! when the configuration names them (read here), and from a configured GeoIP database
//! ([`crate::geoip`] puts the two together); the request body's `ipAddress` is not used, since
//! the page could put anything there. Without either, and for `ipOrganization` always, the keys
//! are absent, so criteria on them hold only with negative operators.

use axum::http::HeaderMap;
use beckon_core::decide::{Browser, Device, Geolocation, JourneyEvent, Page, Visit};

use crate::config;
use crate::ingest::WebEvent;

/// The visitor's location from the headers the configuration trusts. A header that is absent,
/// empty or not UTF-8 gives nothing; Cloudflare's country codes `XX` (unknown) and `T1` (Tor)
/// give no country.
pub fn geolocation(trusted: &config::Geolocation, headers: &HeaderMap) -> Geolocation {
    let read = |name: &Option<String>| -> Option<String> {
        let value = headers.get(name.as_deref()?)?;
        let text = std::str::from_utf8(value.as_bytes()).ok()?.trim();
        (!text.is_empty()).then(|| text.to_owned())
    };
    Geolocation {
        country: read(&trusted.country_header).filter(|c| c != "XX" && c != "T1"),
        country_name: read(&trusted.country_name_header),
        region: read(&trusted.region_header),
        region_name: read(&trusted.region_name_header),
        locality: read(&trusted.city_header),
        postal_code: read(&trusted.postal_code_header),
        timezone: read(&trusted.timezone_header),
    }
}

/// Whether an event is a page view (the SDK sends `page_viewed`, Genesys-era callers `pageview`).
pub fn is_pageview(event_name: &str) -> bool {
    event_name == "page_viewed" || event_name == "pageview"
}

/// The visit as of this event: its page, referrer and campaign, its browser and device. `page`
/// is the event's page as its journey step has it (`None`: the URL did not parse), so that the
/// URL is not parsed again.
pub fn visit(event: &WebEvent, page: Option<Page>) -> Visit {
    let title = Some(event.page.title.as_str()).filter(|t| !t.is_empty());
    let page = match page {
        Some(page) => Page {
            title: title.map(str::to_owned),
            ..page
        },
        None => Page::unparsed(&event.page.url, title),
    };
    let mut visit = Visit::on_page(page, event.referrer_url.as_deref());
    visit.page.keywords = event.page.keywords.clone();
    visit.page.lang = event.page.lang.clone();
    visit.browser.lang = event.page.lang.clone();
    visit.search_query = event.search_query.clone();
    if let Some(agent) = &event.user_agent_string {
        let (browser, device) = user_agent(agent);
        visit.browser = Browser {
            lang: visit.browser.lang.take(),
            ..browser
        };
        visit.device = device;
    }
    visit
}

fn known(s: &str) -> Option<String> {
    (!s.is_empty() && s != "UNKNOWN").then(|| s.to_owned())
}

/// Browser family and version, OS family and version, device category (`desktop`, `mobile`,
/// `tablet`, `other`) and, for Apple devices, the device type.
pub fn user_agent(agent: &str) -> (Browser, Device) {
    let Some(r) = woothee::parser::Parser::new().parse(agent) else {
        return (
            Browser::default(),
            Device {
                category: Some("other".into()),
                ..Device::default()
            },
        );
    };
    let tablet = r.os == "iPad"
        || (r.os == "Android" && !agent.contains("Mobile"))
        || agent.contains("Tablet");
    let category = match r.category {
        "pc" => "desktop",
        "smartphone" | "mobilephone" if tablet => "tablet",
        "smartphone" | "mobilephone" => "mobile",
        _ => "other",
    };
    let os_family = match r.os {
        os if os.starts_with("Windows") => Some("Windows".to_owned()),
        "Mac OSX" => Some("Mac OS X".to_owned()),
        "iPhone" | "iPad" | "iPod" => Some("iOS".to_owned()),
        os => known(os),
    };
    let browser = Browser {
        family: known(r.name),
        version: known(r.version),
        lang: None,
    };
    let device = Device {
        category: Some(category.to_owned()),
        kind: matches!(r.os, "iPhone" | "iPad" | "iPod").then(|| r.os.to_owned()),
        is_mobile: Some(category == "mobile" || category == "tablet"),
        os_family,
        os_version: known(&r.os_version),
        manufacturer: known(r.vendor).filter(|_| r.category != "pc"),
    };
    (browser, device)
}

/// The events as journey steps: each one's name, page, search query and attribute values. The
/// events of one request usually share their page, whose URL is then parsed once.
pub fn journey_steps(events: &[&WebEvent]) -> Vec<JourneyEvent> {
    let mut previous: Option<(&WebEvent, Option<Page>)> = None;
    events
        .iter()
        .map(|&event| {
            let page = match previous {
                Some((p, ref page))
                    if p.page.url == event.page.url && p.page.title == event.page.title =>
                {
                    page.clone()
                }
                _ => Page::from_url(&event.page.url, Some(event.page.title.as_str())),
            };
            previous = Some((event, page.clone()));
            journey_event(event, page)
        })
        .collect()
}

/// The event as a journey step on its (parsed) page.
fn journey_event(event: &WebEvent, page: Option<Page>) -> JourneyEvent {
    let mut step = JourneyEvent::new(event.event_name.clone(), page);
    step.search_query = event.search_query.clone();
    step.attributes = event
        .attributes
        .iter()
        .map(|(k, a)| (k.clone(), a.value.clone()))
        .collect();
    step
}

/// Most distinct steps kept per session; beyond it the oldest distinct step is dropped (counts
/// of identical steps keep growing).
pub const MAX_JOURNEY: usize = 500;

/// Adds a step to a session's journey, folding it into an identical earlier one.
pub fn append(journey: &mut Vec<JourneyEvent>, step: JourneyEvent) {
    let same = |e: &JourneyEvent| {
        e.event_name == step.event_name
            && e.page == step.page
            && e.search_query == step.search_query
            && e.attributes == step.attributes
    };
    match journey.iter_mut().find(|e| same(e)) {
        Some(e) => e.count = e.count.saturating_add(step.count),
        None => {
            if journey.len() >= MAX_JOURNEY {
                journey.remove(0);
            }
            journey.push(step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_give_family_os_and_category() {
        let (b, d) = user_agent(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        );
        assert_eq!(b.family.as_deref(), Some("Chrome"));
        assert_eq!(b.version.as_deref(), Some("120.0.0.0"));
        assert_eq!(d.category.as_deref(), Some("desktop"));
        assert_eq!(d.os_family.as_deref(), Some("Windows"));

        let (b, d) = user_agent(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(b.family.as_deref(), Some("Safari"));
        assert_eq!(d.category.as_deref(), Some("mobile"));
        assert_eq!(d.os_family.as_deref(), Some("iOS"));
        assert_eq!(d.kind.as_deref(), Some("iPhone"));

        let (_, d) = user_agent(
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        );
        assert_eq!(d.category.as_deref(), Some("tablet"));
        assert_eq!(d.os_family.as_deref(), Some("Android"));

        let (_, d) = user_agent("curl/8.0");
        assert_eq!(d.category.as_deref(), Some("other"));
    }

    #[test]
    fn only_configured_headers_give_a_location() {
        let mut headers = HeaderMap::new();
        headers.insert("cf-ipcountry", "DE".parse().unwrap());
        headers.insert("x-city", "M\u{fc}nchen".parse().unwrap());
        headers.insert("x-region", "  ".parse().unwrap());
        headers.insert("x-postal", "80331".parse().unwrap());
        assert_eq!(
            geolocation(&config::Geolocation::default(), &headers),
            Geolocation::default()
        );
        let trusted = config::Geolocation {
            country_header: Some("CF-IPCountry".into()),
            city_header: Some("X-City".into()),
            region_header: Some("X-Region".into()),
            timezone_header: Some("X-Timezone".into()),
            ..config::Geolocation::default()
        };
        let g = geolocation(&trusted, &headers);
        assert_eq!(g.country.as_deref(), Some("DE"));
        assert_eq!(g.locality.as_deref(), Some("M\u{fc}nchen"));
        assert_eq!(g.region, None, "blank");
        assert_eq!(g.timezone, None, "absent");
        assert_eq!(g.postal_code, None, "sent but not trusted");
        headers.insert("cf-ipcountry", "XX".parse().unwrap());
        assert_eq!(geolocation(&trusted, &headers).country, None);
    }

    /// The visit built on the page the journey step parsed is the one core derives from the
    /// URLs themselves: page (with an empty title left out), campaign and referrer.
    #[test]
    fn a_visit_on_the_journey_page_is_the_visit_of_its_urls() {
        for (url, title, referrer) in [
            (
                "https://Shop.Example/pricing?utm_source=news&gclid=1#plans",
                "",
                Some("https://duckduckgo.com/?q=beckon"),
            ),
            ("https://shop.example/a", "A page", None),
            (
                "https://shop.example/b?",
                "",
                Some("https://www.shop.example/a"),
            ),
        ] {
            let request: crate::ingest::WebEventRequest =
                serde_json::from_value(serde_json::json!({
                    "customerCookieId": uuid::Uuid::new_v4(),
                    "eventName": "pageview",
                    "page": { "url": url, "title": title },
                    "referrerUrl": referrer,
                }))
                .unwrap();
            let event = request
                .into_event(beckon_core::Timestamp::from_unix_millis(1_800_000_000_000))
                .unwrap();
            let step = journey_steps(&[&event]).remove(0);
            let expected = Visit::from_urls(url, Some(title).filter(|t| !t.is_empty()), referrer);
            assert_eq!(visit(&event, step.page), expected, "{url}");
        }
    }

    #[test]
    fn identical_steps_fold() {
        let mut journey = Vec::new();
        let step = JourneyEvent::new("page_viewed", Page::from_url("https://a.example/x", None));
        append(&mut journey, step.clone());
        append(&mut journey, step);
        append(&mut journey, JourneyEvent::new("signup", None));
        assert_eq!(journey.len(), 2);
        assert_eq!(journey[0].count, 2);
    }
}
