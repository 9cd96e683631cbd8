//! Which language a program is written in, from its DWARF compile units and its `producers`
//! section — and how Go prints the paths of its own sources.
//!
//! Neither source says it alone for TinyGo: every TinyGo compile unit carries
//! `DW_AT_language` = `DW_LANG_C99` (TinyGo passes LLVM's 0-based C99 enumerator, 0xb, meaning
//! `DW_LANG_C99`'s 0xc) and `DW_AT_producer` = `TinyGo`; LLVM lists the units' languages in the
//! `producers` section's `language` field (so `C99`), and TinyGo's `llvm.ident` puts
//! `processed-by: TinyGo <version>` there. wasi-libc's units are C as well, and usually come
//! first. So a unit counts as Go when its language is `DW_LANG_Go` or its producer is TinyGo
//! (or Go's own compiler), a TinyGo version comes from `processed-by`, and C or assembly only
//! names a program that has nothing else.

use gimli::DwLang;

/// One compile unit's `DW_AT_language` and `DW_AT_producer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitLanguage<'a> {
    /// `DW_AT_language`.
    pub language: Option<DwLang>,
    /// `DW_AT_producer`.
    pub producer: Option<&'a str>,
}

/// The program's source language for people, e.g. `Go (TinyGo 0.33.0)`, `Rust (rustc
/// 1.89.0)`, `C11`; `None` when neither DWARF nor the producers say. `producers` are
/// (field, name, version) of the module's `producers` section.
pub fn describe(
    units: &[UnitLanguage<'_>],
    producers: &[(String, String, String)],
) -> Option<String> {
    let processed_by = |tool: &str| {
        producers
            .iter()
            .find(|(field, name, _)| field == "processed-by" && name == tool)
            .map(|(_, _, version)| version.as_str())
    };
    let tinygo = processed_by("TinyGo");
    let go_unit = units.iter().any(|unit| {
        unit.language == Some(gimli::DW_LANG_Go)
            || unit
                .producer
                .is_some_and(|p| p.starts_with("TinyGo") || p.starts_with("Go cmd/compile"))
    });
    let tinygo_unit = units
        .iter()
        .any(|unit| unit.producer.is_some_and(|p| p.starts_with("TinyGo")));
    if go_unit || tinygo.is_some() {
        return Some(match tinygo {
            Some(version) if !version.is_empty() => format!("Go (TinyGo {version})"),
            Some(_) => "Go (TinyGo)".to_string(),
            None if tinygo_unit => "Go (TinyGo)".to_string(),
            None => "Go".to_string(),
        });
    }
    let from_dwarf: Vec<String> = units
        .iter()
        .filter_map(|unit| unit.language.and_then(language_name))
        .collect();
    let from_producers: Vec<String> = producers
        .iter()
        .filter(|(field, _, _)| field == "language")
        .map(|(_, name, _)| name.clone())
        .collect();
    let names = if from_dwarf.is_empty() {
        from_producers
    } else {
        from_dwarf
    };
    let language = most_telling(&names)?;
    Some(match (language.as_str(), processed_by("rustc")) {
        ("Rust", Some(version)) if !version.is_empty() => format!("Rust (rustc {version})"),
        _ => language,
    })
}

/// The language that says most about the program: any other language before C, C before
/// assembly; among equals the one most units have (the first on a tie).
fn most_telling(names: &[String]) -> Option<String> {
    let rank = |name: &str| {
        if name.contains("Assembler") || name.contains("Assembly") {
            0
        } else if matches!(name, "C" | "C89" | "C99" | "C11" | "C17") {
            1
        } else {
            2
        }
    };
    let mut best: Option<(&str, usize)> = None;
    for name in names {
        let count = names.iter().filter(|n| *n == name).count();
        let better = match best {
            None => true,
            Some((current, current_count)) => (rank(name), count) > (rank(current), current_count),
        };
        if better {
            best = Some((name, count));
        }
    }
    best.map(|(name, _)| name.to_string())
}

/// `DW_LANG_C_plus_plus_14` → `C++14`, `DW_LANG_Rust` → `Rust`, `DW_LANG_C99` → `C99`.
fn language_name(language: DwLang) -> Option<String> {
    let name = language.static_string()?.strip_prefix("DW_LANG_")?;
    Some(
        name.replace("ObjC_plus_plus", "Objective-C++")
            .replace("ObjC", "Objective-C")
            .replace("C_plus_plus_", "C++")
            .replace("C_plus_plus", "C++"),
    )
}

/// A source path as Go prints it: a file of the standard library or of TinyGo's runtime,
/// under a Go or TinyGo installation (`/usr/local/lib/tinygo/src/runtime/scheduler.go`,
/// `/usr/local/go/src/time/sleep.go`, a TinyGo cache's `goroot-…/src/…`), becomes
/// `$GOROOT/src/runtime/scheduler.go`; any other path is left as it is.
pub fn go_source_path(path: &str) -> String {
    if !path.ends_with(".go") {
        return path.to_string();
    }
    let mut search = 0;
    while let Some(found) = path[search..].find("/src/") {
        let at = search + found;
        let root = path[..at].rsplit(['/', '\\']).next().unwrap_or("");
        let package = &path[at + "/src/".len()..];
        let first = package.split('/').next().unwrap_or("");
        if is_go_root(root) && is_standard(first) && package.contains('/') {
            return format!("$GOROOT/src/{package}");
        }
        search = at + 1;
    }
    path.to_string()
}

/// The last directory of a Go or TinyGo installation: `go`, `tinygo`, `goroot-<hash>` (TinyGo's
/// merged root), `go1.22.5` / `go-1.22` (distributions), `libexec` or a version number
/// (Homebrew's `Cellar/go/1.22.5/libexec`, `Cellar/tinygo/0.33.0`).
fn is_go_root(dir: &str) -> bool {
    dir == "go"
        || dir == "tinygo"
        || dir == "libexec"
        || dir.starts_with("goroot")
        || dir.starts_with("go1.")
        || dir.starts_with("go-1")
        || (!dir.is_empty() && dir.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Top-level packages of Go's standard library and TinyGo's own (`machine`, `device`).
fn is_standard(first: &str) -> bool {
    const STANDARD: &[&str] = &[
        "archive",
        "bufio",
        "bytes",
        "cmp",
        "compress",
        "container",
        "context",
        "crypto",
        "database",
        "debug",
        "device",
        "embed",
        "encoding",
        "errors",
        "expvar",
        "flag",
        "fmt",
        "go",
        "hash",
        "html",
        "image",
        "index",
        "internal",
        "io",
        "iter",
        "log",
        "machine",
        "maps",
        "math",
        "mime",
        "net",
        "os",
        "path",
        "plugin",
        "reflect",
        "regexp",
        "runtime",
        "slices",
        "sort",
        "strconv",
        "strings",
        "structs",
        "sync",
        "syscall",
        "testing",
        "text",
        "time",
        "unicode",
        "unique",
        "unsafe",
        "weak",
    ];
    STANDARD.contains(&first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producers(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        list.iter()
            .map(|(f, n, v)| (f.to_string(), n.to_string(), v.to_string()))
            .collect()
    }

    fn unit(language: u16, producer: &str) -> UnitLanguage<'_> {
        UnitLanguage {
            language: Some(DwLang(language)),
            producer: Some(producer),
        }
    }

    #[test]
    fn a_tinygo_program_is_go_though_every_unit_says_c99() {
        // wasi-libc's unit first, then TinyGo's (DW_LANG_C99, producer "TinyGo"), as built.
        let units = [
            unit(
                0x0c,
                "clang version 18.1.2 (https://github.com/llvm/llvm-project 26a1d66)",
            ),
            unit(0x0c, "TinyGo"),
            unit(0x0c, "TinyGo"),
        ];
        let producers = producers(&[
            ("language", "C99", ""),
            ("processed-by", "TinyGo", "0.33.0"),
            ("processed-by", "clang", "18.1.2"),
        ]);
        assert_eq!(
            describe(&units, &producers).as_deref(),
            Some("Go (TinyGo 0.33.0)")
        );
        // The units alone, or the producers alone, say Go too.
        assert_eq!(describe(&units, &[]).as_deref(), Some("Go (TinyGo)"));
        assert_eq!(
            describe(&[], &producers).as_deref(),
            Some("Go (TinyGo 0.33.0)")
        );
        // DW_LANG_Go (Go's own compiler, or a TinyGo that writes it).
        assert_eq!(
            describe(&[unit(0x16, "Go cmd/compile go1.22.5")], &[]).as_deref(),
            Some("Go")
        );
    }

    #[test]
    fn c_names_only_a_program_that_has_nothing_else() {
        let libc = unit(0x0c, "clang version 18.1.2");
        let rust = unit(
            0x1c,
            "clang LLVM (rustc version 1.89.0 (29483883e 2025-08-04))",
        );
        let producers = producers(&[
            ("language", "Rust", ""),
            ("language", "C99", ""),
            ("processed-by", "rustc", "1.89.0 (29483883e 2025-08-04)"),
        ]);
        assert_eq!(
            describe(&[libc, libc, rust], &producers).as_deref(),
            Some("Rust (rustc 1.89.0 (29483883e 2025-08-04))")
        );
        assert_eq!(describe(&[], &producers[..2]).as_deref(), Some("Rust"));
        let c11 = unit(0x1d, "clang version 18.1.2");
        let asm = unit(0x8001, "clang version 18.1.2");
        assert_eq!(describe(&[asm, c11, c11], &[]).as_deref(), Some("C11"));
        assert_eq!(
            describe(&[libc, unit(0x21, "clang")], &[]).as_deref(),
            Some("C++14")
        );
        assert_eq!(describe(&[], &[]), None);
    }

    #[test]
    fn toolchain_sources_print_as_goroot_paths() {
        for (path, shown) in [
            (
                "/usr/local/lib/tinygo/src/runtime/hashmap.go",
                "$GOROOT/src/runtime/hashmap.go",
            ),
            (
                "/home/u/.cache/tinygo/goroot-5f1e3a/src/time/sleep.go",
                "$GOROOT/src/time/sleep.go",
            ),
            (
                "/usr/local/go/src/internal/task/task_asyncify.go",
                "$GOROOT/src/internal/task/task_asyncify.go",
            ),
            (
                "/opt/homebrew/Cellar/tinygo/0.33.0/src/runtime/scheduler.go",
                "$GOROOT/src/runtime/scheduler.go",
            ),
            // The user's own files stay as they are.
            ("/home/u/src/app/main.go", "/home/u/src/app/main.go"),
            (
                "/home/u/go/src/example.com/x/main.go",
                "/home/u/go/src/example.com/x/main.go",
            ),
            ("./fixtures/tinygo/main.go", "./fixtures/tinygo/main.go"),
            ("/home/u/go/src/time.go", "/home/u/go/src/time.go"),
            (
                "/usr/local/lib/tinygo/lib/wasi-libc/libc-bottom-half/crt/crt1-reactor.c",
                "/usr/local/lib/tinygo/lib/wasi-libc/libc-bottom-half/crt/crt1-reactor.c",
            ),
        ] {
            assert_eq!(go_source_path(path), shown, "{path}");
        }
    }
}
