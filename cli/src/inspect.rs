//! `pollscope inspect app.wasm`: what the shim will see in a component, as plain aligned text
//! (size, core modules with their debug info and producers, every imported function and
//! whether the shim provides it, exports, asyncify exports, what the program module reveals
//! of TinyGo's scheduler, and the instantiation plan).

use std::collections::BTreeSet;
use std::fmt::Write;

use pollscope_component::{
    translate, Error, HostFunc, Item, Module, Plan, ProducersField, Step, Translation,
};
use pollscope_tinygo::{Instrumentation, Introspection, Location, TASK_TYPE};
use pollscope_wasi::Support;

/// Renders the report for the component in `bytes`.
pub fn inspect(bytes: &[u8]) -> Result<String, Error> {
    let translation = translate(bytes)?;
    Ok(render(&translation, bytes))
}

fn render(t: &Translation, bytes: &[u8]) -> String {
    let plan = &t.plan;
    let mut out = String::new();

    let mut head = vec![row(["size", &size(t.summary.size)])];
    if !t.summary.producers.is_empty() {
        head.push(row(["producers", &producers(&t.summary.producers)]));
    }
    table(&mut out, "", &head);

    section(&mut out, "core modules");
    let mut rows = vec![row([
        "#",
        "size",
        "imports",
        "exports",
        "name-section",
        "dwarf",
        "producers",
    ])];
    for (index, module) in plan.modules.iter().enumerate() {
        rows.push(row([
            &index.to_string(),
            &size(module.size()),
            &module.imports.len().to_string(),
            &module.exports.len().to_string(),
            yes_no(module.name_section),
            yes_no(module.has_dwarf()),
            &producers(&module.producers),
        ]));
    }
    table(&mut out, "  ", &rows);
    if !plan.modules.iter().any(Module::has_dwarf) {
        out.push_str(
            "  no DWARF: goroutine and source views need debug info (TinyGo: build without \
             -no-debug; Rust: debug = true in the profile)\n",
        );
    }

    imports(&mut out, plan);

    section(&mut out, "exports");
    let rows: Vec<_> = t
        .summary
        .exports
        .iter()
        .map(|export| {
            let note = if export.name == plan.run.export {
                format!(
                    "run = instance {} `{}`",
                    plan.run.func.instance, plan.run.func.name
                )
            } else {
                String::new()
            };
            row([&export.name, export.kind.as_str(), &note])
        })
        .collect();
    table(&mut out, "  ", &rows);

    section(&mut out, "asyncify");
    let mut any = false;
    for (index, module) in plan.modules.iter().enumerate() {
        let names: Vec<_> = module.asyncify_exports().collect();
        if !names.is_empty() {
            any = true;
            let _ = writeln!(out, "  module {index}: {}", names.join(" "));
        }
    }
    if !any {
        out.push_str("  none (not an asyncify build; TinyGo's scheduler adds them)\n");
    }

    tinygo(&mut out, plan, bytes);
    steps(&mut out, plan);
    out
}

/// The program module (the one `run` is called on): its TinyGo scheduler symbols, the Task
/// layout and whether the asyncify flight recorder can instrument it.
fn tinygo(out: &mut String, plan: &Plan, bytes: &[u8]) {
    let program = plan.steps.iter().find_map(|step| {
        let Step::Instantiate {
            instance, module, ..
        } = step;
        (*instance == plan.run.func.instance).then_some(*module)
    });
    let Some((index, module)) = program.and_then(|i| Some((i, plan.modules.get(i as usize)?)))
    else {
        return;
    };
    section(out, &format!("tinygo (module {index})"));
    let Some(code) = bytes.get(module.range.start as usize..module.range.end as usize) else {
        return;
    };
    let found = match Introspection::read(code) {
        Ok(found) => found,
        Err(err) => {
            let _ = writeln!(out, "  unreadable: {err}");
            return;
        }
    };
    let mut rows = vec![row(["dwarf", yes_no(found.dwarf)])];
    let any_symbol = found.symbols.iter().any(|(_, l)| *l != Location::Absent);
    if any_symbol {
        for (name, location) in &found.symbols {
            rows.push(row([name, &location.describe()]));
        }
    }
    table(out, "  ", &rows);
    if !found.dwarf {
        out.push_str(
            "  no DWARF: the goroutine view cannot find the scheduler (TinyGo: build without \
             -no-debug)\n",
        );
    } else if !any_symbol {
        out.push_str("  no TinyGo scheduler symbols in the DWARF: not a TinyGo program\n");
    }
    for problem in &found.problems {
        let _ = writeln!(out, "  DWARF problem: {problem}");
    }
    if let Some(task) = found.layout(TASK_TYPE) {
        let size = task
            .size
            .map_or_else(|| "size unknown".to_string(), |s| format!("{s:#x} bytes"));
        let _ = writeln!(out, "  {TASK_TYPE} ({size})");
        let rows: Vec<_> = task
            .fields
            .iter()
            .map(|f| row([&format!("    {}", f.path), &format!("+{:#x}", f.offset)]))
            .collect();
        table(out, "", &rows);
    }
    match pollscope_tinygo::instrument(code) {
        Ok(Instrumentation::Instrumented(_)) => {
            // What the recorder hooks: asyncify's state global, never TinyGo's tinygo_*
            // functions, which wasm-opt inlines in real builds.
            let what = match &found.asyncify {
                Ok(runtime) => format!(
                    "asyncify state global {} (read by asyncify_get_state): every launch, \
                     unwind and rewind is recorded",
                    runtime.state_global
                ),
                Err(why) => why.clone(),
            };
            let _ = writeln!(out, "  instrumentable: {what}");
        }
        Ok(Instrumentation::NotInstrumentable(why)) => {
            let _ = writeln!(out, "  {why}");
        }
        Err(err) => {
            let _ = writeln!(out, "  not instrumentable: {err}");
        }
    }
}

/// Every imported interface with each function's status, and a verdict.
fn imports(out: &mut String, plan: &Plan) {
    section(out, "imports");
    let used: BTreeSet<(&str, &str)> = plan
        .host_funcs
        .iter()
        .map(|f| (f.interface.as_str(), f.name.as_str()))
        .collect();
    let mut missing = Vec::new();
    let mut rows = Vec::new();
    let mut interfaces: Vec<&str> = plan.imports.iter().map(|i| i.name.as_str()).collect();
    for func in &plan.host_funcs {
        if !interfaces.contains(&func.interface.as_str()) {
            interfaces.push(&func.interface);
        }
    }
    for interface in interfaces {
        // Declared functions first, then what only the core code uses (resource drops).
        let mut names: Vec<&str> = plan
            .imports
            .iter()
            .filter(|i| i.name == interface)
            .flat_map(|i| i.funcs.iter().map(String::as_str))
            .collect();
        for func in plan.host_funcs.iter().filter(|f| f.interface == interface) {
            if !names.contains(&func.name.as_str()) {
                names.push(&func.name);
            }
        }
        // An interface imported only for its types (e.g. `wasi:io/error`'s resource when
        // nothing drops one) needs nothing from the shim.
        rows.push(row([
            interface,
            "",
            if names.is_empty() { "types only" } else { "" },
        ]));
        for name in names {
            let is_used = used.contains(&(interface, name));
            let lowered = plan
                .host_funcs
                .iter()
                .find(|f| f.interface == interface && f.name == name);
            let (status, ok) = status(interface, name, lowered);
            if is_used && !ok {
                missing.push(format!("{interface}#{name}"));
            }
            rows.push(row([
                &format!("  {name}"),
                if is_used { "used" } else { "unused" },
                &status,
            ]));
        }
    }
    table(out, "  ", &rows);
    if missing.is_empty() {
        out.push_str("  ready: the shim provides every function the component uses\n");
    } else {
        let _ = writeln!(
            out,
            "  not runnable: {} used function(s) missing: {}",
            missing.len(),
            missing.join(", ")
        );
    }
}

/// `supported`, `errors-only: <why>`, `MISSING: <reason>` or `MISMATCH: …`; and whether the
/// function can be bound. Used functions go through the same check the shim makes.
fn status(interface: &str, name: &str, lowered: Option<&HostFunc>) -> (String, bool) {
    let bound = match lowered {
        Some(guest) => pollscope_link::bind(guest),
        None => pollscope_wasi::resolve(interface, name).map_err(pollscope_link::Problem::Missing),
    };
    match bound {
        Ok(host) => match host.support() {
            Support::Implemented => ("supported".to_string(), true),
            Support::ErrorsOnly(why) => (format!("errors-only: {why}"), true),
        },
        Err(problem @ pollscope_link::Problem::Missing(_)) => {
            (format!("MISSING: {problem}"), false)
        }
        Err(problem) => (format!("MISMATCH: {problem}"), false),
    }
}

/// The plan's steps with every binding, then the run call.
fn steps(out: &mut String, plan: &Plan) {
    section(out, "plan");
    for step in &plan.steps {
        let Step::Instantiate {
            instance,
            module,
            imports,
        } = step;
        let _ = writeln!(
            out,
            "  instantiate module {module} as instance {instance} ({} imports)",
            imports.len()
        );
        let rows: Vec<_> = imports
            .iter()
            .map(|binding| {
                let source = match &binding.item {
                    Item::Export { instance, name } => format!("instance {instance} `{name}`"),
                    Item::Host { func } => match plan.host_funcs.get(*func as usize) {
                        Some(f) => format!("host {}#{}", f.interface, f.name),
                        None => format!("host #{func}"),
                    },
                };
                row([&quoted(&binding.module), &binding.name, "<-", &source])
            })
            .collect();
        table(out, "    ", &rows);
    }
    let _ = write!(
        out,
        "  call instance {} `{}`",
        plan.run.func.instance, plan.run.func.name
    );
    if let Some(post) = &plan.run.post_return {
        let _ = write!(
            out,
            ", then post-return instance {} `{}`",
            post.instance, post.name
        );
    }
    out.push('\n');
}

/// wit-component's fixup imports from module `""`, which would otherwise print as nothing.
fn quoted(name: &str) -> String {
    if name.is_empty() {
        "\"\"".to_string()
    } else {
        name.to_string()
    }
}

fn producers(fields: &[ProducersField]) -> String {
    fields
        .iter()
        .map(|field| {
            let values: Vec<String> = field
                .values
                .iter()
                .map(|v| {
                    // Toolchain versions can carry a long commit suffix; the first word is
                    // the version.
                    match v.version.split_whitespace().next() {
                        Some(version) => format!("{} {version}", v.name),
                        None => v.name.clone(),
                    }
                })
                .collect();
            format!("{}: {}", field.name, values.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn size(bytes: u32) -> String {
    const KIB: f64 = 1024.0;
    let b = f64::from(bytes);
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}");
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Writes rows with every column but the last padded to its widest cell.
fn table(out: &mut String, indent: &str, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::from(indent);
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIM_FIXUP: &str = include_str!("../../core/component/tests/fixtures/shim_fixup.wat");
    const RESOURCE_DROP: &str =
        include_str!("../../core/component/tests/fixtures/resource_drop.wat");

    fn report(wat: &str) -> String {
        inspect(&wat::parse_str(wat).unwrap()).unwrap()
    }

    #[test]
    fn tinygo_shaped_component() {
        let text = report(SHIM_FIXUP);
        assert!(text.starts_with("size       2.1 KiB\n"), "{text}");
        assert!(
            text.contains("producers  processed-by: wit-component 0.219.1"),
            "{text}"
        );
        // Module 0: names, DWARF, TinyGo's producers.
        let module0 = text
            .lines()
            .find(|l| l.trim_start().starts_with("0 "))
            .unwrap();
        // Name section and DWARF both present.
        assert_eq!(
            module0.split_whitespace().filter(|w| *w == "yes").count(),
            2,
            "{module0}"
        );
        assert!(
            module0.contains("language: Go 1.22.0; processed-by: TinyGo 0.33.0"),
            "{module0}"
        );
        assert!(text.contains(
            "module 0: asyncify_start_unwind asyncify_stop_unwind asyncify_start_rewind \
             asyncify_stop_rewind asyncify_get_state"
        ));
        assert!(
            text.lines()
                .any(|l| l.starts_with("  wasi:io/error@0.2.0 ") && l.ends_with(" types only")),
            "{text}"
        );
        assert!(
            text.contains(
                "wasi:cli/run@0.2.0  instance  run = instance 1 `wasi:cli/run@0.2.0#run`"
            ),
            "{text}"
        );
        assert!(
            text.contains("instantiate module 2 as instance 2 (3 imports)"),
            "{text}"
        );
        assert!(
            text.contains("\"\"  $imports  <-  instance 0 `$imports`"),
            "{text}"
        );
        assert!(
            text.contains("<-  host wasi:cli/environment@0.2.0#get-arguments"),
            "{text}"
        );
        assert!(
            text.ends_with("  call instance 1 `wasi:cli/run@0.2.0#run`\n"),
            "{text}"
        );
    }

    #[test]
    fn every_function_has_a_status() {
        let text = report(RESOURCE_DROP);
        let section = text
            .split("\nimports\n")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .unwrap();
        for name in ["get-stdin", "[resource-drop]input-stream"] {
            let line = section.lines().find(|l| l.contains(name)).unwrap();
            assert!(
                line.contains("supported")
                    || line.contains("errors-only: ")
                    || line.contains("MISSING: ")
                    || line.contains("MISMATCH: "),
                "{line}"
            );
            assert!(line.contains(" used "), "{line}");
        }
        // The drop of stdin's input-stream is listed once, under wasi:io/streams.
        assert_eq!(
            section.matches("[resource-drop]input-stream").count(),
            1,
            "{section}"
        );
        let last = section.lines().last().unwrap();
        assert!(
            last.starts_with("  ready:") || last.starts_with("  not runnable:"),
            "{last}"
        );
    }

    #[test]
    fn errors_pass_through() {
        let err = inspect(b"not wasm").unwrap_err();
        assert_eq!(err.kind(), pollscope_component::ErrorKind::NotWasm);
    }

    #[test]
    fn table_aligns_all_but_the_last_column() {
        let mut out = String::new();
        table(
            &mut out,
            "",
            &[row(["a", "bbb", "x"]), row(["cccc", "d", "yy"])],
        );
        assert_eq!(out, "a     bbb  x\ncccc  d    yy\n");
    }
}
