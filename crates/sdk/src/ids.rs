//! Ids: fresh UUIDv4s for customers, sessions and events, and their canonical text (lower case,
//! hyphenated) without going through `core::fmt`.

use std::cell::RefCell;

use uuid::Uuid;

use crate::browser::{now, window};

thread_local! {
    static RANDOM: RefCell<[u64; 4]> = RefCell::new(seed());
}

/// xoshiro256** seeded once from `crypto.getRandomValues`: ids need to be unique, and asking the
/// browser's CSPRNG for every event id would cost more than delivering the event.
fn seed() -> [u64; 4] {
    let mut bytes = [0u8; 32];
    let crypto = window().crypto().ok();
    let seeded = crypto.is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !seeded {
        // Only very old browsers lack crypto; mix the clock so two pages still differ.
        let t = (now() * 1000.0) as u64 ^ (js_sys::Math::random() * 1e18) as u64;
        bytes[..8].copy_from_slice(&t.to_le_bytes());
    }
    let mut state = [0u64; 4];
    for (word, chunk) in state.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(chunk);
        *word = u64::from_le_bytes(le) | 1;
    }
    state
}

pub fn random_u64() -> u64 {
    RANDOM.with(|s| {
        let mut s = s.borrow_mut();
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    })
}

/// A fresh UUIDv4.
pub fn new_uuid() -> Uuid {
    let bytes = (u128::from(random_u64()) << 64 | u128::from(random_u64())).to_le_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// `id` as the spec writes it: `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
pub fn text(id: &Uuid) -> String {
    id.hyphenated()
        .encode_lower(&mut Uuid::encode_buffer())
        .to_owned()
}

/// `n` in decimal.
pub fn decimal(mut n: u64) -> String {
    let mut digits = String::new();
    loop {
        digits.insert(0, char::from(b'0' + (n % 10) as u8));
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits
}
