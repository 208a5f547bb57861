//! What the decision knows about the visit and the session's journey, keyed as Genesys segment
//! criteria are (`page.url`, `browser.family`, `mktCampaign.source`, …; reference 4.3).
//!
//! The caller fills these from the web event (the browser and device come parsed from the user
//! agent; geolocation from the IP address). [`Visit::from_urls`] derives the page, referrer and
//! campaign parts from the page and referrer URLs, so no caller has to do it again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::Timestamp;

/// The visit as of the event being decided on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Visit {
    /// The current page.
    pub page: Page,
    /// When the current page view began, by the server's clock (when it received the page
    /// view), as every time the engine compares it with. A delay is counted on one page view:
    /// the same page loaded again later is a new page view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pageview_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Referrer>,
    pub mkt_campaign: Campaign,
    pub browser: Browser,
    pub device: Device,
    pub geolocation: Geolocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_organization: Option<String>,
    pub authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_query: Option<String>,
}

/// `page.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Page {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pathname: Option<String>,
    /// Without the leading `?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    /// Without the leading `#`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `referrer.*`; `medium` is one of `internal`, `search`, `social`, `email`, `paid`, `unknown`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Referrer {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pathname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub medium: String,
}

/// `mktCampaign.*`, from the `utm_*` parameters and click ids of the page URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Campaign {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// `browser.*`, parsed from the user agent by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Browser {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `device.*` and `os.*`, parsed from the user agent by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Device {
    /// `desktop`, `mobile`, `tablet`, `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_mobile: Option<bool>,
    /// Also answers `os.family`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_family: Option<String>,
    /// Also answers `os.version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
}

/// `geolocation.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Geolocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// One event of the session (the current one included), for journey patterns and event
/// conditions. Identical events may be folded into one with a `count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyEvent {
    /// `page_viewed`, `form_submitted`, or the name given to `ac('record', …)`.
    pub event_name: String,
    /// The page the event happened on (`page.*` keys of journey criteria).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_query: Option<String>,
    /// Custom attribute values as strings (`attributes.<name>.value`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// How many times this event happened.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

impl JourneyEvent {
    /// One event of that name on that page.
    pub fn new(event_name: impl Into<String>, page: Option<Page>) -> JourneyEvent {
        JourneyEvent {
            event_name: event_name.into(),
            page,
            search_query: None,
            attributes: BTreeMap::new(),
            count: 1,
        }
    }
}

/// The registrable domain, approximated without the public suffix list: the last two labels,
/// or three under a two-letter country code with a generic second level (`example.co.uk`).
fn domain_of(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host.to_owned();
    }
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let take = if n >= 3
        && labels[n - 1].len() == 2
        && ["co", "com", "org", "net", "gov", "ac", "edu", "ne", "or"].contains(&labels[n - 2])
    {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl Page {
    /// The page parts of a URL (`url` normalized by the WHATWG rules). `None` if it is not an
    /// absolute URL.
    pub fn from_url(url: &str, title: Option<&str>) -> Option<Page> {
        let u = url::Url::parse(url).ok()?;
        let host = u.host_str().map(str::to_owned);
        Some(Page {
            domain: host.as_deref().map(domain_of),
            hostname: host,
            pathname: Some(u.path().to_owned()),
            query_string: u.query().and_then(non_empty),
            fragment: u.fragment().and_then(non_empty),
            url: u.into(),
            title: title.map(str::to_owned),
            keywords: None,
            lang: None,
        })
    }

    /// The page of a URL that is not absolute, as sent: its URL and title alone.
    pub fn unparsed(url: &str, title: Option<&str>) -> Page {
        Page {
            url: url.to_owned(),
            title: title.map(str::to_owned),
            ..Page::default()
        }
    }
}

const SEARCH: &[&str] = &[
    "google.",
    "bing.",
    "duckduckgo.",
    "yahoo.",
    "baidu.",
    "yandex.",
    "ecosia.",
    "qwant.",
    "startpage.",
    "naver.",
    "search.brave.",
];
const SOCIAL: &[&str] = &[
    "facebook.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "lnkd.in",
    "instagram.",
    "reddit.",
    "youtube.",
    "pinterest.",
    "tiktok.",
    "threads.net",
    "bsky.app",
    "mastodon.",
];
const EMAIL: &[&str] = &[
    "mail.google.",
    "outlook.live.",
    "outlook.office",
    "mail.yahoo.",
    "mail.proton.",
    "webmail.",
];

fn host_matches(host: &str, patterns: &[&str]) -> bool {
    patterns.iter().any(|p| {
        host.starts_with(p)
            || host.contains(&format!(".{p}"))
            || (!p.ends_with('.') && (host == *p || host.ends_with(&format!(".{p}"))))
    })
}

impl Referrer {
    /// The referrer parts of a URL, with its `medium` (ours, by host name): `internal` when it
    /// shares the page's domain, then `email`, `search`, `social` by well-known hosts, `paid`
    /// when the page carries a click id or a paid `utm_medium`, else `unknown`.
    pub fn from_url(url: &str, page: Option<&Page>, campaign: &Campaign) -> Option<Referrer> {
        let p = Page::from_url(url, None)?;
        let host = p.hostname.clone().unwrap_or_default().to_ascii_lowercase();
        let paid = campaign.click_id.is_some()
            || campaign.medium.as_deref().is_some_and(|m| {
                [
                    "cpc",
                    "ppc",
                    "paid",
                    "paidsearch",
                    "paid_search",
                    "display",
                    "cpm",
                ]
                .contains(&m.to_ascii_lowercase().as_str())
            });
        let medium = if page.and_then(|pg| pg.domain.as_deref()) == p.domain.as_deref()
            && p.domain.is_some()
        {
            "internal"
        } else if paid {
            "paid"
        } else if host_matches(&host, EMAIL) {
            "email"
        } else if host_matches(&host, SEARCH) {
            "search"
        } else if host_matches(&host, SOCIAL) {
            "social"
        } else {
            "unknown"
        };
        let keywords = query_pairs(p.query_string.as_deref())
            .find(|(k, _)| k == "q" || k == "query" || k == "p" || k == "text")
            .map(|(_, v)| v.into_owned());
        Some(Referrer {
            url: p.url,
            name: p.domain.clone(),
            hostname: p.hostname,
            domain: p.domain,
            pathname: p.pathname,
            query_string: p.query_string,
            fragment: p.fragment,
            keywords: if medium == "search" { keywords } else { None },
            medium: medium.to_owned(),
        })
    }
}

/// The name and value pairs of a URL's query string (none without one).
fn query_pairs(query: Option<&str>) -> url::form_urlencoded::Parse<'_> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
}

impl Campaign {
    /// The `utm_*` parameters and the first known click id (`gclid`, `dclid`, `wbraid`,
    /// `gbraid` → google, `msclkid` → microsoft, `fbclid` → facebook, `ttclid` → tiktok,
    /// `li_fat_id` → linkedin, `twclid` → twitter) of a page's query string.
    fn of_page(page: &Page) -> Campaign {
        let mut c = Campaign::default();
        for (k, v) in query_pairs(page.query_string.as_deref()) {
            let v = v.into_owned();
            if v.is_empty() {
                continue;
            }
            let network = match k.as_ref() {
                "utm_source" => {
                    c.source.get_or_insert(v);
                    continue;
                }
                "utm_medium" => {
                    c.medium.get_or_insert(v);
                    continue;
                }
                "utm_campaign" => {
                    c.name.get_or_insert(v);
                    continue;
                }
                "utm_term" => {
                    c.term.get_or_insert(v);
                    continue;
                }
                "utm_content" => {
                    c.content.get_or_insert(v);
                    continue;
                }
                "gclid" | "dclid" | "wbraid" | "gbraid" => "google",
                "msclkid" => "microsoft",
                "fbclid" => "facebook",
                "ttclid" => "tiktok",
                "li_fat_id" => "linkedin",
                "twclid" => "twitter",
                _ => continue,
            };
            if c.click_id.is_none() {
                c.click_id = Some(v);
                c.network = Some(network.to_owned());
            }
        }
        c
    }
}

impl Visit {
    /// A visit with the page, campaign and referrer derived from the URLs; browser, device,
    /// geolocation and the rest are left for the caller.
    pub fn from_urls(page_url: &str, title: Option<&str>, referrer_url: Option<&str>) -> Visit {
        let page =
            Page::from_url(page_url, title).unwrap_or_else(|| Page::unparsed(page_url, title));
        Visit::on_page(page, referrer_url)
    }

    /// [`Visit::from_urls`] for a page already derived from its URL (by [`Page::from_url`], or
    /// as sent when it did not parse): its campaign comes from its query string.
    pub fn on_page(page: Page, referrer_url: Option<&str>) -> Visit {
        let mkt_campaign = Campaign::of_page(&page);
        let referrer = referrer_url
            .filter(|r| !r.is_empty())
            .and_then(|r| Referrer::from_url(r, Some(&page), &mkt_campaign));
        Visit {
            page,
            referrer,
            mkt_campaign,
            ..Visit::default()
        }
    }

    /// Whether this page view arrived from outside the site (no referrer, or another site):
    /// the start of a new visit for `on-next-visit` activation.
    pub fn is_landing(&self) -> bool {
        self.referrer
            .as_ref()
            .is_none_or(|r| r.medium != "internal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_page_campaign_referrer() {
        let v = Visit::from_urls(
            "https://Shop.Example.co.uk/pricing/?utm_source=news&utm_medium=cpc&gclid=abc#plans",
            Some("Pricing"),
            Some("https://www.google.com/search?q=beckon+pricing"),
        );
        assert_eq!(
            v.page.url,
            "https://shop.example.co.uk/pricing/?utm_source=news&utm_medium=cpc&gclid=abc#plans"
        );
        assert_eq!(v.page.hostname.as_deref(), Some("shop.example.co.uk"));
        assert_eq!(v.page.domain.as_deref(), Some("example.co.uk"));
        assert_eq!(v.page.pathname.as_deref(), Some("/pricing/"));
        assert_eq!(v.page.fragment.as_deref(), Some("plans"));
        assert_eq!(v.mkt_campaign.source.as_deref(), Some("news"));
        assert_eq!(v.mkt_campaign.network.as_deref(), Some("google"));
        let r = v.referrer.as_ref().unwrap();
        assert_eq!(r.medium, "paid");
        assert_eq!(r.hostname.as_deref(), Some("www.google.com"));
        assert!(v.is_landing());

        let organic = Visit::from_urls(
            "https://example.com/",
            None,
            Some("https://duckduckgo.com/?q=beckon"),
        );
        let r = organic.referrer.unwrap();
        assert_eq!(
            (r.medium.as_str(), r.keywords.as_deref()),
            ("search", Some("beckon"))
        );
        let internal = Visit::from_urls(
            "https://example.com/b",
            None,
            Some("https://www.example.com/a"),
        );
        assert_eq!(internal.referrer.as_ref().unwrap().medium, "internal");
        assert!(!internal.is_landing());
        let social = Visit::from_urls("https://example.com/", None, Some("https://t.co/xyz"));
        assert_eq!(social.referrer.unwrap().medium, "social");
    }
}
