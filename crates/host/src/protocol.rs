//! What crosses the process boundary: frames on one Unix stream socket.
//!
//! A frame is a tag byte, a little-endian `u32` length and the payload. Control messages are
//! JSON ([`ToChild`], [`ToParent`]); page bytes travel as [`TAG_WRITE`] frames (a `u32`
//! stream id, then the bytes as the driver wrote them), in order with the control messages, so
//! a STATUS always arrives after the bands it counts. The parent's direction carries only
//! small messages (answers, cancel), so a cancel is never queued behind page data.

use scanwire_core::device::{
    Capabilities, Completion, DeviceError, DeviceOption, PageInfo, ScanRequest,
};
use scanwire_core::wia::{HResult, WiaTransferParams};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// A JSON control message.
pub const TAG_JSON: u8 = 1;
/// Page bytes: `u32` stream id, then data.
pub const TAG_WRITE: u8 = 2;

/// Largest frame accepted: more is a broken peer, not a page band.
pub const MAX_FRAME: usize = 1 << 30;

/// The environment variable naming the socket a host connects to.
pub const SOCKET_ENV: &str = "SCANWIRE_HOST_SOCKET";

/// What the application's process asks of a host.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToChild {
    /// Open this device id (once per host).
    Open(String),
    /// `Device::capabilities`.
    Capabilities,
    /// `Device::options`.
    Options,
    /// `Device::acquire`.
    Acquire(Box<ScanRequest>),
    /// The transfer is cancelled: fire the driver's CancelToken now.
    Cancel,
    /// The answer to a `NextStream`.
    Stream(StreamAnswer),
    /// The answer to a `Message`.
    Answer(HResult),
    /// The application's stream failed; the driver's next write sees this.
    StreamFailed(u32, HResult),
    /// Exit cleanly.
    Exit,
}

/// `get_next_stream`'s answer, with the stream's id instead of the handle.
#[derive(Debug, Serialize, Deserialize)]
pub enum StreamAnswer {
    /// S_OK: write into stream `id`.
    Stream(u32),
    /// WIA_STATUS_SKIP_ITEM.
    Skip,
    /// S_FALSE.
    Cancelled,
    /// An error.
    Failed(HResult),
}

/// The device as the host opened it (`DeviceInfo` with an owned driver name).
#[derive(Debug, Serialize, Deserialize)]
pub struct OpenedInfo {
    /// Id.
    pub id: String,
    /// Vendor.
    pub vendor: String,
    /// Model.
    pub model: String,
    /// Driver name.
    pub driver: String,
}

/// A seek, as `std::io::SeekFrom` (which is not serializable).
#[derive(Copy, Clone, Debug, Serialize, Deserialize)]
pub enum Seek {
    /// From the start.
    Start(u64),
    /// From the end.
    End(i64),
    /// From the current position.
    Current(i64),
}

impl From<std::io::SeekFrom> for Seek {
    fn from(s: std::io::SeekFrom) -> Self {
        match s {
            std::io::SeekFrom::Start(n) => Seek::Start(n),
            std::io::SeekFrom::End(d) => Seek::End(d),
            std::io::SeekFrom::Current(d) => Seek::Current(d),
        }
    }
}

impl From<Seek> for std::io::SeekFrom {
    fn from(s: Seek) -> Self {
        match s {
            Seek::Start(n) => std::io::SeekFrom::Start(n),
            Seek::End(d) => std::io::SeekFrom::End(d),
            Seek::Current(d) => std::io::SeekFrom::Current(d),
        }
    }
}

/// What a host tells the application's process.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToParent {
    /// The answer to `Open`.
    Opened(Result<OpenedInfo, DeviceError>),
    /// The answer to `Capabilities`.
    Capabilities(Result<Capabilities, DeviceError>),
    /// The answer to `Options`.
    Options(Vec<DeviceOption>),
    /// The driver called `get_next_stream` (waits for `Stream`).
    NextStream(i32, PageInfo),
    /// The driver called `send_message` (waits for `Answer`).
    Message(i32, Option<WiaTransferParams>),
    /// The driver seeked stream `id`.
    Seek(u32, Seek),
    /// The driver released stream `id`; `true` when finished.
    Release(u32, bool),
    /// The driver is entering this foreign call (`scanwire_core::native`).
    Crumb(String),
    /// A panic is unwinding in the host, with its message and place.
    Panicked(String),
    /// `acquire` returned.
    Done(Result<Completion, DeviceError>),
}

/// One frame as read.
#[derive(Debug)]
pub enum Frame<T> {
    /// A control message.
    Msg(T),
    /// Page bytes for a stream.
    Write(u32, Vec<u8>),
}

/// Writes a control message.
pub fn write_msg<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.push(TAG_JSON);
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame)
}

/// Writes page bytes for stream `id`.
pub fn write_data(w: &mut impl Write, id: u32, data: &[u8]) -> io::Result<()> {
    let mut head = [0u8; 9];
    head[0] = TAG_WRITE;
    head[1..5].copy_from_slice(&((data.len() + 4) as u32).to_le_bytes());
    head[5..9].copy_from_slice(&id.to_le_bytes());
    w.write_all(&head)?;
    w.write_all(data)
}

/// Reads one frame; `Ok(None)` at a clean end of stream. `buf` is reused for page bytes.
pub fn read_frame<T: for<'de> Deserialize<'de>>(
    r: &mut impl Read,
    buf: Vec<u8>,
) -> io::Result<Option<Frame<T>>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes (at most {MAX_FRAME})"),
        ));
    }
    match head[0] {
        TAG_JSON => {
            let mut body = vec![0u8; len];
            r.read_exact(&mut body)?;
            let msg = serde_json::from_slice(&body).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("a bad message: {e}"))
            })?;
            Ok(Some(Frame::Msg(msg)))
        }
        TAG_WRITE if len >= 4 => {
            let mut id = [0u8; 4];
            r.read_exact(&mut id)?;
            let mut data = buf;
            data.clear();
            let want = (len - 4) as u64;
            let got = r.take(want).read_to_end(&mut data)?;
            if got as u64 != want {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok(Some(Frame::Write(u32::from_le_bytes(id), data)))
        }
        tag => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("an unknown frame tag {tag} of {len} bytes"),
        )),
    }
}
