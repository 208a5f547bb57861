//! Terminal states and frequency caps (spec 3.3, 6.3): the blocks that come from the customer's
//! history. Both are reported as `FrequencyCapping`, the Genesys reason whose cap behaviours
//! (`CapOnceFinalized`, `CapOnceRejected`, `CapForPeriod`) they are.

use uuid::Uuid;

use super::history::{History, PastAction, Settings, TerminalSuppression};
use crate::event::Timestamp;
use crate::lifecycle::Lifecycle;
use crate::media::MediaType;
use crate::state::State;

const DAY_MS: i64 = 86_400_000;

/// Whether an action of this map ended in a terminal state the suppression still covers:
/// this session, or the customer within the configured days. `ignoreFrequencyCap` does not
/// lift it (ours: Genesys states the terminal rule on its own, apart from capping).
pub(crate) fn terminal(
    history: &History,
    settings: &Settings,
    map: Uuid,
    session: Uuid,
    now: Timestamp,
) -> bool {
    history.actions.iter().any(|a| {
        a.action_map_id == map
            && Lifecycle::of(a.media_type).is_terminal(a.state)
            && match settings.terminal {
                TerminalSuppression::Session => a.session_id == session,
                TerminalSuppression::Customer { days } => {
                    now.unix_millis() - a.updated_at.unix_millis() < i64::from(days) * DAY_MS
                }
            }
    })
}

/// Whether an agent joined the action's conversation, even if it went on to `errored`.
fn had_agent(a: &PastAction) -> bool {
    a.media_type == MediaType::Webchat
        && (a.engaged || matches!(a.state, State::Engaged | State::Completed))
}

/// Whether the deployment's frequency cap for this media type stops another offer in this
/// session: after a conversation with an agent, after a rejection, or too soon after the last
/// offer of the same media type.
pub(crate) fn capped(
    history: &History,
    settings: &Settings,
    media: MediaType,
    session: Uuid,
    now: Timestamp,
) -> bool {
    let cap = settings.cap(media);
    let wait_ms = i64::from(cap.min_wait_seconds) * 1000;
    history
        .actions
        .iter()
        .filter(|a| a.session_id == session)
        .any(|a| {
            (cap.after_agent_conversation && had_agent(a))
                || (a.media_type == media
                    && ((cap.after_rejection && a.state == State::Rejected)
                        || (wait_ms > 0
                            && a.offered_at
                                .is_some_and(|t| now.unix_millis() - t.unix_millis() < wait_ms))))
        })
}

/// Whether an action of this session holds its media type for an event on the page view that
/// began at `pageview_at` (rule 5.8 of the module docs): a chat that started holds it until it
/// is final, on any page; an invitation or a content offer (answered to show now, or
/// `offered`), or a chat's pre-chat form (`accepted`), only on the page view it was shown on,
/// since the SDK takes it off screen when the page or its route is left. It is shown from its
/// answer ([`PastAction::answered_at`]), or from `offered` for an action answered before
/// answers were kept.
pub(crate) fn on_screen(a: &PastAction, session: Uuid, pageview_at: Option<Timestamp>) -> bool {
    if a.session_id != session || Lifecycle::of(a.media_type).is_final(a.state) {
        return false;
    }
    match a.state {
        State::Started | State::Engaged => true,
        State::Offered | State::Accepted => shown_on(a.answered_at.or(a.offered_at), pageview_at),
        // Answered, not reported yet: only on a known page view, so that a client that sends
        // no page views and reports no states is answered as before.
        State::Qualified | State::QualifiedOutsideSchedule => a
            .answered_at
            .zip(pageview_at)
            .is_some_and(|(answered, pageview)| answered >= pageview),
        _ => false,
    }
}

/// Whether what was shown at `shown_at` was shown on the page view that began at `pageview_at`
/// (not before it). When either is unknown (an action stored before offer times were kept, an
/// event on no known page view), it counts: the engine cannot tell it left the screen.
fn shown_on(shown_at: Option<Timestamp>, pageview_at: Option<Timestamp>) -> bool {
    shown_at
        .zip(pageview_at)
        .is_none_or(|(shown, pageview)| shown >= pageview)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::FrequencyCap;

    /// A chat of this session whose latest state is `state`, an agent joined or not.
    fn chat(state: State, engaged: bool) -> History {
        History {
            actions: vec![PastAction {
                action_map_id: Uuid::from_u128(1),
                action_map_version: Some(1),
                media_type: MediaType::Webchat,
                session_id: Uuid::from_u128(2),
                state,
                updated_at: Timestamp::from_unix_millis(0),
                offered_at: Some(Timestamp::from_unix_millis(0)),
                answered_at: None,
                engaged,
            }],
            ..History::default()
        }
    }

    #[test]
    fn only_a_started_chat_stays_on_screen_after_the_page_view_it_was_shown_on() {
        let session = Uuid::from_u128(7);
        let at = Timestamp::from_unix_millis;
        let shown_at = |state: State| {
            let mut action = chat(state, false).actions.remove(0);
            action.session_id = session;
            action.offered_at = Some(at(5_000));
            action
        };
        for state in [State::Offered, State::Accepted] {
            let a = shown_at(state);
            assert!(
                on_screen(&a, session, Some(at(4_000))),
                "{state} on its page view"
            );
            assert!(
                on_screen(&a, session, Some(at(5_000))),
                "{state} shown as it began"
            );
            assert!(
                !on_screen(&a, session, Some(at(6_000))),
                "{state} after another one"
            );
            assert!(on_screen(&a, session, None), "{state}, page view unknown");
            assert!(
                !on_screen(&a, Uuid::from_u128(8), Some(at(4_000))),
                "another session"
            );
        }
        for state in [State::Started, State::Engaged] {
            assert!(
                on_screen(&shown_at(state), session, Some(at(6_000))),
                "{state}"
            );
        }
        for state in [State::Qualified, State::Ignored, State::Completed] {
            assert!(
                !on_screen(&shown_at(state), session, Some(at(4_000))),
                "{state}"
            );
        }
    }

    #[test]
    fn an_answer_to_show_now_is_on_screen_on_its_page_view_before_offered() {
        let session = Uuid::from_u128(7);
        let at = Timestamp::from_unix_millis;
        let mut a = chat(State::Qualified, false).actions.remove(0);
        (a.session_id, a.offered_at) = (session, None);
        assert!(
            !on_screen(&a, session, Some(at(4_000))),
            "qualified, not answered"
        );
        a.answered_at = Some(at(5_000));
        assert!(
            on_screen(&a, session, Some(at(4_000))),
            "answered when a delay ended"
        );
        assert!(
            on_screen(&a, session, Some(at(5_000))),
            "answered to its page view"
        );
        assert!(
            !on_screen(&a, session, Some(at(6_000))),
            "after another page view"
        );
        assert!(!on_screen(&a, session, None), "no known page view");
        // Reported `offered` after the next page view began: shown on the one it was answered to.
        (a.state, a.offered_at) = (State::Offered, Some(at(6_500)));
        assert!(!on_screen(&a, session, Some(at(6_000))));
    }

    #[test]
    fn a_conversation_with_an_agent_caps_even_after_it_errored() {
        let settings = Settings {
            webchat: FrequencyCap {
                after_agent_conversation: true,
                ..FrequencyCap::default()
            },
            ..Settings::default()
        };
        let capped = |history: &History| {
            let now = Timestamp::from_unix_millis(1000);
            capped(
                history,
                &settings,
                MediaType::Webchat,
                Uuid::from_u128(2),
                now,
            )
        };
        assert!(capped(&chat(State::Errored, true)));
        assert!(capped(&chat(State::Engaged, true)));
        assert!(
            !capped(&chat(State::Errored, false)),
            "errored before an agent joined"
        );
    }
}
