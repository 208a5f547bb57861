//! Security: every route that is not public refuses a missing or wrong token (the routes are read
//! from the router's source, so a new route cannot be forgotten), ingestion refuses origins that
//! are not allowed, webhook signatures verify as docs/sinks.md says and fail on an altered body,
//! rate limits hold, no secret reaches the logs, an empty token or secret stops the server at
//! start, slow clients neither hang the server nor keep a request past its time limit, and
//! connections past `max_connections` are closed unanswered.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::routes::{concrete, routes};
use common::{Action, DEPLOYMENT, ORIGIN, Receiver, Server, client, eventually, pageview};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

/// Routes anyone may call: ingestion and visitor routes under a deployment (guarded by
/// `Origin` instead), operator probes, static files, and signing in. A new public route must be
/// added here on purpose; any other route found in the source must refuse without a token.
fn is_public(path: &str) -> bool {
    path.starts_with("/api/v1/deployments/{deployment_id}/")
        || [
            "/healthz",
            "/readyz",
            "/metrics",
            "/sdk/v1/{file}",
            "/console",
            "/console/{file}",
            "/dashboard",
            "/dashboard/{file}",
            "/demo",
            "/demo/",
            "/demo/{page}",
            "/api/v1/agent/sessions",
            "/api/openapi.json",
        ]
        .contains(&path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protected_route_refuses_a_missing_or_wrong_token() {
    let receiver = Receiver::start().await;
    let server = Server::start(&format!(
        "[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"s\"\n",
        receiver.url
    ));
    let routes = routes();
    assert!(routes.len() >= 15, "too few routes found: {routes:?}");
    assert!(routes.contains_key("/api/v2/journey/{collection}/{id}"));
    let http = client();
    let mut checked = 0;
    for (route, methods) in &routes {
        assert!(!methods.is_empty(), "no methods found for {route}");
        if is_public(route) {
            continue;
        }
        let url = format!("{}{}", server.url(), concrete(route));
        for method in methods {
            for token in [None, Some("wrong-token"), Some(common::READ_TOKEN)] {
                // The read token grants reads of the log and the stream only.
                if token == Some(common::READ_TOKEN) && route.starts_with("/api/v1/events") {
                    continue;
                }
                let mut request = http
                    .request(method.parse().unwrap(), &url)
                    .header("origin", ORIGIN)
                    .json(&json!({}));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.expect("request");
                let status = response.status().as_u16();
                // A WebSocket route may refuse a plain request before it looks at the token.
                let refused = if route.ends_with("/ws") {
                    (400..500).contains(&status)
                } else if token.is_none() {
                    status == 401
                } else {
                    status == 401 || status == 403
                };
                assert!(refused, "{method} {route} with {token:?} answered {status}");
                assert_eq!(
                    response.headers().get("content-type").map(|v| v.as_bytes()),
                    Some(&b"application/problem+json"[..]),
                    "{method} {route} with {token:?}: every refusal is a problem document"
                );
                checked += 1;
            }
        }
    }
    eprintln!("{checked} refusals checked over {} routes", routes.len());
    // A plain request (no handshake) to each WebSocket route, with the token it needs: a problem
    // with the status of the failed handshake, not axum's plain-text answer.
    let signed_in = server.agent_signed_in("ws@agents.test", 1).await;
    for (route, token) in [
        (
            format!(
                "/api/v1/deployments/{DEPLOYMENT}/conversations/{}/ws",
                Uuid::new_v4()
            ),
            None,
        ),
        ("/api/v1/agent/ws".to_owned(), Some(signed_in)),
    ] {
        let mut request = http
            .get(format!("{}{route}", server.url()))
            .header("origin", ORIGIN);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 400, "{route}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{route}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            problem["type"], "/problems/not-websocket",
            "{route}: {problem}"
        );
        assert_eq!(problem["status"], 400, "{route}: {problem}");
    }
    // Nothing was changed or delivered by those requests.
    let (_, body) = server.admin_get("/api/v2/journey/actionmaps").await;
    assert_eq!(body["entities"], json!([]), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingestion_refuses_origins_not_allowed() {
    let server = Server::start("");
    let body = json!([Action::new("webchat").event("offered")]);
    for route in ["action-events", "web-events"] {
        for origin in [
            Some("http://evil.test"),
            Some("http://shop.test.evil.test"),
            None,
        ] {
            let mut request = client().post(server.ingest_url(route)).json(&body);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 403, "{route} from {origin:?}");
            assert!(r.headers().get("access-control-allow-origin").is_none());
            let problem: Value = r.json().await.unwrap();
            assert_eq!(problem["type"], "/problems/origin-not-allowed");
        }
        // The preflight of a refused origin grants nothing either.
        let r = client()
            .request(reqwest::Method::OPTIONS, server.ingest_url(route))
            .header("origin", "http://evil.test")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }
    assert!(
        server.log("").await.is_empty(),
        "a refused event was stored"
    );
}

/// The procedure of docs/sinks.md: HMAC-SHA256 of `<timestamp>.<body>`, hex, after `v1=`.
fn verify(secret: &[u8], timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(given) = signature
        .strip_prefix("v1=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_signatures_verify_and_fail_on_an_altered_body() {
    let receiver = Receiver::start().await;
    let secret = "whsec_security_test";
    let server = Server::start(&format!(
        "[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"{secret}\"\n",
        receiver.url
    ));
    // Qualifying an action logs records (a page view, `qualified`) that the sink delivers.
    server.qualified("webchat").await;
    let got = eventually(Duration::from_secs(30), || async {
        receiver.requests().first().cloned()
    })
    .await
    .expect("a delivery");
    let timestamp = got.header("beckon-timestamp").unwrap();
    let signature = got.header("beckon-signature").unwrap();
    assert!(verify(secret.as_bytes(), timestamp, &got.body, signature));
    let mut altered = got.body.to_vec();
    let at = altered.iter().position(|b| *b == b'"').unwrap() + 1;
    altered[at] ^= 0x01;
    assert!(!verify(secret.as_bytes(), timestamp, &altered, signature));
    let later = (timestamp.parse::<u64>().unwrap() + 1).to_string();
    assert!(!verify(secret.as_bytes(), &later, &got.body, signature));
    assert!(!verify(b"another secret", timestamp, &got.body, signature));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds() {
    let server = Server::start("[limits]\nrequests_per_second = 1\nburst = 5\n");
    let started = Instant::now();
    let mut accepted = 0u64;
    let mut limited = 0;
    for _ in 0..30 {
        let r = server
            .post(
                "web-events",
                &pageview(Uuid::new_v4(), "https://shop.test/"),
            )
            .await;
        match r.status().as_u16() {
            200 => accepted += 1,
            429 => {
                assert!(r.headers().get("retry-after").is_some());
                limited += 1;
            }
            s => panic!("unexpected {s}"),
        }
    }
    // The burst, plus one per second that passed (rounded up), plus one for the edges.
    let bound = 5 + started.elapsed().as_secs() + 2;
    assert!(accepted <= bound, "{accepted} accepted, more than {bound}");
    assert!(limited > 0);
}

/// Every check of an agent's token reads the store: a client trying tokens in a loop is held to
/// the public routes' rate, not answered as fast as it asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_routes_hold_a_client_trying_tokens_to_the_rate() {
    let server = Server::start("[limits]\nrequests_per_second = 1\nburst = 5\n");
    let started = Instant::now();
    let (mut unauthorized, mut limited) = (0u64, 0);
    for i in 0..30 {
        let r = common::client()
            .get(format!("{}/api/v1/agent/me", server.url()))
            .bearer_auth(format!("guess-{i}"))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            401 => unauthorized += 1,
            429 => {
                assert!(r.headers().get("retry-after").is_some());
                let problem: serde_json::Value = r.json().await.unwrap();
                assert_eq!(problem["type"], "/problems/rate-limited");
                limited += 1;
            }
            s => panic!("unexpected {s}"),
        }
    }
    let bound = 5 + started.elapsed().as_secs() + 2;
    assert!(
        unauthorized <= bound,
        "{unauthorized} tokens checked, more than {bound}"
    );
    assert!(limited > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs() {
    let receiver = Receiver::start().await;
    let (hook, ga4, segment) = ("whsec_LOGSECRET1", "ga4SECRET2", "segSECRET3");
    // A GA4 sink whose endpoint refuses connections: the request is never sent, and the error
    // must not quote its URL, whose query holds the secret.
    let ga4_down = "ga4DOWNSECRET4";
    let closed = Receiver::free_address();
    let admin = common::ADMIN_TOKEN;
    let server = Server::start(&format!(
        "# RUST_LOG=debug\nlog_format = \"json\"\n\
         [[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{url}/hook\"\nsecret = \"{hook}\"\n\
         [[sinks]]\nname = \"ga\"\ntype = \"ga4\"\nmeasurement_id = \"G-TEST\"\napi_secret = \"{ga4}\"\nendpoint = \"{url}/mp/collect\"\n\
         [[sinks]]\nname = \"ga_down\"\ntype = \"ga4\"\nmeasurement_id = \"G-TEST\"\napi_secret = \"{ga4_down}\"\nendpoint = \"http://{closed}/mp/collect\"\n\
         [[sinks]]\nname = \"seg\"\ntype = \"segment\"\nwrite_key = \"{segment}\"\nendpoint = \"{url}/v1/batch\"\n",
        url = receiver.url
    ));
    // Deliveries that work, then ones that fail (retried) and are refused (dead letters).
    let action = server.qualified("webchat").await;
    eventually(Duration::from_secs(30), || async {
        (receiver.requests().len() >= 3).then_some(())
    })
    .await
    .expect("three deliveries");
    receiver.answer_with(&[500, 500, 500, 400, 400, 400]);
    let r = server
        .post("action-events", &json!([action.event("offered")]))
        .await;
    assert_eq!(r.status(), 200);
    eventually(Duration::from_secs(30), || async {
        (receiver.requests().len() >= 9).then_some(())
    })
    .await
    .expect("failed deliveries");
    // Admin and read routes, with right and wrong tokens.
    for path in [
        "/api/v1/sinks",
        "/api/v1/sinks/hook/dead-letters",
        "/api/v2/journey/actionmaps",
    ] {
        server.admin_get(path).await;
        let _ = client()
            .get(format!("{}{path}", server.url()))
            .bearer_auth("wrong-token")
            .send()
            .await;
    }
    server
        .admin_post("/api/v1/sinks/hook/dead-letters/replay")
        .await;
    server.log("").await;
    // The sockets take their token in the query: the console's, and a visitor's (refused, an
    // unknown conversation), both traced at debug level.
    let agent = server.agent_signed_in("ada@shop.example", 1).await;
    server
        .socket(&format!("/api/v1/agent/ws?access_token={agent}"))
        .await
        .expect("the console socket opens");
    let visitor = "visitorSECRET5";
    let refused = server
        .socket(&format!(
            "/api/v1/deployments/{DEPLOYMENT}/conversations/{}/ws?access_token={visitor}",
            Uuid::new_v4()
        ))
        .await;
    assert!(refused.is_err());
    // The unreachable sink has failed and says why, without its secret.
    let last_error = eventually(Duration::from_secs(30), || async {
        let (_, body) = server.admin_get("/api/v1/sinks").await;
        let sinks = body["sinks"].as_array()?.clone();
        let down = sinks.into_iter().find(|s| s["name"] == "ga_down")?;
        down["lastError"].as_str().map(str::to_owned)
    })
    .await
    .expect("the unreachable sink reports its error");
    assert!(last_error.starts_with("request failed"), "{last_error}");
    assert!(!last_error.contains(ga4_down), "{last_error}");
    let log = std::fs::read_to_string(&server.stderr_log).unwrap();
    assert!(log.lines().count() > 10, "debug logging is on");
    assert!(log.lines().all(|l| l.starts_with('{')), "JSON lines");
    assert!(
        log.lines()
            .any(|l| l.contains("ga_down") && l.contains("request failed")),
        "the failed request is logged"
    );
    assert!(
        log.contains("/api/v1/agent/ws"),
        "the socket request is logged"
    );
    for secret in [admin, hook, ga4, ga4_down, segment, &agent, visitor] {
        assert!(!log.contains(secret), "{secret} appears in the log");
    }
}

/// `beckon serve` on `config` (in a new directory, with `data` as its data directory and
/// `admin_token` written there first, if any) and the environment `env`: it must exit with an
/// error within 10 s; its standard error.
fn refused_start(config: &str, admin_token: Option<&str>, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    if let Some(token) = admin_token {
        std::fs::write(data.join("admin-token"), token).unwrap();
    }
    let path = dir.path().join("beckon.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\nlisten = \"127.0.0.1:0\"\n{config}",
            data.display()
        ),
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_beckon"));
    command
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("BECKON_ADMIN_TOKEN")
        .env_remove("BECKON_READ_TOKEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with {config:?}, {admin_token:?}, {env:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    std::fs::read_to_string(dir.path().join("stderr")).unwrap()
}

/// An empty token (an unset compose variable, an empty file) or sink secret would let anyone in
/// or sign with a key anyone knows: the server refuses to start and names it.
#[test]
fn an_empty_token_or_secret_stops_the_server_at_start() {
    let admin = "admin_token = \"a-real-admin-token\"\n";
    for name in ["BECKON_ADMIN_TOKEN", "BECKON_READ_TOKEN"] {
        let err = refused_start(admin, None, &[(name, "")]);
        assert!(err.contains(&format!("{name} is set but empty")), "{err}");
    }
    let err = refused_start("read_token = \"\"\n", None, &[]);
    assert!(
        err.contains("beckon.toml:3:1: read_token is empty"),
        "{err}"
    );
    let err = refused_start("admin_token = \" \"\n", None, &[]);
    assert!(
        err.contains("beckon.toml:3:1: admin_token is empty"),
        "{err}"
    );
    let err = refused_start("", Some("\n"), &[]);
    assert!(err.contains("admin-token is empty"), "{err}");
    let sink = "[[sinks]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\n";
    let err = refused_start(&format!("{admin}{sink}secret = \"\"\n"), None, &[]);
    assert!(
        err.contains("beckon.toml:8:1: sinks[0] (hook): secret is empty"),
        "{err}"
    );
}

/// A token with white space around it (`BECKON_ADMIN_TOKEN` from a secret file written with
/// `echo`, a key written `" tok "`) is the token without it: requests send it trimmed, so kept
/// as it was it could never be presented. (The file's keys: `config`'s unit tests.)
#[tokio::test]
async fn a_token_configured_with_white_space_around_it_can_be_presented() {
    let server = Server::start_with_env(
        "",
        &[
            ("BECKON_ADMIN_TOKEN", "tok\n"),
            ("BECKON_READ_TOKEN", " reader "),
        ],
    );
    for (path, token) in [
        ("/api/v1/deployments", "tok"),
        ("/api/v1/events", "tok"),
        ("/api/v1/events", "reader"),
    ] {
        let r = client()
            .get(format!("{}{path}", server.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} with {token}");
    }
}

/// Bodies over the limit are refused with a problem document on every route that reads one,
/// not only on the ingestion routes: a body axum refuses itself (past its 2 MiB default) would
/// get a `text/plain` 413.
#[tokio::test]
async fn a_body_over_the_limit_is_a_too_large_problem_on_every_route() {
    let server = Server::start("");
    let huge = vec![b' '; 3 * 1024 * 1024];
    let over_limit = format!("{{\"name\":\"{}\"}}", "x".repeat(300 * 1024)).into_bytes();
    let conversations = format!("/api/v1/deployments/{DEPLOYMENT}/conversations");
    for (path, admin) in [
        ("/api/v1/agent/sessions", false),
        ("/api/v1/agents", true),
        ("/api/v2/journey/actiontemplates", true),
        (conversations.as_str(), false),
    ] {
        for body in [&huge, &over_limit] {
            let mut request = client()
                .post(format!("{}{path}", server.url()))
                .header("content-type", "application/json")
                .header("origin", ORIGIN)
                .body(body.clone());
            if admin {
                request = request.bearer_auth(common::ADMIN_TOKEN);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 413, "{path}, {} bytes", body.len());
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let problem: Value = r.json().await.unwrap();
            assert_eq!(problem["type"], "/problems/too-large", "{problem}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_get_408_and_do_not_stall_others() {
    let server = Server::start("[limits]\nrequest_timeout_secs = 1\n");
    let address = server.url().trim_start_matches("http://").to_owned();
    // Bodies that never finish, on an ingestion route and an admin one: the request's time limit
    // answers 408.
    let stall = |request_line: &str, header: &str| {
        let mut stalled = TcpStream::connect(&address).unwrap();
        write!(
            stalled,
            "{request_line}\r\nHost: x\r\n{header}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{{\"actionId\""
        )
        .unwrap();
        stalled
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stalled
    };
    let stalled = [
        stall(
            &format!("POST /api/v1/deployments/{DEPLOYMENT}/action-events HTTP/1.1"),
            &format!("Origin: {ORIGIN}"),
        ),
        stall(
            "POST /api/v2/journey/actionmaps HTTP/1.1",
            &format!("Authorization: Bearer {}", common::ADMIN_TOKEN),
        ),
    ];
    // A few clients sending their headers a byte at a time (slowloris).
    let drips: Vec<std::thread::JoinHandle<()>> = (0..8)
        .map(|_| {
            let address = address.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&address).unwrap();
                for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
                    .iter()
                    .cycle()
                    .take(60)
                {
                    if s.write_all(&[*b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    // Meanwhile everyone else is served.
    for _ in 0..10 {
        let r = server
            .post(
                "web-events",
                &pageview(Uuid::new_v4(), "https://shop.test/"),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            client()
                .get(format!("{}/healthz", server.url()))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let answers: Vec<String> = stalled
        .into_iter()
        .map(|mut stalled| {
            let mut answer = Vec::new();
            let mut buf = [0u8; 4096];
            while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stalled
                    .read(&mut buf)
                    .expect("an answer to the stalled request");
                assert!(n > 0, "closed without an answer");
                answer.extend_from_slice(&buf[..n]);
            }
            String::from_utf8(answer).unwrap().to_lowercase()
        })
        .collect();
    for answer in &answers {
        assert!(answer.starts_with("http/1.1 408"), "{answer}");
        assert!(
            answer.contains("content-type: application/problem+json"),
            "{answer}"
        );
    }
    // The ingestion route's 408 has its CORS headers, as its other answers do: the page can
    // read it.
    assert!(
        answers[0].contains(&format!("access-control-allow-origin: {ORIGIN}")),
        "{}",
        answers[0]
    );
    for d in drips {
        d.join().unwrap();
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let server = Server::start("[limits]\nrequest_timeout_secs = 1\n");
    let address = server.url().trim_start_matches("http://").to_owned();
    // Headers that never end; nothing at all; a beginning of HTTP/2's preface; the whole
    // preface (Beckon speaks HTTP/1.1, and an HTTP/2 connection would have no time limit).
    let openings: [&[u8]; 4] = [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Never-Ends: ",
        b"",
        b"PRI * HTTP/2",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ];
    let closed = tokio::task::spawn_blocking(move || {
        let streams: Vec<TcpStream> = openings
            .iter()
            .map(|opening| {
                let mut s = TcpStream::connect(&address).unwrap();
                s.write_all(opening).unwrap();
                // Generous: the server's header timeout is one second.
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                s
            })
            .collect();
        streams
            .into_iter()
            .map(|mut s| {
                let mut buf = [0u8; 1024];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => return true, // closed by the server
                        Ok(_) => continue,    // an error answer, then the close
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                        Err(_) => return false, // still open after 30 s
                    }
                }
            })
            .collect::<Vec<bool>>()
    })
    .await
    .unwrap();
    assert_eq!(closed, [true; 4], "open after 30 s: the openings at false");
    // And a real request on a new connection is still served.
    let r = client()
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_connection_that_never_began_a_request_does_not_hold_up_shutdown() {
    // A long request limit: a connection that has sent nothing could be waited for that long.
    let mut server = Server::start("[limits]\nrequest_timeout_secs = 120\n");
    let address = server.url().trim_start_matches("http://").to_owned();
    let idle = TcpStream::connect(&address).unwrap();
    // Accepted before the signal (a request on another connection answered after it).
    let r = client()
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stopping = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    // Not a speed figure: only that shutdown did not wait out the 120 s limit for it.
    assert!(
        stopping.elapsed() < Duration::from_secs(60),
        "shutdown took {:?}",
        stopping.elapsed()
    );
    drop(idle);
}

/// `GET path` on a kept-alive connection: the answer (head and body), or `None` when the server
/// closes the connection (or resets it) without one. An answer or a close must come within 10 s.
async fn get_on(stream: &mut tokio::net::TcpStream, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nHost: beckon.test\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return None; // closed already
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().expect("a length"))
                .unwrap_or_else(|| panic!("no content-length in {head}"));
            if got.len() >= end + 4 + length {
                return Some(String::from_utf8_lossy(&got[..end + 4 + length]).into_owned());
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer or a close within 10 s");
        match read {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => {
                assert!(got.is_empty(), "cut off inside an answer");
                return None;
            }
        }
    }
}

/// A new connection on which `GET /healthz` is answered 200, kept open; `None` when the server
/// closed it unanswered.
async fn served(address: &str) -> Option<tokio::net::TcpStream> {
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let answer = get_on(&mut stream, "/healthz").await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    Some(stream)
}

/// A value of the Prometheus text, by its line's name.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .parse()
        .expect("a number")
}

/// Open connections hold their places under `max_connections`, an upgraded WebSocket for as long
/// as it lives: one connection more is closed without an answer (and counted), and once a held
/// connection closes, a new one is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_past_max_connections_is_closed_unanswered_until_one_closes() {
    let server = Server::start("[limits]\nmax_connections = 4\n");
    let address = server.url().trim_start_matches("http://").to_owned();
    // The sign-in's own connections close with its client; until the server has seen them
    // close, new connections may be refused, so every place is taken by trying until served.
    let agent = server.agent_signed_in("held@shop.test", 1).await;
    let ws = format!(
        "{}/api/v1/agent/ws?access_token={agent}",
        server.url().replacen("http", "ws", 1)
    );
    let console = eventually(Duration::from_secs(10), || async {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = ws.as_str().into_client_request().unwrap();
        let origin = server.url().parse().unwrap();
        request.headers_mut().insert("origin", origin);
        tokio_tungstenite::connect_async(request)
            .await
            .ok()
            .map(|(socket, _)| socket)
    })
    .await
    .expect("the console's WebSocket");
    let mut held = Vec::new();
    for _ in 0..3 {
        let stream = eventually(Duration::from_secs(10), || served(&address))
            .await
            .expect("a place for the connection");
        held.push(stream);
    }
    let before = get_on(&mut held[0], "/metrics").await.expect("metrics");
    assert_eq!(metric(&before, "beckon_connections_open"), 4, "{before}");

    // One WebSocket and three kept-alive connections: all four places are taken.
    for _ in 0..3 {
        let mut extra = tokio::net::TcpStream::connect(&address)
            .await
            .expect("the kernel accepts");
        assert_eq!(
            get_on(&mut extra, "/healthz").await,
            None,
            "a fifth connection was answered"
        );
    }
    let after = get_on(&mut held[0], "/metrics").await.expect("metrics");
    assert_eq!(
        metric(&after, "beckon_connections_refused_total")
            - metric(&before, "beckon_connections_refused_total"),
        3,
        "{after}"
    );
    let log = std::fs::read_to_string(&server.stderr_log).unwrap();
    let warnings = log
        .lines()
        .filter(|l| l.contains("limits.max_connections connections are open"))
        .count();
    // At most one a WARN_EVERY (10 s): the sign-in's connections may have been refused too.
    assert!(
        (1..3).contains(&warnings),
        "{warnings} warnings for refusals close together: {log}"
    );

    // A kept-alive connection closes: its place is given back.
    drop(held.pop());
    let again = eventually(Duration::from_secs(10), || served(&address))
        .await
        .expect("a connection served after one closed");
    held.push(again);
    let mut extra = tokio::net::TcpStream::connect(&address).await.unwrap();
    assert_eq!(get_on(&mut extra, "/healthz").await, None, "full again");

    // The WebSocket closes: its place is given back too.
    drop(console);
    let again = eventually(Duration::from_secs(10), || served(&address))
        .await
        .expect("a connection served after the WebSocket closed");
    held.push(again);
    let text = get_on(&mut held[0], "/metrics").await.expect("metrics");
    assert_eq!(metric(&text, "beckon_connections_open"), 4, "{text}");
}

/// One hostile request: what it is, the method, the path, whether it carries the admin token,
/// its body, and the status of the problem it must get.
type Hostile = (&'static str, &'static str, String, bool, Vec<u8>, u16);

/// JSON nested `depth` levels deep: `{"a":{"a":...}}`.
fn nested(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

/// `json` with each `\u{1}` in it replaced by the byte 0xFF, which is never UTF-8.
fn not_utf8(json: &Value) -> Vec<u8> {
    let text = json.to_string().replace("\\u0001", "\u{1}");
    text.into_bytes()
        .into_iter()
        .map(|b| if b == 1 { 0xff } else { b })
        .collect()
}

#[tokio::test]
async fn hostile_bodies_paths_and_queries_get_problems_and_change_nothing() {
    let server = Server::start("");
    let before = server.log("").await;
    let ingest = |route: &str| format!("/api/v1/deployments/{DEPLOYMENT}/{route}");
    let mut event = common::pageview(uuid::Uuid::new_v4(), "https://shop.test/");
    let mut title = |title: Value| {
        event["page"]["title"] = title;
        event.to_string().into_bytes()
    };
    let huge_title = title(json!("x".repeat(200_000)));
    let bad_title = not_utf8(&serde_json::from_slice(&title(json!("A \u{1} page"))).unwrap());
    let deep_attributes = String::from_utf8(title(json!("X")))
        .unwrap()
        .replace("\"X\"", &nested(20_000))
        .into_bytes();
    // Deep enough to overflow a recursive parser's stack, small enough for the body limit.
    let deep_array = "[".repeat(100_000).into_bytes();
    let deep_object = nested(20_000).into_bytes();
    let template = "/api/v2/journey/actiontemplates".to_owned();
    let mut bad_template = common::template_body("\u{1}");
    bad_template["contentOffer"]["body"] = json!("\u{1}");
    let cases: Vec<Hostile> = vec![
        (
            "web event: 100,000 nested arrays",
            "POST",
            ingest("web-events"),
            false,
            deep_array.clone(),
            400,
        ),
        (
            "web event: attributes nested 20,000 deep",
            "POST",
            ingest("web-events"),
            false,
            deep_attributes,
            422,
        ),
        (
            "web event: a 200 KB title",
            "POST",
            ingest("web-events"),
            false,
            huge_title,
            422,
        ),
        (
            "web event: a title that is not UTF-8",
            "POST",
            ingest("web-events"),
            false,
            bad_title,
            400,
        ),
        (
            "action events: 100,000 nested arrays",
            "POST",
            ingest("action-events"),
            false,
            deep_array.clone(),
            400,
        ),
        (
            "action event: objects nested 20,000 deep",
            "POST",
            ingest("action-events"),
            false,
            deep_object.clone(),
            422,
        ),
        (
            "action event: an id that is not UTF-8",
            "POST",
            ingest("action-events"),
            false,
            not_utf8(&json!({ "actionId": "\u{1}" })),
            400,
        ),
        (
            "conversation: 100,000 nested arrays",
            "POST",
            ingest("conversations"),
            false,
            deep_array.clone(),
            422,
        ),
        (
            "conversation: a form that is not UTF-8",
            "POST",
            ingest("conversations"),
            false,
            not_utf8(&json!({ "form": { "name": "\u{1}" } })),
            422,
        ),
        (
            "template: objects nested 20,000 deep",
            "POST",
            template.clone(),
            true,
            deep_object.clone(),
            400,
        ),
        (
            "template: text that is not UTF-8",
            "POST",
            template,
            true,
            not_utf8(&bad_template),
            400,
        ),
        (
            "agent: 100,000 nested arrays",
            "POST",
            "/api/v1/agents".into(),
            true,
            deep_array,
            422,
        ),
        (
            "sign-in: an email that is not UTF-8",
            "POST",
            "/api/v1/agent/sessions".into(),
            false,
            not_utf8(&json!({ "email": "\u{1}", "password": "x" })),
            422,
        ),
        (
            "path: an id that is not UTF-8",
            "GET",
            "/api/v2/journey/actionmaps/%FF%FE".into(),
            true,
            vec![],
            400,
        ),
        (
            "path: not a UUID",
            "DELETE",
            "/api/v1/agents/%FF".into(),
            true,
            vec![],
            400,
        ),
        // The pages' file routes too: a file name that is not UTF-8.
        (
            "path: a console file that is not UTF-8",
            "GET",
            "/console/%FF".into(),
            false,
            vec![],
            400,
        ),
        (
            "path: a dashboard file that is not UTF-8",
            "GET",
            "/dashboard/%FF".into(),
            false,
            vec![],
            400,
        ),
        (
            "path: a demo page that is not UTF-8",
            "GET",
            "/demo/%FF".into(),
            false,
            vec![],
            400,
        ),
        (
            "query: a topic that is not UTF-8",
            "GET",
            "/api/v1/events?topic=%FF%FE".into(),
            true,
            vec![],
            400,
        ),
        (
            "query: a 50 KB topic",
            "GET",
            format!("/api/v1/events?topic={}", "x".repeat(50_000)),
            true,
            vec![],
            400,
        ),
    ];
    let mut wrong = Vec::new();
    for (name, method, path, admin, body, expected) in cases {
        let mut request = client()
            .request(method.parse().unwrap(), format!("{}{path}", server.url()))
            .header("origin", ORIGIN)
            .header("content-type", "application/json");
        if admin {
            request = request.bearer_auth(common::ADMIN_TOKEN);
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:.300}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status != expected
            || content_type.as_deref() != Some("application/problem+json")
            || problem["status"] != status
        {
            wrong.push(format!(
                "{name}: expected a {expected} problem, got {status} {content_type:?} {text:.300}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let health = client()
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the server is still up");
    assert_eq!(
        server.log("").await,
        before,
        "hostile input changed the log"
    );
}

#[tokio::test]
async fn a_demo_run_leaves_no_demo_agent_for_a_configured_server_on_its_data_directory() {
    // A demo run (no configuration file) on the directory the configured server will use.
    let server = Server::start_prepared("", "", &[], |data| {
        let mut demo = std::process::Command::new(env!("CARGO_BIN_EXE_beckon"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env_remove("BECKON_ADMIN_TOKEN")
            .env_remove("BECKON_LISTEN")
            .env_remove("BECKON_DATA_DIR")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the demo starts");
        let stdout = std::io::BufReader::new(demo.stdout.take().unwrap());
        let line = std::io::BufRead::lines(stdout)
            .map_while(Result::ok)
            .find(|l| l.contains("demo agent:"));
        demo.kill().unwrap();
        demo.wait().unwrap();
        let line = line.expect("the demo prints its agent");
        assert!(line.contains("agent@demo.beckon / beckon-demo"), "{line}");
    });
    // Its agent, whose password the demo prints, is gone.
    let (status, agents) = server.admin_get("/api/v1/agents").await;
    assert_eq!((status, &agents["total"]), (200, &json!(0)), "{agents}");
    let r = client()
        .post(format!("{}/api/v1/agent/sessions", server.url()))
        .json(&json!({ "email": "agent@demo.beckon", "password": "beckon-demo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_created_readable_by_the_server_alone() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start("");
    let mode = std::fs::metadata(server.data_dir())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "mode {mode:o}");
}

#[test]
fn the_built_in_demo_refuses_to_listen_beyond_loopback() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(&dir)
        .env_remove("BECKON_LISTEN")
        .env_remove("BECKON_DATA_DIR")
        .output()
        .expect("beckon runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the built-in demo listens on loopback only")
            && stderr.contains("0.0.0.0:0"),
        "{stderr}"
    );
    assert!(!dir.exists(), "nothing was created");
}

#[cfg(target_os = "linux")]
#[test]
fn the_open_files_limit_is_raised_to_the_hard_limit_at_start() {
    let data = tempfile::tempdir().unwrap();
    // A soft limit of 512 (under a higher hard one), as a shell or systemd may leave it.
    let mut server = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 512 && exec "$0" serve --listen 127.0.0.1:0 --data-dir "$1""#)
        .arg(env!("CARGO_BIN_EXE_beckon"))
        .arg(data.path().join("data"))
        .env_remove("BECKON_LISTEN")
        .env_remove("BECKON_DATA_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("beckon starts");
    let stdout = std::io::BufReader::new(server.stdout.take().unwrap());
    let listening = std::io::BufRead::lines(stdout)
        .map_while(Result::ok)
        .any(|l| l.contains("listening"));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.id())).unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(listening, "the server started");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    // "Max open files <soft> <hard> files"
    let (soft, hard) = (fields[3], fields[4]);
    assert_ne!(hard, "512", "the test needs a hard limit above 512: {line}");
    assert_eq!(soft, hard, "{line}");
}

#[tokio::test]
async fn short_configured_tokens_are_warned_about_without_being_logged() {
    // The harness's tokens have 16 and 15 characters.
    let server = Server::start("");
    let log = std::fs::read_to_string(&server.stderr_log).unwrap();
    for which in ["admin token", "read token"] {
        let warning = format!("the {which} has fewer than 32 characters");
        assert!(log.contains(&warning), "{warning} in {log}");
    }
    assert!(!log.contains(common::ADMIN_TOKEN), "{log}");
    assert!(!log.contains(common::READ_TOKEN), "{log}");
}
