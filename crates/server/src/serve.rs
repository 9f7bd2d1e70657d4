//! Listening: a hyper HTTP/1.1 server around the [`router`], in async code ([`Server`],
//! [`serve`]) or from synchronous code ([`BlockingServer`], [`serve_blocking`]).
//!
//! The connections are served by hyper directly rather than `axum::serve` for one reason:
//! header names must go out in Title-Case. sane-backends' escl backend looks for the
//! literal text `Location:` in the POST response, and hyper writes lowercase by default.

use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::mdns::Announcer;
use crate::routes::router;
use crate::served::ServedDevice;
use crate::state::ServerState;
use crate::wsd::Discovery;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use scanwire_core::transfer::SharedDevice;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

/// How often the background task looks for jobs that timed out.
const SWEEP_INTERVAL: Duration = Duration::from_millis(500);

/// A running server: its address, its state, and the way to stop it.
pub struct Server {
    addr: SocketAddr,
    state: ServerState,
    /// Withdrawn (dropped) before the listener stops.
    announcer: Option<Announcer>,
    /// WS-Discovery's Bye is said (dropped) before the listener stops.
    discovery: Option<Discovery>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Reads the devices' capabilities, binds `config.listen` and starts serving on the
    /// current tokio runtime.
    pub async fn bind(
        config: ServerConfig,
        devices: Vec<(String, SharedDevice)>,
    ) -> Result<Server, ServerError> {
        Self::bind_served(config, devices.into_iter().map(Into::into).collect()).await
    }

    /// [`bind`](Self::bind) for devices that may have a supervisor or their own watchdog.
    pub async fn bind_served(
        config: ServerConfig,
        devices: Vec<ServedDevice>,
    ) -> Result<Server, ServerError> {
        // Opening a device's capabilities may block (SANE): not on a runtime thread.
        let state = tokio::task::spawn_blocking(move || ServerState::served(config, devices))
            .await
            .map_err(|e| ServerError::Runtime(std::io::Error::other(e.to_string())))??;
        Server::bind_state(state).await
    }

    /// Binds and serves an existing state.
    pub async fn bind_state(state: ServerState) -> Result<Server, ServerError> {
        let listen = state.config().listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: listen,
            source,
        })?;
        let announcer = match state.config().mdns {
            Some(_) => Some(Announcer::start(&state, addr)?),
            None => None,
        };
        let config = state.config();
        let discovery = if config.wsd && config.wsd_discovery {
            Some(Discovery::start(&state, addr)?)
        } else {
            None
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, state.clone(), stopped));
        Ok(Server {
            addr,
            state,
            announcer,
            discovery,
            stop: Some(stop),
            task,
        })
    }

    /// The address it listens on (with the real port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of the default device's eSCL root, e.g. `http://127.0.0.1:8090/eSCL`
    /// (`https://` with TLS).
    pub fn url(&self) -> String {
        root_url(&self.state, self.addr)
    }

    /// The default device's WS-Scan service address (`…/WSDScanner`; served only with
    /// [`ServerConfig::wsd`](crate::ServerConfig::wsd)).
    pub fn wsd_url(&self) -> String {
        wsd_url(&self.state, self.addr)
    }

    /// The shared state (devices, configuration).
    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// The DNS-SD service names announced (empty without mDNS).
    pub fn announced(&self) -> Vec<String> {
        self.announcer
            .as_ref()
            .map(|a| a.names().to_vec())
            .unwrap_or_default()
    }

    /// Withdraws the mDNS announcement, stops accepting, cancels unfinished jobs and closes
    /// every connection.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(a) = self.announcer.take() {
            // Sends the goodbye packets (a blocking wait of at most a few seconds).
            let _ = tokio::task::spawn_blocking(move || drop(a)).await;
        }
        if let Some(d) = self.discovery.take() {
            // Says Bye (the responder notices within its poll interval).
            let _ = tokio::task::spawn_blocking(move || drop(d)).await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        join(&mut self.task).await
    }

    /// Serves until `signal` completes, then shuts down.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> Result<(), ServerError> {
        let mut this = self;
        tokio::select! {
            r = join(&mut this.task) => r,
            () = signal => this.shutdown().await,
        }
    }

    /// Serves until the listener fails for good.
    pub async fn wait(mut self) -> Result<(), ServerError> {
        join(&mut self.task).await
    }
}

fn root_url(state: &ServerState, addr: SocketAddr) -> String {
    let scheme = if state.config().tls.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{addr}/eSCL")
}

fn wsd_url(state: &ServerState, addr: SocketAddr) -> String {
    let root = root_url(state, addr);
    let base = root.strip_suffix("/eSCL").unwrap_or(&root);
    format!("{base}{}", crate::wsd::WSD_PATH)
}

async fn join(task: &mut JoinHandle<Result<(), ServerError>>) -> Result<(), ServerError> {
    match task.await {
        Ok(r) => r,
        Err(e) => Err(ServerError::Runtime(std::io::Error::other(e.to_string()))),
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: ServerState,
    mut stop: oneshot::Receiver<()>,
) -> Result<(), ServerError> {
    let app = router(state.clone());
    let config = state.config();
    let tls = config
        .tls
        .as_ref()
        .map(|t| tokio_rustls::TlsAcceptor::from(t.server.clone()));
    let max_connections = config.limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max_connections));
    let header_timeout = config.timing.header_timeout;
    let retry_after = config.timing.retry_after;
    let mut conns = tokio::task::JoinSet::new();
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            _ = &mut stop => break Ok(()),
            _ = sweep.tick() => state.sweep_now(),
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    // Taken here, in accept order, so the limit is exact.
                    let permit = permits.clone().try_acquire_owned().ok();
                    let svc = TowerToHyperService::new(app.clone());
                    let tls = tls.clone();
                    conns.spawn(async move {
                        let Some(_permit) = permit else {
                            refuse(stream, tls.is_some(), max_connections, retry_after).await;
                            return;
                        };
                        match tls {
                            None => serve_connection(stream, svc, header_timeout).await,
                            Some(acceptor) => {
                                serve_tls(stream, acceptor, svc, header_timeout).await
                            }
                        }
                    });
                }
                Err(e) if transient(&e) => {
                    // Out of file descriptors or a connection reset before accept: wait
                    // a little rather than spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => break Err(ServerError::Accept(e)),
            },
        }
    };
    state.cancel_all();
    conns.abort_all();
    while conns.join_next().await.is_some() {}
    result
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until the client closes it.
async fn serve_connection<S>(
    stream: S,
    svc: TowerToHyperService<axum::Router>,
    header_timeout: Duration,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.title_case_headers(true)
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    // A client that vanishes is normal here; its job notices on its own.
    let _ = http.serve_connection(TokioIo::new(stream), svc).await;
}

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// A TLS connection: handshake (bounded by `header_timeout`), then HTTP. A client speaking
/// plain HTTP to the TLS port gets a short clear-text 400 saying so, rather than a
/// handshake failure it cannot explain.
async fn serve_tls(
    stream: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    svc: TowerToHyperService<axum::Router>,
    header_timeout: Duration,
) {
    let mut first = [0u8; 1];
    match tokio::time::timeout(header_timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        // Closed, failed or silent: nothing to serve.
        _ => return,
    }
    if first[0] != TLS_HANDSHAKE {
        if first[0].is_ascii_uppercase() {
            let msg = "this port speaks HTTPS only: use an https:// URL";
            answer_and_close(stream, "400 Bad Request", &[], msg).await;
        }
        return;
    }
    if let Ok(Ok(tls)) = tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
        serve_connection(tls, svc, header_timeout).await;
    }
    // A failed or timed-out handshake just closes: rustls has sent its alert.
}

/// A connection over [`Limits::max_connections`](crate::Limits::max_connections): plain
/// HTTP gets 503 with `Retry-After`; TLS is closed at once (answering would cost a
/// handshake, which is what the limit is there to bound).
async fn refuse(stream: TcpStream, tls: bool, max: usize, retry_after: u32) {
    if tls {
        return;
    }
    let msg = format!("the server is serving its limit of {max} connections; retry later");
    let retry = format!("Retry-After: {retry_after}\r\n");
    answer_and_close(stream, "503 Service Unavailable", &[&retry], &msg).await;
}

/// Writes a minimal HTTP/1.1 response and closes the connection cleanly: the write side
/// first, then reading what the client sent until it closes (briefly), so that unread
/// request bytes do not turn the close into a reset that would destroy the response.
async fn answer_and_close(mut stream: TcpStream, status: &str, headers: &[&str], msg: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n",
        msg.len() + 1,
        headers.concat()
    );
    let response = format!("{head}{msg}\n");
    let linger = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(LINGER, linger).await;
}

/// How long a refused connection is drained before it is dropped.
const LINGER: Duration = Duration::from_secs(1);

fn transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | OutOfMemory
    ) || e.raw_os_error().is_some_and(|c| c == 24 || c == 23) // EMFILE, ENFILE
}

/// Serves `devices` until the process ends (or the listener fails).
pub async fn serve(
    config: ServerConfig,
    devices: Vec<(String, SharedDevice)>,
) -> Result<(), ServerError> {
    Server::bind(config, devices).await?.wait().await
}

/// A server on its own runtime, for synchronous callers (the CLI, tests, benchmarks).
pub struct BlockingServer {
    runtime: Option<tokio::runtime::Runtime>,
    server: Option<Server>,
}

impl std::fmt::Debug for BlockingServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingServer")
            .field("server", &self.server)
            .finish()
    }
}

impl BlockingServer {
    /// Starts a runtime with two worker threads and a server on it; returns once it listens.
    pub fn start(
        config: ServerConfig,
        devices: Vec<(String, SharedDevice)>,
    ) -> Result<BlockingServer, ServerError> {
        Self::start_served(config, devices.into_iter().map(Into::into).collect())
    }

    /// [`start`](Self::start) for devices that may have a supervisor or their own watchdog.
    pub fn start_served(
        config: ServerConfig,
        devices: Vec<ServedDevice>,
    ) -> Result<BlockingServer, ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("scanwire-server")
            .enable_all()
            .build()
            .map_err(ServerError::Runtime)?;
        let server = runtime.block_on(Server::bind_served(config, devices))?;
        Ok(BlockingServer {
            runtime: Some(runtime),
            server: Some(server),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server
            .as_ref()
            .map(|s| s.local_addr())
            .expect("running")
    }

    /// The URL of the default device's eSCL root.
    pub fn url(&self) -> String {
        self.server.as_ref().map(|s| s.url()).expect("running")
    }

    /// The default device's WS-Scan service address (served with `ServerConfig::wsd`).
    pub fn wsd_url(&self) -> String {
        self.server.as_ref().map(|s| s.wsd_url()).expect("running")
    }

    /// The shared state.
    pub fn state(&self) -> &ServerState {
        self.server.as_ref().map(|s| s.state()).expect("running")
    }

    /// The DNS-SD service names announced (empty without mDNS).
    pub fn announced(&self) -> Vec<String> {
        self.server
            .as_ref()
            .map(|s| s.announced())
            .unwrap_or_default()
    }

    /// Stops the server and its runtime.
    pub fn stop(mut self) -> Result<(), ServerError> {
        self.stop_inner()
    }

    /// Blocks until the server stops by itself (a listener failure).
    pub fn wait(mut self) -> Result<(), ServerError> {
        let (Some(rt), Some(server)) = (self.runtime.take(), self.server.take()) else {
            return Ok(());
        };
        let r = rt.block_on(server.wait());
        rt.shutdown_timeout(Duration::from_secs(1));
        r
    }

    /// Serves until `stop` receives (or its sender is dropped), then shuts down: the mDNS
    /// announcement is withdrawn, unfinished jobs are cancelled. What a Ctrl-C handler
    /// drives.
    pub fn wait_until(mut self, stop: std::sync::mpsc::Receiver<()>) -> Result<(), ServerError> {
        let (Some(rt), Some(server)) = (self.runtime.take(), self.server.take()) else {
            return Ok(());
        };
        let signal = async {
            let _ = tokio::task::spawn_blocking(move || stop.recv()).await;
        };
        let r = rt.block_on(server.run_until(signal));
        rt.shutdown_timeout(Duration::from_secs(1));
        r
    }

    fn stop_inner(&mut self) -> Result<(), ServerError> {
        let (Some(rt), Some(server)) = (self.runtime.take(), self.server.take()) else {
            return Ok(());
        };
        let r = rt.block_on(server.shutdown());
        rt.shutdown_timeout(Duration::from_secs(1));
        r
    }
}

impl Drop for BlockingServer {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// Serves `devices` from synchronous code until the listener fails; what
/// `scanwire serve` runs.
pub fn serve_blocking(
    config: ServerConfig,
    devices: Vec<(String, SharedDevice)>,
) -> Result<(), ServerError> {
    BlockingServer::start(config, devices)?.wait()
}
