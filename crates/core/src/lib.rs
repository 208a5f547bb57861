//! beckon-core: the domain of Beckon, shared by the browser SDK and the server.
//!
//! Pure and synchronous: no I/O, no async runtime, no clock and no randomness that is not passed
//! in. It compiles for the server and for `wasm32-unknown-unknown`, so the browser and the server
//! can never disagree on what a transition or a topic means.
//!
//! Where each rule of `spec/web-actions.md` lives:
//!
//! | spec | module |
//! |---|---|
//! | 2 media types | [`media`] |
//! | 3 states | [`state`] |
//! | 3.4 blocked offers | [`blocked`] |
//! | 3.1–3.3 lifecycles, final and terminal states | [`lifecycle`] |
//! | 4.1 topics | [`topic`] |
//! | 4.2 on / once / off and the dispatch rules | [`bus`] |
//! | 4.3 the event object | [`event`] (schema: `schema/action-event.schema.json`) |
//! | 1, 6 action maps, templates, segments, schedule groups; their validation | [`model`] |
//! | 6 deciding what to offer: triggers, blocks, priority, activation | [`decide`](mod@decide) |
//!
//! ```
//! use beckon_core::{Bus, MediaType, State, Topic, Lifecycle};
//!
//! let topic: Topic = "webchat:offered".parse().unwrap();
//! assert!(topic.matches(MediaType::Webchat, State::Offered));
//! assert!("webchat:*".parse::<Topic>().is_err());
//!
//! let chat = Lifecycle::of(MediaType::Webchat);
//! assert!(chat.check(Some(State::Offered), State::Accepted).is_ok());
//! assert!(chat.is_terminal(State::Timedout));
//!
//! let mut bus: Bus<&str> = Bus::new();
//! bus.on(topic, "analytics");
//! assert_eq!(bus.len(), 1);
//! ```

pub mod blocked;
pub mod bus;
pub mod decide;
pub mod event;
pub mod lifecycle;
pub mod media;
pub mod model;
pub mod state;
pub mod text;
pub mod topic;

pub use blocked::{BlockReason, BlockedOffer};
pub use bus::{Bus, Delivery, HandlerFailure, RegistrationId};
pub use decide::{Decision, DecisionInput, decide};
pub use event::{ActionError, ActionEvent, EventError, Timestamp};
pub use lifecycle::{Lifecycle, TransitionError};
pub use media::{MediaType, UnknownMediaType};
pub use model::{
    ActionMap, ActionTemplate, Catalog, JourneySegment, Operator, ScheduleGroup, ValidationError,
};
pub use state::State;
pub use topic::{Topic, TopicError, TopicErrorKind};
