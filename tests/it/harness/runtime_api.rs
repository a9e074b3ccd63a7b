//! A local Lambda Runtime API endpoint, so that the real `bootstrap` binary (native, or the arm64 one under
//! `qemu-aarch64 -L /usr/aarch64-linux-gnu`) runs one or more events exactly as Lambda would feed them.
//!
//! The endpoint hands out the given events one by one at `GET /2018-06-01/runtime/invocation/next`, with
//! the `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn` and `-Trace-Id` headers,
//! records what the function posts to `.../invocation/{id}/response`, `.../invocation/{id}/error` or
//! `/runtime/init/error`, then kills the process (once the events are used up, the next `/next` is held
//! open, as Lambda freezes an idle sandbox). A tiny HTTP/1.1 server is enough: the runtime client sends
//! small requests with `Content-Length` or chunked bodies over keep-alive connections.
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::VecDeque;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// What the function answered for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeOutcome {
    /// `POST /runtime/invocation/{id}/response`: the invocation succeeded.
    Response(Value),
    /// `POST /runtime/invocation/{id}/error`: the invocation failed (Lambda would retry it).
    Error(Value),
    /// `POST /runtime/init/error`: the function could not start.
    InitError(Value),
}

/// One run of a bootstrap process.
#[derive(Debug)]
pub struct BootstrapRun {
    /// One per event served, in order (an init error ends the run early).
    pub outcomes: Vec<RuntimeOutcome>,
    /// Process start until its first `GET .../next`: Lambda's init (cold-start) phase.
    pub init: Option<Duration>,
    pub stdout: String,
    pub stderr: String,
}

impl BootstrapRun {
    /// The first (for a one-event run, the only) outcome.
    pub fn outcome(&self) -> &RuntimeOutcome {
        &self.outcomes[0]
    }
}

/// Runs `cmd` as a Lambda function with one `event`; see [`run_bootstrap_events`].
pub async fn run_bootstrap(cmd: Command, event: Value, timeout: Duration) -> Result<BootstrapRun> {
    run_bootstrap_events(cmd, vec![event], timeout).await
}

/// Runs `cmd` (its own environment, e.g. moto's, is kept) as a Lambda function that receives `events` in
/// order from a local Runtime API, then kills it. `timeout` bounds the whole run and is also the deadline
/// each event carries. Fails if the process exits early or the time runs out, with its output attached.
pub async fn run_bootstrap_events(
    cmd: Command,
    events: Vec<Value>,
    timeout: Duration,
) -> Result<BootstrapRun> {
    assert!(
        !events.is_empty(),
        "run_bootstrap_events needs at least one event"
    );
    let expected = events.len();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the Runtime API")?;
    let address = listener.local_addr()?;
    let function_name = env_of(&cmd, "AWS_LAMBDA_FUNCTION_NAME")
        .unwrap_or_else(|| "imgdeploy-test-variants".to_string());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let state = Arc::new(ServerState {
        events: Mutex::new(events.into_iter().collect()),
        served: Mutex::new(0),
        function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
        deadline: timeout,
        tx,
    });

    let mut tasks = JoinSet::new();
    let accept_state = state.clone();
    tasks.spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.spawn(serve_connection(stream, accept_state.clone()));
        }
    });

    let mut command = tokio::process::Command::from(lambda_environment(cmd, &address.to_string()));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn().context("spawning the bootstrap")?;
    let stdout = tokio::spawn(read_all(child.stdout.take()));
    let stderr = tokio::spawn(read_all(child.stderr.take()));

    let mut outcomes = Vec::new();
    let mut init = None;
    let mut failure: Option<String> = None;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    while outcomes.len() < expected && failure.is_none() {
        tokio::select! {
            signal = rx.recv() => match signal {
                Some(Signal::Next(at)) => {
                    init.get_or_insert(at.duration_since(started));
                }
                Some(Signal::Outcome(outcome)) => {
                    let fatal = matches!(outcome, RuntimeOutcome::InitError(_));
                    outcomes.push(outcome);
                    if fatal {
                        break;
                    }
                }
                None => failure = Some("the Runtime API stopped".into()),
            },
            status = child.wait() => failure = Some(exited(status)),
            _ = &mut deadline => failure = Some(format!("no answer within {timeout:?}")),
        }
    }
    let _ = child.kill().await;
    tasks.abort_all();
    let stdout = stdout.await.unwrap_or_default();
    let stderr = stderr.await.unwrap_or_default();
    if let Some(reason) = failure {
        bail!(
            "bootstrap: {reason} after {} of {expected} outcomes {outcomes:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            outcomes.len()
        );
    }
    Ok(BootstrapRun {
        outcomes,
        init,
        stdout,
        stderr,
    })
}

fn exited(status: std::io::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => format!("the process exited ({status})"),
        Err(e) => format!("waiting for the process failed: {e}"),
    }
}

/// The variables Lambda sets for a `provided.al2023` function, unless the caller set them already.
fn lambda_environment(mut cmd: Command, runtime_api: &str) -> Command {
    let name = env_of(&cmd, "AWS_LAMBDA_FUNCTION_NAME")
        .unwrap_or_else(|| "imgdeploy-test-variants".into());
    let defaults = [
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]0123456789abcdef".into(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("_HANDLER", "bootstrap".into()),
    ];
    for (key, value) in defaults {
        if env_of(&cmd, key).is_none() {
            cmd.env(key, value);
        }
    }
    cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api);
    cmd
}

fn env_of(cmd: &Command, key: &str) -> Option<String> {
    cmd.get_envs()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
}

async fn read_all<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> String {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = pipe.read_to_end(&mut bytes).await;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

enum Signal {
    Next(Instant),
    Outcome(RuntimeOutcome),
}

struct ServerState {
    events: Mutex<VecDeque<Value>>,
    served: Mutex<usize>,
    function_arn: String,
    deadline: Duration,
    tx: mpsc::UnboundedSender<Signal>,
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn serve_connection(stream: TcpStream, state: Arc<ServerState>) {
    let mut stream = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut stream).await {
        let response = answer(&request, &state).await;
        if stream.get_mut().write_all(&response).await.is_err() {
            return;
        }
    }
}

async fn answer(request: &Request, state: &ServerState) -> Vec<u8> {
    const NEXT: &str = "/2018-06-01/runtime/invocation/next";
    const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
    let body = || parse_body(&request.body);
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", NEXT) => {
            let _ = state.tx.send(Signal::Next(Instant::now()));
            let event = state.events.lock().unwrap().pop_front();
            let Some(event) = event else {
                // No more events: hold the request like a frozen sandbox until the process is killed.
                std::future::pending::<()>().await;
                unreachable!()
            };
            let request_id = {
                let mut served = state.served.lock().unwrap();
                *served += 1;
                format!("00000000-0000-4000-8000-{:012}", *served)
            };
            let deadline_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .saturating_add(state.deadline)
                .as_millis();
            let headers = format!(
                "Lambda-Runtime-Aws-Request-Id: {request_id}\r\nLambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: {}\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n",
                state.function_arn
            );
            http_response("200 OK", &headers, event.to_string().as_bytes())
        }
        ("POST", "/2018-06-01/runtime/init/error") => {
            let _ = state
                .tx
                .send(Signal::Outcome(RuntimeOutcome::InitError(body())));
            accepted()
        }
        ("POST", path) if path.starts_with(INVOCATION) && path.ends_with("/response") => {
            let _ = state
                .tx
                .send(Signal::Outcome(RuntimeOutcome::Response(body())));
            accepted()
        }
        ("POST", path) if path.starts_with(INVOCATION) && path.ends_with("/error") => {
            let _ = state
                .tx
                .send(Signal::Outcome(RuntimeOutcome::Error(body())));
            accepted()
        }
        _ => http_response("404 Not Found", "", b"{\"errorMessage\":\"unknown path\"}"),
    }
}

fn accepted() -> Vec<u8> {
    http_response("202 Accepted", "", b"{\"status\":\"OK\"}")
}

fn parse_body(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn http_response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    response
}

/// One HTTP/1.1 request, or `None` when the peer closed the connection.
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().context("empty request line")?.to_string();
    let path = parts
        .next()
        .context("request line without a path")?
        .to_string();
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            bail!("connection closed inside the headers");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                content_length = value.parse().context("bad Content-Length")?;
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let body = if chunked {
        read_chunked(reader).await?
    } else {
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).await?;
        body
    };
    Ok(Some(Request { method, path, body }))
}

async fn read_chunked<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let size_text = line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_text, 16).context("bad chunk size")?;
        if size == 0 {
            // Trailers, then the blank line that ends the body.
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).await?;
        line.clear();
        reader.read_line(&mut line).await?; // the CRLF after the chunk
    }
}

#[cfg(test)]
mod tests {
    use super::read_request;

    #[tokio::test]
    async fn reads_content_length_and_chunked_bodies() {
        let raw: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /b HTTP/1.1\r\n\
            Transfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n1;ext=1\r\nz\r\n0\r\n\r\n";
        let mut reader = tokio::io::BufReader::new(raw);
        let first = read_request(&mut reader).await.unwrap().unwrap();
        assert_eq!(
            (first.method.as_str(), first.path.as_str(), &first.body[..]),
            ("POST", "/a", &b"abc"[..])
        );
        let second = read_request(&mut reader).await.unwrap().unwrap();
        assert_eq!(
            (second.path.as_str(), &second.body[..]),
            ("/b", &b"xyz"[..])
        );
        assert!(read_request(&mut reader).await.unwrap().is_none());
    }
}
