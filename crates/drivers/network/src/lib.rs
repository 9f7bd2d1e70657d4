//! What the two network scanner drivers share, `scanwire-escl-client` (eSCL) and
//! `scanwire-wsd-client` (WS-Scan): everything around the protocol that is not the protocol.
//!
//! - [`flight`]: a request runs on a short-lived thread and reports its head and body chunks
//!   over a channel; the driver waits on that channel for the answer *or* a cancel (the
//!   cancel token's hook posts into the same channel), so it can walk away from a request
//!   that hangs. The protocol's own request (method, URL, body, redirects, TLS) stays in the
//!   driver's `http.rs`.
//! - [`page`]: handing a page to the application (the page's [`PageInfo`], its stream, its
//!   STATUS messages) and the application's side of failing.
//! - [`wire`](mod@wire): what to receive from the scanner for a request: the asked-for encoding passed
//!   through, else PNG or JPEG decoded to rows.
//!
//! The job state machines stay in each driver's `protocol.rs`: eSCL polls `NextDocument` with
//! HTTP status codes and `Retry-After`, WS-Scan answers with SOAP faults and job states, so the
//! two share no states. Error wording (`errors.rs`) stays with each driver too.
//!
//! [`PageInfo`]: scanwire_core::device::PageInfo

pub mod flight;
pub mod page;
pub mod wire;

pub use flight::{agent_builder, InFlight, Interrupted, Reporter, CONNECT_TIMEOUT, READ_TIMEOUT};
pub use page::AppStop;
pub use wire::{encoding_of_mime, wire, Wire};
