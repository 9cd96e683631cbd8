//! Stack frames of a guest trap, read from the JS engine's `error.stack`.
//!
//! V8 and SpiderMonkey name wasm functions from the module's name section and locate each
//! frame as `wasm-function[INDEX]:0xOFFSET`; DWARF line tables (a TinyGo program's, through
//! [`crate::tinygo`]) then add the Go source line.

pub use pollscope_protocol::Frame;

/// The wasm frames of a JS stack trace (V8 `    at name (wasm://…:wasm-function[7]:0x1f)` or
/// SpiderMonkey `name@wasm://…:wasm-function[7]:0x1f`); other frames are skipped.
pub fn parse_stack(stack: &str) -> Vec<Frame> {
    stack.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Frame> {
    let line = line.trim();
    let marker = line.find("wasm-function[")?;
    let after = &line[marker + "wasm-function[".len()..];
    let close = after.find(']')?;
    let func = after[..close].parse().ok();
    let offset = after[close + 1..]
        .strip_prefix(":0x")
        .map(|rest| rest.trim_end_matches(')').trim())
        .and_then(|hex| {
            u32::from_str_radix(hex.split(|c: char| !c.is_ascii_hexdigit()).next()?, 16).ok()
        });
    let name = if let Some(rest) = line.strip_prefix("at ") {
        // V8: `at NAME (LOCATION)`; an unnamed function has only `at LOCATION`.
        rest.find(" (").map(|paren| rest[..paren].to_string())
    } else {
        // SpiderMonkey: `NAME@LOCATION`.
        line.find('@')
            .map(|at| line[..at].to_string())
            .filter(|name| !name.is_empty())
    };
    Some(Frame {
        name,
        func,
        offset,
        file: None,
        line: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v8_stack_with_and_without_names() {
        let stack = "RuntimeError: unreachable\n    at trap_unreachable::boom (wasm://wasm/8a3f:wasm-function[12]:0x4d2)\n    at wasm://wasm/8a3f:wasm-function[13]:0x500\n    at runGuest (http://127.0.0.1/pollscope/pollscope_shim.js:10:5)";
        assert_eq!(
            parse_stack(stack),
            vec![
                Frame {
                    name: Some("trap_unreachable::boom".into()),
                    func: Some(12),
                    offset: Some(0x4d2),
                    file: None,
                    line: None,
                },
                Frame {
                    name: None,
                    func: Some(13),
                    offset: Some(0x500),
                    file: None,
                    line: None,
                },
            ]
        );
    }

    #[test]
    fn spidermonkey_stack() {
        let stack = "main.main@wasm://wasm/8a3f:wasm-function[3]:0x10\n@http://x/y.js:1:2";
        assert_eq!(
            parse_stack(stack),
            vec![Frame {
                name: Some("main.main".into()),
                func: Some(3),
                offset: Some(0x10),
                file: None,
                line: None,
            }]
        );
    }
}
