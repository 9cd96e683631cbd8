//! The crate's module graph, read from its sources: no import circle, and the layering
//! `lib.rs` describes (issue #15: `registry.rs` once named every interface while every
//! interface imported it, so all 27 modules depended on each other).
//!
//! Edges are the `use crate::…` / `use super::…` items and inline `crate::…` / `super::…` /
//! `child::…` paths of each file, test modules left out; a name the crate root re-exports
//! counts as the module that defines it. In a WASI package (`io`, `cli`, …) a *glue* module
//! is one that faces the guest (it imports the function vocabulary or the ABI); the others are
//! its state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`io/poll`, `` for the crate root) → source without comments and test modules.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let rel = rel.to_str().unwrap().replace('\\', "/");
                let module = match rel.as_str() {
                    "lib" => String::new(),
                    _ => rel.strip_suffix("/mod").unwrap_or(&rel).to_string(),
                };
                out.insert(module, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    walk(&root, &root, &mut files);
    // Modules declared `#[cfg(test)] mod name;` are test support, not part of the graph.
    let mut test_only = Vec::new();
    for (module, text) in &files {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            if pair[0] == "#[cfg(test)]" {
                if let Some(name) = pair[1]
                    .strip_prefix("mod ")
                    .and_then(|m| m.strip_suffix(';'))
                {
                    test_only.push(child(module, name));
                }
            }
        }
    }
    files
        .into_iter()
        .filter(|(module, _)| !test_only.contains(module))
        .map(|(module, text)| {
            let code: String = text
                .lines()
                .map(|line| line.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            let code = match code.find("#[cfg(test)]\nmod tests") {
                Some(at) => code[..at].to_string(),
                None => code,
            };
            (module, code)
        })
        .collect()
}

fn child(module: &str, name: &str) -> String {
    if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}/{name}")
    }
}

fn parent(module: &str) -> &str {
    module.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// `{a, b::{c, d}}` → `a`, `b::c`, `b::d` (each with `prefix`).
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
        let path = tree.split(" as ").next().unwrap().trim();
        out.push(format!("{prefix}{path}"));
        return;
    };
    let (mut depth, mut start) = (0, 0);
    let bytes = inner.as_bytes();
    for i in 0..=bytes.len() {
        match bytes.get(i) {
            Some(b'{') => depth += 1,
            Some(b'}') => depth -= 1,
            Some(b',') | None if depth == 0 => {
                let item = inner[start..i].trim();
                start = i + 1;
                if item.is_empty() {
                    continue;
                }
                match item.find('{') {
                    Some(at) => expand(&format!("{prefix}{}", &item[..at]), &item[at..], out),
                    None => expand(prefix, item, out),
                }
            }
            _ => {}
        }
    }
}

/// Paths (`a::b::c`) used by `code`, as written after `crate::` or after `super::`.
fn paths_after(code: &str, keyword: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(keyword) {
        let before = rest[..at].chars().last();
        rest = &rest[at + keyword.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let head = rest[..end].trim_end_matches("::");
        if rest[end..].starts_with('{') {
            // A `use` tree: take it whole, up to its `;`.
            let close = end + rest[end..].find(';').unwrap_or(rest.len() - end);
            let mut items = Vec::new();
            expand("", &rest[end..close], &mut items);
            out.extend(items.into_iter().map(|item| format!("{head}::{item}")));
        } else {
            out.push(head.to_string());
        }
    }
    out
}

struct Crate {
    files: BTreeMap<String, String>,
    /// Name re-exported at the crate root → its path (`Host` → `host::Host`).
    reexports: BTreeMap<String, String>,
}

impl Crate {
    fn read() -> Crate {
        let files = sources();
        let mut reexports = BTreeMap::new();
        for statement in files[""].split(';') {
            let Some(tree) = statement.trim().strip_prefix("pub use ") else {
                continue;
            };
            let mut items = Vec::new();
            match tree.find('{') {
                Some(at) => expand(&tree[..at], &tree[at..], &mut items),
                None => items.push(tree.to_string()),
            }
            for item in items {
                let name = item.rsplit("::").next().unwrap().to_string();
                reexports.insert(name, item);
            }
        }
        Crate { files, reexports }
    }

    /// The module a path from the crate root names (the longest module prefix).
    fn module_of(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        if let Some(target) = segments.first().and_then(|s| self.reexports.get(*s)) {
            if segments.len() == 1 || !self.files.contains_key(segments[0]) {
                return self.module_of(target);
            }
        }
        (1..=segments.len())
            .rev()
            .map(|n| segments[..n].join("/"))
            .find(|candidate| self.files.contains_key(candidate))
    }

    /// Every module → the modules it imports.
    fn graph(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph = BTreeMap::new();
        for (module, code) in &self.files {
            if module.is_empty() {
                continue; // the root only declares and re-exports
            }
            let mut deps = BTreeSet::new();
            for path in paths_after(code, "crate::") {
                deps.extend(self.module_of(&path));
            }
            let up = parent(module).replace('/', "::");
            for path in paths_after(code, "super::") {
                deps.extend(self.module_of(&format!("{up}::{path}")));
            }
            // Relative paths to child modules: `tcp::TCP`, `use memfs::{…}`.
            for candidate in self.files.keys() {
                let Some(name) = candidate
                    .strip_prefix(module.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                else {
                    continue;
                };
                if !name.contains('/')
                    && code.match_indices(&format!("{name}::")).any(|(at, _)| {
                        !code[..at]
                            .chars()
                            .last()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                    })
                {
                    deps.insert(candidate.clone());
                }
            }
            deps.remove(module);
            deps.remove("");
            graph.insert(module.clone(), deps);
        }
        graph
    }
}

/// The WASI packages: their modules are glue or state.
const PACKAGES: [&str; 6] = ["io", "clocks", "random", "cli", "filesystem", "sockets"];

/// A package module that faces the guest: it imports the function vocabulary or the ABI.
fn is_glue(graph: &BTreeMap<String, BTreeSet<String>>, module: &str) -> bool {
    PACKAGES.contains(&package(module))
        && (graph[module].contains("func") || graph[module].contains("abi"))
}

/// The package a module belongs to (`io` for `io/poll`), or the module itself at the top.
fn package(module: &str) -> &str {
    module.split('/').next().unwrap()
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = Crate::read().graph();
    // Depth-first search for a path from each module back to itself.
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((module, path)) = stack.pop() {
            for next in &graph[&module] {
                if next == start {
                    panic!("import circle: {} → {start}", path.join(" → "));
                }
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
}

#[test]
fn the_layers_import_only_downwards() {
    let graph = Crate::read().graph();
    let glue: BTreeSet<&String> = graph.keys().filter(|m| is_glue(&graph, m)).collect();
    // The split the issue asks for: the vocabulary, the world list, the host, and state apart
    // from glue.
    let state = [
        "io/pollable",
        "io/stream",
        "cli/console",
        "filesystem/state",
        "filesystem/descriptor",
        "filesystem/memfs",
        "sockets/state",
    ];
    for module in state {
        assert!(graph.contains_key(module), "no module {module}");
        assert!(!glue.contains(&module.to_string()), "{module} is glue");
    }
    for module in [
        "io/poll",
        "io/streams",
        "cli/stdio",
        "filesystem/types",
        "sockets/tcp",
    ] {
        assert!(glue.contains(&module.to_string()), "{module} is not glue");
    }
    for (module, deps) in &graph {
        for dep in deps {
            let why = if module == "func" {
                let machine = ["host", "memory", "trap", "platform", "config"];
                (!machine.contains(&dep.as_str()))
                    .then_some("the vocabulary imports only the host and the machine")
            } else if dep == "world" {
                (module != "testing").then_some("only test support resolves by name")
            } else if glue.contains(dep) {
                // Glue is imported by the world list, or by glue of its own package (helpers
                // such as filesystem/lift, or one file's functions in another's table).
                (module != "world" && !(glue.contains(module) && package(module) == package(dep)))
                    .then_some("glue is imported only by the world list or its package's glue")
            } else {
                None
            };
            if let Some(why) = why {
                panic!("{module} imports {dep}: {why}");
            }
        }
    }
    // The host holds state only; the vocabulary and the world list are above it.
    for dep in &graph["host"] {
        assert!(
            !glue.contains(dep) && dep != "func" && dep != "world",
            "host imports {dep}"
        );
    }
}

#[test]
fn the_world_list_names_every_interface_module() {
    let krate = Crate::read();
    let graph = krate.graph();
    for (module, code) in &krate.files {
        if code.contains(": InterfaceDef = InterfaceDef {") {
            assert!(
                graph["world"].contains(module),
                "world.rs does not list {module}'s interface"
            );
        }
    }
}
