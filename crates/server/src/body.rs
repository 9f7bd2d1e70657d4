//! The response body of `NextDocument`: the page's bytes as the encoder produces them, sent
//! chunked. Dropping it before the end (the client went away) cancels the job.

use crate::job::{CancelReason, Job};
use crate::response::Chunk;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub(crate) struct PageBody {
    rx: tokio::sync::mpsc::Receiver<Chunk>,
    job: Arc<Job>,
    /// A chunk already taken from `rx` (the first one, waited for before the headers).
    first: Option<Bytes>,
    done: bool,
}

impl PageBody {
    pub(crate) fn new(
        rx: tokio::sync::mpsc::Receiver<Chunk>,
        job: Arc<Job>,
        first: Option<Bytes>,
    ) -> Self {
        PageBody {
            rx,
            job,
            first,
            done: false,
        }
    }
}

/// What [`PageBody::prefetch`] found.
pub(crate) enum Prefetch {
    /// Bytes (kept for the response) or nothing yet: answer 200 and stream.
    Stream,
    /// The document is complete and empty.
    Empty,
    /// The document failed before its first byte.
    Failed,
}

impl PageBody {
    /// Waits until `deadline` for the first bytes, so that a page that fails as it starts
    /// gets a proper status instead of a response cut off after its headers. Dropping the
    /// future drops nothing: the body (and its cancel-on-drop) stays with the caller.
    pub(crate) async fn prefetch(&mut self, deadline: tokio::time::Instant) -> Prefetch {
        match tokio::time::timeout_at(deadline, self.rx.recv()).await {
            Ok(Some(Chunk::Data(b))) => {
                self.first = Some(b);
                Prefetch::Stream
            }
            Ok(Some(Chunk::End)) => {
                self.done = true;
                self.job.delivered();
                Prefetch::Empty
            }
            Ok(Some(Chunk::Failed(_)) | None) => {
                self.done = true;
                self.job.body_gone();
                Prefetch::Failed
            }
            Err(_) => Prefetch::Stream,
        }
    }
}

/// Why a page's response was cut off.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct PageFailed(String);

impl Body for PageBody {
    type Data = Bytes;
    type Error = PageFailed;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, PageFailed>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        // Being polled means the client takes what we send: activity for the job timeout.
        // A client that stops reading stops the polls, and the job times out.
        self.job.touch();
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Chunk::Data(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(Chunk::End)) => {
                self.done = true;
                self.job.delivered();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Chunk::Failed(why))) => {
                self.done = true;
                self.job.body_gone();
                Poll::Ready(Some(Err(PageFailed(why))))
            }
            // The encoder vanished without an end marker (it panicked, or the job dropped
            // the page): the document is incomplete and must not look complete.
            Poll::Ready(None) => {
                self.done = true;
                self.job.body_gone();
                Poll::Ready(Some(Err(PageFailed("the page was dropped".into()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for PageBody {
    fn drop(&mut self) {
        if !self.done {
            // The client closed the connection mid-page: nobody will take the rest.
            self.job.body_gone();
            self.job.cancel(CancelReason::Disconnected);
        }
    }
}
