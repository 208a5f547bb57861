//! A content offer (spec 3.2) in one of the three Genesys display modes (`Modal`, `Overlay`,
//! `Toast`) and six layout modes. The call to action accepts it, the close button and Escape
//! reject it; a modal is an `aria-modal` dialog that takes focus and keeps Tab inside, the others
//! are non-modal dialogs that leave focus where it is. An image that fails to load makes the
//! offer `errored`.

use uuid::Uuid;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlImageElement};

use super::style::{self, Parts};
use super::{Presented, Stage, describe};
use crate::action::{ContentOffer, DisplayMode, Target};
use crate::browser::Listener;
use crate::lifecycle::{Outcome, codes};
use crate::runtime::with_runtime;

pub fn show(id: Uuid, offer: &ContentOffer) -> Result<Presented, (i64, String)> {
    check(offer).map_err(|m| (codes::INVALID_ACTION, m))?;
    let mut stage = Stage::new(id, "content-offer").map_err(|m| (codes::NOT_SHOWN, m))?;
    match draw(&mut stage, id, offer) {
        Ok(focus) => Ok(stage.finish(focus.as_ref())),
        Err(message) => {
            stage.host.remove();
            Err((codes::NOT_SHOWN, message))
        }
    }
}

/// What must hold before anything is drawn.
fn check(offer: &ContentOffer) -> Result<(), String> {
    let layout = offer.layout_mode;
    if layout.has_image() && offer.image_url.as_deref().is_none_or(str::is_empty) {
        return Err(["layoutMode ", layout.name(), " needs an imageUrl"].concat());
    }
    if let Some(url) = &offer.image_url {
        web_url(url).map_err(|e| ["imageUrl ", &e].concat())?;
    }
    if let Some(cta) = &offer.call_to_action {
        web_url(&cta.url).map_err(|e| ["callToAction.url ", &e].concat())?;
    }
    Ok(())
}

/// Only http(s) links: a `javascript:` URL from configuration must never run.
fn web_url(url: &str) -> Result<String, String> {
    let base = crate::runtime::current_url();
    let parsed = web_sys::Url::new_with_base(url, &base)
        .map_err(|_| ["'", url, "' is not a URL"].concat())?;
    match parsed.protocol().as_str() {
        "http:" | "https:" => Ok(parsed.href()),
        other => Err(["'", url, "' must be http or https, not ", other].concat()),
    }
}

/// Draws the offer; returns what takes focus (modals only).
fn draw(stage: &mut Stage, id: Uuid, offer: &ContentOffer) -> Result<Option<HtmlElement>, String> {
    let modal = offer.display_mode == DisplayMode::Modal;
    let root = stage.root.clone();
    if modal {
        stage.add(&root, "div", "backdrop", None)?;
    }
    let mode = match offer.display_mode {
        DisplayMode::Modal => "modal",
        DisplayMode::Overlay => "overlay",
        DisplayMode::Toast => "toast",
    };
    let layout = offer.layout_mode;
    let boxed = stage.add(
        &root,
        "div",
        &["box ", mode, " ", layout.class()].concat(),
        None,
    )?;
    let set = |e: &HtmlElement, k: &str, v: &str| e.set_attribute(k, v).map_err(describe);
    set(&boxed, "role", "dialog")?;
    set(&boxed, "aria-modal", if modal { "true" } else { "false" })?;
    let label = offer
        .title
        .as_deref()
        .or(offer.headline.as_deref())
        .or(offer.image_alt_text.as_deref())
        .unwrap_or("Offer");

    fn text(s: &Option<String>) -> Option<&str> {
        s.as_deref().filter(|t| !t.is_empty())
    }
    let (mut title, mut headline, mut body) = (None, None, None);
    if layout.has_text() {
        let column = stage.add(&boxed, "div", "text", None)?;
        if let Some(t) = text(&offer.title) {
            let h = stage.add(&column, "h2", "title", Some(t))?;
            h.set_id("beckon-title");
            set(&boxed, "aria-labelledby", "beckon-title")?;
            title = Some(h);
        }
        if let Some(t) = text(&offer.headline) {
            headline = Some(stage.add(&column, "p", "headline", Some(t))?);
        }
        if let Some(t) = text(&offer.body) {
            let p = stage.add(&column, "p", "body", Some(t))?;
            p.set_id("beckon-body");
            set(&boxed, "aria-describedby", "beckon-body")?;
            body = Some(p);
        }
    }
    if title.is_none() {
        set(&boxed, "aria-label", label)?;
    }
    if let (true, Some(url)) = (layout.has_image(), &offer.image_url) {
        let image: HtmlImageElement = stage.add(&boxed, "img", "image", None)?.unchecked_into();
        image.set_alt(offer.image_alt_text.as_deref().unwrap_or(""));
        stage
            .listeners
            .push(Listener::new(&image, "error", false, move |_| {
                with_runtime(|rt| {
                    rt.fail(id, codes::IMAGE_FAILED, "the image did not load".into())
                });
            }));
        image.set_src(&web_url(url)?);
    }
    let mut focusable = Vec::new();
    let mut cta = None;
    if let Some(action) = &offer.call_to_action {
        let link = stage.add(&boxed, "a", "cta", Some(&action.text))?;
        set(&link, "href", &web_url(&action.url)?)?;
        if action.target == Target::Blank {
            set(&link, "target", "_blank")?;
            set(&link, "rel", "noopener noreferrer")?;
        }
        stage.on_click(&link, id, Outcome::Accepted);
        focusable.push(link.clone());
        cta = Some(link);
    }
    let close = stage.add(&boxed, "button", "close", Some("\u{00d7}"))?;
    set(&close, "type", "button")?;
    set(&close, "aria-label", "Close")?;
    stage.on_click(&close, id, Outcome::Rejected);
    focusable.push(close.clone());

    if let Some(s) = &offer.style {
        style::apply(
            s,
            &Parts {
                offer: &boxed,
                close: &close,
                cta: cta.as_ref(),
                title: title.as_ref(),
                headline: headline.as_ref(),
                body: body.as_ref(),
            },
        );
    }
    let first = focusable.first().cloned();
    stage.keyboard(id, modal.then_some(focusable));
    Ok(if modal { first } else { None })
}
