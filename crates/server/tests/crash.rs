//! Crash consistency: SIGKILL while clients write, a sink delivers and a stream follows; after
//! each restart every acknowledged event is in the log, no sequence number is reused, the
//! report counters count exactly what the log holds (the writer keeps the last second's counts in
//! memory), the webhook receives every event at least once, and the resumed stream has no gap.
//!
//! `BECKON_CRASH_ROUNDS` sets the number of kills (default 3; `bench/crash.sh` runs 20 against the
//! release build). Each kill comes at a random moment of the round; the seed is printed, and
//! `BECKON_CRASH_SEED` replays a run's moments.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Action, ORIGIN, Receiver, Server, Stream, client, eventually};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Kills per run unless `BECKON_CRASH_ROUNDS` says otherwise.
const DEFAULT_ROUNDS: usize = 3;

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number"))
    })
}

/// Actions qualified for a round: more than its writers can use before the kill (a release build
/// takes about 2,000 a second), few enough that a debug build qualifies them in seconds.
const ACTIONS_PER_ROUND: usize = 3000;

/// The requests a writer posts for each action, one after the other: its whole lifecycle as a
/// page reports it (the chat's own states are the server's to record).
const LIFECYCLE: [&[&str]; 2] = [&["offered", "accepted"], &["rejected"]];

/// Writers post the lifecycles of the round's qualified `actions` until the server stops
/// answering (or the actions run out); the acknowledged eventIds go to `acked`.
fn start_writers(
    server: &Server,
    actions: Vec<Action>,
    acked: Arc<Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let actions = Arc::new(Mutex::new(actions));
    (0..4)
        .map(|_| {
            let url = server.ingest_url("action-events");
            let (actions, acked) = (actions.clone(), acked.clone());
            tokio::spawn(async move {
                let http = client();
                loop {
                    let Some(action) = actions.lock().unwrap().pop() else {
                        return;
                    };
                    for states in LIFECYCLE {
                        let batch: Vec<Value> = states.iter().map(|s| action.event(s)).collect();
                        let ids: Vec<String> = batch
                            .iter()
                            .map(|e| e["eventId"].as_str().unwrap().to_owned())
                            .collect();
                        match http
                            .post(&url)
                            .header("origin", ORIGIN)
                            .json(&batch)
                            .send()
                            .await
                        {
                            Ok(r) if r.status() == 200 => acked.lock().unwrap().extend(ids),
                            Ok(r) => panic!("unexpected answer {}", r.status()),
                            Err(_) => return, // the server is gone
                        }
                    }
                }
            })
        })
        .collect()
}

/// The states the writers' lifecycles reach that the action maps report has a column for.
const REPORTED: [&str; 4] = ["qualified", "offered", "accepted", "rejected"];

/// Each of [`REPORTED`]'s counts over every action map, from the action maps report of
/// yesterday, today and tomorrow (UTC days), so that a run across midnight is counted whole.
async fn reported(server: &Server) -> HashMap<&'static str, u64> {
    const DAY: i64 = 86_400_000;
    let now = common::now()
        .parse::<beckon_core::Timestamp>()
        .unwrap()
        .unix_millis();
    let at = |ms: i64| beckon_core::Timestamp::from_unix_millis(ms).to_string();
    let from = now - now % DAY - DAY;
    let (status, report) = server
        .admin_get(&format!(
            "/api/v1/reports/actionmaps?from={}&to={}",
            at(from),
            at(from + 3 * DAY)
        ))
        .await;
    assert_eq!(status, 200, "{report}");
    let entities = report["entities"].as_array().unwrap();
    REPORTED
        .iter()
        .map(|state| {
            let n = entities.iter().map(|e| e[*state].as_u64().unwrap()).sum();
            (*state, n)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_nothing_acknowledged() {
    let receiver = Receiver::start().await;
    let mut server = Server::start(&format!(
        "[limits]\nrequests_per_second = 100000\nburst = 100000\n\
         [[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"s\"\nbatch_size = 50\nmax_backoff_ms = 200\n",
        receiver.url
    ));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut streamed: Vec<u64> = Vec::new();
    let mut used_seqs: BTreeSet<u64> = BTreeSet::new();
    let rounds = env_number("BECKON_CRASH_ROUNDS").map_or(DEFAULT_ROUNDS, |n| n as usize);
    let seed = env_number("BECKON_CRASH_SEED").unwrap_or_else(rand::random);
    eprintln!("crash test: {rounds} rounds, BECKON_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    for round in 0..rounds {
        let mut stream = Stream::open(&server, "", streamed.last().copied().or(Some(0))).await;
        let actions = server.qualified_many("webchat", ACTIONS_PER_ROUND).await;
        let writers = start_writers(&server, actions, acked.clone());
        // Once the writers' first batch of the round is acknowledged, let load build up, reading
        // the stream meanwhile, and kill at a random moment.
        let before = acked.lock().unwrap().len();
        let loaded = tokio::time::Instant::now() + Duration::from_secs(30);
        while acked.lock().unwrap().len() == before && tokio::time::Instant::now() < loaded {
            if let Some(e) = stream.next(Duration::from_millis(20)).await {
                streamed.push(e.id);
            }
        }
        let kill_after = Duration::from_millis(rng.random_range(0..=1200));
        let deadline = tokio::time::Instant::now() + kill_after;
        while tokio::time::Instant::now() < deadline {
            if let Some(e) = stream.next(Duration::from_millis(20)).await {
                streamed.push(e.id);
            }
        }
        server.kill();
        for w in writers {
            w.await.unwrap();
        }
        while let Some(e) = stream.next(Duration::from_millis(200)).await {
            streamed.push(e.id);
        }
        server.restart();

        let log = server.log("").await;
        let seqs: Vec<u64> = log.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "round {round}: sequence numbers out of order"
        );
        let ids: HashSet<&str> = log
            .iter()
            .map(|r| r["event"]["eventId"].as_str().unwrap())
            .collect();
        let acked_now = acked.lock().unwrap().clone();
        assert!(
            !acked_now.is_empty(),
            "round {round}: no write was acknowledged"
        );
        let missing: Vec<&String> = acked_now
            .iter()
            .filter(|id| !ids.contains(id.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} acknowledged events lost",
            missing.len()
        );
        assert_eq!(
            ids.len(),
            log.len(),
            "round {round}: an event was stored twice"
        );
        // Sequence numbers are never reused: what was used before the crash keeps its event.
        for seq in &used_seqs {
            assert!(
                seqs.binary_search(seq).is_ok(),
                "round {round}: seq {seq} vanished"
            );
        }
        // The counts the writer held in memory died with it: the restart counted the log again.
        let counts = reported(&server).await;
        for state in REPORTED {
            let logged = log
                .iter()
                .filter(|r| r["event"]["actionState"] == state)
                .count() as u64;
            assert_eq!(
                counts[state], logged,
                "round {round}: the report's {state} count is not the log's"
            );
        }
        eprintln!(
            "round {round}: killed after {} ms; {} acknowledged, {} in the log after restart",
            kill_after.as_millis(),
            acked_now.len(),
            log.len()
        );
        used_seqs.extend(seqs);
    }

    // The stream, resumed each round from its last id, saw every record exactly once and in order.
    let log: Vec<u64> = server
        .log("")
        .await
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    let mut stream = Stream::open(&server, "", streamed.last().copied()).await;
    while streamed.len() < log.len() {
        streamed.push(
            stream
                .next(Duration::from_secs(10))
                .await
                .expect("the rest of the log")
                .id,
        );
    }
    assert_eq!(streamed, log, "the resumed stream had a gap or a duplicate");

    // The webhook got every acknowledged event at least once.
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let delivered = eventually(Duration::from_secs(60), || {
        let receiver = receiver.clone();
        let acked = acked.clone();
        async move {
            let got: HashSet<String> = receiver
                .requests()
                .iter()
                .flat_map(|r| r.json().as_array().cloned().unwrap_or_default())
                .filter_map(|ce| ce["data"]["eventId"].as_str().map(str::to_owned))
                .collect();
            acked.is_subset(&got).then_some(got.len())
        }
    })
    .await;
    assert!(
        delivered.is_some(),
        "the webhook did not receive every acknowledged event"
    );
}
