//! The I/O around a [`Session`]: the server process, the two pipes, timers
//! and signals, on one current-thread tokio runtime.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_util::codec::FramedRead;

use crate::frame::{Frame, Lines, MAX_FRAME};
use crate::gateway::{Answer, Gateway};
use crate::session::{Out, Session};

/// After the client closes its side, how long the server has to exit on its
/// own before SIGTERM, and then before SIGKILL (the MCP stdio shutdown).
const EXIT_GRACE: Duration = Duration::from_secs(5);
const TERM_GRACE: Duration = Duration::from_secs(2);

/// Writes frames in order; flushes whenever nothing else is queued.
async fn write_frames<W: AsyncWrite + Unpin>(w: W, mut rx: UnboundedReceiver<Bytes>) {
    let mut w = BufWriter::new(w);
    while let Some(b) = rx.recv().await {
        if w.write_all(&b).await.is_err() {
            break;
        }
        if rx.is_empty() && w.flush().await.is_err() {
            break;
        }
    }
    let _ = w.flush().await;
    let _ = w.shutdown().await;
}

/// The client's side of stdio, read and written on the runtime's own
/// reactor when it is a pipe or a socket (as MCP clients start servers):
/// tokio's `stdin()` and `stdout()` hand every read and write to a blocking
/// thread, two thread wake-ups per call that this saves (measured by
/// `make bench-mcp`). Anything else (a terminal, a file) keeps tokio's.
mod stdio {
    use std::fs::File;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    use tokio::io::{AsyncRead, AsyncWrite};
    use tokio::net::unix::pipe;

    enum Kind {
        Pipe,
        Socket,
        Other,
    }

    /// A duplicate of `fd` (same open file description) and what it is.
    fn dup(fd: std::os::fd::BorrowedFd<'_>) -> Option<(OwnedFd, Kind, (u64, u64))> {
        let owned = fd.try_clone_to_owned().ok()?;
        let meta = File::from(owned.try_clone().ok()?).metadata().ok()?;
        let t = meta.file_type();
        let kind = if t.is_fifo() {
            Kind::Pipe
        } else if t.is_socket() {
            Kind::Socket
        } else {
            Kind::Other
        };
        Some((owned, kind, (meta.dev(), meta.ino())))
    }

    fn socket(fd: OwnedFd) -> Option<tokio::net::UnixStream> {
        let s = std::os::unix::net::UnixStream::from(fd);
        s.set_nonblocking(true).ok()?;
        tokio::net::UnixStream::from_std(s).ok()
    }

    /// The client's stdin.
    pub fn input() -> Box<dyn AsyncRead + Unpin + Send> {
        let stdin = std::io::stdin();
        let reactor: Option<Box<dyn AsyncRead + Unpin + Send>> = match dup(stdin.as_fd()) {
            Some((fd, Kind::Pipe, _)) => pipe::Receiver::from_file(File::from(fd))
                .ok()
                .map(|r| Box::new(r) as _),
            Some((fd, Kind::Socket, _)) => socket(fd).map(|s| Box::new(s) as _),
            _ => None,
        };
        reactor.unwrap_or_else(|| Box::new(tokio::io::stdin()))
    }

    /// The client's stdout. Not on the reactor when stderr is the same pipe
    /// or socket (`2>&1`): non-blocking mode would reach stderr too, which
    /// the server inherits.
    pub fn output() -> Box<dyn AsyncWrite + Unpin + Send> {
        let stderr_id = dup(std::io::stderr().as_fd()).map(|(_, _, id)| id);
        let reactor: Option<Box<dyn AsyncWrite + Unpin + Send>> =
            match dup(std::io::stdout().as_fd()) {
                Some((_, _, id)) if Some(id) == stderr_id => None,
                Some((fd, Kind::Pipe, _)) => pipe::Sender::from_file(File::from(fd))
                    .ok()
                    .map(|w| Box::new(w) as _),
                Some((fd, Kind::Socket, _)) => socket(fd).map(|s| Box::new(s) as _),
                _ => None,
            };
        reactor.unwrap_or_else(|| Box::new(tokio::io::stdout()))
    }
}

fn status_text(s: &ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => "unknown status".into(),
    }
}

/// The proxy's exit code for the server's status: its code, or 128 + the
/// signal that ended it, as a shell reports it.
fn exit_code(s: &ExitStatus) -> i32 {
    s.code()
        .or_else(|| s.signal().map(|sig| 128 + sig))
        .unwrap_or(1)
}

fn terminate(child: &Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
}

/// Waits for the child, sending SIGTERM after `term_after` and SIGKILL
/// `TERM_GRACE` after that.
async fn reap(child: &mut Child, term_after: Duration) -> Option<ExitStatus> {
    if let Ok(s) = tokio::time::timeout(term_after, child.wait()).await {
        return s.ok();
    }
    terminate(child);
    if let Ok(s) = tokio::time::timeout(TERM_GRACE, child.wait()).await {
        return s.ok();
    }
    let _ = child.start_kill();
    child.wait().await.ok()
}

/// Runs the server `command` behind `session` until it exits or a signal
/// ends both. Returns the exit code.
pub async fn relay(mut session: Session, command: &[OsString], gateway: Option<Gateway>) -> i32 {
    let Some((program, rest)) = command.split_first() else {
        eprintln!("agentguard mcp: no server command (give it after --)");
        return 2;
    };
    let mut child = match Command::new(program)
        .args(rest)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "agentguard mcp: cannot start the server {:?}: {e}",
                program.to_string_lossy()
            );
            return 2;
        }
    };
    let (Some(child_in), Some(child_out)) = (child.stdin.take(), child.stdout.take()) else {
        eprintln!("agentguard mcp: the server's pipes could not be opened");
        return 2;
    };
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        _ => {
            eprintln!("agentguard mcp: cannot install signal handlers");
            return 2;
        }
    };

    let (server_tx, server_rx) = unbounded_channel::<Bytes>();
    let mut to_server: Option<UnboundedSender<Bytes>> = Some(server_tx);
    tokio::spawn(write_frames(child_in, server_rx));
    let (to_client, client_rx) = unbounded_channel::<Bytes>();
    let client_writer = tokio::spawn(write_frames(stdio::output(), client_rx));
    let (timer_tx, mut timers) = unbounded_channel::<String>();
    let (answer_tx, mut answers) = unbounded_channel::<(String, Answer)>();

    let client_stdin: Box<dyn AsyncRead + Unpin + Send> = stdio::input();
    let mut client_in = FramedRead::new(client_stdin, Lines::new(MAX_FRAME));
    let mut server_out = FramedRead::new(child_out, Lines::new(MAX_FRAME));
    let mut client_open = true;
    // Set when the client has closed its side: when to stop waiting for
    // the server to exit by itself.
    let mut exit_deadline: Option<tokio::time::Instant> = None;
    let mut signalled: Option<i32> = None;

    let dispatch = |outs: Vec<Out>, to_server: &Option<UnboundedSender<Bytes>>| {
        for o in outs {
            match o {
                Out::Server(b) => {
                    if let Some(tx) = to_server {
                        let _ = tx.send(b);
                    }
                }
                Out::Client(b) => {
                    let _ = to_client.send(b);
                }
                Out::Timer(key, after) => {
                    let tx = timer_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        let _ = tx.send(key);
                    });
                }
                Out::Gateway(ask) => {
                    let tx = answer_tx.clone();
                    let key = ask.key.clone();
                    match gateway.clone() {
                        Some(g) => {
                            tokio::spawn(async move {
                                let answer = g.ask(*ask).await;
                                let _ = tx.send((key, answer));
                            });
                        }
                        // The session asks only when it was given a gateway.
                        None => {
                            let _ = tx.send((
                                key,
                                Answer::Failed("no gateway was given (--approvals)".into()),
                            ));
                        }
                    }
                }
            }
        }
    };

    loop {
        tokio::select! {
            f = client_in.next(), if client_open => match f {
                Some(Ok(Frame::Line(b))) => dispatch(session.client_frame(&b, Instant::now()), &to_server),
                Some(Ok(Frame::TooLong)) => dispatch(session.client_too_long(), &to_server),
                Some(Err(_)) | None => {
                    // The client is done: close the server's stdin and give
                    // it time to exit, still relaying what it sends.
                    client_open = false;
                    to_server = None;
                    exit_deadline = Some(tokio::time::Instant::now() + EXIT_GRACE);
                }
            },
            f = server_out.next() => match f {
                Some(Ok(Frame::Line(b))) => dispatch(session.server_frame(&b), &to_server),
                Some(Ok(Frame::TooLong)) => dispatch(session.server_too_long(), &to_server),
                Some(Err(_)) | None => break,
            },
            Some(key) = timers.recv() => dispatch(session.approval_timeout(&key, Instant::now()), &to_server),
            Some((key, answer)) = answers.recv() => dispatch(session.gateway_answer(&key, answer, Instant::now()), &to_server),
            _ = sigint.recv() => { signalled = Some(libc_signal(Signal::SIGINT)); break; }
            _ = sigterm.recv() => { signalled = Some(libc_signal(Signal::SIGTERM)); break; }
            _ = async { tokio::time::sleep_until(exit_deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if exit_deadline.is_some() => {
                break;
            }
        }
    }

    // Whatever ended the loop, the server goes too (it may already have).
    drop(to_server);
    let status = match signalled {
        Some(_) => {
            terminate(&child);
            reap(&mut child, TERM_GRACE).await
        }
        // The server closed its stdout (it is exiting) or ignored the
        // closed stdin past the grace period.
        None if exit_deadline.is_some_and(|d| d <= tokio::time::Instant::now()) => {
            reap(&mut child, Duration::ZERO).await
        }
        None => reap(&mut child, EXIT_GRACE).await,
    };
    let (text, code) = match &status {
        Some(s) => (status_text(s), exit_code(s)),
        None => ("unknown status".to_string(), 1),
    };
    dispatch(session.server_gone(&text, Instant::now()), &None);
    drop(to_client);
    let _ = tokio::time::timeout(Duration::from_secs(2), client_writer).await;
    match signalled {
        Some(sig) => 128 + sig,
        None => code,
    }
}

fn libc_signal(s: Signal) -> i32 {
    s as i32
}
