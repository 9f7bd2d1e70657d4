//! What crosses the process boundary: frames on one Unix stream socket.
//!
//! Two sockets: requests, the driver's callback calls and their answers on the first; cancels
//! and stream failures (the application's direction only) on the second, so they never wait
//! behind anything. A frame is a tag byte, a little-endian `u32` length and the payload. Control messages are
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
/// Page bytes: `u32` stream id, then data (when there is no shared ring).
pub const TAG_WRITE: u8 = 2;
/// Page bytes in the shared ring: `u32` stream id, `u32` length (the next piece of the ring).
pub const TAG_SHM: u8 = 3;

/// A STATUS the host answered itself (see `ToParent::Message`): `lMessage`,
/// `lPercentComplete`, `ulTransferredBytes`, `hrErrorStatus`, little-endian, no answer. Binary,
/// as there are about a hundred per page.
pub const TAG_STATUS: u8 = 4;

/// Largest frame accepted: more is a broken peer, not a page band.
pub const MAX_FRAME: usize = 1 << 30;

/// The environment variable naming the socket a host connects to.
pub const SOCKET_ENV: &str = "SCANWIRE_HOST_SOCKET";
/// The environment variable naming the shared page ring a host maps (`shm.rs`).
pub const RING_ENV: &str = "SCANWIRE_HOST_RING";

/// What the application's process asks of a host.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToChild {
    /// Open this device id (once per host).
    Open(String),
    /// `Device::capabilities`.
    Capabilities,
    /// `Device::options`.
    Options,
    /// `Device::acquire`, the device's transfer number `n` (from 1).
    Acquire(u64, Box<ScanRequest>),
    /// Transfer `n` is cancelled: fire the driver's CancelToken now (on the second socket).
    Cancel(u64),
    /// The answer to a `NextStream`.
    Stream(StreamAnswer),
    /// The answer to a `Message`.
    Answer(HResult),
    /// The application's stream failed; the driver's next write sees this (on the second
    /// socket).
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
    /// The next `len` bytes of the shared ring, for a stream.
    Shm(u32, u32),
    /// The driver called `send_message` with a well-formed STATUS (lFlags 0) while the answer
    /// word allowed it, and the host answered S_OK itself: no answer is sent.
    Posted(WiaTransferParams),
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

/// Announces the next `len` bytes of the shared ring for stream `id`.
pub fn write_shm(w: &mut impl Write, id: u32, len: u32) -> io::Result<()> {
    let mut f = [0u8; 13];
    f[0] = TAG_SHM;
    f[1..5].copy_from_slice(&8u32.to_le_bytes());
    f[5..9].copy_from_slice(&id.to_le_bytes());
    f[9..13].copy_from_slice(&len.to_le_bytes());
    w.write_all(&f)
}

/// Posts a STATUS the host answered itself.
pub fn write_posted(w: &mut impl Write, p: &WiaTransferParams) -> io::Result<()> {
    let mut f = [0u8; 25];
    f[0] = TAG_STATUS;
    f[1..5].copy_from_slice(&20u32.to_le_bytes());
    f[5..9].copy_from_slice(&p.lMessage.to_le_bytes());
    f[9..13].copy_from_slice(&p.lPercentComplete.to_le_bytes());
    f[13..21].copy_from_slice(&p.ulTransferredBytes.to_le_bytes());
    f[21..25].copy_from_slice(&p.hrErrorStatus.0.to_le_bytes());
    w.write_all(&f)
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
        TAG_SHM if len == 8 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            Ok(Some(Frame::Shm(
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            )))
        }
        TAG_STATUS if len == 20 => {
            let mut b = [0u8; 20];
            r.read_exact(&mut b)?;
            let i32_at = |i: usize| i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&b[8..16]);
            Ok(Some(Frame::Posted(WiaTransferParams::raw(
                i32_at(0),
                i32_at(4),
                u64::from_le_bytes(bytes),
                HResult(i32_at(16)),
            ))))
        }
        tag => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("an unknown frame tag {tag} of {len} bytes"),
        )),
    }
}

/// Reads frames from a socket with a read timeout, keeping a partly read frame across
/// timeouts (so a waiting call can look at its clocks between reads without a reader thread).
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl<R: Read> FrameReader<R> {
    /// Reads from `inner`.
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: vec![0; 64 << 10],
            start: 0,
            end: 0,
        }
    }

    /// The next frame; `Ok(None)` at a clean end of stream; the read's own error (such as a
    /// timeout's `WouldBlock`) with the partial frame kept for the next call.
    pub fn next<T: for<'de> Deserialize<'de>>(&mut self) -> io::Result<Option<Frame<T>>> {
        loop {
            if let Some((frame, used)) = parse(&self.buf[self.start..self.end])? {
                self.start += used;
                if self.start == self.end {
                    (self.start, self.end) = (0, 0);
                }
                return Ok(Some(frame));
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let bigger = self.buf.len() * 2;
                self.buf.resize(bigger, 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) if self.end == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// One whole frame at the start of `b` and its size, or `None` if `b` holds less.
fn parse<T: for<'de> Deserialize<'de>>(b: &[u8]) -> io::Result<Option<(Frame<T>, usize)>> {
    if b.len() < 5 {
        return Ok(None);
    }
    let len = u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes (at most {MAX_FRAME})"),
        ));
    }
    if b.len() < 5 + len {
        return Ok(None);
    }
    let mut body = &b[..5 + len];
    let frame = read_frame(&mut body, Vec::new())?.ok_or(io::ErrorKind::UnexpectedEof)?;
    Ok(Some((frame, 5 + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives its bytes a few at a time, with a timeout between every two reads.
    struct Trickle(Vec<u8>, usize, bool);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.2 = !self.2;
            if self.2 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(3).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn a_frame_survives_timeouts_mid_frame() {
        let mut wire = Vec::new();
        write_msg(&mut wire, &ToChild::Open("virtual".into())).unwrap();
        write_data(&mut wire, 7, &[1, 2, 3, 4, 5]).unwrap();
        write_shm(&mut wire, 2, 4096).unwrap();
        let status = WiaTransferParams::raw(
            scanwire_core::wia::WIA_TRANSFER_MSG_STATUS,
            42,
            (1 << 40) + 7,
            HResult(-5),
        );
        write_posted(&mut wire, &status).unwrap();
        let mut r = FrameReader::new(Trickle(wire, 0, false));
        let mut frames = Vec::new();
        loop {
            match r.next::<ToChild>() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            }
        }
        assert!(matches!(&frames[0], Frame::Msg(ToChild::Open(id)) if id == "virtual"));
        assert!(matches!(&frames[1], Frame::Write(7, d) if d == &[1, 2, 3, 4, 5]));
        assert!(matches!(frames[2], Frame::Shm(2, 4096)));
        assert!(matches!(frames[3], Frame::Posted(p) if p == status));
        assert_eq!(frames.len(), 4);
    }

    #[test]
    fn a_cut_frame_is_an_error_and_a_huge_one_refused() {
        let mut wire = Vec::new();
        write_data(&mut wire, 1, &[9; 10]).unwrap();
        wire.truncate(wire.len() - 1);
        let mut r = FrameReader::new(&wire[..]);
        assert_eq!(
            r.next::<ToChild>().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let huge = [TAG_WRITE, 0xff, 0xff, 0xff, 0xff];
        let e = FrameReader::new(&huge[..]).next::<ToChild>().unwrap_err();
        assert!(e.to_string().contains("at most"), "{e}");
    }
}
