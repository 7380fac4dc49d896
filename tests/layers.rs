//! The layers of `src/` (`src/lib.rs` describes them): actix-web stays in the
//! HTTP edge and start-up, and the crate's top-level modules import one
//! another without a cycle. Reads the source files only; starts nothing.
//!
//! A reference is a path spelt `crate::<module>` (or `$crate::` in a macro,
//! or a `crate::{a, b::c}` group) in code, comment lines left out: the house
//! style writes every path to another module that way.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Where actix may appear: the edge, start-up and the binary's `main`.
const ACTIX_ALLOWED: [&str; 3] = ["src/http/", "src/startup.rs", "src/main.rs"];
const ACTIX_CRATES: [&str; 2] = ["actix_web", "actix_http"];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn actix_appears_only_in_the_http_edge_and_start_up() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if ACTIX_ALLOWED
            .iter()
            .any(|allowed| path.starts_with(allowed))
        {
            continue;
        }
        for (index, line) in text.lines().enumerate() {
            if ACTIX_CRATES.iter().any(|name| line.contains(name)) {
                offenders.push(format!("{path}:{}: {}", index + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "actix outside {ACTIX_ALLOWED:?}; move this code into src/http/:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_top_level_modules_import_one_another_without_a_cycle() {
    let graph = import_graph();
    println!(
        "import graph (module -> modules it imports):\n{}",
        show(&graph)
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle among the top-level modules: {}\n\nthe whole graph:\n{}",
            cycle.join(" -> "),
            show(&graph)
        );
    }
}

#[test]
fn references_are_read_from_single_and_grouped_paths() {
    let modules = ["db", "domain", "http", "live"].map(String::from).into();
    let code = "use crate::{db::{self, Pool}, domain::X};\n\
                // crate::live in a comment is no import\n\
                let x = $crate::http::respond(crate::db::client());";
    let expected: BTreeSet<String> = ["db", "domain", "http"].map(String::from).into();
    assert_eq!(references(code, &modules), expected);
}

#[test]
fn a_cycle_is_found_and_named() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .into_iter()
        .fold(Graph::new(), |mut graph, (from, to)| {
            graph.entry(from.into()).or_default().insert(to.into());
            graph.entry(to.into()).or_default();
            graph
        });
    assert_eq!(
        find_cycle(&graph),
        Some(["a", "b", "c", "a"].map(String::from).to_vec())
    );
    let mut acyclic = graph;
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&acyclic), None);
}

/// Every `.rs` file under `src/`, as (path from the crate root, text).
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path: PathBuf = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text =
                    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let relative = path.strip_prefix(root).expect("under the crate root");
                files.push((relative.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    files.sort();
    files
}

/// The crate's top-level modules, as `src/lib.rs` declares them.
fn top_level_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    lib.lines()
        .filter_map(|line| {
            let line = line.trim().strip_prefix("pub ").unwrap_or(line.trim());
            Some(
                line.strip_prefix("mod ")?
                    .strip_suffix(';')?
                    .trim()
                    .to_owned(),
            )
        })
        .collect()
}

/// Each top-level module and the other top-level modules its files refer to.
fn import_graph() -> Graph {
    let modules = top_level_modules();
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for (path, text) in sources() {
        let Some(first) = path.strip_prefix("src/").and_then(|p| p.split('/').next()) else {
            continue;
        };
        let module = first.strip_suffix(".rs").unwrap_or(first);
        // lib.rs, main.rs and src/bin/ are not modules of the library.
        let Some(edges) = graph.get_mut(module) else {
            continue;
        };
        let referenced = references(&text, &modules);
        edges.extend(referenced.into_iter().filter(|target| target != module));
    }
    graph
}

/// The top-level modules `code` names as `crate::<module>`.
fn references(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code: String = code
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        let heads = match rest.strip_prefix('{') {
            Some(group) => group_heads(group),
            None => vec![identifier(rest)],
        };
        found.extend(
            heads
                .into_iter()
                .filter(|head| modules.contains(*head))
                .map(String::from),
        );
    }
    found
}

/// The first segment of each path in `a, b::{c, d}, e }...` (a group's
/// inside, up to its closing brace).
fn group_heads(group: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(identifier(group[start..].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(identifier(group[start..].trim_start()));
                start = index + 1;
            }
            _ => {}
        }
    }
    heads
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// A cycle as the modules along it, the first repeated at the end.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        OnPath,
        Done,
    }
    fn visit<'g>(
        module: &'g str,
        graph: &'g Graph,
        states: &mut BTreeMap<&'g str, State>,
        path: &mut Vec<&'g str>,
    ) -> Option<Vec<String>> {
        states.insert(module, State::OnPath);
        path.push(module);
        for next in graph.get(module).into_iter().flatten() {
            match states.get(next.as_str()) {
                Some(State::OnPath) => {
                    let start = path.iter().position(|m| m == next)?;
                    let mut cycle: Vec<String> =
                        path[start..].iter().map(|m| m.to_string()).collect();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(State::Done) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, states, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        states.insert(module, State::Done);
        None
    }
    let mut states = BTreeMap::new();
    for module in graph.keys() {
        if !states.contains_key(module.as_str()) {
            if let Some(cycle) = visit(module, graph, &mut states, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

fn show(graph: &Graph) -> String {
    graph
        .iter()
        .map(|(module, imports)| {
            let imports: Vec<&str> = imports.iter().map(String::as_str).collect();
            format!("  {module} -> {}", imports.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
