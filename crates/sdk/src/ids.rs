//! Ids: fresh UUIDv4s for customers, sessions and events, their canonical text (lower case,
//! hyphenated) without going through `core::fmt`, and reading a UUID's text.

use std::cell::RefCell;

use uuid::Uuid;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Defined in `js/loader.js`: word `index` (0 to 7) of 256 bits the page drew once from
    /// `crypto.getRandomValues` (from `Math.random` in a browser without it).
    #[wasm_bindgen(js_name = beckonSeed)]
    fn seed_word(index: u32) -> u32;
}

thread_local! {
    /// All zero until the first id is drawn: xoshiro never reaches that state from another, and
    /// a constant start needs no lazy initialization (code in the module).
    static RANDOM: RefCell<[u64; 4]> = const { RefCell::new([0; 4]) };
}

/// xoshiro256** seeded once from the browser's CSPRNG: ids need to be unique, and asking the
/// browser for every event id would cost more than delivering the event.
fn seed(state: &mut [u64; 4]) {
    for (index, word) in state.iter_mut().enumerate() {
        let index = 2 * index as u32;
        *word = (u64::from(seed_word(index)) << 32 | u64::from(seed_word(index + 1))) | 1;
    }
}

pub fn random_u64() -> u64 {
    RANDOM.with(|s| {
        let mut s = s.borrow_mut();
        if *s == [0; 4] {
            seed(&mut s);
        }
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
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (at, byte) in id.as_bytes().iter().enumerate() {
        if matches!(at, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 15)]));
    }
    text
}

/// A UUID's text in any form `Uuid::parse_str` reads (32 hex digits; hyphenated, alone, in
/// braces or after `urn:uuid:` in any case; hex digits of either case). `parse_str` handles each
/// form and its errors with code of its own, and only whether the text is a UUID matters here:
/// this loop is a fraction of its size (about 1 KB gzip).
pub fn parse(text: &str) -> Option<Uuid> {
    let bytes = text.as_bytes();
    let digits = match bytes {
        [b'{', inner @ .., b'}'] if inner.len() == 36 => inner,
        _ if bytes.len() == 45 && bytes[..9].eq_ignore_ascii_case(b"urn:uuid:") => &bytes[9..],
        _ => bytes,
    };
    let hyphenated = digits.len() == 36;
    if !hyphenated && digits.len() != 32 {
        return None;
    }
    let mut value = 0u128;
    for (at, &byte) in digits.iter().enumerate() {
        if hyphenated && matches!(at, 8 | 13 | 18 | 23) {
            if byte != b'-' {
                return None;
            }
            continue;
        }
        value = value << 4 | u128::from(char::from(byte).to_digit(16)?);
    }
    Some(Uuid::from_u128(value))
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

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use beckon_core::text::concat;

    /// `text` writes what `Uuid::hyphenated` writes.
    #[test]
    fn text_is_hyphenated_lower_case() {
        for id in [
            Uuid::nil(),
            Uuid::max(),
            Uuid::from_u128(0x67e55044_10b1_426f_9247_bb680e5fe0c8),
        ] {
            assert_eq!(super::text(&id), id.hyphenated().to_string());
        }
    }

    /// `parse` accepts exactly what `Uuid::parse_str` accepts, with the same value.
    #[test]
    fn parse_reads_what_uuid_reads() {
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let upper = id.to_ascii_uppercase();
        let simple = id.replace('-', "");
        let mut texts = vec![
            id.to_owned(),
            upper.clone(),
            simple.clone(),
            concat(&["{", id, "}"]),
            concat(&["urn:uuid:", id]),
            concat(&["urn:uuid:", &upper]),
            concat(&["{", &simple, "}"]),
            concat(&["urn:uuid:", &simple]),
            concat(&["URN:UUID:", id]),
            concat(&[id, " "]),
            id.replace('-', "_"),
            id.replacen('6', "g", 1),
            id.replacen('-', "", 1) + "0",
            simple.clone() + "0",
            simple[1..].to_owned(),
            String::new(),
            "{}".to_owned(),
        ];
        // A hyphen moved by one place either way.
        texts.push(
            concat(&[
                &simple[..7],
                "-",
                &simple[7..11],
                "-",
                &simple[11..15],
                "-",
                &simple[15..19],
                "-",
                &simple[19..],
            ])[..36]
                .to_owned(),
        );
        texts.push(
            concat(&[
                "-",
                &simple[..8],
                &simple[8..12],
                "-",
                &simple[12..16],
                "-",
                &simple[16..20],
                "-",
                &simple[20..],
            ])[..36]
                .to_owned(),
        );
        for text in &texts {
            assert_eq!(super::parse(text), Uuid::parse_str(text).ok(), "{text:?}");
        }
    }
}
