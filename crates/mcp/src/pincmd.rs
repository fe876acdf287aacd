//! `agentguard mcp pin --pin FILE -- COMMAND...`: starts the server, lists
//! its tools (every page) as an MCP client would, writes their definition
//! hashes to the pin file (atomically, replacing what it held) and says on
//! stderr what was added, changed and removed. Exit 0 when the file was
//! written, 2 otherwise.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::pin::{self, Pins};
use crate::PinArgs;

/// The protocol version `pin` asks for (the server may choose another).
const PROTOCOL: &str = "2025-11-25";
/// A server that pages without end is stopped here.
const MAX_PAGES: usize = 1000;

fn say(msg: &str) {
    eprintln!("agentguard mcp pin: {msg}");
}

/// Runs `agentguard mcp pin`; returns the exit code.
pub fn run(args: &PinArgs) -> i32 {
    let old = match pin::load(&args.pin) {
        Ok(p) => p,
        Err(e) => {
            say(&format!("{e} (fix or remove it)"));
            return 2;
        }
    };
    let Some((program, rest)) = args.command.split_first() else {
        say("no server command (give it after --)");
        return 2;
    };
    let mut child = match Command::new(program)
        .args(rest)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            say(&format!(
                "cannot start the server {:?}: {e}",
                program.to_string_lossy()
            ));
            return 2;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let listed = list_tools(&mut child, deadline);
    // Done with the server: close its stdin, then make sure it goes.
    drop(child.stdin.take());
    stop(&mut child);
    let tools = match listed {
        Ok(t) => t,
        Err(e) => {
            say(&e);
            return 2;
        }
    };
    let mut new = Pins::new();
    for t in &tools {
        if let (Some(name), Some(h)) = (
            t.get("name").and_then(Value::as_str),
            pin::definition_hash(t),
        ) {
            if new.insert(name.to_string(), h).is_some() {
                say(&format!(
                    "the server lists tool '{name}' twice; the last definition is pinned"
                ));
            }
        }
    }
    if let Err(e) = pin::save(&args.pin, &new) {
        say(&format!("{}: cannot write: {e}", args.pin.display()));
        return 2;
    }
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for (k, v) in &new {
        match old.get(k) {
            None => added.push(k.as_str()),
            Some(o) if o != v => changed.push(k.as_str()),
            Some(_) => {}
        }
    }
    let removed: Vec<&str> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(String::as_str)
        .collect();
    let list = |xs: &[&str]| {
        if xs.is_empty() {
            "none".to_string()
        } else {
            xs.join(", ")
        }
    };
    say(&format!(
        "{}: pinned {} tool(s); added: {}; changed: {}; removed: {}",
        args.pin.display(),
        new.len(),
        list(&added),
        list(&changed),
        list(&removed)
    ));
    0
}

/// Lines from the server's stdout, read on a thread.
fn lines(child: &mut Child) -> Option<Receiver<String>> {
    let out = child.stdout.take()?;
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(l) = line else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    Some(rx)
}

fn list_tools(child: &mut Child, deadline: Instant) -> Result<Vec<Value>, String> {
    let rx = lines(child).ok_or("the server's stdout could not be read")?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or("the server's stdin could not be written")?;
    let mut send = |v: Value| -> Result<(), String> {
        let mut b = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
        b.push(b'\n');
        stdin
            .write_all(&b)
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("cannot write to the server: {e}"))
    };
    // Waits for the answer to request `id`; answers the server's own
    // requests with "method not found" meanwhile.
    let answer = |id: u64,
                  send: &mut dyn FnMut(Value) -> Result<(), String>|
     -> Result<Value, String> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => {
                    return Err("the server did not list its tools in time (see --timeout)".into())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the server closed its stdout before listing its tools".into())
                }
            };
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if msg.get("method").is_some() {
                if let Some(req) = msg.get("id") {
                    send(json!({"jsonrpc": "2.0", "id": req,
                        "error": {"code": -32601, "message": "Method not found"}}))?;
                }
                continue;
            }
            if msg.get("id") != Some(&json!(id)) {
                continue;
            }
            if let Some(e) = msg.get("error") {
                return Err(format!("the server answered with an error: {e}"));
            }
            return msg
                .get("result")
                .cloned()
                .ok_or_else(|| "the server's answer has no result".to_string());
        }
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "agentguard-mcp-pin", "version": env!("CARGO_PKG_VERSION")}}}),
    )?;
    answer(1, &mut send)?;
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    let mut tools = Vec::new();
    let mut cursor: Option<Value> = None;
    for page in 0..MAX_PAGES {
        let id = 2 + page as u64;
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params}))?;
        let result = answer(id, &mut send)?;
        if let Some(ts) = result.get("tools").and_then(Value::as_array) {
            tools.extend(ts.iter().cloned());
        }
        cursor = result.get("nextCursor").filter(|c| !c.is_null()).cloned();
        if cursor.is_none() {
            return Ok(tools);
        }
    }
    Err(format!(
        "the server listed more than {MAX_PAGES} pages of tools"
    ))
}

/// Gives the server a moment to exit after its stdin closes, then ends it.
fn stop(child: &mut Child) {
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
