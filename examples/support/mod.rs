//! What the examples share: reading the configuration, waiting for the
//! issuers' keys, the `/ready` route, and the one place they start the embedded
//! development issuer — explicitly, and loudly — when no issuer is configured.
//! The library itself never does.

use axum::Json;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};
use rampgate::Verifier;
use rampgate::audit::AuditLayer;
use rampgate::config::{Config, ConfigError};
use rampgate::contract::ContractHandle;
use rampgate_testkit::{DevIssuer, DevIssuerBuilder};

/// An example's configuration, contract and verifier.
pub(crate) struct Setup {
    pub(crate) config: Config,
    pub(crate) contract: ContractHandle,
    pub(crate) verifier: Verifier,
    /// The development issuer, when this example started one.
    pub(crate) dev: Option<DevIssuer>,
}

/// Logs to stderr at `warn`, and `info` for rampgate, unless `RUST_LOG` says otherwise.
pub(crate) fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,rampgate_core=info,rampgate_tower=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Reads `RAMPGATE_CONFIG` and the `RAMPGATE_*` overrides, and the contract
/// (the configured file, else `embedded`), then waits up to
/// `RAMPGATE_READY_TIMEOUT` seconds (default 10) for every issuer's keys, so
/// that the example never listens before it can verify a token: on timeout it
/// returns the error naming the issuers without keys. Without any configured
/// issuer, this example asks for the development issuer and says so on stderr.
pub(crate) async fn setup(embedded_contract: &str) -> Result<Setup, Box<dyn std::error::Error>> {
    setup_with(Config::from_env()?, embedded_contract, DevIssuer::builder()).await
}

/// [`setup`] with a configuration of the example's own reading, and the
/// development issuer, when one is needed, started from `dev` (the MCP
/// example's tokens name its own URL as their audience).
pub(crate) async fn setup_with(
    config: Config,
    embedded_contract: &str,
    dev: DevIssuerBuilder,
) -> Result<Setup, Box<dyn std::error::Error>> {
    let contract = config.contract_or(embedded_contract)?;
    if config.has_issuer(Some(&contract.current())) {
        let verifier = match config.ready_verifier(Some(&contract.current())).await {
            Ok(verifier) => verifier,
            Err(e @ ConfigError::NotReady(_)) => {
                // The message says what to check; `main`'s `Debug` would bury it.
                eprintln!("error: {e}");
                std::process::exit(1);
            }
            Err(e) => return Err(e.into()),
        };
        return Ok(Setup {
            config,
            contract,
            verifier,
            dev: None,
        });
    }
    let dev = dev.start().await?;
    eprintln!(
        "WARNING: no issuer is configured (RAMPGATE_ISSUER, RAMPGATE_CONFIG or the contract's \
         issuer), so this EXAMPLE starts the embedded DEVELOPMENT issuer at {}: it mints a token \
         for anyone who asks. Never run a service like this in production.",
        dev.issuer()
    );
    // The same `[policy]` as a configured issuer: tokens living longer than
    // 24 hours (unless the file says otherwise) are refused here too.
    let mut builder =
        Verifier::builder().issuer(dev.issuer_config().policy(config.validation_policy()));
    // `[revocation]` (or RAMPGATE_REDIS_URL) here too, as Config's verifiers have it.
    if let Some(store) = config.revocation_store().await? {
        builder = builder.revocations_shared(store);
    }
    let verifier = builder.build().await?;
    Ok(Setup {
        config,
        contract,
        verifier,
        dev: Some(dev),
    })
}

/// `GET /ready`: the verifier's [`Health`](rampgate::keys::Health) as JSON, 200 when
/// every issuer has usable keys and 503 otherwise. Mounted outside the
/// `JwtLayer`, for a load balancer or an orchestrator's readiness probe.
/// (Its `last_error` names JWKS URLs: serve it on an internal port in
/// production.)
pub(crate) fn ready_route<S>(verifier: Verifier) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    get(move || {
        let health = verifier.health();
        async move {
            let status = if health.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, Json(health))
        }
    })
}

/// The audit layer: one JSON line per request in the file named by
/// `RAMPGATE_AUDIT` (or `[audit] file`), else one `tracing` event per request
/// (target `rampgate::audit`); the contract's reloads are audited too, and its
/// `audit = "required"` routes fail closed. Every change of the verifier's
/// revocation store (`[revocation]`, `RAMPGATE_REDIS_URL`) is an audit event
/// from the start, including those other replicas and `rampgate revoke` make.
pub(crate) fn audit_layer(
    config: &Config,
    contract: &ContractHandle,
    verifier: &Verifier,
) -> Result<AuditLayer, ConfigError> {
    let auditor = config.auditor()?;
    if let Some(audit) = &config.audit {
        eprintln!("audit events -> {}", audit.file.display());
    }
    auditor.watch_contract(contract);
    if let Some(store) = verifier.revocations() {
        auditor.watch_revocations(store.as_ref());
    }
    // The auditor carries the config's trusted_proxies to the layer.
    Ok(AuditLayer::new(auditor).contract(contract.clone()))
}

/// The bucket bounds of every duration histogram, in seconds.
const DURATION_BUCKETS: [f64; 17] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// `GET /metrics`: every rampgate metric (docs/audit.md) in the Prometheus
/// text format, rendered by `metrics-exporter-prometheus` from its handle (no
/// listener of its own). Mounted outside the `JwtLayer`: serve it on an
/// internal port in production.
pub(crate) fn metrics_route<S>() -> Result<MethodRouter<S>, Box<dyn std::error::Error>>
where
    S: Clone + Send + Sync + 'static,
{
    // Histograms with buckets, not the exporter's default summaries: buckets
    // add up across replicas (a fleet's p99 is `histogram_quantile` over the
    // sum), and filing a sample in a bucket is cheaper than a summary's
    // sketch. From 50 µs (a cached token) to 10 s (a slow JWKS fetch).
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&DURATION_BUCKETS)?
        .install_recorder()?;
    // Histograms keep their samples until upkeep drains them into buckets: the
    // installed recorder leaves upkeep to the caller, and without it memory and
    // the cost of recording grow with every request between scrapes.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(get(move || {
        let handle = handle.clone();
        async move { handle.render() }
    }))
}

/// Serves `app` until Ctrl-C, with each connection's peer address (the audit
/// events' `client_addr`), then flushes `auditor`: every event of the last
/// requests reaches the sink before the example exits.
pub(crate) async fn serve_audited(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    auditor: &rampgate::audit::Auditor,
) -> std::io::Result<()> {
    serve_then_flush(listener, app, auditor).await
}

/// [`serve_audited`] for a server whose answers stream, with `TCP_NODELAY`
/// on every connection (`axum::serve` leaves it off). An answer written in
/// more than one piece (the MCP example's tool results are server-sent
/// events) would otherwise wait, on a kept-alive connection, for the
/// client's delayed ACK: 40 ms on Linux, every other call. The examples
/// that answer in one piece keep axum's default, as the load bench's bare
/// server does.
// Only the MCP example streams; every example compiles this module.
#[allow(dead_code)]
pub(crate) async fn serve_audited_streaming(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    auditor: &rampgate::audit::Auditor,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
        }
    });
    serve_then_flush(listener, app, auditor).await
}

/// Serves until Ctrl-C with each connection's peer address, then flushes
/// `auditor`.
async fn serve_then_flush<L>(
    listener: L,
    app: axum::Router,
    auditor: &rampgate::audit::Auditor,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
    for<'a> std::net::SocketAddr:
        axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    auditor.flush().await;
    Ok(())
}

/// `app` with the admin router merged when the configuration has `[admin]`
/// (its own issuer, audience and scope; off by default).
pub(crate) async fn with_admin(
    app: axum::Router,
    config: &Config,
    api: &Verifier,
) -> Result<axum::Router, ConfigError> {
    Ok(match config.admin_router(api).await? {
        Some(admin) => {
            eprintln!("admin router mounted ([admin] in the configuration)");
            app.merge(admin)
        }
        None => app,
    })
}
