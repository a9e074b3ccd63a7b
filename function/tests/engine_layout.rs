//! The engine's layout, as its module docs promise it: no import cycle between its modules, a `//!` doc
//! on every module, and no module over `MAX_LINES` lines. Read from the sources: a module's references
//! are its `use` declarations and the paths in its code (`super::…`, `crate::engine::…`, and paths
//! through the modules it declares), test code left out.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 400;

/// Every engine source file, by module path (`engine::decode::jpeg`).
fn modules() -> BTreeMap<String, PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join("engine")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(&root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|l| l == "mod") {
                    parts.pop();
                }
                out.insert(parts.join("::"), p);
            }
        }
    }
    out
}

/// `source` without its comments, string literals and `#[cfg(test)]` items (test code may reach
/// anywhere).
fn code(source: &str) -> String {
    let mut out = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            // Skip the item: to the end of its block, or a one-line `mod tests;`.
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                opened |= l.contains('{');
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        // `pub(in crate::engine::…)` restricts visibility; it imports nothing.
        let line = match (line.find("pub(in "), line.find(')')) {
            (Some(i), Some(j)) if j > i => format!("{}{}", &line[..i], &line[j + 1..]),
            _ => line.to_string(),
        };
        // String literals may hold `::` (messages); drop their contents.
        let mut in_str = false;
        for c in line.chars() {
            if c == '"' {
                in_str = !in_str;
                out.push(c);
            } else if !in_str {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// The child modules `code` declares (`mod x;`, `pub mod x;`, `pub(super) mod x;`).
fn children(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.split_once("mod ")?;
            let prefix = rest.0.trim();
            (prefix.is_empty() || prefix.starts_with("pub")).then_some(())?;
            let name = rest.1.strip_suffix(';')?;
            Some(name.trim().to_string())
        })
        .collect()
}

/// Expands the use tree `tree` (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap().trim().to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" {
                prefix.trim_end_matches("::").to_string()
            } else {
                format!("{prefix}{p}")
            }
        })
        .collect()
}

/// The paths a module's code refers to: its use trees, expanded, and every `a::b::c` in its code.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        let after = &rest[i + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if before.is_none_or(|c| !c.is_alphanumeric() && c != '_') {
            out.extend(expand(&after[..end].replace('\n', " ")));
        }
        rest = &after[end.min(after.len())..];
    }
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_alphabetic() || bytes[i] == '_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_alphanumeric()
                    || bytes[i] == '_'
                    || (bytes[i] == ':' && bytes.get(i + 1) == Some(&':'))
                    || (bytes[i] == ':' && i > 0 && bytes[i - 1] == ':'))
            {
                i += 1;
            }
            let word: String = bytes[start..i].iter().collect();
            if word.contains("::") && (start == 0 || bytes[start - 1] != ':') {
                out.push(word);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The engine module that `path`, written in module `from` (which declares `children`), names: its
/// longest prefix that is a module.
fn resolve(
    from: &str,
    children: &[String],
    path: &str,
    modules: &BTreeMap<String, PathBuf>,
) -> Option<String> {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> = from.split("::").map(String::from).collect();
    // A file-less module (`mod x { … }` inline) is not in `modules`; neither are foreign crates.
    match segs.first().copied() {
        Some("crate") => {
            base.clear();
            segs.remove(0);
        }
        Some("super") => {
            while segs.first() == Some(&"super") {
                segs.remove(0);
                base.pop();
            }
        }
        Some("self") => {
            segs.remove(0);
        }
        Some(first) if children.iter().any(|c| c == first) => {}
        _ => return None,
    }
    let mut best = None;
    let mut cur = base.clone();
    if modules.contains_key(&cur.join("::")) {
        best = Some(cur.join("::"));
    }
    for s in segs {
        cur.push(s.to_string());
        if modules.contains_key(&cur.join("::")) {
            best = Some(cur.join("::"));
        }
    }
    best.filter(|b| b.starts_with("engine"))
}

#[test]
fn no_import_cycles_between_engine_modules() {
    let modules = modules();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, path) in &modules {
        let code = code(&std::fs::read_to_string(path).unwrap());
        let kids = children(&code);
        for p in paths(&code) {
            if let Some(to) = resolve(name, &kids, &p, &modules) {
                if &to != name {
                    edges.entry(name.clone()).or_default().insert(to);
                }
            }
        }
    }
    // A cycle exists iff some module reaches itself.
    let mut cycles = Vec::new();
    for start in modules.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    cycles.push(format!("{} -> {start}", trail.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut t = trail.clone();
                    t.push(next.clone());
                    stack.push((next.clone(), t));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
    // The checker sees the edges it should: decode reaches the parallel JPEG decoder through jpeg.
    assert!(edges["engine::decode"].contains("engine::decode::jpeg"));
    assert!(edges["engine::decode::jpeg"].contains("engine::decode::jpeg::parallel"));
}

#[test]
fn every_engine_module_has_a_doc_and_stays_small() {
    let mut wrong = Vec::new();
    for (name, path) in modules() {
        let text = std::fs::read_to_string(&path).unwrap();
        let test_file = path.file_name().is_some_and(|f| f == "tests.rs");
        if !test_file && !text.trim_start().starts_with("//!") {
            wrong.push(format!("{name}: no //! doc"));
        }
        let lines = text.lines().count();
        if lines > MAX_LINES {
            wrong.push(format!("{name}: {lines} lines (at most {MAX_LINES})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
