//! Property tests of beckon-core:
//! (a) random programs of on / once / off / emit, with handlers that act when called, give the
//!     same call log on `Bus` as on a plain reference model of dispatch rules 1-7 written here;
//! (b) random walks over the lifecycle tables never leave them;
//! (c) topics: printing then parsing is the identity, and any string either parses to a topic
//!     that prints as that string or is refused.

use beckon_core::{
    ActionEvent, Bus, Lifecycle, MediaType, State, Timestamp, Topic, TopicErrorKind,
};
use proptest::prelude::*;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// (a) the bus against a reference model

/// Topics and events are drawn from small sets so that programs collide often.
const TOPICS: [Topic; 5] = [
    Topic::exact(MediaType::Webchat, State::Offered),
    Topic::exact(MediaType::Webchat, State::Accepted),
    Topic::all(MediaType::Webchat),
    Topic::exact(MediaType::Contentoffer, State::Offered),
    Topic::all(MediaType::Contentoffer),
];
const KINDS: [(MediaType, State); 4] = [
    (MediaType::Webchat, State::Offered),
    (MediaType::Webchat, State::Accepted),
    (MediaType::Contentoffer, State::Offered),
    (MediaType::Contentoffer, State::Errored),
];
const HANDLERS: u8 = 4;

#[derive(Debug, Clone)]
enum Op {
    On {
        topic: usize,
        handler: u8,
        once: bool,
        replay: bool,
    },
    Off {
        topic: usize,
        handler: u8,
    },
    OffTopic {
        topic: usize,
    },
    Emit {
        kind: usize,
    },
    /// Top level only: deliver everything queued.
    Drain,
    /// In handler scripts only: the call fails here.
    Fail,
    /// In handler scripts only: the handler changes its own copy of the event.
    Mutate,
}

fn op(in_handler: bool) -> impl Strategy<Value = Op> {
    let on = (
        0..TOPICS.len(),
        0..HANDLERS,
        any::<bool>(),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(topic, handler, once, replay)| Op::On {
            topic,
            handler,
            once,
            replay,
        });
    let off =
        (0..TOPICS.len(), 0..HANDLERS).prop_map(|(topic, handler)| Op::Off { topic, handler });
    let off_topic = (0..TOPICS.len()).prop_map(|topic| Op::OffTopic { topic });
    let emit = (0..KINDS.len()).prop_map(|kind| Op::Emit { kind });
    let last = if in_handler {
        prop_oneof![Just(Op::Fail), Just(Op::Mutate)].boxed()
    } else {
        Just(Op::Drain).boxed()
    };
    prop_oneof![4 => on, 2 => off, 1 => off_topic, 4 => emit, 2 => last]
}

#[derive(Debug, Clone)]
struct Program {
    /// Per handler, per call: what the call does (calls beyond the list do nothing).
    scripts: Vec<Vec<Vec<Op>>>,
    steps: Vec<Op>,
    history_limit: usize,
}

fn program() -> impl Strategy<Value = Program> {
    let script = prop::collection::vec(prop::collection::vec(op(true), 0..4), 0..4);
    (
        prop::collection::vec(script, HANDLERS as usize),
        prop::collection::vec(op(false), 0..30),
        prop_oneof![Just(0usize), 1..4usize, Just(1000)],
    )
        .prop_map(|(scripts, steps, history_limit)| Program {
            scripts,
            steps,
            history_limit,
        })
}

/// One handler call: (handler, event number, state seen), and whether it failed.
type Log = Vec<(u8, u32, State)>;
type Failures = Vec<(u8, u32)>;

/// The reference model: the rules of spec 4.2 done the plainest way, with no snapshot cursor,
/// no ids in the handler type and no borrowing tricks.
mod model {
    use super::*;

    #[derive(Clone)]
    struct Reg {
        id: u64,
        topic: Topic,
        handler: u8,
        once: bool,
    }

    #[derive(Clone, Copy)]
    struct Ev {
        n: u32,
        kind: (MediaType, State),
    }

    enum Work {
        Emit(Ev),
        Replay(u64, Ev),
    }

    pub struct Model<'p> {
        program: &'p Program,
        regs: Vec<Reg>,
        next_id: u64,
        queue: Vec<Work>,
        history: Vec<Ev>,
        next_event: u32,
        calls: Vec<usize>,
        pub log: Log,
        pub failures: Failures,
    }

    fn matches(topic: Topic, ev: Ev) -> bool {
        topic.media == ev.kind.0 && (topic.state.is_none() || topic.state == Some(ev.kind.1))
    }

    impl<'p> Model<'p> {
        pub fn run(program: &'p Program) -> Model<'p> {
            let mut m = Model {
                program,
                regs: Vec::new(),
                next_id: 0,
                queue: Vec::new(),
                history: Vec::new(),
                next_event: 0,
                calls: vec![0; HANDLERS as usize],
                log: Vec::new(),
                failures: Vec::new(),
            };
            for step in &program.steps {
                m.apply(step);
                if let Op::Drain = step {
                    m.drain();
                }
            }
            m.drain();
            m
        }

        fn apply(&mut self, op: &Op) {
            match *op {
                Op::On {
                    topic,
                    handler,
                    once,
                    replay,
                } => {
                    let id = self.next_id;
                    self.next_id += 1;
                    let topic = TOPICS[topic];
                    self.regs.push(Reg {
                        id,
                        topic,
                        handler,
                        once,
                    });
                    if replay {
                        // Rule 7: every matching event already dispatched, in order, ahead of the
                        // events only queued (the registration gets those when they are
                        // dispatched), behind replays queued by earlier registrations.
                        let at = self
                            .queue
                            .iter()
                            .position(|w| matches!(w, Work::Emit(_)))
                            .unwrap_or(self.queue.len());
                        let past: Vec<Ev> = self
                            .history
                            .iter()
                            .copied()
                            .filter(|e| matches(topic, *e))
                            .collect();
                        for (i, ev) in past.into_iter().enumerate() {
                            self.queue.insert(at + i, Work::Replay(id, ev));
                        }
                    }
                }
                Op::Off { topic, handler } => self
                    .regs
                    .retain(|r| !(r.topic == TOPICS[topic] && r.handler == handler)),
                Op::OffTopic { topic } => self.regs.retain(|r| r.topic != TOPICS[topic]),
                Op::Emit { kind } => {
                    // Rule 6: only queued.
                    let ev = Ev {
                        n: self.next_event,
                        kind: KINDS[kind],
                    };
                    self.next_event += 1;
                    self.queue.push(Work::Emit(ev));
                }
                Op::Drain | Op::Fail | Op::Mutate => {}
            }
        }

        fn drain(&mut self) {
            while !self.queue.is_empty() {
                // Rule 2: who gets the event is decided when its dispatch starts.
                let (ev, targets): (Ev, Vec<Reg>) = match self.queue.remove(0) {
                    Work::Emit(ev) => {
                        self.history.push(ev);
                        while self.history.len() > self.program.history_limit {
                            self.history.remove(0);
                        }
                        (
                            ev,
                            self.regs
                                .iter()
                                .filter(|r| matches(r.topic, ev))
                                .cloned()
                                .collect(),
                        )
                    }
                    Work::Replay(id, ev) => (
                        ev,
                        self.regs.iter().filter(|r| r.id == id).cloned().collect(),
                    ),
                };
                // Rule 1: registration order (regs is kept in that order).
                for t in targets {
                    if t.once {
                        // Rule 3: removed before it runs.
                        self.regs.retain(|r| r.id != t.id);
                    }
                    self.call(t.handler, ev);
                }
            }
        }

        fn call(&mut self, handler: u8, ev: Ev) {
            // Rule 4: every call sees the event as emitted.
            self.log.push((handler, ev.n, ev.kind.1));
            let n = self.calls[handler as usize];
            self.calls[handler as usize] += 1;
            let script = self.program.scripts[handler as usize]
                .get(n)
                .cloned()
                .unwrap_or_default();
            for op in &script {
                if let Op::Fail = op {
                    // Rule 5: reported, and the others still run.
                    self.failures.push((handler, ev.n));
                    return;
                }
                self.apply(op);
            }
        }
    }
}

/// The same program on the real bus, draining with `next_delivery` as the SDK does.
struct Real<'p> {
    program: &'p Program,
    next_event: u32,
    calls: Vec<usize>,
    log: Log,
    failures: Failures,
}

fn event_of(n: u32, kind: usize) -> ActionEvent {
    let (media, state) = KINDS[kind];
    let id = |k: u128| {
        uuid::Builder::from_random_bytes((u128::from(n) << 8 | k).to_le_bytes()).into_uuid()
    };
    ActionEvent {
        action_id: id(1),
        action_state: state,
        action_media_type: media,
        action_map_id: id(2),
        action_map_version: n,
        customer_id: id(3),
        session_id: id(4),
        error: (state == State::Errored).then(|| beckon_core::ActionError {
            code: 1,
            message: "failed".into(),
        }),
        event_id: Uuid::from_u128(u128::from(n)),
        timestamp: Timestamp::from_unix_millis(i64::from(n)),
    }
}

impl Real<'_> {
    fn run(program: &Program) -> (Log, Failures) {
        let mut real = Real {
            program,
            next_event: 0,
            calls: vec![0; HANDLERS as usize],
            log: Vec::new(),
            failures: Vec::new(),
        };
        let mut bus: Bus<u8> = Bus::with_history_limit(program.history_limit);
        for step in &program.steps {
            real.apply(&mut bus, step);
            if let Op::Drain = step {
                real.drain(&mut bus);
            }
        }
        real.drain(&mut bus);
        (real.log, real.failures)
    }

    fn apply(&mut self, bus: &mut Bus<u8>, op: &Op) {
        match *op {
            Op::On {
                topic,
                handler,
                once,
                replay,
            } => {
                let topic = TOPICS[topic];
                match (replay, once) {
                    (true, _) => bus.subscribe_with_replay(topic, handler, once),
                    (false, true) => bus.once(topic, handler),
                    (false, false) => bus.on(topic, handler),
                };
            }
            Op::Off { topic, handler } => {
                bus.off(TOPICS[topic], &handler);
            }
            Op::OffTopic { topic } => {
                bus.off_topic(TOPICS[topic]);
            }
            Op::Emit { kind } => {
                bus.emit(event_of(self.next_event, kind));
                self.next_event += 1;
            }
            Op::Drain | Op::Fail | Op::Mutate => {}
        }
    }

    fn drain(&mut self, bus: &mut Bus<u8>) {
        while let Some(d) = bus.next_delivery() {
            // The handler's own copy, as every runner of deliveries makes one (rule 4).
            let (handler, topic, mut event) = (d.handler, d.topic, d.event.clone());
            let n = event.event_id.as_u128() as u32;
            assert_eq!(
                event.action_map_version, n,
                "the event was changed by someone"
            );
            assert!(topic.matches(event.action_media_type, event.action_state));
            self.log.push((handler, n, event.action_state));
            let calls = &mut self.calls[handler as usize];
            let script = self.program.scripts[handler as usize]
                .get(*calls)
                .cloned()
                .unwrap_or_default();
            *calls += 1;
            for op in &script {
                match op {
                    Op::Fail => {
                        self.failures.push((handler, n));
                        break;
                    }
                    Op::Mutate => {
                        event.action_state = State::Completed;
                        event.action_map_version = u32::MAX;
                        event.error = None;
                    }
                    other => self.apply(bus, other),
                }
            }
        }
        assert!(!bus.has_pending());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn bus_agrees_with_the_reference_model(program in program()) {
        let model = model::Model::run(&program);
        let (log, failures) = Real::run(&program);
        prop_assert_eq!(log, model.log);
        prop_assert_eq!(failures, model.failures);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Programs above are too short for the bus to drop old events (it drops them in bulk, once
    /// as many again have gone by): here thousands go by between late `replay` subscribers, each
    /// of which must get exactly the matching events among the last `history_limit` dispatched,
    /// some runs starting with `clear` (`ac('destroy')`), which forgets every past event.
    #[test]
    fn replay_after_long_runs_gets_exactly_the_kept_history(
        history_limit in prop_oneof![Just(0usize), 1..4usize, 60..70usize, Just(300)],
        runs in prop::collection::vec((any::<bool>(), 0..700u32, 0..TOPICS.len()), 1..10),
    ) {
        let mut bus: Bus<u8> = Bus::with_history_limit(history_limit);
        let mut dispatched = Vec::new();
        let mut n = 0;
        for (clear_first, count, topic) in runs {
            if clear_first {
                bus.clear();
                dispatched.clear();
            }
            for _ in 0..count {
                let event = event_of(n, n as usize * 7 % KINDS.len());
                dispatched.push((n, event.action_media_type, event.action_state));
                bus.emit(event);
                n += 1;
            }
            while bus.next_delivery().is_some() {}
            let topic = TOPICS[topic];
            let late = bus.subscribe_with_replay(topic, 0, false);
            let mut replayed = Vec::new();
            while let Some(d) = bus.next_delivery() {
                replayed.push(d.event.action_map_version);
            }
            let kept = &dispatched[dispatched.len().saturating_sub(history_limit)..];
            let expected: Vec<u32> = kept
                .iter()
                .filter(|(_, media, state)| topic.matches(*media, *state))
                .map(|(n, _, _)| *n)
                .collect();
            prop_assert_eq!(replayed, expected);
            bus.remove(late);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) lifecycle walks

proptest! {
    #[test]
    fn lifecycle_walks_stay_in_the_tables(
        media in prop::sample::select(MediaType::ALL.to_vec()),
        attempts in prop::collection::vec(prop::sample::select(State::ALL.to_vec()), 0..40),
    ) {
        let lifecycle = Lifecycle::of(media);
        let mut current: Option<State> = None;
        for to in attempts {
            let allowed = lifecycle.next_states(current);
            match lifecycle.check(current, to) {
                Ok(()) => {
                    prop_assert!(allowed.contains(&to));
                    prop_assert!(lifecycle.transitions().any(|t| t == (current, to)));
                    current = Some(to);
                }
                Err(e) => {
                    prop_assert!(!allowed.contains(&to));
                    prop_assert_eq!(e.allowed, allowed);
                    prop_assert_eq!(e.current, current);
                }
            }
            if let Some(state) = current {
                prop_assert!(lifecycle.reachable_states().any(|s| s == state));
                if lifecycle.is_final(state) {
                    prop_assert!(lifecycle.next_states(current).is_empty());
                    for s in State::ALL {
                        prop_assert!(lifecycle.check(current, s).is_err());
                    }
                }
            }
        }
    }
}

#[test]
fn final_and_terminal_states_are_consistent() {
    for media in MediaType::ALL {
        let lifecycle = Lifecycle::of(media);
        for state in State::ALL {
            if lifecycle.is_final(state) {
                assert!(
                    lifecycle.next_states(Some(state)).is_empty(),
                    "{media} {state}"
                );
                assert!(lifecycle.reachable_states().any(|s| s == state));
            }
            if lifecycle.is_terminal(state) {
                assert!(
                    lifecycle.is_final(state),
                    "{media} {state} is terminal, not final"
                );
            }
        }
        assert!(lifecycle.is_final(State::Errored));
        assert!(!lifecycle.is_terminal(State::Errored));
        // Every reachable state is reachable from no state through the table.
        let mut seen = vec![None];
        let mut i = 0;
        while i < seen.len() {
            for &next in lifecycle.next_states(seen[i]) {
                if !seen.contains(&Some(next)) {
                    seen.push(Some(next));
                }
            }
            i += 1;
        }
        let reachable: Vec<Option<State>> = lifecycle.reachable_states().map(Some).collect();
        assert_eq!(seen.len() - 1, reachable.len(), "{media}");
        assert!(reachable.iter().all(|s| seen.contains(s)));
    }
}

// ---------------------------------------------------------------------------------------------
// (c) topics

fn topic_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("webchat".to_owned()),
        Just("contentoffer".to_owned()),
        Just("all".to_owned()),
        Just(":".to_owned()),
        Just("*".to_owned()),
        prop::sample::select(State::ALL.to_vec()).prop_map(|s| s.as_str().to_owned()),
        "[a-zA-Z :]{0,3}",
        ".{0,2}",
    ];
    prop::collection::vec(piece, 0..5).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn valid_topics_print_and_parse_back(topic in prop::sample::select(Topic::all_valid().collect::<Vec<_>>())) {
        let text = topic.to_string();
        prop_assert_eq!(text.parse::<Topic>(), Ok(topic));
    }

    #[test]
    fn any_string_parses_to_itself_or_is_refused(text in prop_oneof![topic_like(), ".*"]) {
        match text.parse::<Topic>() {
            Ok(topic) => prop_assert_eq!(topic.to_string(), text),
            Err(e) => {
                prop_assert_eq!(&e.topic, &text);
                prop_assert!(Topic::all_valid().all(|t| t.to_string() != text));
                if text.is_empty() {
                    prop_assert_eq!(e.kind, TopicErrorKind::Empty);
                } else if !text.contains(':') {
                    prop_assert_eq!(e.kind, TopicErrorKind::MissingState);
                }
                if let Some(s) = e.suggestion {
                    prop_assert!(Topic::all_valid().any(|t| t == s));
                }
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}

proptest! {
    /// A timestamp's text is its civil time in UTC as the `time` crate computes it, and reads
    /// back as the same timestamp, for every millisecond of the years 0 to 9999.
    #[test]
    fn timestamps_are_written_as_their_utc_civil_time(
        millis in -62_167_219_200_000i64..253_402_300_800_000
    ) {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .unwrap();
        let expected = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second(),
            t.millisecond()
        );
        let ts = Timestamp::from_unix_millis(millis);
        prop_assert_eq!(ts.to_string(), expected.clone());
        prop_assert_eq!(serde_json::to_string(&ts).unwrap(), format!("\"{expected}\""));
        prop_assert_eq!(expected.parse::<Timestamp>().unwrap(), ts);
    }
}

/// Outside the years RFC 3339 can write, a timestamp does not serialize (it is never written
/// wrongly).
#[test]
fn timestamps_outside_years_0_to_9999_do_not_serialize() {
    for millis in [-62_167_219_200_001i64, 253_402_300_800_000] {
        assert!(serde_json::to_string(&Timestamp::from_unix_millis(millis)).is_err());
    }
    assert_eq!(
        Timestamp::from_unix_millis(253_402_300_799_999).to_string(),
        "9999-12-31T23:59:59.999Z"
    );
    assert_eq!(
        Timestamp::from_unix_millis(-62_167_219_200_000).to_string(),
        "0000-01-01T00:00:00.000Z"
    );
}
