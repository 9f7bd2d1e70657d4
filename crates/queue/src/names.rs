//! Subjects, streams, buckets, and [`setup`], which creates or updates them all (idempotent:
//! every producer and worker calls it at start).
//!
//! | what | name | kind |
//! |---|---|---|
//! | page messages | `scanwire.pages.<job>.<doc>.<page>` on [`PAGES_STREAM`] | WorkQueue stream, byte limit, discard new |
//! | documents to assemble | `scanwire.assemble.<job>.<doc>` on [`ASSEMBLE_STREAM`] | WorkQueue stream |
//! | done events | [`DONE_SUBJECT`] on [`DONE_STREAM`] | Limits stream (downstream reads it durably or subscribes) |
//! | page images | [`PAGES_BUCKET`], object `<job>/<doc>/<page>` | Object Store, byte limit |
//! | page results | [`RESULTS_BUCKET`], object `<job>/<doc>/<page>` | Object Store |
//! | documents | [`DOCUMENTS_BUCKET`], object `<job>/<file name>` | Object Store |
//! | job states | [`JOBS_BUCKET`], key `<job>` | KV |
//! | pages done | [`DONE_BUCKET`], key `<job>.<doc>.<page>` | KV |
//! | documents written | [`WRITTEN_BUCKET`], key `<job>.<doc>` | KV |
//!
//! The KV buckets are read from their stream leader (no direct get from a replica): a worker
//! that has just marked a page done and then reads the job's state, and a producer that has
//! just ended the job and then counts the pages done, must not both read stale data, or a
//! finished document would never be assembled.

use async_nats::jetstream::{self, kv, object_store::ObjectStore, stream};
use std::time::Duration;

/// The work-queue stream of page messages.
pub const PAGES_STREAM: &str = "SCANWIRE_PAGES";
/// Its subjects.
pub const PAGES_SUBJECTS: &str = "scanwire.pages.>";
/// The work-queue stream of documents ready to assemble.
pub const ASSEMBLE_STREAM: &str = "SCANWIRE_ASSEMBLE";
/// Its subjects.
pub const ASSEMBLE_SUBJECTS: &str = "scanwire.assemble.>";
/// The stream that keeps the done events.
pub const DONE_STREAM: &str = "SCANWIRE_DONE";
/// The subject of [`crate::wire::DocumentDone`] events.
pub const DONE_SUBJECT: &str = "scanwire.documents.done";
/// Page images, put by the producer, deleted once the page's result is stored.
pub const PAGES_BUCKET: &str = "scanwire-pages";
/// Processed pages, put by workers, deleted once their document is written.
pub const RESULTS_BUCKET: &str = "scanwire-results";
/// Finished documents, for consumers.
pub const DOCUMENTS_BUCKET: &str = "scanwire-documents";
/// Job states ([`crate::wire::JobState`]).
pub const JOBS_BUCKET: &str = "scanwire-jobs";
/// One key per page whose result is stored.
pub const DONE_BUCKET: &str = "scanwire-done";
/// One key per document written (the done event's content): the once-only marker.
pub const WRITTEN_BUCKET: &str = "scanwire-written";
/// The workers' shared durable pull consumer on [`PAGES_STREAM`].
pub const PAGE_CONSUMER: &str = "scanwire-workers";
/// The workers' shared durable pull consumer on [`ASSEMBLE_STREAM`].
pub const ASSEMBLE_CONSUMER: &str = "scanwire-assemblers";
/// How long the streams remember a message id (duplicate publishes within it are dropped).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The subject of page `page` of document `doc` of `job`.
pub fn page_subject(job: &str, doc: u32, page: u32) -> String {
    format!("scanwire.pages.{job}.{doc}.{page}")
}

/// The subject of document `doc` of `job` ready to assemble.
pub fn assemble_subject(job: &str, doc: u32) -> String {
    format!("scanwire.assemble.{job}.{doc}")
}

/// The object name of a page (in [`PAGES_BUCKET`] and [`RESULTS_BUCKET`]).
pub fn page_object(job: &str, doc: u32, page: u32) -> String {
    format!("{job}/{doc}/{page}")
}

/// The key of a page in [`DONE_BUCKET`].
pub fn done_key(job: &str, doc: u32, page: u32) -> String {
    format!("{job}.{doc}.{page}")
}

/// The key of a document in [`WRITTEN_BUCKET`].
pub fn written_key(job: &str, doc: u32) -> String {
    format!("{job}.{doc}")
}

/// How the streams are sized and replicated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// Copies of every stream and bucket: 3 on a 3-node cluster (a node may die), 1 on a
    /// single server.
    pub replicas: usize,
    /// Bytes of page images (and page messages) waiting at most: beyond it a producer's
    /// publish fails with "full" and the producer waits (backpressure).
    pub max_bytes: i64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            replicas: 1,
            max_bytes: 1 << 30,
        }
    }
}

/// Why setting up the queue failed.
#[derive(Debug, thiserror::Error)]
#[error("setting up JetStream {what} {name}: {source}")]
pub struct SetupError {
    /// "stream", "bucket".
    pub what: &'static str,
    /// Its name.
    pub name: String,
    /// The server's answer.
    #[source]
    pub source: async_nats::Error,
}

/// The streams and buckets, ready to use.
#[derive(Clone)]
pub struct Buckets {
    /// [`PAGES_BUCKET`].
    pub pages: ObjectStore,
    /// [`RESULTS_BUCKET`].
    pub results: ObjectStore,
    /// [`DOCUMENTS_BUCKET`].
    pub documents: ObjectStore,
    /// [`JOBS_BUCKET`].
    pub jobs: kv::Store,
    /// [`DONE_BUCKET`].
    pub done: kv::Store,
    /// [`WRITTEN_BUCKET`].
    pub written: kv::Store,
}

/// Whether an existing stream already has what `want` asks for (the server fills in the
/// fields left at their defaults, so the whole configs never compare equal; a limit of 0 is
/// the server's -1, no limit).
fn same(have: &stream::Config, want: &stream::Config) -> bool {
    let lim = |x: i64| if x <= 0 { -1 } else { x };
    have.subjects == want.subjects
        && have.retention == want.retention
        && lim(have.max_bytes) == lim(want.max_bytes)
        && have.discard == want.discard
        && have.num_replicas.max(1) == want.num_replicas.max(1)
        && have.allow_direct == want.allow_direct
        && have.allow_rollup == want.allow_rollup
        && have.deny_delete == want.deny_delete
        && lim(have.max_messages_per_subject) == lim(want.max_messages_per_subject)
        && have.duplicate_window == want.duplicate_window
}

/// Tries of a stream's creation: on a cluster just started, or with several workers
/// starting at once, the meta leader may answer late.
const TRIES: u32 = 5;

async fn stream(js: &jetstream::Context, config: stream::Config) -> Result<(), SetupError> {
    let name = config.name.clone();
    let mut tries = 0;
    loop {
        tries += 1;
        if let Ok(mut s) = js.get_stream(&name).await {
            if s.info().await.is_ok_and(|i| same(&i.config, &config)) {
                return Ok(());
            }
        }
        match js.create_or_update_stream(config.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if tries < TRIES => {
                tracing::debug!("setting up stream {name} (try {tries}): {e}");
                tokio::time::sleep(Duration::from_millis(200 * tries as u64)).await;
            }
            Err(e) => {
                return Err(SetupError {
                    what: "stream",
                    name,
                    source: e.into(),
                })
            }
        }
    }
}

/// A KV bucket's stream, as async-nats would make it but read from the leader.
fn kv_stream(bucket: &str, replicas: usize) -> stream::Config {
    stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        num_replicas: replicas,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: false,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

/// An Object Store bucket's stream, as async-nats makes it.
fn object_stream(bucket: &str, replicas: usize, max_bytes: i64) -> stream::Config {
    stream::Config {
        name: format!("OBJ_{bucket}"),
        subjects: vec![format!("$O.{bucket}.C.>"), format!("$O.{bucket}.M.>")],
        max_bytes,
        num_replicas: replicas,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        allow_direct: true,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

/// Every stream the queue needs, as `config` sizes them.
fn streams(config: &QueueConfig) -> Vec<stream::Config> {
    let r = config.replicas.max(1);
    let mut v = vec![
        stream::Config {
            name: PAGES_STREAM.into(),
            subjects: vec![PAGES_SUBJECTS.into()],
            retention: stream::RetentionPolicy::WorkQueue,
            max_bytes: config.max_bytes,
            discard: stream::DiscardPolicy::New,
            num_replicas: r,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        },
        stream::Config {
            name: ASSEMBLE_STREAM.into(),
            subjects: vec![ASSEMBLE_SUBJECTS.into()],
            retention: stream::RetentionPolicy::WorkQueue,
            num_replicas: r,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        },
        stream::Config {
            name: DONE_STREAM.into(),
            subjects: vec![DONE_SUBJECT.into()],
            num_replicas: r,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        },
    ];
    for (bucket, max) in [
        (PAGES_BUCKET, config.max_bytes),
        (RESULTS_BUCKET, -1),
        (DOCUMENTS_BUCKET, -1),
    ] {
        v.push(object_stream(bucket, r, max));
    }
    for bucket in [JOBS_BUCKET, DONE_BUCKET, WRITTEN_BUCKET] {
        v.push(kv_stream(bucket, r));
    }
    v
}

/// The streams [`setup`] would create or change for `config` (none once it has run): how a
/// test or an operator sees that the queue is as configured.
pub async fn check(js: &jetstream::Context, config: &QueueConfig) -> Vec<String> {
    let mut out = Vec::new();
    for want in streams(config) {
        let ok = match js.get_stream(&want.name).await {
            Ok(mut s) => s.info().await.is_ok_and(|i| same(&i.config, &want)),
            Err(_) => false,
        };
        if !ok {
            out.push(want.name);
        }
    }
    out
}

/// Creates the streams and buckets, or updates them to `config`; safe to call from every
/// producer and worker at every start (a stream already as configured is left alone).
pub async fn setup(js: &jetstream::Context, config: &QueueConfig) -> Result<Buckets, SetupError> {
    for want in streams(config) {
        stream(js, want).await?;
    }
    let object = |name: &'static str| async move {
        js.get_object_store(name).await.map_err(|e| SetupError {
            what: "bucket",
            name: name.into(),
            source: e.into(),
        })
    };
    let kv = |name: &'static str| async move {
        js.get_key_value(name).await.map_err(|e| SetupError {
            what: "bucket",
            name: name.into(),
            source: e.into(),
        })
    };
    Ok(Buckets {
        pages: object(PAGES_BUCKET).await?,
        results: object(RESULTS_BUCKET).await?,
        documents: object(DOCUMENTS_BUCKET).await?,
        jobs: kv(JOBS_BUCKET).await?,
        done: kv(DONE_BUCKET).await?,
        written: kv(WRITTEN_BUCKET).await?,
    })
}
