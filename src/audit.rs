//! The audit trail: entries in tokenfence's `AuditEntry.to_dict()` form, in
//! a bounded log.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::decision::{Decision, PolicyResult, ShadowHit};

/// The default number of entries an [`AuditLog`] keeps.
pub const DEFAULT_AUDIT_CAPACITY: usize = 10_000;

/// The JSON object type used as the default audit context.
pub type JsonMap = serde_json::Map<String, serde_json::Value>;

/// One recorded decision.
///
/// `C` is the context type: a JSON object in Rust and JavaScript, a copy of
/// the caller's dict in Python. Either way a copy made at decision time: an
/// entry is a record of the moment, never a view of an object the caller
/// can change afterwards.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry<C = JsonMap> {
    /// Seconds since the Unix epoch.
    pub timestamp: f64,
    /// The tool name.
    pub tool: String,
    /// The decision.
    pub decision: Decision,
    /// The reason string.
    pub reason: Arc<str>,
    /// The pattern that decided, if any.
    pub matched_rule: Option<Arc<str>>,
    /// The caller's context; `None` when absent or empty.
    pub context: Option<C>,
    /// The shadow rules that fired (not enforced); left out of the JSON
    /// form when empty.
    pub shadow: Vec<ShadowHit>,
}

impl<C> AuditEntry<C> {
    /// An entry for `result` at `timestamp`.
    pub fn new(result: &PolicyResult, timestamp: f64, context: Option<C>) -> AuditEntry<C> {
        AuditEntry {
            timestamp,
            tool: result.tool.clone(),
            decision: result.decision,
            reason: result.reason.clone(),
            matched_rule: result.matched_rule.clone(),
            context,
            shadow: result.shadow.clone(),
        }
    }

    /// The matched rule as tokenfence's `to_dict()` writes it: left out when
    /// absent or empty (tokenfence tests it for truthiness).
    pub fn dict_matched_rule(&self) -> Option<&str> {
        self.matched_rule.as_deref().filter(|r| !r.is_empty())
    }
}

/// Serialises as tokenfence's `AuditEntry.to_dict()`: `timestamp`, `tool`,
/// `decision`, `reason`, then `matched_rule` and `context` only when present,
/// and, beyond tokenfence, `shadow` only when a shadow rule fired.
impl<C: Serialize> Serialize for AuditEntry<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rule = self.dict_matched_rule();
        let len = 4
            + usize::from(rule.is_some())
            + usize::from(self.context.is_some())
            + usize::from(!self.shadow.is_empty());
        let mut map = s.serialize_map(Some(len))?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("tool", &self.tool)?;
        map.serialize_entry("decision", self.decision.as_str())?;
        map.serialize_entry("reason", &*self.reason)?;
        if let Some(rule) = rule {
            map.serialize_entry("matched_rule", rule)?;
        }
        if let Some(ctx) = &self.context {
            map.serialize_entry("context", ctx)?;
        }
        if !self.shadow.is_empty() {
            map.serialize_entry("shadow", &self.shadow)?;
        }
        map.end()
    }
}

/// The default bound on the bytes of tool names and reasons an
/// [`AuditLog`] keeps: 64 MiB. Tool names come from the model; without it a
/// stream of megabyte names could fill memory (10 000 of them are 10 GiB,
/// past the 4 GiB a wasm32 module can address).
pub const DEFAULT_AUDIT_MAX_BYTES: usize = 64 << 20;

/// A bounded audit log: past `capacity` entries, or past `max_bytes` of tool
/// names and reasons, the oldest go first, and [`AuditLog::dropped`] counts
/// them, so a reader can tell that the log is not complete. An
/// `on_decision` sink sees every entry regardless.
#[derive(Clone, Debug)]
pub struct AuditLog<C = JsonMap> {
    entries: VecDeque<AuditEntry<C>>,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    dropped: u64,
}

/// The entries one [`AuditLog::push`] removed to stay within the log's
/// bounds (none or one, but for a push past the byte bound), handed back so
/// a binding that holds a lock around the log can free them after
/// releasing it.
#[derive(Debug)]
pub struct Evicted<C> {
    first: Option<AuditEntry<C>>,
    rest: Vec<AuditEntry<C>>,
}

impl<C> Evicted<C> {
    /// How many entries were removed.
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Whether no entry was removed.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn add(&mut self, entry: AuditEntry<C>) {
        if self.first.is_none() {
            self.first = Some(entry);
        } else {
            self.rest.push(entry);
        }
    }
}

impl<C> IntoIterator for Evicted<C> {
    type Item = AuditEntry<C>;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<AuditEntry<C>>, std::vec::IntoIter<AuditEntry<C>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// What an entry counts against [`AuditLog::max_bytes`].
fn weight<C>(e: &AuditEntry<C>) -> usize {
    e.tool.len() + e.reason.len()
}

impl<C> Default for AuditLog<C> {
    fn default() -> Self {
        AuditLog::with_capacity(DEFAULT_AUDIT_CAPACITY)
    }
}

impl<C> AuditLog<C> {
    /// A log that keeps at most `capacity` entries (0 keeps none) and
    /// [`DEFAULT_AUDIT_MAX_BYTES`] of tool names and reasons.
    pub fn with_capacity(capacity: usize) -> AuditLog<C> {
        AuditLog::with_limits(capacity, DEFAULT_AUDIT_MAX_BYTES)
    }

    /// A log that keeps at most `capacity` entries and `max_bytes` of tool
    /// names and reasons (the newest entry is always kept while the
    /// capacity is not 0, however large).
    pub fn with_limits(capacity: usize, max_bytes: usize) -> AuditLog<C> {
        AuditLog {
            entries: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            max_bytes,
            bytes: 0,
            dropped: 0,
        }
    }

    /// Appends an entry, dropping the oldest past the capacity. Returns the
    /// dropped entry (the new one itself when the capacity is 0), so a
    /// binding that holds a lock around the log can release it first and
    /// free the entry outside.
    pub fn push(&mut self, entry: AuditEntry<C>) -> Evicted<C> {
        let mut evicted = Evicted {
            first: None,
            rest: Vec::new(),
        };
        if self.capacity == 0 {
            self.dropped += 1;
            evicted.add(entry);
            return evicted;
        }
        let w = weight(&entry);
        while !self.entries.is_empty()
            && (self.entries.len() >= self.capacity || self.bytes + w > self.max_bytes)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= weight(&old);
                self.dropped += 1;
                evicted.add(old);
            }
        }
        self.bytes += w;
        self.entries.push_back(entry);
        evicted
    }

    /// The most bytes of tool names and reasons kept at once.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The kept entries, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &AuditEntry<C>> + DoubleEndedIterator {
        self.entries.iter()
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most entries kept at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries were dropped to respect the capacity since the last
    /// [`AuditLog::clear`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Removes every entry and resets the dropped count.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.dropped = 0;
    }
}
