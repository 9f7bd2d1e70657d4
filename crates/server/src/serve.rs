//! Listening: a hyper HTTP/1.1 server around the [`router`], in async code ([`Server`],
//! [`serve`]) or from synchronous code ([`BlockingServer`], [`serve_blocking`]).
//!
//! The connections are served by hyper directly rather than `axum::serve` for one reason:
//! header names must go out in Title-Case. sane-backends' escl backend looks for the
//! literal text `Location:` in the POST response, and hyper writes lowercase by default.

use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::routes::router;
use crate::state::ServerState;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use scanwire_core::transfer::SharedDevice;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often the background task looks for jobs that timed out.
const SWEEP_INTERVAL: Duration = Duration::from_millis(500);

/// A client must send its request headers within this time (slow-loris guard).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server: its address, its state, and the way to stop it.
pub struct Server {
    addr: SocketAddr,
    state: ServerState,
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
        // Opening a device's capabilities may block (SANE): not on a runtime thread.
        let state = tokio::task::spawn_blocking(move || ServerState::new(config, devices))
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
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, state.clone(), stopped));
        Ok(Server {
            addr,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// The address it listens on (with the real port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of the default device's eSCL root, e.g. `http://127.0.0.1:8090/eSCL`.
    pub fn url(&self) -> String {
        format!("http://{}/eSCL", self.addr)
    }

    /// The shared state (devices, configuration).
    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// Stops accepting, cancels unfinished jobs and closes every connection.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
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
                    let svc = TowerToHyperService::new(app.clone());
                    conns.spawn(async move {
                        let mut http = hyper::server::conn::http1::Builder::new();
                        http.title_case_headers(true)
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEADER_TIMEOUT);
                        // A client that vanishes is normal here; its job notices on its own.
                        let _ = http.serve_connection(TokioIo::new(stream), svc).await;
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("scanwire-server")
            .enable_all()
            .build()
            .map_err(ServerError::Runtime)?;
        let server = runtime.block_on(Server::bind(config, devices))?;
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
        format!("http://{}/eSCL", self.local_addr())
    }

    /// The shared state.
    pub fn state(&self) -> &ServerState {
        self.server.as_ref().map(|s| s.state()).expect("running")
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
