//! The modules of vox-server form layers, not circles (issue 16 §5): read every
//! `crate::<module>` reference in `src/` (outside `lib.rs`, the composition root, and
//! outside `#[cfg(test)]` blocks), build the graph, and fail on any cycle, naming it.
//!
//! The intended layers, bottom to top: `error`, `config`, `failpoint`, `db`, `metrics`,
//! `extract`, `limiter`, `state`, `board`, `integrity`, `bodies`, `acts`, `writer` (the
//! board writer, which uses the protocol's rules and never an HTTP handler); `app` (the
//! shared state); `idempotency`, `middleware`, `api`, `web`, `http` (the HTTP layer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name of a source file: `src/api/board.rs` → `api`, `src/writer.rs` → `writer`.
fn module_of(rel: &Path) -> String {
    rel.components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

/// The source without `#[cfg(test)]` items (tests may reach anywhere) and without
/// comments (a doc comment naming a module is not a dependency).
fn production_code(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_cfg_test = false;
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        if skip_depth.is_none() && code.trim_start().starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        let opens = code.matches('{').count() as i32;
        let closes = code.matches('}').count() as i32;
        if pending_cfg_test && opens > 0 {
            skip_depth = Some(depth);
            pending_cfg_test = false;
        }
        depth += opens - closes;
        if let Some(d) = skip_depth {
            if depth <= d {
                skip_depth = None;
            }
            continue;
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap();
            if rel == Path::new("lib.rs") {
                continue;
            }
            let from = module_of(rel);
            let code = production_code(&std::fs::read_to_string(&p).unwrap());
            let deps = graph.entry(from.clone()).or_default();
            // `crate::name` and `use crate::{a, b}` forms.
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                    group
                        .split('}')
                        .next()
                        .unwrap()
                        .split(',')
                        .map(|s| s.trim().split("::").next().unwrap().to_owned())
                        .collect()
                } else {
                    vec![rest
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap()
                        .to_owned()]
                };
                for n in names {
                    if !n.is_empty() && n != from && n.chars().next().unwrap().is_lowercase() {
                        deps.insert(n);
                    }
                }
            }
            // Inside `api/`, `super::x` is a sibling within the same layer: not an edge.
        }
    }
    graph
}

/// A cycle through `start`, if any (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let at = path.iter().position(|m| m == n).unwrap();
                let mut c = path[at..].to_vec();
                c.push(n.to_owned());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n.to_owned(), 1);
        path.push(n.to_owned());
        for d in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, graph, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn vox_server_modules_import_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = edges(&src);
    assert!(graph.len() > 10, "read too few modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "vox-server modules import each other in a circle: {}\n(edges: {graph:#?})",
            cycle.join(" -> ")
        );
    }
    // The writer is below the HTTP layer: it never reaches a handler or a middleware.
    for banned in ["api", "app", "idempotency", "middleware", "web", "http"] {
        assert!(
            !graph["writer"].contains(banned),
            "the board writer imports {banned}"
        );
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let g = |edges: &[(&str, &str)]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            m.entry((*a).into()).or_default().insert((*b).into());
            m.entry((*b).into()).or_default();
        }
        m
    };
    assert_eq!(find_cycle(&g(&[("a", "b"), ("b", "c")])), None);
    let c = find_cycle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).unwrap();
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
    // The test-block filter keeps production code and drops test modules.
    let code = "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\nuse crate::c;\n";
    let kept = production_code(code);
    assert!(kept.contains("crate::a") && kept.contains("crate::c") && !kept.contains("crate::b"));
}
