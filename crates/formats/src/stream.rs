//! One page encoded on its own thread into any writer: for streaming a page out (an HTTP
//! response) while it is being scanned.

use crate::encode::{check_page, encode_page};
use crate::pipe::{pipe, PageStatus, PageWriter, QueueSource};
use crate::{EncodeError, EncodeOptions, Format};
use scanwire_core::device::PageInfo;
use scanwire_core::transfer::PageSink;
use scanwire_core::wia::{self, HResult};
use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The encoder thread of [`spawn_encoder`]: join it for the writer back, or the error.
pub struct EncoderThread<W> {
    handle: JoinHandle<Result<W, EncodeError>>,
}

impl<W> EncoderThread<W> {
    /// Waits for the page to be encoded and `out` flushed. An incomplete page gives
    /// [`EncodeError::Incomplete`]; what was already written to `out` is then a fragment.
    pub fn join(self) -> Result<W, EncodeError> {
        self.handle.join().unwrap_or(Err(EncodeError::WorkerLost))
    }
}

/// Starts encoding `page` as `format` (PNM, PNG or JPEG, or the device's own encoding) into
/// `out` on a new thread, and returns the [`PageSink`] the driver writes the page into.
/// The sink queues at most `queue_bytes` before its writes wait for the encoder.
///
/// ```
/// use scanwire_core::device::{PageData, PageInfo, PixelFormat, Side, Source};
/// use scanwire_core::wia;
/// use scanwire_formats::{spawn_encoder, EncodeOptions, Format};
///
/// let page = PageInfo {
///     number: 1, sheet: 1, side: Side::Front, source: Source::Flatbed,
///     data: PageData::Raster { pixel: PixelFormat::Rgb8, width: 2, height: Some(1) },
///     dpi: (300, 300),
/// };
/// let (mut sink, encoder) =
///     spawn_encoder(Format::Jpeg, &page, &EncodeOptions::default(), Vec::new(), 1 << 20).unwrap();
/// sink.write(&[255, 0, 0, 0, 0, 255]).unwrap();
/// assert_eq!(sink.close(wia::S_OK), wia::S_OK);
/// let jpeg = encoder.join().unwrap();
/// assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
/// ```
pub fn spawn_encoder<W: Write + Send + 'static>(
    format: Format,
    page: &PageInfo,
    opts: &EncodeOptions,
    out: W,
    queue_bytes: usize,
) -> Result<(Box<dyn PageSink>, EncoderThread<W>), EncodeError> {
    if format.is_multi_page() {
        return Err(EncodeError::Unsupported(format!(
            "{format} needs a seekable output; encode it into a file (Document or FileOutput)"
        )));
    }
    opts.validate()?;
    check_page(format, page, false)?;
    let (tx, rx) = pipe(queue_bytes);
    let (status, _done) = PageStatus::new();
    let worker_status = status.clone();
    let (page, opts) = (page.clone(), opts.clone());
    let handle = std::thread::Builder::new()
        .name(format!("scanwire-encode-{}", page.number))
        .spawn(move || {
            let mut src = QueueSource::new(&rx);
            let r = encode_page(format, &page, &opts, &mut src, out);
            match &r {
                Ok(_) => worker_status.finish(wia::S_OK),
                Err(e) => {
                    worker_status.finish(e.hresult());
                    src.drain();
                }
            }
            r
        })
        .map_err(EncodeError::io("the encoder thread"))?;
    Ok((
        Box::new(StreamSink {
            writer: PageWriter::new(tx, status),
        }),
        EncoderThread { handle },
    ))
}

struct StreamSink {
    writer: PageWriter,
}

impl PageSink for StreamSink {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        self.writer.write(data)
    }

    fn close(self: Box<Self>, status: HResult) -> HResult {
        match self.writer.close(status) {
            Ok(page) => page_result(&page, status),
            Err(hr) if status == wia::S_OK => hr,
            Err(_) => wia::S_OK,
        }
    }
}

/// What closing tells the driver: a failure already seen, else S_OK (the encoder's final
/// answer comes from [`EncoderThread::join`]).
fn page_result(page: &Arc<PageStatus>, status: HResult) -> HResult {
    if status != wia::S_OK {
        return wia::S_OK;
    }
    page.failed().unwrap_or(wia::S_OK)
}
