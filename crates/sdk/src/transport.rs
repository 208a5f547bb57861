//! Getting web events and action events to the server, whatever the network does.
//!
//! - Batching: events wait a few milliseconds and go out together, one request per ingestion
//!   route at a time (so the server sees them in order), at most [`BATCH`] per request, and the
//!   web events of one request made where its answer is presented (see [`Item::at`]).
//! - Bodies are JSON sent as `text/plain`: a CORS "simple" request needs no preflight, and it is
//!   what `navigator.sendBeacon` sends too, so the server reads one format.
//! - When the page is hidden or left, everything queued goes out with `sendBeacon`, which the
//!   browser delivers even after the page is gone.
//! - A network error, 408 or 5xx is retried with exponential backoff and jitter; while the server
//!   cannot be reached the queue is also kept in `localStorage` (bounded to [`STORED`] events,
//!   oldest dropped), so the next page of the site sends it. What an earlier page kept is read
//!   after start-up ([`Transport::pick_up`]), not in it: the page's first use of `localStorage`
//!   loads it from the browser, synchronously, which took several milliseconds of start-up. Web
//!   events kept too long for the server to take are dropped then: it refuses a whole batch for
//!   one of them, the new page's events included.
//! - What is kept is only what would not be delivered otherwise: when the page is left with the
//!   network working, requests in flight are `keepalive` fetches the browser finishes, so they
//!   are not kept for the next page to send again (web events have no key to drop a repeat by).
//! - 429 and 503 with `Retry-After` (seconds or an HTTP date) pause sending for as long as the
//!   server asks.
//! - Any other 4xx is a refusal that repeating cannot fix: the event the server names as at
//!   fault is dropped and logged, and the rest of its batch goes again (the whole batch is
//!   dropped when the refusal names none).

use js_sys::Array;
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::browser::{
    Timer, current_url, field, from_json, js_text, log_error, log_warning, now, number, set,
    string_field, to_json, window,
};
use crate::ids::{decimal, random_u64, text as id_text};
use crate::runtime::{same_route, with_runtime};
use beckon_core::text::concat;

/// Most events in one request.
const BATCH: usize = 50;
/// Most events kept in memory per route; the oldest go first, those of the request on its way
/// before any other (they are not lost if it succeeds).
const QUEUED: usize = 500;
/// Most events kept in `localStorage` per route.
const STORED: usize = 100;
/// How long events wait to be batched.
const LINGER_MS: f64 = 20.0;
const MAX_BACKOFF_MS: f64 = 30_000.0;
/// Oldest web event an earlier page kept that is still sent: the server refuses those more than
/// an hour old; five minutes are left for clock skew and the time to send.
const STALE_MS: f64 = 55.0 * 60_000.0;
/// How long another page's outbox must have gone unwritten, when that page was not seen to
/// leave, before a page takes it: its page is gone without a `pagehide` (a mobile browser ends
/// hidden tabs so), not still retrying it.
const ORPHANED_MS: f64 = 10.0 * 60_000.0;
/// `beckonPost` (js/loader.js) sends a body shorter than this with `keepalive`. It counts UTF-16
/// units, never more than the UTF-8 bytes counted here.
const KEEPALIVE: usize = 60_000;

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: POSTs `body` as text/plain and resolves to a [`Reply`]
    /// (`status` 0 when the network failed, a task later: never when the page was left; `body`
    /// empty when it broke off after the status); never rejects.
    #[wasm_bindgen(js_name = beckonPost)]
    pub(crate) fn post(url: &str, body: &str) -> Pending;

    /// The promise [`post`] returns.
    pub(crate) type Pending;
    #[wasm_bindgen(method)]
    pub(crate) fn then(this: &Pending, on_reply: &JsValue);

    /// What [`post`] resolves to: `{ status, retryAfter, body }`.
    pub(crate) type Reply;
}

impl Reply {
    pub(crate) fn status(&self) -> u16 {
        number(self, "status") as u16
    }

    fn retry_after(&self) -> Option<String> {
        string_field(self, "retryAfter")
    }

    pub(crate) fn body(&self) -> String {
        string_field(self, "body").unwrap_or_default()
    }
}

/// The two ingestion routes (spec section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    WebEvents,
    ActionEvents,
}

impl Route {
    const ALL: [Route; 2] = [Route::WebEvents, Route::ActionEvents];

    fn path(self) -> &'static str {
        match self {
            Route::WebEvents => "web-events",
            Route::ActionEvents => "action-events",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One queued event.
struct Item {
    /// The event as JSON.
    text: String,
    /// For a web event, where its answer is presented: on the route of the page's address when
    /// it was made, and on that of a page view's `location` (a router may record the view of the
    /// route it goes to, then move there), empty without one. Empty for action events, and for
    /// web events an earlier page kept (their answers belong to a page that is gone).
    at: [String; 2],
}

#[derive(Default)]
struct Queue {
    /// The events, oldest first. A `Vec`, not a `VecDeque`: taking from the front moves at most
    /// [`QUEUED`] items, and a `VecDeque` is code of its own (the SDK has a size budget).
    items: Vec<Item>,
    /// How many of the first items are in the request on its way.
    in_flight: usize,
    /// How many events of the request on its way a full queue has dropped since it was sent.
    lost: usize,
    /// The request on its way, if any: whether it is `keepalive`. A full queue may have dropped
    /// all its events since, so this, not `in_flight`, says whether one is on its way.
    request: Option<bool>,
}

impl Queue {
    /// The events not delivered otherwise. `leaving`: the page is hidden or left with the
    /// network working, so a request in flight that is `keepalive` is the browser's to finish.
    fn unsent(&self, leaving: bool) -> &[Item] {
        let delivered = if leaving && self.request == Some(true) {
            self.in_flight
        } else {
            0
        };
        &self.items[delivered..]
    }
}

pub struct Transport {
    base: String,
    /// `localStorage` keys of this deployment's outboxes start with it; this page's is
    /// [`Transport::own_key`]. One per page, so that two tabs do not write over each other's.
    outboxes: String,
    queues: [Queue; 2],
    /// Whether what earlier pages kept in `localStorage` has been taken into the queues.
    picked_up: bool,
    /// Whether `localStorage` may hold this page's outbox (so clearing it is not a needless use
    /// of `localStorage` when there is nothing there).
    stored: bool,
    /// The page was left, and what it could not send handed over in its outbox: the next page
    /// takes it, or this one again if it comes back from the back/forward cache. Until then
    /// nothing more is written.
    left: bool,
    failures: u32,
    paused_until: f64,
    timer: Option<Timer>,
    /// Tells this transport's replies from those of one `ac('destroy')` ended, which must not
    /// touch the queues of the next `init` (nor its offers: see `Runtime::decided`).
    pub id: u64,
}

impl Transport {
    pub fn new(server: &str, deployment_id: Uuid) -> Transport {
        let deployment = id_text(&deployment_id);
        Transport {
            base: concat(&[
                server.trim_end_matches('/'),
                "/api/v1/deployments/",
                &deployment,
                "/",
            ]),
            outboxes: concat(&["beckon_outbox_", &deployment]),
            queues: Default::default(),
            picked_up: false,
            stored: false,
            left: false,
            failures: 0,
            paused_until: 0.0,
            timer: None,
            id: random_u64(),
        }
    }

    /// After start-up, or back from the back/forward cache: sends what earlier pages (or this
    /// one, before it was left) could not.
    pub fn started(&mut self) {
        if std::mem::replace(&mut self.left, false) {
            self.picked_up = false;
        }
        self.pick_up();
        self.schedule_if_pending();
    }

    fn own_key(&self) -> String {
        concat(&[&self.outboxes, "_", &decimal(self.id)])
    }

    /// Puts what earlier pages could not send ahead of this page's events: once, after
    /// start-up, or before anything is sent or kept if that comes first. It takes (reads and
    /// removes) the outboxes of pages that were left, and of pages gone without leaving
    /// ([`ORPHANED_MS`]); never those of pages still open, which send their own. Web events
    /// older than [`STALE_MS`] are dropped.
    fn pick_up(&mut self) {
        if std::mem::replace(&mut self.picked_up, true) {
            return;
        }
        let Some(storage) = storage() else { return };
        let mut keys = Vec::new();
        for i in 0..storage.length().unwrap_or(0) {
            if let Ok(Some(key)) = storage.key(i)
                && key.starts_with(&self.outboxes)
            {
                keys.push(key);
            }
        }
        let own = self.own_key();
        let mut taken = Vec::new();
        for key in &keys {
            let Some(text) = storage.get_item(key).ok().flatten() else {
                continue;
            };
            let outbox = from_json(&text);
            // An earlier version's outbox is the events alone: its page was left.
            let (left, at, events) = if Array::is_array(&outbox) {
                (true, 0.0, outbox)
            } else {
                (
                    field(&outbox, "left").is_truthy(),
                    number(&outbox, "at"),
                    field(&outbox, "events"),
                )
            };
            if left || (*key != own && now() - at > ORPHANED_MS) {
                let _ = storage.remove_item(key);
                // Oldest first.
                let before = taken.iter().position(|(t, _)| *t > at);
                taken.insert(before.unwrap_or(taken.len()), (at, events));
            }
        }
        let mut stale = false;
        for &route in &Route::ALL {
            let mut earlier = Vec::new();
            for (_, events) in &taken {
                let items = match events.dyn_ref::<Array>() {
                    Some(events) => events.get(route.index() as u32),
                    None => continue,
                };
                let Some(items) = items.dyn_ref::<Array>() else {
                    continue;
                };
                for item in items.iter() {
                    if let Some(item) = item.as_string() {
                        let old = route == Route::WebEvents
                            && string_field(&from_json(&item), "createdDate")
                                .is_some_and(|t| now() - js_sys::Date::parse(&t) > STALE_MS);
                        stale |= old;
                        if !old {
                            earlier.push(Item {
                                text: item,
                                at: Default::default(),
                            });
                        }
                    }
                }
            }
            let queue = &mut self.queues[route.index()].items;
            earlier.append(queue);
            *queue = earlier;
        }
        if stale {
            log_warning("events an earlier page kept were too old for the server; dropped");
        }
    }

    /// `<server>/api/v1/deployments/<id>/<path>`: the deployment's routes (chat uses them too).
    pub fn url(&self, path: &str) -> String {
        concat(&[&self.base, path])
    }

    /// Queues one event (its JSON text) for `route`; `view` is a page view's `location`.
    pub fn send(&mut self, route: Route, text: String, view: Option<&str>) {
        let at = match route {
            Route::WebEvents => [current_url(), view.unwrap_or_default().to_owned()],
            Route::ActionEvents => Default::default(),
        };
        let queue = &mut self.queues[route.index()];
        if queue.items.len() >= QUEUED {
            // The oldest; if it is in the request on its way, that request may still deliver it.
            queue.items.remove(0);
            if queue.in_flight > 0 {
                queue.in_flight -= 1;
                queue.lost += 1;
            }
            log_warning("the event queue is full; the oldest event was dropped");
        }
        queue.items.push(Item { text, at });
        if self.timer.is_none() {
            self.schedule(LINGER_MS);
        }
    }

    fn schedule(&mut self, delay: f64) {
        let wait = delay.max(self.paused_until - now());
        self.timer = Some(Timer::after(wait, || {
            with_runtime(|rt| {
                rt.transport.timer = None;
                rt.transport.flush();
            });
        }));
    }

    /// Sends one batch per route that has events and nothing in flight.
    fn flush(&mut self) {
        self.pick_up();
        if now() < self.paused_until {
            self.schedule(0.0);
            return;
        }
        for &route in &Route::ALL {
            let queue = &mut self.queues[route.index()];
            if queue.request.is_some() || queue.items.is_empty() {
                continue;
            }
            // A request's web events are answered for the same routes.
            let at = queue.items[0].at.clone();
            let mut count = 0;
            while count < queue.items.len().min(BATCH)
                && same_route(&queue.items[count].at[0], &at[0])
                && same_route(&queue.items[count].at[1], &at[1])
            {
                count += 1;
            }
            queue.in_flight = count;
            queue.lost = 0;
            let body = batch_body(&queue.items[..count]);
            queue.request = Some(body.len() < KEEPALIVE);
            let url = self.url(route.path());
            let id = self.id;
            let reply = crate::browser::once(move |reply| {
                with_runtime(|rt| rt.transport_reply(id, route, &at, reply.unchecked_into()));
            });
            post(&url, &body).then(&reply);
        }
    }

    /// The page is hidden or (`left`) going away: send everything with `sendBeacon`; keep what
    /// the browser would not take. While the server cannot be reached or has asked to slow
    /// down, a beacon would be lost unseen (and a request in flight likely fails), so
    /// everything stays in `localStorage` for the next page.
    pub fn flush_on_hide(&mut self, left: bool) {
        self.pick_up();
        let working = self.failures == 0 && now() >= self.paused_until;
        if working {
            self.beacon_all();
        }
        self.persist(working, left);
    }

    fn beacon_all(&mut self) {
        let navigator: web_sys::Navigator = field(&window(), "navigator").unchecked_into();
        for &route in &Route::ALL {
            let url = self.url(route.path());
            let queue = &mut self.queues[route.index()];
            if queue.items.len() == queue.in_flight {
                continue;
            }
            // Web events in flight are the fetch's: kept if it is not `keepalive`
            // ([`Queue::unsent`]). Action events in flight go in the beacon too, ahead of the
            // rest: the beacon may arrive first, and the state it carries (`accepted`) would be
            // refused without the one still on its way (`offered`). The server stores an
            // action's state once; web events have no key to drop a repeat by.
            let start = match route {
                Route::WebEvents => queue.in_flight,
                Route::ActionEvents => 0,
            };
            let mut end = start;
            for chunk in queue.items[start..].chunks(BATCH) {
                let accepted = navigator
                    .send_beacon_with_opt_str(&url, Some(&batch_body(chunk)))
                    .unwrap_or(false);
                if !accepted {
                    break;
                }
                end += chunk.len();
            }
            // Those after the ones in flight are out of the queue; what follows them moves up
            // (truncate and append rather than drain, a type of its own in the module).
            let kept = queue.in_flight;
            let mut rest = queue.items.split_off(end.max(kept));
            queue.items.truncate(kept);
            queue.items.append(&mut rest);
        }
    }

    fn reply(&mut self, route: Route, reply: &Reply) -> Option<String> {
        let queue = &mut self.queues[route.index()];
        queue.request = None;
        let count = std::mem::take(&mut queue.in_flight);
        let status = reply.status();
        match status {
            200..=299 => {
                self.failures = 0;
                self.remove_sent(route, count);
                self.persist(false, false);
                self.schedule_if_pending();
                return Some(reply.body());
            }
            429 | 503 if reply.retry_after().is_some() => {
                let asked = reply.retry_after().unwrap_or_default();
                let (number, date) = (
                    js_sys::Number::parse_float(&asked),
                    js_sys::Date::parse(&asked),
                );
                // Seconds, or an HTTP date: until then (1 s when it is neither).
                let seconds = if number >= 0.0 {
                    number
                } else if date.is_nan() {
                    1.0
                } else {
                    // A date already past (a skewed clock) still pauses for a second.
                    ((date - now()) / 1000.0).ceil().max(1.0)
                };
                self.paused_until = now() + seconds * 1000.0;
                log_warning(&concat(&[
                    "the server asks to slow down; sending again in ",
                    &js_text(&seconds.into()),
                    " s",
                ]));
                self.schedule(0.0);
            }
            0 | 408 | 429 | 500..=599 => {
                self.failures += 1;
                let backoff = (1000.0 * 2f64.powi(self.failures as i32 - 1)).min(MAX_BACKOFF_MS);
                let jitter = 0.5 + (random_u64() % 1000) as f64 / 2000.0;
                self.persist(false, false);
                self.schedule(backoff * jitter);
            }
            _ => {
                // A batch refused for one of its events names it (`field` `[i]` or `[i].…`):
                // only that one is dropped; the others go again.
                let body = reply.body();
                let dropped = match blamed(&body).map(|i| i.checked_sub(queue.lost)) {
                    // A full queue has dropped it already.
                    Some(None) => 0,
                    Some(Some(i)) if i < count => {
                        queue.items.remove(i);
                        1
                    }
                    _ => {
                        self.remove_sent(route, count);
                        count
                    }
                };
                log_error(&concat(&[
                    "the server refused ",
                    &decimal(dropped as u64),
                    " ",
                    route.path(),
                    " (",
                    &decimal(status.into()),
                    "): ",
                    &body,
                ]));
                self.persist(false, false);
                self.schedule_if_pending();
            }
        }
        None
    }

    fn remove_sent(&mut self, route: Route, count: usize) {
        let items = &mut self.queues[route.index()].items;
        *items = items.split_off(count.min(items.len()));
    }

    fn schedule_if_pending(&mut self) {
        if self.timer.is_none() && self.queues.iter().any(|q| !q.items.is_empty()) {
            self.schedule(0.0);
        }
    }

    /// Keeps the unsent events in this page's outbox in `localStorage` (the newest [`STORED`]
    /// per route), or clears it when everything was sent. `leaving`: see [`Queue::unsent`] (the
    /// next page would send a `keepalive` request's events again). `left`: the page is going
    /// away, and hands its unsent events over in the outbox ([`Transport::left`]).
    fn persist(&mut self, leaving: bool, left: bool) {
        if self.left {
            return;
        }
        let empty = self.queues.iter().all(|q| q.unsent(leaving).is_empty());
        if empty && !self.stored {
            return;
        }
        let Some(storage) = storage() else { return };
        let key = self.own_key();
        if empty {
            let _ = storage.remove_item(&key);
            self.stored = false;
            return;
        }
        let events = Array::new();
        for queue in &self.queues {
            let items = Array::new();
            let unsent = queue.unsent(leaving);
            for item in &unsent[unsent.len().saturating_sub(STORED)..] {
                items.push(&JsValue::from_str(&item.text));
            }
            events.push(&items);
        }
        let outbox = js_sys::Object::new();
        set(&outbox, "left", &left.into());
        set(&outbox, "at", &now().into());
        set(&outbox, "events", &events);
        let Some(text) = to_json(&outbox) else { return };
        let written = storage.set_item(&key, &text).is_ok();
        self.stored |= written;
        if left && written {
            // The outbox is the next page's now; this page keeps only the requests the browser
            // finishes.
            for queue in &mut self.queues {
                let kept = queue.items.len() - queue.unsent(leaving).len();
                queue.items.truncate(kept);
                queue.in_flight = queue.in_flight.min(kept);
            }
            self.left = true;
            self.stored = false;
        }
    }
}

impl crate::runtime::Runtime {
    /// A reply to a request of events made `at` (see [`Item::at`]). A web-events answer's
    /// actions are presented only on those routes: one that comes after the page moved to
    /// another, or to events an earlier page kept, is dropped unreported (they stay
    /// `qualified`), as a delay's answer is (`Runtime::decided`).
    fn transport_reply(&mut self, id: u64, route: Route, at: &[String; 2], reply: Reply) {
        if id != self.transport.id {
            return;
        }
        let Some(body) = self.transport.reply(route, &reply) else {
            return;
        };
        let here = current_url();
        if route == Route::WebEvents && (same_route(&at[0], &here) || same_route(&at[1], &here)) {
            self.receive_all(&body);
        }
    }
}

/// The event of a batch that a refusal names (its `field` is `[i]` or `[i].…`), if any.
fn blamed(body: &str) -> Option<usize> {
    let field = string_field(&from_json(body), "field")?;
    let (index, _) = field.strip_prefix('[')?.split_once(']')?;
    index.parse().ok()
}

fn batch_body(items: &[Item]) -> String {
    let mut body = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&item.text);
    }
    body.push(']');
    body
}

pub fn storage() -> Option<web_sys::Storage> {
    crate::browser::storage("localStorage")
}
