//! A chat invitation (spec 3.1): a non-modal dialog with the prompt, accept and decline. Accept
//! accepts it; decline, the close button and Escape inside it reject it (Escape elsewhere on the
//! page is the page's own); nobody answering within its timeout withdraws it (`timedout`, timed
//! by the lifecycle). It is announced politely to screen readers and does not take focus from
//! what the visitor is doing.

use uuid::Uuid;

use super::{Html, Keys, Presented};
use crate::action::ChatInvitation;
use crate::lifecycle::codes;

pub fn show(id: Uuid, invitation: &ChatInvitation) -> Result<Presented, (i64, String)> {
    let text = |s: &Option<String>, default: &'static str| -> String {
        s.as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(default)
            .to_owned()
    };
    let mut h = Html::default();
    h.raw(
        "<div class=\"box invite\" role=\"dialog\" aria-modal=\"false\" aria-live=\"polite\" \
         aria-labelledby=\"beckon-title\" aria-describedby=\"beckon-prompt\">\
         <h2 class=\"title\" id=\"beckon-title\">",
    )
    .text(&text(&invitation.title, "Chat with us"))
    .raw("</h2><p class=\"body\" id=\"beckon-prompt\">")
    .text(&text(
        &invitation.prompt,
        "Do you have a question? We are here to help.",
    ))
    .raw("</p><div class=\"actions\"><button class=\"accept\" type=\"button\" data-do=\"accept\">")
    .text(&text(&invitation.accept_label, "Chat now"))
    .raw("</button><button class=\"decline\" type=\"button\" data-do=\"reject\">")
    .text(&text(&invitation.decline_label, "No thanks"))
    .raw(
        "</button></div><button class=\"close\" type=\"button\" aria-label=\"Close\" \
         data-do=\"reject\">\u{00d7}</button></div>",
    );
    let keys = Keys {
        anywhere: false,
        trap: false,
    };
    Presented::show(id, "chat-invitation", &h, super::settle, keys, None)
        .map_err(|m| (codes::NOT_SHOWN, m))
}
