//! Approvals in the stateless protocol (2026-07-28): the proxy answers a
//! `tools/call` that needs approval with an `input_required` result (an
//! `elicitation/create` form under [`APPROVAL_KEY`], and a `requestState`),
//! and decides the client's retry from the answer and that state, keeping
//! nothing in between.
//!
//! The state is `agentguard1.<hex payload>.<hex HMAC-SHA256>`: the payload
//! binds it to a hash of the tool's name and arguments and to an expiry
//! (`--approval-timeout`), and may carry the server's own `requestState`
//! (after an approved call, when the server asks for input itself). The key
//! is random per process, so a state never outlives the proxy that minted
//! it. A state that does not verify, has expired, or belongs to another
//! call is refused, never forwarded.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::pin::canonical;

/// The protocol version from which requests carry `_meta` capabilities and
/// results may be `input_required`.
pub const STATELESS: &str = "2026-07-28";
/// The prefix of every `requestState` the proxy mints.
pub const STATE_PREFIX: &str = "agentguard1.";
/// The proxy's key in `inputRequests` and `inputResponses`.
pub const APPROVAL_KEY: &str = "agentguard_approval";

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| block.map(|k| k ^ b);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What a `requestState` minted by the proxy says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// [`call_hash`] of the call it belongs to.
    pub call: String,
    /// Not valid after this (milliseconds since the epoch).
    pub exp: u64,
    /// The human already approved the call (the state wraps the server's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approved: bool,
    /// The server's own `requestState`, to give back to it on the retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<String>,
    /// Random, so two states for the same call differ.
    pub nonce: String,
}

/// Why a state was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateError {
    /// Not a state this proxy minted, or altered since.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Minted for another tool or other arguments.
    OtherCall,
}

/// SHA-256 (hex) of the canonical JSON of `{"name": tool, "arguments":
/// args}`: what a state is bound to.
pub fn call_hash(tool: &str, args: &Map<String, Value>) -> String {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(tool.into()));
    m.insert("arguments".into(), Value::Object(args.clone()));
    let mut s = String::new();
    canonical(&Value::Object(m), &mut s);
    hex(&Sha256::digest(s.as_bytes()))
}

/// Mints and verifies states with a key of its own.
pub struct Signer {
    key: [u8; 32],
}

impl Signer {
    /// A signer with a random key, from the system's random source (or,
    /// should that fail, from std's randomly seeded hasher).
    pub fn random() -> Signer {
        let mut key = [0u8; 32];
        let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
        if read.is_err() {
            use std::hash::{BuildHasher, Hasher};
            for chunk in key.chunks_mut(8) {
                let n = std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish();
                chunk.copy_from_slice(&n.to_le_bytes());
            }
        }
        Signer { key }
    }

    /// A signer with a given key (tests).
    #[cfg(test)]
    pub fn with_key(key: [u8; 32]) -> Signer {
        Signer { key }
    }

    fn nonce(&self) -> String {
        let mut n = [0u8; 12];
        if std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut n))
            .is_err()
        {
            n[..8].copy_from_slice(&now_ms().to_le_bytes());
        }
        hex(&n)
    }

    /// A state for the call `call` (a [`call_hash`]) valid for `ttl_ms`.
    pub fn mint(&self, call: &str, ttl_ms: u64, approved: bool, inner: Option<String>) -> String {
        let state = State {
            call: call.to_string(),
            exp: now_ms().saturating_add(ttl_ms),
            approved,
            inner,
            nonce: self.nonce(),
        };
        let payload = serde_json::to_vec(&state).unwrap_or_default();
        let mac = hmac_sha256(&self.key, &payload);
        format!("{STATE_PREFIX}{}.{}", hex(&payload), hex(&mac))
    }

    /// Verifies `token` for the call `call` at `now` (ms since the epoch).
    pub fn open(&self, token: &str, call: &str, now: u64) -> Result<State, StateError> {
        let rest = token
            .strip_prefix(STATE_PREFIX)
            .ok_or(StateError::Invalid)?;
        let (payload, mac) = rest.split_once('.').ok_or(StateError::Invalid)?;
        let payload = unhex(payload).ok_or(StateError::Invalid)?;
        let mac = unhex(mac).ok_or(StateError::Invalid)?;
        if !same(&hmac_sha256(&self.key, &payload), &mac) {
            return Err(StateError::Invalid);
        }
        let state: State = serde_json::from_slice(&payload).map_err(|_| StateError::Invalid)?;
        if now > state.exp {
            return Err(StateError::Expired);
        }
        if !same(state.call.as_bytes(), call.as_bytes()) {
            return Err(StateError::OtherCall);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn states_verify_only_unaltered_unexpired_and_for_their_call() {
        let s = Signer::with_key([7; 32]);
        let args = json!({"path": "/ws/a", "n": 1});
        let call = call_hash("move_file", args.as_object().unwrap());
        let other = call_hash(
            "move_file",
            json!({"path": "/ws/b", "n": 1}).as_object().unwrap(),
        );
        assert_ne!(call, other);
        // Key order does not change the hash.
        assert_eq!(
            call,
            call_hash(
                "move_file",
                json!({"n": 1, "path": "/ws/a"}).as_object().unwrap()
            )
        );
        let t = s.mint(&call, 60_000, false, None);
        assert!(t.starts_with(STATE_PREFIX));
        let st = s.open(&t, &call, now_ms()).unwrap();
        assert!(!st.approved && st.inner.is_none());
        assert_ne!(t, s.mint(&call, 60_000, false, None), "nonce");
        assert_eq!(s.open(&t, &other, now_ms()), Err(StateError::OtherCall));
        assert_eq!(
            s.open(&t, &call, now_ms() + 120_000),
            Err(StateError::Expired)
        );
        // Any change to the payload or the MAC, another key, garbage.
        let (body, mac) = t.rsplit_once('.').unwrap();
        let mut flipped = body.to_string().into_bytes();
        let i = STATE_PREFIX.len() + 10;
        flipped[i] = if flipped[i] == b'0' { b'1' } else { b'0' };
        let flipped = format!("{}.{mac}", String::from_utf8(flipped).unwrap());
        for bad in [
            flipped,
            format!("{body}.{}", "0".repeat(64)),
            Signer::with_key([8; 32]).mint(&call, 60_000, true, None),
            "agentguard1.zz.zz".to_string(),
            "server-state".to_string(),
            String::new(),
        ] {
            assert_eq!(
                s.open(&bad, &call, now_ms()),
                Err(StateError::Invalid),
                "{bad}"
            );
        }
        // An approved state carries the server's.
        let w = s.mint(&call, 60_000, true, Some("srv-1".into()));
        let st = s.open(&w, &call, now_ms()).unwrap();
        assert!(st.approved);
        assert_eq!(st.inner.as_deref(), Some("srv-1"));
    }
}
