//! The house's layout, checked: the rules ARCHITECTURE.md states hold in the tree.
//!
//! - the native adapter's rooms call only rooms below them (`ROOMS`, top to bottom);
//! - the core's top-level modules form no cycle;
//! - the JSON toolkit knows nothing of the domain (`tend-json` does not depend on `tend-core`);
//! - no source file outside tests (its own test module included) is longer than `MAX_LINES`.
//!
//! A dependency is a `crate::room` path in a non-comment line of a file's non-test code (the
//! code before its first `#[cfg(test)]`), or a name in a `use crate::{…}` group.

#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The native adapter's rooms, from the top (commands) to the bottom (leaves). A room may use
/// the rooms after it, never one before it.
const ROOMS: &[&str] = &[
    "cli", "daemon", "devnet", "chain", "agents", "store", "config", "secret", "clock",
];

/// The longest a non-test source file may be.
const MAX_LINES: usize = 900;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Test-only files of the source folder `src`: `tests.rs`, `*_tests.rs`, and files under a
/// `tests/` folder inside it.
fn is_test_file(src: &Path, path: &Path) -> bool {
    let name = path.file_stem().unwrap().to_string_lossy();
    let inside = path.strip_prefix(src).unwrap();
    name == "tests"
        || name.ends_with("_tests")
        || inside.components().any(|c| c.as_os_str() == "tests")
}

/// The non-test code of a file: everything before its first `#[cfg(test)]`, without comments.
fn code(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .filter(|l| !l.starts_with("//"))
        .collect()
}

/// The names that follow `crate::` in `lines`, including every name of a `use crate::{a, b::c}`
/// group (its first segment each).
fn crate_refs(lines: &[&str]) -> BTreeSet<String> {
    let joined = lines.join(" ");
    let mut out = BTreeSet::new();
    let mut rest = joined.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // A brace group: its top-level items' first segments.
            let mut depth = 0usize;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_first(&item, &mut out);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(ch);
            }
            push_first(&item, &mut out);
        } else {
            push_first(rest, &mut out);
        }
    }
    out
}

fn push_first(item: &str, out: &mut BTreeSet<String>) {
    let name: String = item
        .trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !name.is_empty() {
        out.insert(name);
    }
}

/// For each top-level module of `src` (a file `m.rs` or a folder `m/`), the other top-level
/// modules its non-test code names.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeMap::new();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        } else {
            continue;
        }
        let mut refs = BTreeSet::new();
        for file in files.iter().filter(|f| !is_test_file(src, f)) {
            let text = fs::read_to_string(file).unwrap();
            refs.extend(crate_refs(&code(&text)));
        }
        modules.insert(name, refs);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    for (name, refs) in &mut modules {
        refs.retain(|r| r != name && names.contains(r));
    }
    modules
}

#[test]
fn native_rooms_call_only_rooms_below_them() {
    let graph = module_graph(&workspace().join("native/src"));
    let rooms: BTreeSet<String> = ROOMS.iter().map(|r| (*r).to_owned()).collect();
    let found: BTreeSet<String> = graph.keys().cloned().collect();
    assert_eq!(
        found, rooms,
        "native/src's top-level modules differ from the rooms ARCHITECTURE.md names (update both)"
    );
    let rank = |room: &str| ROOMS.iter().position(|r| *r == room).unwrap();
    let mut upward = Vec::new();
    for (room, refs) in &graph {
        for used in refs {
            if rank(used) <= rank(room) {
                upward.push(format!("{room} uses {used}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "rooms that call a room above them (order: {ROOMS:?}): {upward:?}"
    );
    // The graph is not empty by accident: the commands use the daemon, the daemon the chain.
    assert!(graph["cli"].contains("daemon"));
    assert!(graph["daemon"].contains("chain"));
}

/// Depth-first search from `at`; a module met again while on the stack closes a cycle.
fn visit<'a>(
    at: &'a str,
    graph: &'a BTreeMap<String, BTreeSet<String>>,
    stack: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
) -> Option<Vec<String>> {
    if let Some(pos) = stack.iter().position(|m| *m == at) {
        let mut cycle: Vec<String> = stack[pos..].iter().map(|m| (*m).to_owned()).collect();
        cycle.push(at.to_owned());
        return Some(cycle);
    }
    if !done.insert(at) {
        return None;
    }
    stack.push(at);
    for next in &graph[at] {
        if let Some(cycle) = visit(next, graph, stack, done) {
            return Some(cycle);
        }
    }
    stack.pop();
    None
}

#[test]
fn core_modules_form_no_cycle() {
    let graph = module_graph(&workspace().join("core/src"));
    assert!(graph.contains_key("engine") && graph["engine"].contains("funding"));
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        let cycle = visit(module, &graph, &mut Vec::new(), &mut done);
        assert!(cycle.is_none(), "core modules in a cycle: {cycle:?}");
    }
}

#[test]
fn the_json_toolkit_knows_nothing_of_the_domain() {
    let manifest = fs::read_to_string(workspace().join("json/Cargo.toml")).unwrap();
    assert!(
        !manifest.contains("tend-core"),
        "tend-json must not depend on tend-core"
    );
    let mut files = Vec::new();
    rust_files(&workspace().join("json/src"), &mut files);
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("tend_core"),
            "{} names tend_core",
            file.display()
        );
    }
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let mut long = Vec::new();
    for crate_src in [
        "json/src",
        "derive/src",
        "core/src",
        "native/src",
        "web/src",
        "tests/src",
    ] {
        let mut files = Vec::new();
        let src = workspace().join(crate_src);
        rust_files(&src, &mut files);
        for file in files.iter().filter(|f| !is_test_file(&src, f)) {
            let text = fs::read_to_string(file).unwrap();
            let lines = text.lines().count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these by concern (limit {MAX_LINES}): {long:?}"
    );
}

#[test]
fn the_reference_reader_sees_groups_and_paths() {
    let refs = crate_refs(&[
        "use crate::{chain::{rpc, keys}, store::Journal};",
        "crate::clock::now()",
    ]);
    let want: BTreeSet<String> = ["chain", "store", "clock"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(refs, want);
    assert_eq!(code("a\n// crate::x\n#[cfg(test)]\ncrate::y"), vec!["a"]);
}
