//! A chat invitation (spec 3.1): a non-modal dialog with the prompt, accept and decline. Accept
//! accepts it; decline, the close button and Escape reject it; nobody answering within its
//! timeout withdraws it (`timedout`, timed by the lifecycle). It is announced politely to screen
//! readers and does not take focus from what the visitor is doing.

use uuid::Uuid;

use super::{Presented, Stage, attributes, describe};
use crate::action::ChatInvitation;
use crate::lifecycle::{Outcome, codes};

pub fn show(id: Uuid, invitation: &ChatInvitation) -> Result<Presented, (i64, String)> {
    let mut stage = Stage::new(id, "chat-invitation").map_err(|m| (codes::NOT_SHOWN, m))?;
    match draw(&mut stage, id, invitation) {
        Ok(()) => Ok(stage.finish(None)),
        Err(message) => {
            stage.host.remove();
            Err((codes::NOT_SHOWN, message))
        }
    }
}

fn draw(stage: &mut Stage, id: Uuid, invitation: &ChatInvitation) -> Result<(), String> {
    let text = |s: &Option<String>, default: &'static str| -> String {
        s.as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(default)
            .to_owned()
    };
    let root = stage.root.clone();
    let boxed = stage.add(&root, "div", "box invite", None)?;
    attributes(
        &boxed,
        &[
            ("role", "dialog"),
            ("aria-modal", "false"),
            ("aria-live", "polite"),
            ("aria-labelledby", "beckon-title"),
            ("aria-describedby", "beckon-prompt"),
        ],
    )?;
    let title = stage.add(
        &boxed,
        "h2",
        "title",
        Some(&text(&invitation.title, "Chat with us")),
    )?;
    title.set_id("beckon-title");
    let prompt = stage.add(
        &boxed,
        "p",
        "body",
        Some(&text(
            &invitation.prompt,
            "Do you have a question? We are here to help.",
        )),
    )?;
    prompt.set_id("beckon-prompt");
    let buttons = stage.add(&boxed, "div", "actions", None)?;
    let accept = stage.add(
        &buttons,
        "button",
        "accept",
        Some(&text(&invitation.accept_label, "Chat now")),
    )?;
    let decline = stage.add(
        &buttons,
        "button",
        "decline",
        Some(&text(&invitation.decline_label, "No thanks")),
    )?;
    let close = stage.add(&boxed, "button", "close", Some("\u{00d7}"))?;
    close
        .set_attribute("aria-label", "Close")
        .map_err(describe)?;
    for button in [&accept, &decline, &close] {
        button.set_attribute("type", "button").map_err(describe)?;
    }
    stage.on_click(&accept, id, Outcome::Accepted);
    stage.on_click(&decline, id, Outcome::Rejected);
    stage.on_click(&close, id, Outcome::Rejected);
    stage.keyboard(id, None);
    Ok(())
}
