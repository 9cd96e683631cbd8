//! What the test programs in `src/bin` share.

use std::str::FromStr;

/// Command-line argument `index` as a number, `default` when it is absent; a program given
/// something else panics saying which argument was wrong.
pub fn number_arg<T: FromStr>(index: usize, default: T) -> T {
    match std::env::args().nth(index) {
        Some(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("argument {index} must be a number, got {text:?}")),
        None => default,
    }
}
