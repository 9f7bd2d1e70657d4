//! The response body of `NextDocument`: the page's bytes as the encoder produces them, sent
//! chunked. Dropping it before the end (the client went away) cancels the job.

use crate::encode::Chunk;
use crate::job::{CancelReason, Job};
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
                Poll::Ready(Some(Err(PageFailed(why))))
            }
            // The encoder vanished without an end marker (it panicked, or the job dropped
            // the page): the document is incomplete and must not look complete.
            Poll::Ready(None) => {
                self.done = true;
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
            self.job.cancel(CancelReason::Disconnected);
        }
    }
}
