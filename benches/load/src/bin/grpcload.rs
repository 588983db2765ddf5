//! The gRPC load client of `grpc.sh`, on raw HTTP/2 streams (the `h2` crate),
//! so that a call costs the client little: the request bodies are encoded
//! once, and no codec, channel or tower stack runs per call.
//!
//! ```text
//! grpcload ADDR CASE [-c CONNS] [-m STREAMS] [-d DURATION] [--warmup DURATION]
//!          [--token FILE | --tokens FILE] [--times N] [--once]
//! ```
//!
//! CASE is `health` (`grpc.health.v1.Health/Check`, service ""), `unary`
//! (`helloworld.Greeter/SayHello`, name `load`) or `stream`
//! (`helloworld.Greeter/SayHelloStream`, name `load`, `times` N, default 10).
//! `--token FILE`: the file's first line as the bearer token of every call;
//! `--tokens FILE`: one line per call, in order, cycling; neither: no
//! `authorization` header.
//!
//! A load run opens CONNS HTTP/2 connections (default 16) and keeps STREAMS
//! calls in flight on each (default 8), for DURATION (default 10s) after
//! WARMUP (default 0s, not measured), on one thread (pin it with `taskset`).
//! Every call's response is read to its end: it counts as answered right when
//! the HTTP status is 200, `grpc-status` is 0 (in the trailers, or in the
//! headers of a trailers-only response) and the body is, byte for byte, the
//! one the gRPC example sends (for `stream`: all N messages); anything else is
//! counted as an error by kind. The latency of a call runs from its request
//! until its trailers (for `stream`: the whole stream), in an HDR histogram.
//! Prints one tab-separated line on stdout:
//!
//! ```text
//! ok_calls  errors  calls_per_s  messages_per_s  p50_ms  p99_ms  p999_ms  max_ms  error_kinds
//! ```
//!
//! (`error_kinds`: `none`, or `kind=count` joined by `;`), and one line for
//! people on stderr. `--once` makes one call and prints
//! `grpc-status TAB grpc-message TAB messages TAB expected|unexpected TAB
//! first message` (exit 1 when no connection or no answer), for the
//! preflights and for waiting until a server listens.

use bytes::{Bytes, BytesMut};
use h2::client::SendRequest;
use hdrhistogram::Histogram;
use http::header::{AUTHORIZATION, CONTENT_TYPE, TE};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use prost::Message;
use rampgate_load::grpc::helloworld::{HelloReply, HelloRequest};
use rampgate_load::grpc::{MAX_TIMES, NAME, hello_text, stream_text};
use rampgate_load::{CLIENT_ID, SUBJECT};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const USAGE: &str = "usage: grpcload ADDR health|unary|stream [-c CONNS] [-m STREAMS] \
                     [-d DURATION] [--warmup DURATION] [--token FILE | --tokens FILE] \
                     [--times N] [--once]";

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Health,
    Unary,
    Stream,
}

struct Options {
    addr: String,
    case: Case,
    connections: usize,
    streams: usize,
    duration: Duration,
    warmup: Duration,
    token: Option<String>,
    tokens: Option<String>,
    times: u32,
    once: bool,
}

fn parse_duration(text: &str) -> Duration {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |at| text.split_at(at));
    let number: f64 = number.parse().expect("DURATION: a number and ms, s or m");
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        _ => panic!("DURATION: a number and ms, s or m"),
    };
    Duration::from_secs_f64(seconds)
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let addr = args.next().expect(USAGE);
    let case = match args.next().expect(USAGE).as_str() {
        "health" => Case::Health,
        "unary" => Case::Unary,
        "stream" => Case::Stream,
        _ => panic!("{USAGE}"),
    };
    let mut options = Options {
        addr,
        case,
        connections: 16,
        streams: 8,
        duration: Duration::from_secs(10),
        warmup: Duration::ZERO,
        token: None,
        tokens: None,
        times: 10,
        once: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().expect(USAGE);
        match flag.as_str() {
            "-c" => options.connections = value().parse().expect("CONNS"),
            "-m" => options.streams = value().parse().expect("STREAMS"),
            "-d" => options.duration = parse_duration(&value()),
            "--warmup" => options.warmup = parse_duration(&value()),
            "--token" => options.token = Some(value()),
            "--tokens" => options.tokens = Some(value()),
            "--times" => options.times = value().parse().expect("N"),
            "--once" => options.once = true,
            _ => panic!("{USAGE}"),
        }
    }
    assert!(options.connections > 0 && options.streams > 0, "{USAGE}");
    options
}

/// A gRPC message: the compressed flag, the length (big-endian), the message.
fn frame(message: &impl Message) -> Bytes {
    let mut buf = BytesMut::with_capacity(5 + message.encoded_len());
    buf.extend_from_slice(&[0]);
    buf.extend_from_slice(
        &u32::try_from(message.encoded_len())
            .expect("small")
            .to_be_bytes(),
    );
    message.encode(&mut buf).expect("capacity");
    buf.freeze()
}

/// The messages of a gRPC body.
fn unframe(mut body: &[u8]) -> Vec<&[u8]> {
    let mut messages = Vec::new();
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let end = (5 + len).min(body.len());
        messages.push(&body[5..end]);
        body = &body[end..];
    }
    messages
}

/// The bearer tokens of the calls: none, one, or one per call in turn.
enum Auth {
    None,
    One(HeaderValue),
    Cycle(Vec<HeaderValue>, Cell<usize>),
}

impl Auth {
    fn next(&self) -> Option<HeaderValue> {
        match self {
            Auth::None => None,
            Auth::One(value) => Some(value.clone()),
            Auth::Cycle(values, at) => {
                let i = at.get();
                at.set(if i + 1 == values.len() { 0 } else { i + 1 });
                Some(values[i].clone())
            }
        }
    }
}

/// One kind of call: where, with what, and the answer it must get.
struct Call {
    uri: Uri,
    body: Bytes,
    expected: Bytes,
    /// The messages in `expected`.
    messages: u64,
    auth: Auth,
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {}", token.trim())).expect("token: header value")
}

impl Call {
    fn new(options: &Options) -> Self {
        let (path, body, expected, messages) = match options.case {
            Case::Health => (
                "/grpc.health.v1.Health/Check",
                frame(&HealthCheckRequest::default()),
                frame(&HealthCheckResponse {
                    status: ServingStatus::Serving.into(),
                }),
                1,
            ),
            Case::Unary => (
                "/helloworld.Greeter/SayHello",
                frame(&HelloRequest {
                    name: NAME.into(),
                    times: 0,
                }),
                frame(&HelloReply {
                    message: hello_text(NAME, SUBJECT, CLIENT_ID),
                }),
                1,
            ),
            Case::Stream => {
                let sent = options.times.clamp(1, MAX_TIMES);
                let mut expected = BytesMut::new();
                for i in 1..=sent {
                    expected.extend_from_slice(&frame(&HelloReply {
                        message: stream_text(NAME, i),
                    }));
                }
                (
                    "/helloworld.Greeter/SayHelloStream",
                    frame(&HelloRequest {
                        name: NAME.into(),
                        times: options.times,
                    }),
                    expected.freeze(),
                    u64::from(sent),
                )
            }
        };
        let auth = match (&options.token, &options.tokens) {
            (Some(file), None) => {
                let text = std::fs::read_to_string(file).expect("--token FILE");
                Auth::One(bearer(text.lines().next().unwrap_or("")))
            }
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file).expect("--tokens FILE");
                let values: Vec<_> = text.lines().filter(|l| !l.is_empty()).map(bearer).collect();
                assert!(!values.is_empty(), "--tokens FILE: no token");
                Auth::Cycle(values, Cell::new(0))
            }
            (None, None) => Auth::None,
            (Some(_), Some(_)) => panic!("--token or --tokens, not both"),
        };
        Call {
            uri: format!("http://{}{path}", options.addr)
                .parse()
                .expect("ADDR: host:port"),
            body,
            expected,
            messages,
            auth,
        }
    }
}

/// What came back for one call.
struct Reply {
    http: u16,
    /// `grpc-status`, from the trailers or a trailers-only response's headers.
    status: Option<Bytes>,
    grpc_message: Option<Bytes>,
    /// The body is `Call::expected`, byte for byte.
    expected: bool,
    /// The whole body, when asked for.
    body: BytesMut,
}

impl Reply {
    fn ok(&self) -> bool {
        self.http == 200 && self.status.as_deref() == Some(b"0") && self.expected
    }

    /// The kind of a wrong answer, for the error counts.
    fn error_kind(&self) -> String {
        if self.http != 200 {
            return format!("http-{}", self.http);
        }
        match self.status.as_deref() {
            None => "no-grpc-status".into(),
            Some(b"0") => "wrong-body".into(),
            Some(code) => format!("grpc-status-{}", String::from_utf8_lossy(code)),
        }
    }

    fn take_status(&mut self, headers: &HeaderMap) {
        if let Some(status) = headers.get("grpc-status") {
            self.status = Some(Bytes::copy_from_slice(status.as_bytes()));
            self.grpc_message = headers
                .get("grpc-message")
                .map(|m| Bytes::copy_from_slice(m.as_bytes()));
        }
    }
}

/// One call on `client`: the request, then the response read to its end.
async fn exchange(
    client: &mut SendRequest<Bytes>,
    call: &Call,
    keep_body: bool,
) -> Result<Reply, h2::Error> {
    std::future::poll_fn(|cx| client.poll_ready(cx)).await?;
    let mut request = Request::new(());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = call.uri.clone();
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(TE, HeaderValue::from_static("trailers"));
    if let Some(auth) = call.auth.next() {
        headers.insert(AUTHORIZATION, auth);
    }
    let (response, mut send) = client.send_request(request, false)?;
    send.send_data(call.body.clone(), true)?;
    let (parts, mut body) = response.await?.into_parts();
    let mut reply = Reply {
        http: parts.status.as_u16(),
        status: None,
        grpc_message: None,
        expected: true,
        body: BytesMut::new(),
    };
    reply.take_status(&parts.headers);
    let mut at = 0;
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        let end = at + chunk.len();
        reply.expected &= call.expected.get(at..end) == Some(&chunk[..]);
        at = end;
        if keep_body {
            reply.body.extend_from_slice(&chunk);
        }
    }
    if let Some(trailers) = body.trailers().await? {
        reply.take_status(&trailers);
    }
    reply.expected &= at == call.expected.len();
    Ok(reply)
}

async fn connect(addr: &str) -> Result<SendRequest<Bytes>, Box<dyn std::error::Error>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (client, connection) = h2::client::handshake(tcp).await?;
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// `--once`: one call, its answer on stdout.
async fn once(options: &Options, call: &Call) -> ExitCode {
    let reply = match connect(&options.addr).await {
        Ok(mut client) => exchange(&mut client, call, true)
            .await
            .map_err(|e| e.into()),
        Err(e) => Err(e),
    };
    let reply = match reply {
        Ok(reply) => reply,
        Err(e) => {
            eprintln!("grpcload: {}: {e}", options.addr);
            return ExitCode::FAILURE;
        }
    };
    let messages = unframe(&reply.body);
    let first = messages
        .first()
        .map_or(String::new(), |m| match options.case {
            Case::Health => HealthCheckResponse::decode(*m).map_or_else(
                |e| format!("undecodable: {e}"),
                |r| r.status().as_str_name().to_owned(),
            ),
            _ => HelloReply::decode(*m).map_or_else(|e| format!("undecodable: {e}"), |r| r.message),
        });
    let text = |b: &Option<Bytes>| {
        b.as_deref()
            .map(|b| String::from_utf8_lossy(&percent_decode(b)).into_owned())
            .unwrap_or_default()
    };
    let status = if reply.http == 200 {
        text(&reply.status)
    } else {
        format!("http-{}", reply.http)
    };
    println!(
        "{status}\t{}\t{}\t{}\t{first}",
        text(&reply.grpc_message),
        messages.len(),
        if reply.ok() { "expected" } else { "unexpected" },
    );
    ExitCode::SUCCESS
}

/// `grpc-message` is percent-encoded (the gRPC HTTP/2 protocol): `%20` and the like, decoded.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

struct Stats {
    latency: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// When the last measured call ended.
    last: Instant,
}

/// Calls on `client` one after another, until `until`; those that start
/// before `from` are not measured.
async fn worker(
    mut client: SendRequest<Bytes>,
    call: Rc<Call>,
    stats: Rc<RefCell<Stats>>,
    from: Instant,
    until: Instant,
) {
    loop {
        let start = Instant::now();
        if start >= until {
            return;
        }
        let reply = exchange(&mut client, &call, false).await;
        let end = Instant::now();
        if start < from {
            if reply.is_err() {
                return;
            }
            continue;
        }
        let mut stats = stats.borrow_mut();
        stats.last = stats.last.max(end);
        match reply {
            Ok(reply) if reply.ok() => {
                stats.ok += 1;
                let nanos = u64::try_from((end - start).as_nanos()).unwrap_or(u64::MAX);
                stats.latency.saturating_record(nanos);
            }
            Ok(reply) => *stats.errors.entry(reply.error_kind()).or_default() += 1,
            Err(e) => {
                let kind = if e.is_io() { "io" } else { "h2" };
                *stats.errors.entry(format!("{kind}: {e}")).or_default() += 1;
                // The connection is gone: this worker stops rather than spin.
                return;
            }
        }
    }
}

async fn load(options: &Options, call: Call) -> ExitCode {
    let mut clients = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        match connect(&options.addr).await {
            Ok(client) => clients.push(client),
            Err(e) => {
                eprintln!("grpcload: {}: {e}", options.addr);
                return ExitCode::FAILURE;
            }
        }
    }
    let call = Rc::new(call);
    let started = Instant::now();
    let from = started + options.warmup;
    let until = from + options.duration;
    let stats = Rc::new(RefCell::new(Stats {
        latency: Histogram::new_with_bounds(1_000, 60_000_000_000, 3).expect("histogram"),
        ok: 0,
        errors: BTreeMap::new(),
        last: from,
    }));
    let mut workers = Vec::new();
    for client in &clients {
        for _ in 0..options.streams {
            workers.push(tokio::task::spawn_local(worker(
                client.clone(),
                call.clone(),
                stats.clone(),
                from,
                until,
            )));
        }
    }
    let grace = Duration::from_secs(30);
    let all = async {
        for worker in workers {
            let _ = worker.await;
        }
    };
    if tokio::time::timeout_at((until + grace).into(), all)
        .await
        .is_err()
    {
        eprintln!("grpcload: calls still unanswered {grace:?} after the end of the run");
        return ExitCode::FAILURE;
    }
    let stats = stats.borrow();
    let seconds = (stats.last - from).as_secs_f64().max(1e-9);
    let errors: u64 = stats.errors.values().sum();
    let kinds = if stats.errors.is_empty() {
        "none".to_owned()
    } else {
        let kinds: Vec<_> = stats
            .errors
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        kinds.join(";")
    };
    let ms = |q: f64| stats.latency.value_at_quantile(q) as f64 / 1e6;
    let calls_s = stats.ok as f64 / seconds;
    let messages_s = calls_s * call.messages as f64;
    println!(
        "{}\t{errors}\t{calls_s:.0}\t{messages_s:.0}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{kinds}",
        stats.ok,
        ms(0.5),
        ms(0.99),
        ms(0.999),
        stats.latency.max() as f64 / 1e6,
    );
    let what = match options.case {
        Case::Health => "health".to_owned(),
        Case::Unary => "unary".to_owned(),
        Case::Stream => format!("stream x{}", call.messages),
    };
    eprintln!(
        "grpcload {what} {} {}x{} {seconds:.1}s: {calls_s:.0} calls/s{}, p50 {:.3} ms, p99 {:.3} ms, \
         p99.9 {:.3} ms, {} right, errors: {kinds}",
        options.addr,
        options.connections,
        options.streams,
        if options.case == Case::Stream {
            format!(" ({messages_s:.0} messages/s)")
        } else {
            String::new()
        },
        ms(0.5),
        ms(0.99),
        ms(0.999),
        stats.ok,
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let options = options();
    let call = Call::new(&options);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        if options.once {
            once(&options, &call).await
        } else {
            load(&options, call).await
        }
    })
}
