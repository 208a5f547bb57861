//! A content offer (spec 3.2) in one of the three Genesys display modes (`Modal`, `Overlay`,
//! `Toast`) and six layout modes. The call to action accepts it (labelled "Learn more" when its
//! `text` is missing or blank: Genesys does not require one), the close button and Escape
//! reject it; a modal is an `aria-modal` dialog that takes focus, keeps Tab inside and closes on
//! Escape anywhere, the others are non-modal dialogs that leave focus where it is and close on
//! Escape only from inside them. An image that fails to load makes the offer `errored`.

use uuid::Uuid;

use super::style;
use super::{Html, Keys, Presented};
use crate::action::{ContentOffer, DisplayMode, Target};
use crate::browser::{field, set, string_field};
use crate::lifecycle::codes;
use beckon_core::text::concat;

pub fn show(id: Uuid, offer: &ContentOffer) -> Result<Presented, (i64, String)> {
    let html = markup(offer).map_err(|m| (codes::INVALID_ACTION, m))?;
    let modal = offer.display_mode == DisplayMode::Modal;
    let keys = Keys {
        anywhere: modal,
        trap: modal,
    };
    let focus = modal.then_some(super::FOCUSABLE);
    let shown = Presented::show(id, "content-offer", &html, super::settle, keys, focus)
        .map_err(|m| (codes::NOT_SHOWN, m))?;
    // Through the CSSOM, not as style attributes in the markup: a page's CSP can refuse those.
    if let Some(style) = &offer.style {
        let parts = [".box", ".close", ".cta", ".title", ".headline", ".body"];
        for (css, part) in style::declarations(style).iter().zip(parts) {
            if let Some(element) = shown.find(part).filter(|_| !css.is_empty()) {
                set(&field(&element, "style"), "cssText", &css.into());
            }
        }
    }
    Ok(shown)
}

/// Only http(s) links: a `javascript:` URL from configuration must never run.
fn web_url(url: &str) -> Result<String, String> {
    let base = crate::browser::current_url();
    let parsed = web_sys::Url::new_with_base(url, &base)
        .map_err(|_| concat(&["'", url, "' is not a URL"]))?;
    let text = |key: &str| string_field(&parsed, key).unwrap_or_default();
    match text("protocol").as_str() {
        "http:" | "https:" => Ok(text("href")),
        other => Err(concat(&["'", url, "' must be http or https, not ", other])),
    }
}

/// The offer's markup; an error when its content cannot be shown as configured.
fn markup(offer: &ContentOffer) -> Result<Html, String> {
    let layout = offer.layout_mode;
    let image = match &offer.image_url {
        Some(url) => Some(web_url(url).map_err(|e| concat(&["imageUrl ", &e]))?),
        None => None,
    };
    let cta = match &offer.call_to_action {
        Some(cta) => Some((
            cta,
            web_url(&cta.url).map_err(|e| concat(&["callToAction.url ", &e]))?,
        )),
        None => None,
    };
    let modal = offer.display_mode == DisplayMode::Modal;
    let mode = match offer.display_mode {
        DisplayMode::Modal => "modal",
        DisplayMode::Overlay => "overlay",
        DisplayMode::Toast => "toast",
    };
    fn text(s: &Option<String>) -> Option<&str> {
        s.as_deref().filter(|t| !t.is_empty())
    }
    let (title, headline, body) = if layout.has_text() {
        (text(&offer.title), text(&offer.headline), text(&offer.body))
    } else {
        (None, None, None)
    };

    let mut h = Html::default();
    if modal {
        h.raw("<div class=\"backdrop\"></div>");
    }
    h.raw("<div role=\"dialog\" class=\"box ")
        .raw(mode)
        .raw(" ")
        .raw(layout.class())
        .raw("\" aria-modal=\"")
        .raw(if modal { "true\"" } else { "false\"" });
    match title {
        Some(_) => h.raw(" aria-labelledby=\"beckon-title\""),
        None => {
            let label = offer
                .title
                .as_deref()
                .or(offer.headline.as_deref())
                .or(offer.image_alt_text.as_deref())
                .unwrap_or("Offer");
            h.attr("aria-label", label)
        }
    };
    if body.is_some() {
        h.raw(" aria-describedby=\"beckon-body\"");
    }
    h.raw(">");
    if layout.has_text() {
        h.raw("<div class=\"text\">");
        if let Some(t) = title {
            h.raw("<h2 class=\"title\" id=\"beckon-title\">")
                .text(t)
                .raw("</h2>");
        }
        if let Some(t) = headline {
            h.raw("<p class=\"headline\">").text(t).raw("</p>");
        }
        if let Some(t) = body {
            h.raw("<p class=\"body\" id=\"beckon-body\">")
                .text(t)
                .raw("</p>");
        }
        h.raw("</div>");
    }
    if let (true, Some(src)) = (layout.has_image(), &image) {
        h.raw("<img class=\"image\"")
            .attr("alt", offer.image_alt_text.as_deref().unwrap_or(""))
            .attr("src", src)
            .raw(">");
    }
    if let Some((cta, href)) = &cta {
        h.raw("<a class=\"cta\" data-do=\"accept\"")
            .attr("href", href);
        if cta.target == Target::Blank {
            h.raw(" target=\"_blank\" rel=\"noopener noreferrer\"");
        }
        let label = cta.text.as_deref().filter(|t| !t.trim().is_empty());
        h.raw(">").text(label.unwrap_or("Learn more")).raw("</a>");
    }
    h.raw(
        "<button class=\"close\" type=\"button\" aria-label=\"Close\" data-do=\"reject\">\
         \u{00d7}</button></div>",
    );
    Ok(h)
}
