//! Agent accounts and sign-ins: passwords kept as argon2id PHC strings (hashed and checked on
//! at most half the cores at a time), sign-ins as bearer tokens of which the store keeps only
//! the SHA-256, each with an expiry.
//!
//! Accounts come from `[[agents]]` in the configuration (with a `password_hash` made by
//! `beckon hash-password`; saved at every start, matched by email) or from the admin API.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinError;
use uuid::Uuid;

use crate::store::chat::AgentRecord;

/// Conversations an agent handles at once unless told otherwise.
pub const DEFAULT_CAPACITY: u32 = 3;

/// One `[[agents]]` entry of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub name: String,
    pub email: String,
    /// An argon2 PHC string (`beckon hash-password` prints one).
    pub password_hash: String,
    #[serde(default = "default_capacity")]
    pub capacity: u32,
}

fn default_capacity() -> u32 {
    DEFAULT_CAPACITY
}

/// An account as the API shows it: never the password hash.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub capacity: u32,
}

impl From<&AgentRecord> for AgentView {
    fn from(a: &AgentRecord) -> AgentView {
        AgentView {
            id: a.id,
            name: a.name.clone(),
            email: a.email.clone(),
            capacity: a.capacity,
        }
    }
}

/// Emails are compared without case or surrounding spaces.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks a new account's fields; the message names the field at fault.
pub fn check_account(name: &str, email: &str, capacity: u32) -> Result<(), (&'static str, String)> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(("name", "a name of 1 to 100 characters is required".into()));
    }
    let email = normalize_email(email);
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(("email", format!("'{email}' is not an email address")));
    }
    if !(1..=100).contains(&capacity) {
        return Err(("capacity", "capacity must be between 1 and 100".into()));
    }
    Ok(())
}

/// The configuration's agents: valid fields, PHC hashes, no email twice.
pub fn check_config(agents: &[AgentConfig]) -> Result<(), String> {
    let mut emails = std::collections::HashSet::new();
    for (i, a) in agents.iter().enumerate() {
        check_account(&a.name, &a.email, a.capacity)
            .map_err(|(field, message)| format!("agents[{i}].{field}: {message}"))?;
        PasswordHash::new(&a.password_hash).map_err(|e| {
            format!("agents[{i}].password_hash is not a PHC string ({e}); make one with `beckon hash-password`")
        })?;
        if !emails.insert(normalize_email(&a.email)) {
            return Err(format!("agents[{i}]: the email {} is used twice", a.email));
        }
    }
    Ok(())
}

/// The record to save for a configured agent (a new id; saving keeps an existing one).
pub fn configured(a: &AgentConfig) -> AgentRecord {
    AgentRecord {
        id: Uuid::new_v4(),
        name: a.name.trim().to_owned(),
        email: normalize_email(&a.email),
        password_hash: a.password_hash.clone(),
        capacity: a.capacity,
    }
}

/// An argon2id PHC string for `password`, with a random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes make a salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches a PHC string (`false` for a malformed one).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// What a sign-in with an unknown email is verified against, so that it costs what a known
/// one does and its timing does not tell emails apart: the hash of `-` (`beckon
/// hash-password`), with the parameters [`hash_password`] uses (a test checks). A constant,
/// not a hash made at start: the 19 MiB argon2 works in stayed with the process after that.
pub const UNKNOWN_ACCOUNT: &str = "$argon2id$v=19$m=19456,t=2,p=1$zS5sqadaluhx6VvUsrFAGg$Xxax6+u1lqnqSlS70gezFcxYsIKC8U2PHFePbT9NGGU";

/// Argon2 runs (hashing and checking passwords), a bounded number at a time, on blocking
/// threads. Each takes 19 MiB and tens of milliseconds of a core: unbounded, one client's
/// burst of sign-ins (100 requests at once within the default rate) would take 2 GB and every
/// core. A run keeps its turn until it ends, even if the request that asked for it is gone.
/// Runs wait for a turn in a bounded line: a flood of sign-ins from many addresses is refused
/// at once ([`PasswordError::Busy`]) rather than making a real agent wait behind it.
#[derive(Clone)]
pub struct PasswordWork {
    turns: Arc<Semaphore>,
    /// Runs at work or waiting: the turns plus the line.
    admitted: Arc<Semaphore>,
}

/// Runs that may wait for a turn, per turn: about a second of work on the turns' cores (a run
/// takes about 30 ms of a core).
pub const WAITING_PER_TURN: usize = 32;

/// Argon2 runs at a time on a machine with `cores`: half of them, at least one, so that
/// sign-ins (even a flood of them, each held to its quota) leave the other half to ingestion.
pub fn password_turns(cores: usize) -> usize {
    (cores / 2).max(1)
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("too many password checks are waiting; try again in a second")]
    Busy,
    #[error("the password work failed: {0}")]
    Failed(#[from] JoinError),
}

impl PasswordWork {
    /// At most `at_once` runs at a time (at least one), and `waiting` more in line.
    pub fn new(at_once: usize, waiting: usize) -> PasswordWork {
        let at_once = at_once.max(1);
        PasswordWork {
            turns: Arc::new(Semaphore::new(at_once)),
            admitted: Arc::new(Semaphore::new(at_once + waiting)),
        }
    }

    /// A PHC string for `password` (see [`hash_password`]).
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move || hash_password(&password)).await
    }

    /// Whether `password` matches `phc` (see [`verify_password`]).
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, PasswordError> {
        self.run(move || verify_password(&password, &phc)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| PasswordError::Busy)?;
        let turn = self
            .turns
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let ran = tokio::task::spawn_blocking(move || {
            let _held = (turn, admitted);
            work()
        })
        .await?;
        Ok(ran)
    }
}

/// A new random bearer token (256 bits, hex).
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unknown_account_costs_what_a_real_one_does() {
        let constant = PasswordHash::new(UNKNOWN_ACCOUNT).expect("a PHC string");
        let made = hash_password("-");
        let made = PasswordHash::new(&made).expect("a PHC string");
        assert_eq!(constant.algorithm, made.algorithm);
        assert_eq!(constant.version, made.version);
        assert_eq!(constant.params, made.params);
        assert!(verify_password("-", UNKNOWN_ACCOUNT));
    }

    #[test]
    fn password_work_takes_half_the_cores_and_at_least_one() {
        let turns: Vec<usize> = [1, 2, 3, 4, 16].map(password_turns).to_vec();
        assert_eq!(turns, [1, 1, 1, 2, 8]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_work_runs_its_bound_at_a_time() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let work = PasswordWork::new(2, 4);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // Runs meet in pairs, so two are surely at work at once; with no bound, more would be.
        let pairs = Arc::new(std::sync::Barrier::new(2));
        let runs: Vec<_> = (0..6)
            .map(|_| {
                let (work, running, most) = (work.clone(), running.clone(), most.clone());
                let pairs = pairs.clone();
                tokio::spawn(async move {
                    work.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        pairs.wait();
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for run in runs {
            run.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    /// A run that holds its turn until `done` is sent; returned once it runs.
    async fn running_until_told(
        work: &PasswordWork,
    ) -> (
        tokio::task::JoinHandle<Result<Option<()>, PasswordError>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn({
            let work = work.clone();
            async move {
                work.run(move || {
                    let _ = started.send(());
                    wait.recv().ok()
                })
                .await
            }
        });
        running.await.unwrap();
        (run, done)
    }

    #[tokio::test]
    async fn a_run_keeps_its_turn_when_its_request_is_gone() {
        // One may wait: the next run below waits for the turn, not refused while it is held.
        let work = PasswordWork::new(1, 1);
        let (asked, done) = running_until_told(&work).await;
        asked.abort();
        let _ = asked.await;
        assert_eq!(
            work.turns.available_permits(),
            0,
            "the run still has its turn"
        );
        done.send(()).unwrap();
        let next = work.run(|| "next");
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), next);
        assert_eq!(next.await.expect("the turn came back").unwrap(), "next");
    }

    #[tokio::test]
    async fn runs_beyond_the_line_are_refused_at_once() {
        let work = PasswordWork::new(1, 1);
        let (first, done) = running_until_told(&work).await;
        let second = tokio::spawn({
            let work = work.clone();
            async move { work.run(|| "second").await }
        });
        while work.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            work.run(|| "third").await,
            Err(PasswordError::Busy)
        ));
        done.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(second.await.unwrap().unwrap(), "second");
        assert_eq!(work.run(|| "after").await.unwrap(), "after");
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn configured_agents_are_checked() {
        let good = AgentConfig {
            name: "Ada".into(),
            email: "ada@shop.example".into(),
            password_hash: hash_password("pw"),
            capacity: 2,
        };
        assert!(check_config(std::slice::from_ref(&good)).is_ok());
        let twice = [
            good.clone(),
            AgentConfig {
                email: "ADA@shop.example".into(),
                ..good.clone()
            },
        ];
        assert!(check_config(&twice).unwrap_err().contains("used twice"));
        let plain = AgentConfig {
            password_hash: "secret".into(),
            ..good
        };
        assert!(
            check_config(&[plain])
                .unwrap_err()
                .contains("hash-password")
        );
    }
}
