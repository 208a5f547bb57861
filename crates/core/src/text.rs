//! Strings from pieces: topic texts and refusal messages here, and every message, piece of markup
//! and URL of the browser SDK. Not std's `concat` and `join`: their generic copy loop
//! (`join_generic_copy`) is about 1 KB of the SDK's WebAssembly, which has a size budget, and a
//! loop of `push_str` does the same.

/// The pieces one after another.
pub fn concat(parts: &[&str]) -> String {
    join(parts, "")
}

/// The pieces with `separator` between them.
pub fn join(parts: &[&str], separator: &str) -> String {
    let mut text = String::new();
    for (at, part) in parts.iter().enumerate() {
        if at > 0 {
            text.push_str(separator);
        }
        text.push_str(part);
    }
    text
}
