//! The transfer: WIA 2.0's contract between a driver and an application, and the relay that
//! stands between them as the WIA service does.
//!
//! # Decisions on the spec's open questions
//! - `lFlags` != 0 is accepted and ignored; the strict verifier reports it (rule S2).
//! - A null params pointer (`None`) at `send_message` gets E_POINTER.
//! - END_OF_STREAM is delivered for every stream handed out, when the driver releases it
//!   (before the next `get_next_stream` reaches the application, and before END_OF_TRANSFER);
//!   never for a skipped page or when `get_next_stream` answered S_FALSE. Its `hrErrorStatus`
//!   says whether the page is complete: S_OK, or why not.
//! - END_OF_TRANSFER is delivered exactly once per transfer, also after a cancel or an error,
//!   carrying the final HRESULT.
//! - A transfer returns the driver's result: S_OK, S_FALSE after a cancel the driver saw,
//!   WIA_STATUS_END_OF_MEDIA per the feeder table, or the error. Where the driver's result
//!   contradicts what it was told (S18, S19, S20) the relay corrects it and records why.
//! - A driver that sends END_OF_* itself, or calls again after S_FALSE or an error, gets
//!   S_FALSE (after a cancel) or E_UNEXPECTED; nothing reaches the application.
//!
//! # Delivery modes
//! Inline ([`run`], [`Relay::new`]): the application's callback runs on the driver's thread
//! and its answer is what `send_message` returns. Decoupled ([`spawn`]): STATUS lands in a
//! [`ProgressCell`], the rest in a bounded lossless queue of [`Event`]s; a slow reader never
//! stalls the driver. Both give the same grammar and the same outcome.

mod callback;
mod cancel;
mod options;
mod progress;
mod recorder;
mod relay;
mod run;
mod stream;
mod verifier;

pub use callback::{
    AppStream, DriverCallbackExt, ErrorHandler, Flow, MiniDrvTransferCallback, NextStream,
    TransferCallback,
};
pub use cancel::{CancelHandle, CancelToken, HookGuard};
pub use options::{TransferOptions, Tymed, DEFAULT_WATCHDOG};
pub use progress::{Progress, ProgressCell};
pub use recorder::{Recorded, RecordedPage, Recorder, Recording, RecordingHandle, Script};
pub use relay::{Outcome, Relay};
pub use run::{
    panic_message, run, run_relay, share, spawn, DecoupledTransfer, Event, NullSink, SharedDevice,
    StreamFactory, EVENT_QUEUE, HRESULT_TIMEOUT,
};
pub use stream::{seek_within, LentBytes, PageSink, RemoteStream, StreamHandle};
pub use verifier::{Rule, VerifyMode, Violation};
