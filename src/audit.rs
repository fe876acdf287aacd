//! The audit trail: entries in tokenfence's `AuditEntry.to_dict()` form, in
//! a bounded log.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::decision::{Decision, PolicyResult, ShadowHit, Verdict};
use crate::policy::Policy;

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

    /// The entry `policy` makes for `verdict` on `tool` at `timestamp`: the
    /// fields of its result ([`Policy::result`]) with the context.
    pub fn of(
        policy: &Policy,
        tool: &str,
        verdict: Verdict,
        timestamp: f64,
        context: Option<C>,
    ) -> AuditEntry<C> {
        // The result's fields move into the entry: one allocation of the
        // tool name, not two.
        let r = policy.result(tool, verdict);
        AuditEntry {
            timestamp,
            tool: r.tool,
            decision: r.decision,
            reason: r.reason,
            matched_rule: r.matched_rule,
            context,
            shadow: r.shadow,
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

/// What an [`AuditLog`] keeps of each decision: the [`AuditEntry`] itself
/// (`AuditLog<C>`, the default), or only what the entry is made from
/// (`AuditLog<C, Verdict>`: the time, the tool name, the [`Verdict`] and the
/// context), the entry being made when the log is read. The second records
/// a decision without allocating anything (the names of the kept entries
/// share one buffer), for a binding whose checks cost little more than the
/// record; both keep, bound and drop the same entries.
pub trait Keeps<C> {
    /// One kept decision.
    type Kept;
    /// What it counts against the log's byte bound: its tool name and its
    /// reason.
    fn weight(kept: &Self::Kept) -> usize;
}

impl<C> Keeps<C> for AuditEntry<C> {
    type Kept = AuditEntry<C>;
    fn weight(e: &AuditEntry<C>) -> usize {
        e.tool.len() + e.reason.len()
    }
}

impl<C> Keeps<C> for Verdict {
    type Kept = Recorded<C>;
    fn weight(r: &Recorded<C>) -> usize {
        r.name + r.reason
    }
}

/// A decision as an `AuditLog<C, Verdict>` keeps it; its tool name is in
/// the log's buffer of names.
#[derive(Clone, Debug)]
pub struct Recorded<C> {
    timestamp: f64,
    verdict: Verdict,
    /// The bytes of the tool name.
    name: usize,
    /// The bytes of the reason.
    reason: usize,
    context: Option<C>,
}

/// Past this many bytes, the buffer of names of an `AuditLog<C, Verdict>`
/// is given back to the allocator when mostly empty (after a burst of long
/// names).
const NAMES_KEEP: usize = 64 << 10;

/// A bounded audit log: past `capacity` entries, or past `max_bytes` of tool
/// names and reasons, the oldest go first, and [`AuditLog::dropped`] counts
/// them, so a reader can tell that the log is not complete. An
/// `on_decision` sink sees every entry regardless. `K` is what it keeps of
/// each entry: the [`AuditEntry`] (the default; [`AuditLog::push`],
/// [`AuditLog::entries`]) or the [`Verdict`] ([`AuditLog::record`],
/// [`AuditLog::entries_of`]).
pub struct AuditLog<C = JsonMap, K: Keeps<C> = AuditEntry<C>> {
    kept: VecDeque<K::Kept>,
    /// The tool names of the kept entries of an `AuditLog<C, Verdict>`,
    /// back to back, oldest first, from `names_start` on (before it: the
    /// names of dropped entries, removed once they are half the buffer).
    /// Empty for an `AuditLog<C>`.
    names: Vec<u8>,
    names_start: usize,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    dropped: u64,
}

impl<C, K: Keeps<C>> Clone for AuditLog<C, K>
where
    K::Kept: Clone,
{
    fn clone(&self) -> Self {
        AuditLog {
            kept: self.kept.clone(),
            names: self.names.clone(),
            names_start: self.names_start,
            capacity: self.capacity,
            max_bytes: self.max_bytes,
            bytes: self.bytes,
            dropped: self.dropped,
        }
    }
}

impl<C, K: Keeps<C>> std::fmt::Debug for AuditLog<C, K>
where
    K::Kept: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("kept", &self.kept)
            .field("capacity", &self.capacity)
            .field("max_bytes", &self.max_bytes)
            .field("bytes", &self.bytes)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
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

impl<C, K: Keeps<C>> Default for AuditLog<C, K> {
    fn default() -> Self {
        AuditLog::with_capacity(DEFAULT_AUDIT_CAPACITY)
    }
}

impl<C, K: Keeps<C>> AuditLog<C, K> {
    /// A log that keeps at most `capacity` entries (0 keeps none) and
    /// [`DEFAULT_AUDIT_MAX_BYTES`] of tool names and reasons.
    pub fn with_capacity(capacity: usize) -> AuditLog<C, K> {
        AuditLog::with_limits(capacity, DEFAULT_AUDIT_MAX_BYTES)
    }

    /// A log that keeps at most `capacity` entries and `max_bytes` of tool
    /// names and reasons (the newest entry is always kept while the
    /// capacity is not 0, however large).
    pub fn with_limits(capacity: usize, max_bytes: usize) -> AuditLog<C, K> {
        AuditLog {
            kept: VecDeque::with_capacity(capacity.min(1024)),
            names: Vec::new(),
            names_start: 0,
            capacity,
            max_bytes,
            bytes: 0,
            dropped: 0,
        }
    }

    /// The bounds, once for both kinds of log: drops the oldest entries
    /// until one of weight `w` fits, handing each to `gone`. False when the
    /// capacity is 0: the new entry is dropped itself (and counted).
    fn make_room(&mut self, w: usize, mut gone: impl FnMut(K::Kept)) -> bool {
        if self.capacity == 0 {
            self.dropped += 1;
            return false;
        }
        while !self.kept.is_empty()
            && (self.kept.len() >= self.capacity || self.bytes + w > self.max_bytes)
        {
            if let Some(old) = self.kept.pop_front() {
                self.bytes -= K::weight(&old);
                self.dropped += 1;
                gone(old);
            }
        }
        self.bytes += w;
        true
    }

    /// The most bytes of tool names and reasons kept at once.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
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
        self.kept.clear();
        self.names.clear();
        self.names.shrink_to(NAMES_KEEP);
        self.names_start = 0;
        self.bytes = 0;
        self.dropped = 0;
    }
}

impl<C> AuditLog<C> {
    /// Appends an entry, dropping the oldest past the capacity. Returns the
    /// dropped entry (the new one itself when the capacity is 0), so a
    /// binding that holds a lock around the log can release it first and
    /// free the entry outside.
    pub fn push(&mut self, entry: AuditEntry<C>) -> Evicted<C> {
        let mut evicted = Evicted {
            first: None,
            rest: Vec::new(),
        };
        let w = <AuditEntry<C> as Keeps<C>>::weight(&entry);
        if self.make_room(w, |old| evicted.add(old)) {
            self.kept.push_back(entry);
        } else {
            evicted.add(entry);
        }
        evicted
    }

    /// The kept entries, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &AuditEntry<C>> + DoubleEndedIterator {
        self.kept.iter()
    }
}

impl<C> AuditLog<C, Verdict> {
    /// Appends the entry `policy` makes for `verdict` on `tool` at
    /// `timestamp` with `context` ([`AuditEntry::of`]), keeping only what it
    /// is made from; drops the oldest past the bounds, as
    /// [`AuditLog::push`]. Read it with the same policy
    /// ([`AuditLog::entries_of`]).
    pub fn record(
        &mut self,
        policy: &Policy,
        tool: &str,
        verdict: Verdict,
        timestamp: f64,
        context: Option<C>,
    ) {
        let reason = policy.reason(verdict).len();
        let mut gone = 0;
        if !self.make_room(tool.len() + reason, |old| gone += old.name) {
            return;
        }
        self.names_start += gone;
        let live = self.names.len() - self.names_start;
        if self.names_start >= live {
            // The dropped names are half the buffer or more: move the kept
            // ones to its front (each byte moves about once in its life).
            self.names.drain(..self.names_start);
            self.names_start = 0;
            if self.names.capacity() > NAMES_KEEP && live + tool.len() < self.names.capacity() / 4 {
                // Mostly empty after long names: give the memory back.
                self.names
                    .shrink_to(NAMES_KEEP.max(2 * (live + tool.len())));
            }
        }
        self.names.extend_from_slice(tool.as_bytes());
        self.kept.push_back(Recorded {
            timestamp,
            verdict,
            name: tool.len(),
            reason,
            context,
        });
    }

    /// The kept entries, oldest first, made by `policy` (the policy that
    /// decided them): the entries an `AuditLog<C>` would hold.
    pub fn entries_of<'a>(
        &'a self,
        policy: &'a Policy,
    ) -> impl ExactSizeIterator<Item = AuditEntry<C>> + 'a
    where
        C: Clone,
    {
        let mut start = self.names_start;
        self.kept.iter().map(move |r| {
            let name = &self.names[start..start + r.name];
            start += r.name;
            // The bytes of a &str: always UTF-8.
            let tool = String::from_utf8_lossy(name).into_owned();
            let mut entry = AuditEntry::of(policy, "", r.verdict, r.timestamp, r.context.clone());
            entry.tool = tool;
            entry
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy whose verdicts cover every kind of entry: a matched rule,
    /// none, a rule with conditions (its id as the matched rule), shadow
    /// rules, an approval's outcome with a reason made on demand.
    fn policy() -> Policy {
        Policy::from_json(
            r#"{
                "allow": ["read_*"],
                "deny": ["drop_*"],
                "require_approval": ["send_*"],
                "rules": [
                    {"id": "big-refunds", "tool": "refund*", "decision": "deny", "when": {"amount": {"gt": 100}}},
                    {"id": "watch-reads", "tool": "read_*", "decision": "deny", "mode": "shadow", "when": {"path": {"glob": "/etc/*"}}}
                ]
            }"#,
        )
        .unwrap()
    }

    /// The same decisions into an `AuditLog<C>` (through the flow's
    /// default) and an `AuditLog<C, Verdict>`: the same entries, in the
    /// same order, under the same bounds.
    fn both(capacity: usize, max_bytes: usize, calls: &[(&str, serde_json::Value)]) {
        let p = policy();
        let mut full: AuditLog = AuditLog::with_limits(capacity, max_bytes);
        let mut compact: AuditLog<JsonMap, Verdict> = AuditLog::with_limits(capacity, max_bytes);
        for (i, (tool, args)) in calls.iter().enumerate() {
            let mut v = p.evaluate_call(tool, args.as_object().unwrap());
            if i % 3 == 2 {
                // An approver's answer (send_* needs approval).
                v = p.resolve_verdict(v, (i / 6) % 2 == 0);
            }
            let ctx = (i % 2 == 0).then(|| {
                let mut m = JsonMap::new();
                m.insert("i".into(), i.into());
                m
            });
            let t = 1_700_000_000.0 + i as f64 / 8.0;
            drop(full.push(AuditEntry::of(&p, tool, v, t, ctx.clone())));
            compact.record(&p, tool, v, t, ctx);
            let a: Vec<AuditEntry> = full.entries().cloned().collect();
            let b: Vec<AuditEntry> = compact.entries_of(&p).collect();
            assert_eq!(a, b, "after call {i}");
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap()
            );
            assert_eq!(
                (full.len(), full.dropped()),
                (compact.len(), compact.dropped())
            );
        }
        if capacity == 10_000 {
            // Every kind of entry was compared.
            let kinds: Vec<AuditEntry> = compact.entries_of(&p).collect();
            assert!(kinds.iter().any(|e| !e.shadow.is_empty()));
            assert!(kinds.iter().any(|e| e.matched_rule.is_none()));
            assert!(kinds
                .iter()
                .any(|e| e.matched_rule.as_deref() == Some("big-refunds")));
            assert!(kinds
                .iter()
                .any(|e| e.reason.starts_with("approved via callback")));
            assert!(kinds
                .iter()
                .any(|e| e.reason.starts_with("approval denied via callback")));
            assert!(kinds.iter().any(|e| e.context.is_some()));
        }
        full.clear();
        compact.clear();
        assert_eq!((compact.len(), compact.dropped()), (0, 0));
        assert_eq!(compact.entries_of(&p).count(), 0);
    }

    fn calls(n: usize) -> Vec<(String, serde_json::Value)> {
        let tools = [
            "read_file",
            "drop_table",
            "send_mail",
            "refund",
            "other",
            "réad_é",
        ];
        (0..n)
            .map(|i| {
                let tool = tools[i % tools.len()];
                let args = match tool {
                    "refund" => serde_json::json!({"amount": (i * 37) % 200}),
                    "read_file" => serde_json::json!({"path": if i % 4 == 0 { "/etc/passwd" } else { "/tmp/x" }}),
                    _ => serde_json::json!({}),
                };
                // Names of every length, some long.
                (format!("{tool}{}", "x".repeat((i * 13) % 300)), args)
            })
            .collect()
    }

    #[test]
    fn a_log_of_verdicts_keeps_the_entries_a_log_of_entries_keeps() {
        let owned = calls(400);
        let c: Vec<(&str, serde_json::Value)> =
            owned.iter().map(|(t, a)| (t.as_str(), a.clone())).collect();
        for (capacity, max_bytes) in [
            (0, DEFAULT_AUDIT_MAX_BYTES),
            (1, DEFAULT_AUDIT_MAX_BYTES),
            (7, DEFAULT_AUDIT_MAX_BYTES),
            (10_000, DEFAULT_AUDIT_MAX_BYTES),
            (50, 2_000),
            (1_000, 100),
        ] {
            both(capacity, max_bytes, &c);
        }
    }

    #[test]
    fn a_log_of_verdicts_gives_back_the_memory_of_long_names() {
        let p = policy();
        let mut log: AuditLog<JsonMap, Verdict> = AuditLog::with_capacity(1);
        let v = p.evaluate("read_x");
        for round in 0..5 {
            log.record(&p, &"y".repeat(1 << 20), v, 0.0, None);
            assert!(log.names.capacity() < 3 << 20, "round {round}");
        }
        log.record(&p, "read_x", v, 0.0, None);
        assert!(log.names.capacity() <= NAMES_KEEP);
        assert_eq!(log.entries_of(&p).next().unwrap().tool, "read_x");
        // Steady state with small names: the buffer stays small.
        let mut log: AuditLog<JsonMap, Verdict> = AuditLog::with_capacity(100);
        for i in 0..100_000 {
            log.record(&p, &format!("read_{i}"), v, 0.0, None);
        }
        assert!(log.names.capacity() <= 2 * NAMES_KEEP);
        let tools: Vec<String> = log.entries_of(&p).map(|e| e.tool).collect();
        assert_eq!(tools.first().unwrap(), "read_99900");
        assert_eq!(tools.last().unwrap(), "read_99999");
    }
}
