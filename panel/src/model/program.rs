//! What the program is, for people: its source language, and for each goroutine the Go function
//! it runs and where that is.

use pollscope_protocol::{Goroutine, Hello, Producer};

/// The program's language, e.g. `Go (TinyGo 0.33.0)`. The host's reading of DWARF and the
/// producers section when it made one (TinyGo programs); else from the producers alone: TinyGo
/// among the tools means Go, and C (which wasi-libc brings into most programs) names only a
/// program with no other language.
pub fn language(hello: &Hello) -> Option<String> {
    if let Some(language) = hello.tinygo.as_ref().and_then(|t| t.language.clone()) {
        return Some(language);
    }
    let producers = &hello.component.producers;
    let tool = |name: &str| {
        producers
            .iter()
            .find(|p| p.field == "processed-by" && p.name == name)
            .map(|p| p.version.as_str())
    };
    if let Some(version) = tool("TinyGo") {
        return Some(if version.is_empty() {
            "Go (TinyGo)".to_string()
        } else {
            format!("Go (TinyGo {version})")
        });
    }
    let languages: Vec<&Producer> = producers.iter().filter(|p| p.field == "language").collect();
    let rank = |name: &str| {
        if name.contains("Assembl") {
            0
        } else if matches!(name, "C" | "C89" | "C99" | "C11" | "C17") {
            1
        } else {
            2
        }
    };
    let best = languages
        .iter()
        .enumerate()
        // The highest rank; the first listed among equals.
        .max_by_key(|(i, p)| (rank(&p.name), std::cmp::Reverse(*i)))
        .map(|(_, p)| p.name.clone())?;
    Some(match (best.as_str(), tool("rustc")) {
        ("Rust", Some(version)) if !version.is_empty() => format!("Rust (rustc {version})"),
        _ => best,
    })
}

/// A goroutine row's entry column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryShown {
    /// The Go function it runs (`main.worker`), else its entry's name, else its table slot.
    pub function: String,
    /// The entry function itself when that is another one: TinyGo's wrapper
    /// (`main.worker$gowrapper`).
    pub wrapper: Option<String>,
    /// Where the function is, short: `tinygo/main.go:8`, `runtime/scheduler.go:12`.
    pub place: String,
    /// The full path and line, for a tooltip.
    pub place_full: String,
}

/// How a goroutine's entry is shown.
pub fn entry(goroutine: &Goroutine) -> EntryShown {
    let Some(entry) = &goroutine.entry else {
        return EntryShown {
            function: "?".into(),
            wrapper: None,
            place: String::new(),
            place_full: String::new(),
        };
    };
    let name = entry.name.clone();
    let function = entry
        .function
        .clone()
        .or_else(|| name.clone())
        .unwrap_or_else(|| format!("table[{}]", entry.table_index));
    let wrapper = name.filter(|name| *name != function);
    let (place, place_full) = match (&entry.file, entry.line) {
        (Some(file), Some(line)) => (
            format!("{}:{line}", short_path(file)),
            format!("{file}:{line}"),
        ),
        (Some(file), None) => (short_path(file), file.clone()),
        _ => (String::new(), String::new()),
    };
    EntryShown {
        function,
        wrapper,
        place,
        place_full,
    }
}

/// A parked goroutine's call stack as lines, innermost first: `function file:line` (the
/// file shortened as [`short_path`] does), then the problem that cut it short, if any.
pub fn backtrace_lines(goroutine: &Goroutine) -> Vec<String> {
    let Some(backtrace) = &goroutine.backtrace else {
        return Vec::new();
    };
    let mut lines: Vec<String> = backtrace
        .frames
        .iter()
        .map(|frame| {
            let function = frame.function.as_deref().unwrap_or("?");
            match (&frame.file, frame.line) {
                (Some(file), Some(line)) => format!("{function} {}:{line}", short_path(file)),
                _ => format!("{function} +0x{:x}", frame.offset),
            }
        })
        .collect();
    lines.extend(backtrace.problem.iter().map(|p| format!("({p})")));
    lines
}

/// The file and its directory (`app/main.go`); a `$GOROOT/src/` path as its package path
/// (`runtime/scheduler.go`), as Go's `-trimpath` prints it.
pub fn short_path(path: &str) -> String {
    if let Some(std) = path.strip_prefix("$GOROOT/src/") {
        return std.to_string();
    }
    let parts: Vec<&str> = path.rsplit(['/', '\\']).take(2).collect();
    match parts.as_slice() {
        [file, dir] if !dir.is_empty() && *dir != "." => format!("{dir}/{file}"),
        [file, ..] => file.to_string(),
        [] => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pollscope_protocol::{
        ComponentSummary, EntryFunc, TaskState, TinyGoSummary, PROTOCOL_VERSION,
    };

    fn hello(producers: &[(&str, &str, &str)], tinygo: Option<&str>) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            component: ComponentSummary {
                producers: producers
                    .iter()
                    .map(|(field, name, version)| Producer {
                        field: field.to_string(),
                        name: name.to_string(),
                        version: version.to_string(),
                    })
                    .collect(),
                ..ComponentSummary::default()
            },
            host_functions: Vec::new(),
            tinygo: tinygo.map(|language| TinyGoSummary {
                language: Some(language.into()),
                ..TinyGoSummary::default()
            }),
        }
    }

    /// A TinyGo build's producers: wit-component's, then the program module's (LLVM lists
    /// TinyGo's units as C99).
    const TINYGO: &[(&str, &str, &str)] = &[
        ("processed-by", "wit-component", "0.263.0"),
        ("language", "C99", ""),
        ("processed-by", "TinyGo", "0.33.0"),
        ("processed-by", "clang", "18.1.2"),
    ];

    #[test]
    fn a_tinygo_program_is_go_not_c99() {
        // What the host read from DWARF and producers wins.
        assert_eq!(
            language(&hello(TINYGO, Some("Go (TinyGo 0.33.0)"))).as_deref(),
            Some("Go (TinyGo 0.33.0)")
        );
        // A host that did not look (no TinyGo summary): the producers alone still say Go.
        assert_eq!(
            language(&hello(TINYGO, None)).as_deref(),
            Some("Go (TinyGo 0.33.0)")
        );
    }

    #[test]
    fn c_names_only_a_program_with_nothing_else() {
        let rust = [
            ("processed-by", "wit-component", "0.263.0"),
            ("language", "C11", ""),
            ("language", "Rust", ""),
            ("processed-by", "rustc", "1.89.0"),
        ];
        assert_eq!(
            language(&hello(&rust, None)).as_deref(),
            Some("Rust (rustc 1.89.0)")
        );
        let c = [("language", "C11", ""), ("processed-by", "clang", "19.1.5")];
        assert_eq!(language(&hello(&c, None)).as_deref(), Some("C11"));
        assert_eq!(language(&hello(&[], None)), None);
    }

    fn goroutine(entry: Option<EntryFunc>) -> Goroutine {
        Goroutine {
            id: 0x1_1000,
            entry,
            wake_at: None,
            stack: None,
            state: TaskState::Sleeping,
            backtrace: None,
        }
    }

    #[test]
    fn a_backtrace_reads_innermost_first_with_go_lines_and_its_problem() {
        use pollscope_protocol::{Backtrace, StackFrame};
        let mut g = goroutine(None);
        assert!(backtrace_lines(&g).is_empty());
        g.backtrace = Some(Backtrace {
            frames: vec![
                StackFrame {
                    function: Some("runtime.sleep".into()),
                    file: None,
                    line: None,
                    offset: 0x679,
                },
                StackFrame {
                    function: Some("main.worker$gowrapper".into()),
                    file: Some("./fixtures/tinygo/main.go".into()),
                    line: Some(10),
                    offset: 0xe66,
                },
            ],
            problem: Some("stack cut".into()),
        });
        assert_eq!(
            backtrace_lines(&g),
            [
                "runtime.sleep +0x679",
                "main.worker$gowrapper tinygo/main.go:10",
                "(stack cut)"
            ]
        );
    }

    #[test]
    fn an_entry_shows_its_go_function_with_the_wrapper_beside_it() {
        let shown = entry(&goroutine(Some(EntryFunc {
            table_index: 2,
            func: Some(40),
            name: Some("main.worker$gowrapper".into()),
            function: Some("main.worker".into()),
            file: Some("./fixtures/tinygo/main.go".into()),
            line: Some(8),
        })));
        assert_eq!(
            shown,
            EntryShown {
                function: "main.worker".into(),
                wrapper: Some("main.worker$gowrapper".into()),
                place: "tinygo/main.go:8".into(),
                place_full: "./fixtures/tinygo/main.go:8".into(),
            }
        );
        // From a host that does not send the function: the entry's name, no wrapper.
        let shown = entry(&goroutine(Some(EntryFunc {
            table_index: 1,
            func: Some(39),
            name: Some("runtime.run$1$gowrapper".into()),
            function: None,
            file: Some("$GOROOT/src/runtime/scheduler.go".into()),
            line: None,
        })));
        assert_eq!(shown.function, "runtime.run$1$gowrapper");
        assert_eq!(shown.wrapper, None);
        assert_eq!(shown.place, "runtime/scheduler.go");
        let shown = entry(&goroutine(Some(EntryFunc {
            table_index: 7,
            func: None,
            name: None,
            function: None,
            file: None,
            line: None,
        })));
        assert_eq!(
            (shown.function.as_str(), shown.place.as_str()),
            ("table[7]", "")
        );
        assert_eq!(entry(&goroutine(None)).function, "?");
    }

    #[test]
    fn paths_are_shortened_to_what_tells_them_apart() {
        assert_eq!(short_path("/home/gopher/app/main.go"), "app/main.go");
        assert_eq!(short_path("main.go"), "main.go");
        assert_eq!(short_path("./main.go"), "main.go");
        assert_eq!(
            short_path("$GOROOT/src/internal/task/task.go"),
            "internal/task/task.go"
        );
        assert_eq!(short_path(""), "");
    }
}
