//! The state of an initialized SDK (after `ac('init', …)`), and the page events every part of it
//! reacts to: leaving the page, hiding it, coming back to it from the back/forward cache, SPA
//! route changes.
//!
//! There is one [`Runtime`] per page, in a thread-local. It is borrowed only for short, plain
//! steps that never call page code; page code (handlers, callbacks, data layers) runs after the
//! borrow ends. A command that arrives while it is borrowed (a page listener reacting to our own
//! DOM change) waits until the current entry point ends ([`crate::commands::run_deferred`]).
//! Dropping the runtime removes every element, listener and timer it added: that is `destroy`.

use std::cell::RefCell;

use js_sys::Array;
use web_sys::{Event, EventTarget};

use crate::autotrack::Autotrack;
use crate::browser::{Listener, Timer, current_url, document, field, string_field, window};
use crate::chat::Chat;
use crate::forms::Forms;
use crate::identity::Identity;
use crate::lifecycle::Lifecycle;
use crate::transport::Transport;

pub struct Runtime {
    pub identity: Identity,
    pub transport: Transport,
    pub lifecycle: Lifecycle,
    pub autotrack: Autotrack,
    pub forms: Forms,
    pub chat: Chat,
    /// The page's address when an offer was last shown, a pageview recorded or the route
    /// changed, and the last pageview's location until the page moves to another route: a move
    /// to a route of neither (see [`same_route`]) is a route change, which ignores what is on
    /// screen. A router may record the view of the route it goes to, then move there: that move
    /// is no route change.
    pub route: [String; 2],
    /// Where the last page view was (its `location` option, or the page's address then): the
    /// page an activation delay that ends is asked about again. Unlike `route`, showing an offer
    /// does not change it.
    pub viewed: String,
    /// The arguments of this page's last `pageview`, and the page's URL then: run again when the
    /// page comes back from the back/forward cache on that route, as a reload would, since
    /// leaving it withdrew its offers and cancelled its delays (the server offers those at once
    /// then, spec 6). A single-page app that changed its route since without a `pageview` gets
    /// none.
    pub last_pageview: Option<(Array, String)>,
    _page: Vec<Listener>,
    /// What waits until start-up is over (the queued calls have run and the page has the SDK):
    /// what earlier pages left in `localStorage` (events not sent) and
    /// `sessionStorage` (a chat). A page's first use of either storage reads it from the
    /// browser synchronously, which cost start-up several milliseconds.
    after_start: Option<Timer>,
}

thread_local! {
    static RUNTIME: RefCell<Option<Runtime>> = const { RefCell::new(None) };
    /// The origin the script came from: the server when `init` names none.
    static DEFAULT_SERVER: RefCell<String> = const { RefCell::new(String::new()) };
}

pub fn set_default_server(origin: String) {
    DEFAULT_SERVER.with(|s| *s.borrow_mut() = origin);
}

pub fn default_server() -> String {
    DEFAULT_SERVER.with(|s| s.borrow().clone())
}

/// Runs `f` on the runtime; `None` when the SDK is not initialized (or is busy).
pub fn with_runtime<R>(f: impl FnOnce(&mut Runtime) -> R) -> Option<R> {
    RUNTIME.with(|r| {
        let mut r = r.try_borrow_mut().ok()?;
        r.as_mut().map(f)
    })
}

pub fn is_busy() -> bool {
    RUNTIME.with(|r| r.try_borrow_mut().is_err())
}

pub fn is_initialized() -> bool {
    RUNTIME.with(|r| r.try_borrow().is_ok_and(|r| r.is_some()))
}

pub fn install(runtime: Runtime) {
    RUNTIME.with(|r| *r.borrow_mut() = Some(runtime));
}

/// Takes the runtime out (for `destroy`); it is dropped by the caller, outside the borrow.
pub fn take() -> Option<Runtime> {
    RUNTIME.with(|r| r.try_borrow_mut().ok()?.take())
}

impl Runtime {
    pub fn new(identity: Identity, transport: Transport, lifecycle: Lifecycle) -> Runtime {
        let win: EventTarget = window().into();
        let doc: EventTarget = document().into();
        let page = vec![
            Listener::new(&win, "pagehide", false, |_| {
                with_runtime(Runtime::leave_page);
            }),
            Listener::new(&win, "pageshow", false, |event| {
                let restored = field(&event, "persisted").is_truthy();
                if restored {
                    with_runtime(|rt| rt.transport.started());
                }
                if let Some(Some((pageview, _))) = with_runtime(|rt| {
                    rt.last_pageview
                        .clone()
                        .filter(|(_, at)| restored && same_route(at, &current_url()))
                }) {
                    crate::commands::run(pageview);
                }
            }),
            Listener::new(&doc, "visibilitychange", false, |_| {
                if string_field(&document(), "visibilityState").as_deref() == Some("hidden") {
                    with_runtime(|rt| rt.transport.flush_on_hide(false));
                }
            }),
            Listener::new(&win, "popstate", false, on_route_event),
            Listener::new(&win, "hashchange", false, on_route_event),
        ];
        Runtime {
            identity,
            transport,
            lifecycle,
            autotrack: Autotrack::default(),
            forms: Forms::default(),
            chat: Chat::new(),
            route: [current_url(), String::new()],
            viewed: current_url(),
            last_pageview: None,
            _page: page,
            after_start: Some(Timer::after(0.0, || {
                with_runtime(Runtime::started);
            })),
        }
    }

    fn started(&mut self) {
        self.after_start = None;
        self.transport.started();
        self.resume_chat();
    }

    /// The visitor leaves the page: what is on screen is `ignored`, pending activation delays
    /// are cancelled (back on this page later in the session, the server offers them at once),
    /// forms not submitted are abandoned, and everything queued goes out with `sendBeacon`.
    fn leave_page(&mut self) {
        self.withdraw_all();
        self.lifecycle.cancel_delays();
        self.forms_abandoned();
        self.transport.flush_on_hide(true);
    }

    /// The SPA moved (history navigation, a hash route) to another route (see [`Runtime::route`]):
    /// offers on screen are `ignored` and pending activation delays cancelled, as when leaving a
    /// page. Moving to an in-page anchor is not a route change.
    pub fn route_changed(&mut self, url: String) {
        if self.moved_to(url) {
            self.leave_route();
        }
    }

    /// The page is at `url` now; whether that is a route change (the last pageview's location
    /// is then forgotten).
    pub fn moved_to(&mut self, url: String) -> bool {
        let [page, view] = &mut self.route;
        if same_route(&url, page) {
            return false;
        }
        let moved = !same_route(&url, view);
        if moved {
            view.clear();
        }
        *page = url;
        moved
    }

    /// A page view at `url` (its `location` option, or the page's address): one of another view
    /// than the last page view's is a route change. The route events compare with the page's
    /// address and `url`.
    pub fn page_viewed(&mut self, url: String) {
        if !same_route(&url, &self.viewed) {
            self.leave_route();
        }
        self.route = [current_url(), url.clone()];
        self.viewed = url;
    }

    fn leave_route(&mut self) {
        self.withdraw_all();
        self.lifecycle.cancel_delays();
    }

    /// The visitor left what the page shows (the page, the route, or `destroy`): what is on
    /// screen is `ignored`, and an open pre-chat form is closed, `rejected` (spec 3.1).
    pub fn withdraw_all(&mut self) {
        self.ignore_shown();
        self.chat_form_closed();
    }
}

/// Whether two URLs are one route of the page: equal but for an in-page anchor (`#pricing`).
/// A fragment starting with `/` or `!` is a hash router's route (`#/plans`, `#!/plans`) and
/// counts, up to an anchor of its own (`#/plans#prices`); its root (`#/`, `#!`, `#!/`) is the
/// page itself.
pub fn same_route(a: &str, b: &str) -> bool {
    fn route(url: &[u8]) -> &[u8] {
        let anchor = |from: usize| {
            url[from..]
                .iter()
                .position(|&b| b == b'#')
                .map(|at| from + at)
        };
        let Some(at) = anchor(0) else { return url };
        let end = match url.get(at + 1) {
            Some(b'/' | b'!') => anchor(at + 1).unwrap_or(url.len()),
            _ => return &url[..at],
        };
        match &url[at + 1..end] {
            b"/" | b"!" | b"!/" => &url[..at],
            _ => &url[..end],
        }
    }
    route(a.as_bytes()) == route(b.as_bytes())
}

fn on_route_event(_: Event) {
    let url = current_url();
    with_runtime(|rt| rt.route_changed(url));
}

#[cfg(test)]
mod tests {
    use super::same_route;

    #[test]
    fn an_anchor_is_not_a_route_but_a_hash_route_is() {
        let page = "https://shop.example/plans?x=1";
        assert!(same_route(page, "https://shop.example/plans?x=1#pricing"));
        assert!(same_route(
            "https://shop.example/plans#a",
            "https://shop.example/plans#b"
        ));
        assert!(!same_route(page, "https://shop.example/plans?x=2"));
        assert!(!same_route(page, "https://shop.example/plans?x=1#/compare"));
        assert!(!same_route(
            "https://s.example/#!/a",
            "https://s.example/#!/b"
        ));
        assert!(same_route(
            "https://s.example/#/a",
            "https://s.example/#/a#prices"
        ));
        assert!(!same_route(
            "https://s.example/#/a",
            "https://s.example/#/a/b#prices"
        ));
        for root in ["#", "#/", "#!", "#!/", "#/#top", "#top"] {
            assert!(same_route(
                "https://s.example/",
                &format!("https://s.example/{root}")
            ));
        }
    }
}
