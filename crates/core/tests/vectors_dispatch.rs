//! Runs the shared dispatch scenarios (`testdata/dispatch.json`, format in `testdata/README.md`)
//! against `Bus<String>`, where a handler is its label. Every scenario runs twice: once draining
//! with `next_delivery` (as the browser does, handlers calling back into the bus), once through
//! `Bus::dispatch` (which collects the failures itself).

use std::collections::HashMap;

use beckon_core::{ActionEvent, Bus, MediaType, State, Timestamp, Topic};
use serde::Deserialize;
use uuid::Uuid;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/dispatch.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    #[allow(dead_code)]
    description: String,
    scenarios: Vec<Scenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Scenario {
    name: String,
    rules: Vec<u8>,
    #[allow(dead_code)]
    note: Option<String>,
    handlers: HashMap<String, Vec<Vec<Action>>>,
    steps: Vec<Action>,
    expect: Vec<String>,
    expect_failures: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
enum Action {
    On {
        topic: String,
        handler: String,
        #[serde(default)]
        replay: bool,
    },
    Once {
        topic: String,
        handler: String,
        #[serde(default)]
        replay: bool,
    },
    Off {
        topic: String,
        handler: Option<String>,
    },
    Emit {
        event: String,
        media: MediaType,
        state: State,
    },
    Fail,
    Mutate {
        #[serde(default = "completed")]
        state: State,
    },
}

fn completed() -> State {
    State::Completed
}

#[derive(Clone, Copy, PartialEq)]
enum Drain {
    NextDelivery,
    Dispatch,
}

/// Everything but the bus, so that `Bus::dispatch` can lend the bus to a handler call.
struct World<'a> {
    scripts: &'a HashMap<String, Vec<Vec<Action>>>,
    calls: HashMap<String, usize>,
    labels: HashMap<Uuid, String>,
    log: Vec<String>,
    failures: Vec<String>,
}

/// A handler call failed (after doing the actions before its `fail`).
struct Failed;

impl World<'_> {
    fn event(&mut self, label: &str, media: MediaType, state: State) -> ActionEvent {
        assert!(
            !self.labels.values().any(|l| l == label),
            "event label {label} used twice"
        );
        let n = self.labels.len() as u128 + 1;
        let id = |k: u128| uuid::Builder::from_random_bytes((n * 16 + k).to_le_bytes()).into_uuid();
        let event = ActionEvent {
            action_id: id(1),
            action_state: state,
            action_media_type: media,
            action_map_id: id(2),
            action_map_version: 1,
            customer_id: id(3),
            session_id: id(4),
            error: None,
            event_id: id(5),
            timestamp: Timestamp::from_unix_millis(1_795_903_727_000 + n as i64),
        };
        self.labels.insert(event.event_id, label.to_owned());
        event
    }

    /// Runs one action. `event` is the running handler's own copy (`None` at top level).
    fn act(
        &mut self,
        bus: &mut Bus<String>,
        action: &Action,
        event: Option<&mut ActionEvent>,
    ) -> Result<(), Failed> {
        match action {
            Action::On {
                topic,
                handler,
                replay,
            }
            | Action::Once {
                topic,
                handler,
                replay,
            } => {
                let once = matches!(action, Action::Once { .. });
                // A refused topic registers nothing.
                if let Ok(topic) = topic.parse::<Topic>() {
                    match (*replay, once) {
                        (true, _) => {
                            bus.subscribe_with_replay(topic, handler.clone(), once);
                        }
                        (false, true) => {
                            bus.once(topic, handler.clone());
                        }
                        (false, false) => {
                            bus.on(topic, handler.clone());
                        }
                    }
                }
            }
            Action::Off { topic, handler } => {
                let topic: Topic = topic.parse().expect("off takes a valid topic");
                match handler {
                    Some(handler) => bus.off(topic, handler),
                    None => bus.off_topic(topic),
                };
            }
            Action::Emit {
                event: label,
                media,
                state,
            } => {
                let e = self.event(label, *media, *state);
                bus.emit(e);
            }
            Action::Fail => return Err(Failed),
            Action::Mutate { state } => {
                let event = event.expect("mutate only inside a handler");
                event.action_state = *state;
                event.action_map_version += 1;
                event.error = None;
            }
        }
        Ok(())
    }

    /// One handler call: log it, then run the label's script for this call.
    fn call(
        &mut self,
        bus: &mut Bus<String>,
        handler: &str,
        mut event: ActionEvent,
    ) -> Result<(), Failed> {
        let label = self.labels[&event.event_id].clone();
        self.log
            .push(format!("{handler} {label} {}", event.action_state));
        let n = self.calls.entry(handler.to_owned()).or_default();
        let script = self
            .scripts
            .get(handler)
            .and_then(|calls| calls.get(*n))
            .cloned()
            .unwrap_or_default();
        *n += 1;
        for action in &script {
            self.act(bus, action, Some(&mut event))?;
        }
        Ok(())
    }

    fn drain(&mut self, bus: &mut Bus<String>, how: Drain) {
        match how {
            Drain::NextDelivery => {
                while let Some(d) = bus.next_delivery() {
                    let (handler, event) = (d.handler, d.event.clone());
                    let id = event.event_id;
                    if self.call(bus, &handler, event).is_err() {
                        let label = &self.labels[&id];
                        self.failures.push(format!("{handler} {label}"));
                    }
                }
            }
            Drain::Dispatch => {
                let failures = bus.dispatch(|bus, handler, event| {
                    self.call(bus, &handler, event).map_err(|_| handler)
                });
                for f in failures {
                    let label = &self.labels[&f.event.event_id];
                    self.failures.push(format!("{} {label}", f.error));
                }
            }
        }
        assert!(!bus.has_pending());
    }
}

fn run(scenario: &Scenario, how: Drain) -> (Vec<String>, Vec<String>) {
    let mut bus: Bus<String> = Bus::new();
    let mut world = World {
        scripts: &scenario.handlers,
        calls: HashMap::new(),
        labels: HashMap::new(),
        log: Vec::new(),
        failures: Vec::new(),
    };
    for step in &scenario.steps {
        assert!(
            world.act(&mut bus, step, None).is_ok(),
            "fail is not a top-level step"
        );
        // Top-level emit and on/once with replay drain the bus at once, as the SDK does.
        let drains = matches!(
            step,
            Action::Emit { .. }
                | Action::On { replay: true, .. }
                | Action::Once { replay: true, .. }
        );
        if drains {
            world.drain(&mut bus, how);
        }
        assert!(!bus.has_pending());
    }
    (world.log, world.failures)
}

fn scenarios() -> Vec<Scenario> {
    let text = std::fs::read_to_string(PATH).expect("read testdata/dispatch.json");
    serde_json::from_str::<Vectors>(&text)
        .expect("parse testdata/dispatch.json")
        .scenarios
}

#[test]
fn every_dispatch_scenario() {
    let scenarios = scenarios();
    assert!(scenarios.len() >= 30);
    let mut wrong = Vec::new();
    for s in &scenarios {
        assert!(s.rules.iter().all(|r| (1..=7).contains(r)), "{}", s.name);
        for how in [Drain::NextDelivery, Drain::Dispatch] {
            let (log, failures) = run(s, how);
            if log != s.expect || failures != s.expect_failures {
                wrong.push(format!(
                    "{} ({}):\n  expected {:?} / failures {:?}\n  got      {:?} / failures {:?}",
                    s.name,
                    if how == Drain::Dispatch {
                        "dispatch"
                    } else {
                        "next_delivery"
                    },
                    s.expect,
                    s.expect_failures,
                    log,
                    failures
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_rule_is_covered() {
    let scenarios = scenarios();
    for rule in 1..=7 {
        assert!(
            scenarios.iter().any(|s| s.rules.contains(&rule)),
            "no scenario for rule {rule}"
        );
    }
}
