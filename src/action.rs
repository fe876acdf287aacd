//! Action policies: what each agent may send to and receive from other
//! agents, checked outside the agent by a gateway.
//!
//! An [`ActionPolicy`] belongs to one agent and one [`Direction`]: `send`
//! (the intents it may initiate) or `receive` (the intents it may be asked to
//! carry out). Its [`ActionMode`] is `open` (everything passes, the state of
//! an agent without a policy), `allowlist` (only intent types matching a
//! pattern pass) or `denylist` (everything but the matching intent types
//! passes). Patterns are fnmatch patterns over dotted intent types, with
//! exactly the semantics of [`crate::fnmatch`]: `intent.data.read.v1`,
//! `intent.data.read.*`, `intent.data.*`.
//!
//! [`ActionPolicies`] holds the policies of many agents and decides an
//! intent: the sender's `send` policy first, then the receiver's `receive`
//! policy. A block is a [`Violation`], whose JSON form is what a gateway
//! answers with its 403.
//!
//! ```
//! use agentguard::{ActionMode, ActionPolicies, ActionPolicy, Direction};
//!
//! let mut policies = ActionPolicies::new();
//! policies
//!     .set(
//!         "analytics-agent",
//!         ActionPolicy::new(
//!             Direction::Receive,
//!             ActionMode::Allowlist,
//!             ["intent.data.read.*", "intent.data.query.*"],
//!         ),
//!     )
//!     .unwrap();
//!
//! let to = "agent://myorg/production/analytics-agent";
//! let blocked = policies
//!     .check_intent("ops-agent", to, "intent.data.delete.v1")
//!     .unwrap()
//!     .expect("a delete is not in the allowlist");
//! assert_eq!(
//!     blocked.message,
//!     "Intent type 'intent.data.delete.v1' not in receive allowlist"
//! );
//! assert_eq!(blocked.address_id, "analytics-agent");
//! assert_eq!(
//!     serde_json::to_string(&blocked).unwrap(),
//!     r#"{"error":"action_policy_violation","message":"Intent type 'intent.data.delete.v1' not in receive allowlist","direction":"receive","address_id":"analytics-agent"}"#
//! );
//!
//! assert!(policies.check_intent("ops-agent", to, "intent.data.read.v1").unwrap().is_none());
//! // A malformed address is an error, never a silent pass.
//! assert!(policies.check_intent("ops-agent", "agent://myorg/analytics-agent", "intent.data.read.v1").is_err());
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::json::{parse_strict, quote, string_patterns, type_name};
use crate::set::PatternSet;

/// The longest agent id (and address segment) accepted, in characters.
pub const MAX_AGENT_ID_LEN: usize = 128;

/// The longest intent type accepted, in characters (see
/// [`check_intent_type`]).
pub const MAX_INTENT_TYPE_LEN: usize = 256;

/// The keys of an action policy object, in the order they are written.
pub const ACTION_POLICY_KEYS: [&str; 4] = ["direction", "mode", "patterns", "policy_id"];

/// Which way an intent travels, from the point of view of the agent that
/// owns a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Intents the agent initiates.
    Send,
    /// Intents the agent is asked to carry out.
    Receive,
}

impl Direction {
    /// `"send"` or `"receive"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Send => "send",
            Direction::Receive => "receive",
        }
    }

    /// Parses `"send"` or `"receive"`; anything else is an
    /// [`ErrorKind::InvalidValue`] error on the field `direction`.
    pub fn parse(text: &str) -> Result<Direction, Error> {
        match text {
            "send" => Ok(Direction::Send),
            "receive" => Ok(Direction::Receive),
            other => Err(Error::new(
                ErrorKind::InvalidValue,
                format!(
                    "expected \"send\" or \"receive\", got string {}",
                    quote(other)
                ),
            )
            .at("direction", None)),
        }
    }

    fn slot(self) -> usize {
        match self {
            Direction::Send => 0,
            Direction::Receive => 1,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an action policy treats intent types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionMode {
    /// Everything passes (the state of an agent without a policy).
    #[default]
    Open,
    /// Only intent types matching one of the patterns pass.
    Allowlist,
    /// Intent types matching one of the patterns are blocked; the rest pass.
    Denylist,
}

impl ActionMode {
    /// `"open"`, `"allowlist"` or `"denylist"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionMode::Open => "open",
            ActionMode::Allowlist => "allowlist",
            ActionMode::Denylist => "denylist",
        }
    }

    /// Parses a mode name; anything else is an [`ErrorKind::InvalidValue`]
    /// error on the field `mode`.
    pub fn parse(text: &str) -> Result<ActionMode, Error> {
        match text {
            "open" => Ok(ActionMode::Open),
            "allowlist" => Ok(ActionMode::Allowlist),
            "denylist" => Ok(ActionMode::Denylist),
            other => Err(Error::new(
                ErrorKind::InvalidValue,
                format!(
                    "expected \"open\", \"allowlist\" or \"denylist\", got string {}",
                    quote(other)
                ),
            )
            .at("mode", None)),
        }
    }
}

impl fmt::Display for ActionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One agent's policy for one direction.
///
/// Its JSON form is `{"direction", "mode", "patterns", "policy_id"?}`;
/// `direction` and `mode` are required, `patterns` defaults to `[]`, and
/// `policy_id` is an opaque label a store may attach (the gateway's
/// `pol_…`), carried but never interpreted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionPolicy {
    /// The direction the policy governs.
    pub direction: Direction,
    /// How the patterns are used.
    pub mode: ActionMode,
    /// fnmatch patterns over intent types, in order (for a denylist, the
    /// first that matches is the one a violation reports). Must be empty for
    /// [`ActionMode::Open`]; no pattern may be empty.
    pub patterns: Vec<String>,
    /// An opaque identifier for the policy, if its store assigns one.
    pub policy_id: Option<String>,
}

impl ActionPolicy {
    /// A policy without an id.
    pub fn new<I, S>(direction: Direction, mode: ActionMode, patterns: I) -> ActionPolicy
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ActionPolicy {
            direction,
            mode,
            patterns: patterns.into_iter().map(Into::into).collect(),
            policy_id: None,
        }
    }

    /// The same policy labelled with `policy_id`.
    pub fn with_id(mut self, policy_id: impl Into<String>) -> ActionPolicy {
        self.policy_id = Some(policy_id.into());
        self
    }

    /// Reads a policy from a parsed JSON value, strictly: an unknown key, a
    /// wrong type, an unknown mode or direction, or a missing `direction` or
    /// `mode` is an [`Error`] naming the field (and index).
    pub fn from_value(value: &Value) -> Result<ActionPolicy, Error> {
        parse_policy(value, "", false).map(|(_, p)| p)
    }

    /// Reads a policy from JSON text, strictly.
    pub fn from_json(text: &str) -> Result<ActionPolicy, Error> {
        ActionPolicy::from_value(&parse_strict(text, "action policy")?)
    }

    /// The policy as a JSON object (`policy_id` only when set).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        self.write_fields(&mut map);
        Value::Object(map)
    }

    fn write_fields(&self, map: &mut Map<String, Value>) {
        map.insert("direction".into(), self.direction.as_str().into());
        map.insert("mode".into(), self.mode.as_str().into());
        map.insert("patterns".into(), self.patterns.clone().into());
        if let Some(id) = &self.policy_id {
            map.insert("policy_id".into(), id.clone().into());
        }
    }

    /// Checks the rules a struct literal can break: no patterns for `open`,
    /// no empty pattern, no empty `policy_id`.
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_at("")
    }

    fn validate_at(&self, prefix: &str) -> Result<(), Error> {
        if self.mode == ActionMode::Open && !self.patterns.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidValue,
                "mode \"open\" takes no patterns (it lets every intent type pass); \
                 use \"allowlist\" or \"denylist\"",
            )
            .at(format!("{prefix}patterns"), None));
        }
        if let Some(i) = self.patterns.iter().position(String::is_empty) {
            return Err(Error::new(
                ErrorKind::InvalidValue,
                "a pattern must not be empty (no intent type is empty, so it would never match)",
            )
            .at(format!("{prefix}patterns"), Some(i)));
        }
        if self.policy_id.as_deref() == Some("") {
            return Err(Error::new(ErrorKind::InvalidValue, "must not be empty")
                .at(format!("{prefix}policy_id"), None));
        }
        Ok(())
    }
}

impl Serialize for ActionPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

/// A blocked intent: which policy blocked it and why.
///
/// Serialises to the gateway's 403 body,
/// `{"error": "action_policy_violation", "message", "direction",
/// "address_id", "pattern"?}`, with `pattern` present only for a denylist
/// hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `Intent type 'T' not in receive allowlist` or
    /// `Intent type 'T' in send denylist (pattern: P)`.
    pub message: String,
    /// The direction of the policy that blocked.
    pub direction: Direction,
    /// The id of the agent whose policy blocked (the sender for `send`, the
    /// receiver for `receive`).
    pub address_id: String,
    /// The denylist pattern that matched (the first in list order).
    pub pattern: Option<String>,
}

impl Violation {
    /// The value of the `error` field.
    pub const ERROR: &'static str = "action_policy_violation";

    /// The violation as its JSON object: `error`, `message`, `direction`,
    /// `address_id`, then `pattern` when a denylist pattern matched.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("error".into(), Violation::ERROR.into());
        map.insert("message".into(), self.message.clone().into());
        map.insert("direction".into(), self.direction.as_str().into());
        map.insert("address_id".into(), self.address_id.clone().into());
        if let Some(p) = &self.pattern {
            map.insert("pattern".into(), p.clone().into());
        }
        Value::Object(map)
    }
}

/// One serialisation: the object of [`Violation::to_value`], keys in that
/// order (`error`, `message`, `direction`, `address_id`, `pattern`).
impl Serialize for Violation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Violation {}

/// A policy with its patterns compiled.
#[derive(Clone, Debug)]
struct Compiled {
    policy: ActionPolicy,
    set: PatternSet,
}

impl Compiled {
    fn new(policy: ActionPolicy) -> Compiled {
        let set = PatternSet::new(&policy.patterns);
        Compiled { policy, set }
    }

    fn check(&self, agent: &str, intent_type: &str) -> Option<Violation> {
        let direction = self.policy.direction;
        let (message, pattern) = match self.policy.mode {
            ActionMode::Open => return None,
            ActionMode::Allowlist => match self.set.first_match(intent_type) {
                Some(_) => return None,
                None => (
                    format!("Intent type '{intent_type}' not in {direction} allowlist"),
                    None,
                ),
            },
            ActionMode::Denylist => {
                let p = &self.policy.patterns[self.set.first_match(intent_type)?];
                (
                    format!("Intent type '{intent_type}' in {direction} denylist (pattern: {p})"),
                    Some(p.clone()),
                )
            }
        };
        Some(Violation {
            message,
            direction,
            address_id: agent.to_string(),
            pattern,
        })
    }
}

/// The action policies of many agents, at most one per agent and
/// direction; an agent or direction without one is open.
///
/// Agents are named by address: `agent://org/env/name` resolves to the
/// address id `name`, and a bare id is accepted as is (see
/// [`resolve_address`]). Its JSON form (a gateway's policy store) is
/// `{"policies": [{"agent", "direction", "mode", "patterns", "policy_id"?},
/// …]}`, read strictly by [`ActionPolicies::from_value`].
#[derive(Clone, Debug, Default)]
pub struct ActionPolicies {
    agents: BTreeMap<String, [Option<Compiled>; 2]>,
}

impl ActionPolicies {
    /// No policies: every agent is open.
    pub fn new() -> ActionPolicies {
        ActionPolicies::default()
    }

    /// Sets `agent`'s policy for `policy.direction`, replacing the one it
    /// had, which is returned. Errors: a malformed address, or a policy that
    /// breaks [`ActionPolicy::validate`]; nothing changes then.
    pub fn set(
        &mut self,
        agent: &str,
        policy: ActionPolicy,
    ) -> Result<Option<ActionPolicy>, Error> {
        let id = resolve_field(agent, "agent")?;
        policy.validate()?;
        let slot = policy.direction.slot();
        let slots = self.agents.entry(id.to_string()).or_default();
        Ok(slots[slot].replace(Compiled::new(policy)).map(|c| c.policy))
    }

    /// `agent`'s policy for `direction`; `None` means open.
    pub fn get(&self, agent: &str, direction: Direction) -> Result<Option<&ActionPolicy>, Error> {
        let id = resolve_field(agent, "agent")?;
        Ok(self.compiled(id, direction).map(|c| &c.policy))
    }

    /// Removes `agent`'s policy for `direction` (which reverts to open) and
    /// returns it.
    pub fn delete(
        &mut self,
        agent: &str,
        direction: Direction,
    ) -> Result<Option<ActionPolicy>, Error> {
        let id = resolve_field(agent, "agent")?;
        let Some(slots) = self.agents.get_mut(id) else {
            return Ok(None);
        };
        let removed = slots[direction.slot()].take().map(|c| c.policy);
        if slots.iter().all(Option::is_none) {
            self.agents.remove(id);
        }
        Ok(removed)
    }

    /// Decides an intent of type `intent_type` from `from` to `to`: the
    /// sender's `send` policy first, then the receiver's `receive` policy.
    ///
    /// `Ok(None)`: the intent passes. `Ok(Some(violation))`: it is blocked.
    /// `Err`: the input is malformed (an address that is neither
    /// `agent://org/env/name` nor a bare id, or an empty intent type), which
    /// the caller must treat as a refusal too.
    pub fn check_intent(
        &self,
        from: &str,
        to: &str,
        intent_type: &str,
    ) -> Result<Option<Violation>, Error> {
        let from = resolve_field(from, "from")?;
        let to = resolve_field(to, "to")?;
        check_intent_type(intent_type)?;
        Ok(self
            .check_resolved(from, Direction::Send, intent_type)
            .or_else(|| self.check_resolved(to, Direction::Receive, intent_type)))
    }

    /// Checks one agent's policy for one direction only.
    pub fn check_direction(
        &self,
        agent: &str,
        direction: Direction,
        intent_type: &str,
    ) -> Result<Option<Violation>, Error> {
        let id = resolve_field(agent, "agent")?;
        check_intent_type(intent_type)?;
        Ok(self.check_resolved(id, direction, intent_type))
    }

    fn check_resolved(
        &self,
        id: &str,
        direction: Direction,
        intent_type: &str,
    ) -> Option<Violation> {
        self.compiled(id, direction)?.check(id, intent_type)
    }

    fn compiled(&self, id: &str, direction: Direction) -> Option<&Compiled> {
        self.agents.get(id)?[direction.slot()].as_ref()
    }

    /// Every policy with its agent id, by agent id, `send` before `receive`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ActionPolicy)> {
        self.agents.iter().flat_map(|(id, slots)| {
            slots
                .iter()
                .flatten()
                .map(move |c| (id.as_str(), &c.policy))
        })
    }

    /// The ids of the agents that have at least one policy, in order.
    pub fn agents(&self) -> impl Iterator<Item = &str> {
        self.agents.keys().map(String::as_str)
    }

    /// How many policies there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none (every agent is open).
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// Reads a store strictly: `{"policies": [...]}`, each entry an action
    /// policy with an `agent` (a bare id); at most one entry per agent and
    /// direction. Errors name the entry: `policies[3].mode: …`.
    pub fn from_value(value: &Value) -> Result<ActionPolicies, Error> {
        let Value::Object(map) = value else {
            return Err(Error::new(
                ErrorKind::NotAnObject,
                format!(
                    "an action policy store must be a JSON object, got {}",
                    type_name(value)
                ),
            ));
        };
        if let Some(unknown) = map.keys().find(|k| k.as_str() != "policies") {
            return Err(Error::new(
                ErrorKind::UnknownKey,
                format!(
                    "unknown key {} in action policy store (known keys: policies)",
                    quote(unknown)
                ),
            )
            .at(unknown.clone(), None));
        }
        let entries = match map.get("policies") {
            None => {
                return Err(
                    Error::new(ErrorKind::MissingField, "missing field \"policies\"")
                        .at("policies", None),
                )
            }
            Some(Value::Array(entries)) => entries,
            Some(other) => {
                return Err(Error::new(
                    ErrorKind::WrongType,
                    format!(
                        "expected an array of action policies, got {}",
                        type_name(other)
                    ),
                )
                .at("policies", None))
            }
        };
        let mut store = ActionPolicies::new();
        for (i, entry) in entries.iter().enumerate() {
            let prefix = format!("policies[{i}].");
            let (agent, policy) = parse_policy(entry, &prefix, true).map_err(|e| {
                if e.kind() == ErrorKind::NotAnObject {
                    e.at("policies", Some(i))
                } else {
                    e
                }
            })?;
            let agent = agent.unwrap_or_default();
            let direction = policy.direction;
            if store.compiled(&agent, direction).is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "a second {direction} policy for agent {} (an agent has at most one per direction)",
                        quote(&agent)
                    ),
                )
                .at("policies", Some(i)));
            }
            let slots = store.agents.entry(agent).or_default();
            slots[direction.slot()] = Some(Compiled::new(policy));
        }
        Ok(store)
    }

    /// Reads a store from JSON text, strictly.
    pub fn from_json(text: &str) -> Result<ActionPolicies, Error> {
        ActionPolicies::from_value(&parse_strict(text, "action policy store")?)
    }

    /// The store as JSON; [`ActionPolicies::from_value`] reads it back
    /// unchanged.
    pub fn to_value(&self) -> Value {
        let entries: Vec<Value> = self
            .iter()
            .map(|(agent, policy)| {
                let mut map = Map::new();
                map.insert("agent".into(), agent.into());
                policy.write_fields(&mut map);
                Value::Object(map)
            })
            .collect();
        serde_json::json!({ "policies": entries })
    }
}

impl Serialize for ActionPolicies {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

/// Resolves an agent address to its address id: `agent://org/env/name`
/// gives `name`; a bare id is returned as is.
///
/// An id (and each of `org`, `env`) is 1 to 128 characters among ASCII
/// letters, digits, `.`, `_`, `-` and `~` (the characters a URL path and a
/// file name carry unescaped), and is not `.` or `..`. Anything else is an
/// [`ErrorKind::InvalidValue`] error (field `address`), never a silent pass.
///
/// ```
/// use agentguard::resolve_address;
/// assert_eq!(resolve_address("agent://myorg/production/analytics-agent").unwrap(), "analytics-agent");
/// assert_eq!(resolve_address("analytics-agent").unwrap(), "analytics-agent");
/// let err = resolve_address("agent://myorg/analytics-agent").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "address: \"agent://myorg/analytics-agent\" is not a valid agent address: \
///      expected agent://org/env/name (3 segments), got 2 segments"
/// );
/// ```
pub fn resolve_address(address: &str) -> Result<&str, Error> {
    resolve_field(address, "address")
}

const SCHEME: &str = "agent://";

fn resolve_field<'a>(address: &'a str, field: &str) -> Result<&'a str, Error> {
    let invalid = |why: String| {
        Error::new(
            ErrorKind::InvalidValue,
            format!("{} is not a valid agent address: {why}", quote(address)),
        )
        .at(field, None)
    };
    if address.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            "an agent address must not be empty",
        )
        .at(field, None));
    }
    let Some(rest) = address.strip_prefix(SCHEME) else {
        if address.contains(':') || address.contains('/') {
            return Err(invalid(
                "expected agent://org/env/name or a bare id such as analytics-agent".into(),
            ));
        }
        check_segment(address, "id").map_err(invalid)?;
        return Ok(address);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.len() != 3 {
        return Err(invalid(format!(
            "expected agent://org/env/name (3 segments), got {} segment{}",
            segments.len(),
            if segments.len() == 1 { "" } else { "s" }
        )));
    }
    for (segment, what) in segments.iter().zip(["org", "env", "name"]) {
        check_segment(segment, what).map_err(invalid)?;
    }
    Ok(&address[address.len() - segments[2].len()..])
}

fn check_segment(segment: &str, what: &str) -> Result<(), String> {
    if segment.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if segment == "." || segment == ".." {
        return Err(format!("the {what} may not be {segment:?}"));
    }
    if let Some(c) = segment
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '~')))
    {
        return Err(format!(
            "the {what} contains {} (allowed: ASCII letters, digits, '.', '_', '-', '~')",
            quote(&c.to_string())
        ));
    }
    let len = segment.chars().count();
    if len > MAX_AGENT_ID_LEN {
        return Err(format!(
            "the {what} is {len} characters long (at most {MAX_AGENT_ID_LEN})"
        ));
    }
    Ok(())
}

/// Checks an intent type: 1 to [`MAX_INTENT_TYPE_LEN`] characters, none of
/// them whitespace or a control character. A pattern such as
/// `intent.data.read.*` matches across newlines (fnmatch's `*` does), so an
/// intent type carrying a newline could smuggle a second type past an
/// allowlist; such a type is an error, never decided.
///
/// ```
/// use agentguard::{check_intent_type, ActionPolicies};
/// assert!(check_intent_type("intent.data.read.v1").is_ok());
/// let err = check_intent_type("intent.data.read.v1\nintent.data.delete.v1").unwrap_err();
/// assert!(err.to_string().contains("control character U+000A"));
/// // The store refuses it too: no decision is made.
/// let store = ActionPolicies::new();
/// assert!(store.check_intent("a", "b", "intent.x\tintent.y").is_err());
/// ```
pub fn check_intent_type(intent_type: &str) -> Result<(), Error> {
    let invalid = |why: String| {
        Err(Error::new(
            ErrorKind::InvalidValue,
            format!("{} is not a valid intent type: {why}", quote(intent_type)),
        )
        .at("intent_type", None))
    };
    if intent_type.is_empty() {
        return Err(
            Error::new(ErrorKind::InvalidValue, "an intent type must not be empty")
                .at("intent_type", None),
        );
    }
    if let Some(c) = intent_type
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        let what = if c.is_control() {
            "control character"
        } else {
            "whitespace"
        };
        return invalid(format!(
            "it contains {what} U+{:04X} (intent types are 1 to {MAX_INTENT_TYPE_LEN} characters with no whitespace or control characters)",
            c as u32
        ));
    }
    let len = intent_type.chars().count();
    if len > MAX_INTENT_TYPE_LEN {
        return invalid(format!(
            "it is {len} characters long (at most {MAX_INTENT_TYPE_LEN})"
        ));
    }
    Ok(())
}

/// Parses one policy object. With `with_agent` (a store entry) the object
/// also has a required `agent`, a bare id. Field names carry `prefix`.
fn parse_policy(
    value: &Value,
    prefix: &str,
    with_agent: bool,
) -> Result<(Option<String>, ActionPolicy), Error> {
    let Value::Object(map) = value else {
        return Err(Error::new(
            ErrorKind::NotAnObject,
            format!(
                "an action policy must be a JSON object, got {}",
                type_name(value)
            ),
        ));
    };
    let field = |name: &str| format!("{prefix}{name}");
    let wrong = |name: &str, expected: &str, got: &Value| {
        Error::new(
            ErrorKind::WrongType,
            format!("expected {expected}, got {}", type_name(got)),
        )
        .at(field(name), None)
    };
    let known: &[&str] = if with_agent {
        &["agent", "direction", "mode", "patterns", "policy_id"]
    } else {
        &ACTION_POLICY_KEYS
    };
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        let place = match prefix.strip_suffix('.') {
            Some(entry) => format!("in {entry}"),
            None => "in action policy".to_string(),
        };
        return Err(Error::new(
            ErrorKind::UnknownKey,
            format!(
                "unknown key {} {place} (known keys: {})",
                quote(unknown),
                known.join(", ")
            ),
        )
        .at(field(unknown), None));
    }
    let required = |name: &str| {
        map.get(name).ok_or_else(|| {
            Error::new(ErrorKind::MissingField, format!("missing field \"{name}\""))
                .at(field(name), None)
        })
    };
    let agent = if with_agent {
        match required("agent")? {
            Value::String(s) => {
                check_segment(s, "id").map_err(|why| {
                    Error::new(
                        ErrorKind::InvalidValue,
                        format!("{} is not a valid agent id: {why}", quote(s)),
                    )
                    .at(field("agent"), None)
                })?;
                Some(s.clone())
            }
            other => return Err(wrong("agent", "a string", other)),
        }
    } else {
        None
    };
    let direction = match required("direction")? {
        Value::String(s) => Direction::parse(s).map_err(|e| relocate(e, field("direction")))?,
        other => return Err(wrong("direction", "\"send\" or \"receive\"", other)),
    };
    let mode = match required("mode")? {
        Value::String(s) => ActionMode::parse(s).map_err(|e| relocate(e, field("mode")))?,
        other => {
            return Err(wrong(
                "mode",
                "\"open\", \"allowlist\" or \"denylist\"",
                other,
            ))
        }
    };
    let patterns = match map.get("patterns") {
        None => Vec::new(),
        Some(v) => string_patterns(&field("patterns"), v)?,
    };
    let policy_id = match map.get("policy_id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(wrong("policy_id", "a string", other)),
    };
    let policy = ActionPolicy {
        direction,
        mode,
        patterns,
        policy_id,
    };
    policy.validate_at(prefix)?;
    Ok((agent, policy))
}

fn relocate(e: Error, field: String) -> Error {
    let index = e.index();
    e.at(field, index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_cuts_long_text() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        let long = "x".repeat(100);
        assert_eq!(
            quote(&long),
            format!("\"{}…\" (100 characters)", "x".repeat(64))
        );
    }

    #[test]
    fn addresses_table() {
        let ok = [
            ("analytics-agent", "analytics-agent"),
            (
                "agent://myorg/production/analytics-agent",
                "analytics-agent",
            ),
            ("agent://a/b/c", "c"),
            ("a.b_c~d-1", "a.b_c~d-1"),
        ];
        for (address, id) in ok {
            assert_eq!(resolve_address(address).unwrap(), id, "{address}");
        }
        let bad = [
            "",
            "agent://",
            "agent://a/b",
            "agent://a/b/c/d",
            "agent://a//c",
            "agent://a/b/",
            "agent://a/b/..",
            "agent:/a/b/c",
            "http://a/b/c",
            "a/b",
            "a b",
            "é",
            ".",
            "..",
            "Agent://a/b/c",
        ];
        for address in bad {
            let e = resolve_address(address).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidValue, "{address}");
            assert_eq!(e.field(), Some("address"));
        }
        assert!(resolve_address(&"a".repeat(128)).is_ok());
        assert!(resolve_address(&"a".repeat(129)).is_err());
    }
}
