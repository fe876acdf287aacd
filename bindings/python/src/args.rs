//! A call's arguments, from Python to the core: only the values at the
//! argument paths that the conditions of the rules for the called tool read
//! ([`agentguard::Policy::argument_paths_for`]), with the objects along each
//! path, become JSON. A call with a huge argument dict costs nothing for
//! what no condition reads, and what no condition reads may be anything.
//!
//! Where a condition reads a value, it must be JSON data: `dict` (or any
//! `Mapping`) with `str` keys, `list`, `tuple`, `str`, `int`, `float`,
//! `bool`, `None`. Anything else is an error naming its path
//! (`args.recipient.email: ...`): a `TypeError` for a value of another type
//! (a set, bytes, an object) or a non-`str` key, a `ValueError` for a string
//! with a lone surrogate (never repaired) or an `int` outside the 64-bit
//! range the core compares exactly (-2**63 to 2**64-1). A value that is
//! only looked into, on the way to a longer path, must be a mapping, or
//! JSON data that is not one (the path below it is then missing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::convert;

/// How deep lists and dicts may nest inside a value a condition reads (a
/// cyclic list would nest forever).
const MAX_DEPTH: usize = 200;

/// Argument paths, as a tree of their segments.
pub struct ArgPaths {
    root: Node,
}

/// The argument paths each tool name reads, made once per name: agents call
/// a handful of tools, over and over.
pub struct PathsByTool {
    cache: Mutex<HashMap<Box<str>, Arc<ArgPaths>>>,
}

/// Names cached: at most this many, each shorter than `CACHED_NAME_BYTES`
/// (longer names are looked up afresh each call: they are rare, and their
/// matching dominates anyway).
const CACHED_NAMES: usize = 1024;
const CACHED_NAME_BYTES: usize = 256;

impl PathsByTool {
    pub fn new() -> PathsByTool {
        PathsByTool {
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The paths the conditions of the rules that apply to `tool` read
    /// (`detach`: match the name with the GIL released, for long names).
    pub fn get(
        &self,
        py: Python<'_>,
        core: &agentguard::Policy,
        tool: &str,
        detach: bool,
    ) -> Arc<ArgPaths> {
        let cacheable = tool.len() < CACHED_NAME_BYTES;
        if cacheable {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(paths) = cache.get(tool) {
                return paths.clone();
            }
        }
        let found = if detach {
            py.detach(|| core.argument_paths_for(tool))
        } else {
            core.argument_paths_for(tool)
        };
        let paths = Arc::new(ArgPaths::new(py, &found));
        if cacheable {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= CACHED_NAMES {
                cache.clear();
            }
            cache.insert(tool.into(), paths.clone());
        }
        paths
    }
}

#[derive(Default)]
struct Node {
    children: Vec<Child>,
    /// Child positions by name, for walking a dict smaller than the node.
    by_name: HashMap<String, usize>,
}

struct Child {
    name: String,
    /// The name as an interned Python string: dict lookups hash it once.
    key: Py<PyString>,
    /// The segments from the root to here.
    path: Vec<String>,
    /// A condition reads the value here (all of it is converted).
    leaf: bool,
    /// Longer paths through here.
    node: Node,
}

/// The caller's `args`: a `dict`, or another `Mapping`.
enum Source<'py> {
    Dict(Bound<'py, PyDict>),
    Mapping(Bound<'py, PyMapping>),
}

impl<'py> Source<'py> {
    /// A mapping to look into; `None` for anything else.
    fn of(obj: &Bound<'py, PyAny>) -> Option<Source<'py>> {
        if let Ok(d) = obj.cast::<PyDict>() {
            return Some(Source::Dict(d.clone()));
        }
        obj.cast::<PyMapping>()
            .ok()
            .map(|m| Source::Mapping(m.clone()))
    }

    fn get(&self, key: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self {
            Source::Dict(d) => d.get_item(key),
            Source::Mapping(m) => match m.get_item(key) {
                Ok(v) => Ok(Some(v)),
                Err(e) if e.is_instance_of::<PyKeyError>(m.py()) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }
}

/// Why a value is not JSON data, and where below the path it sits.
enum Bad {
    /// A value of a type JSON has no place for (`TypeError`).
    Type(Vec<Seg>, String),
    /// A value of the right type that cannot be held (`ValueError`).
    Value(Vec<Seg>, String),
    /// The caller's own mapping raised: propagated as it is.
    Raised(PyErr),
}

enum Seg {
    Key(String),
    Index(usize),
}

impl Bad {
    fn at(mut self, seg: Seg) -> Bad {
        if let Bad::Type(at, _) | Bad::Value(at, _) = &mut self {
            at.insert(0, seg);
        }
        self
    }

    /// The Python exception, its message starting with the path
    /// (`args.to[1]: ...`); it carries `path` and the core-style `kind`.
    fn into_err(self, py: Python<'_>, path: &[String]) -> PyErr {
        let (at, message, type_error) = match self {
            Bad::Raised(e) => return e,
            Bad::Type(at, m) => (at, m, true),
            Bad::Value(at, m) => (at, m, false),
        };
        let mut where_ = format!("args.{}", path.join("."));
        for seg in at {
            match seg {
                Seg::Key(k) => {
                    where_.push('.');
                    where_.push_str(&k);
                }
                Seg::Index(i) => where_.push_str(&format!("[{i}]")),
            }
        }
        let text = format!("{where_}: {message}");
        let (err, kind) = if type_error {
            (PyTypeError::new_err(text), "wrong_type")
        } else {
            (PyValueError::new_err(text), "invalid_value")
        };
        let value = err.value(py);
        if let Err(e) = value
            .setattr("path", where_)
            .and_then(|_| value.setattr("kind", kind))
        {
            return e;
        }
        err
    }
}

impl ArgPaths {
    /// The tree of `paths`.
    pub fn new(py: Python<'_>, paths: &[&[String]]) -> ArgPaths {
        let mut root = Node::default();
        for path in paths {
            let mut node = &mut root;
            for (k, seg) in path.iter().enumerate() {
                let i = match node.by_name.get(seg) {
                    Some(&i) => i,
                    None => {
                        node.children.push(Child {
                            name: seg.clone(),
                            key: PyString::intern(py, seg).unbind(),
                            path: path[..=k].to_vec(),
                            leaf: false,
                            node: Node::default(),
                        });
                        node.by_name.insert(seg.clone(), node.children.len() - 1);
                        node.children.len() - 1
                    }
                };
                let child = &mut node.children[i];
                if k + 1 == path.len() {
                    child.leaf = true;
                }
                node = &mut child.node;
            }
        }
        ArgPaths { root }
    }

    /// Whether there is no path at all.
    pub fn is_empty(&self) -> bool {
        self.root.children.is_empty()
    }

    /// `args` as the core's JSON object, holding only the values at the
    /// paths (and the objects along them); a value there that is not JSON
    /// data is an error naming its path.
    pub fn marshal(&self, args: &Bound<'_, PyAny>) -> PyResult<Map<String, Value>> {
        let Some(source) = Source::of(args) else {
            return Err(not_a_mapping(args));
        };
        object(&self.root, &source)
    }
}

/// The `TypeError` for `args` that is not a mapping.
pub fn not_a_mapping(args: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "args must be a mapping (a dict of argument names to values) or None, not {}",
        convert::type_name(args)
    ))
}

/// Whether `args` is acceptable as a call's arguments: `None` or a mapping.
pub fn check_type(args: &Bound<'_, PyAny>) -> PyResult<()> {
    if args.is_none() || args.cast::<PyDict>().is_ok() || args.cast::<PyMapping>().is_ok() {
        Ok(())
    } else {
        Err(not_a_mapping(args))
    }
}

/// The children of `node` found in `source`, as a JSON object.
fn object(node: &Node, source: &Source<'_>) -> PyResult<Map<String, Value>> {
    let mut map = Map::new();
    // A dict with fewer keys than the node has children: walk the dict.
    if let Source::Dict(d) = source {
        if d.len() < node.children.len() {
            for (k, v) in d.iter() {
                let Ok(Ok(name)) = k.cast::<PyString>().map(|s| s.to_str()) else {
                    continue; // not a name any path has
                };
                if let Some(&i) = node.by_name.get(name) {
                    child(&node.children[i], &v, &mut map)?;
                }
            }
            return Ok(map);
        }
    }
    let py = match source {
        Source::Dict(d) => d.py(),
        Source::Mapping(m) => m.py(),
    };
    for c in &node.children {
        if let Some(v) = source.get(c.key.bind(py))? {
            child(c, &v, &mut map)?;
        }
    }
    Ok(map)
}

/// The value `v` found at `c`, into `map`.
fn child(c: &Child, v: &Bound<'_, PyAny>, map: &mut Map<String, Value>) -> PyResult<()> {
    let py = v.py();
    if c.leaf {
        let json = value(v, 0).map_err(|bad| bad.into_err(py, &c.path))?;
        map.insert(c.name.clone(), json);
        return Ok(());
    }
    // Only paths below read it: a mapping is looked into; other JSON data
    // is not an object, so the paths below are missing.
    if let Some(source) = Source::of(v) {
        let inner = object(&c.node, &source)?;
        if !inner.is_empty() {
            map.insert(c.name.clone(), Value::Object(inner));
        }
        return Ok(());
    }
    if is_json_scalar_or_array(v) {
        return Ok(());
    }
    let bad = Bad::Type(
        Vec::new(),
        format!(
            "expected a dict to look into (or other JSON data), got {}",
            convert::type_name(v)
        ),
    );
    Err(bad.into_err(py, &c.path))
}

fn is_json_scalar_or_array(v: &Bound<'_, PyAny>) -> bool {
    v.is_none()
        || v.cast::<PyString>().is_ok()
        || v.cast::<PyInt>().is_ok()
        || v.cast::<PyFloat>().is_ok()
        || v.cast::<PyList>().is_ok()
        || v.cast::<PyTuple>().is_ok()
}

/// A value a condition reads, as JSON, all of it.
fn value(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, Bad> {
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_str() {
            Ok(s) => Ok(Value::String(s.to_string())),
            Err(_) => Err(Bad::Value(Vec::new(), lone_surrogate("the string", s))),
        };
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        // Before int: a bool is JSON true / false, never 1 / 0.
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(Bad::Value(
            Vec::new(),
            "an int outside -2**63 .. 2**64-1: conditions compare numbers exactly, and \
             cannot hold this one"
                .to_string(),
        ));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        // NaN and the infinities are unknown to every operator
        // (CONDITIONS.md: "NaN or an infinity is unknown"), but a value all
        // the same (`present` holds). JSON cannot hold them, so they become
        // the empty object `{}`, which is exactly that: an object is unknown
        // to glob, in, the comparisons, the path operators and command, an
        // object inside an array is an unknown element, and `present` sees
        // a value that is there and not null.
        return Ok(Number::from_f64(f.value())
            .map(Value::Number)
            .unwrap_or_else(|| Value::Object(Map::new())));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    let deeper = |items: &mut dyn Iterator<Item = Bound<'_, PyAny>>| -> Result<Value, Bad> {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        items
            .enumerate()
            .map(|(i, item)| value(&item, depth + 1).map_err(|b| b.at(Seg::Index(i))))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    };
    if let Ok(list) = obj.cast::<PyList>() {
        return deeper(&mut list.iter());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return deeper(&mut tuple.iter());
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        return entries(dict.iter(), depth);
    }
    if let Ok(mapping) = obj.cast::<PyMapping>() {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        let items = mapping
            .items()
            .and_then(|items| {
                items
                    .iter()
                    .map(|kv| kv.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>())
                    .collect::<PyResult<Vec<_>>>()
            })
            .map_err(Bad::Raised)?;
        return entries(items.into_iter(), depth);
    }
    Err(Bad::Type(
        Vec::new(),
        format!(
            "expected JSON data (a dict, list, tuple, str, int, float, bool or None), got {}",
            convert::type_name(obj)
        ),
    ))
}

/// A dict's or mapping's items as a JSON object: `str` keys only, each once.
fn entries<'py>(
    items: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    depth: usize,
) -> Result<Value, Bad> {
    let mut map = Map::new();
    for (k, v) in items {
        let key = match k.cast::<PyString>() {
            Ok(s) => match s.to_str() {
                Ok(key) => key.to_string(),
                Err(_) => return Err(Bad::Value(Vec::new(), lone_surrogate("a key", s))),
            },
            Err(_) => {
                return Err(Bad::Type(
                    Vec::new(),
                    format!(
                        "a key must be a str to be JSON data, got {} {}",
                        convert::type_name(&k),
                        short_repr(&k)
                    ),
                ))
            }
        };
        // A Mapping's items() may repeat a key: never let the last one win.
        if map.contains_key(&key) {
            return Err(Bad::Value(
                vec![Seg::Key(key)],
                "a key given twice by a mapping's items()".to_string(),
            ));
        }
        let item = value(&v, depth + 1).map_err(|b| b.at(Seg::Key(key.clone())))?;
        map.insert(key, item);
    }
    Ok(Value::Object(map))
}

fn too_deep() -> Bad {
    Bad::Value(
        Vec::new(),
        format!("lists and dicts nested deeper than {MAX_DEPTH} levels (or a cycle)"),
    )
}

fn lone_surrogate(what: &str, s: &Bound<'_, PyString>) -> String {
    let at = s
        .try_iter()
        .ok()
        .and_then(|chars| {
            chars.flatten().position(|c| {
                c.cast::<PyString>()
                    .ok()
                    .and_then(|c| c.to_str().err())
                    .is_some()
            })
        })
        .map(|i| format!(" at index {i}"))
        .unwrap_or_default();
    format!(
        "{what} is not well-formed Unicode (a lone surrogate{at}); agentguard refuses it \
         rather than deciding on a repaired string"
    )
}

/// `repr(obj)`, cut short if long.
fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    const MAX_CHARS: usize = 80;
    let repr = obj
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "(its repr() raised)".to_string());
    match repr.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &repr[..cut]),
        None => repr,
    }
}
