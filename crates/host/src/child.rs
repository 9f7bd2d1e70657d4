//! The host process's side: one device, opened and driven on the application's behalf.
//!
//! Threads: the main thread runs the device (open, capabilities, options, acquire); a reader
//! thread reads the application's frames and hands them on, except `Cancel`, which it acts on
//! itself at once (the driver's CancelToken fires on the reader thread, so `sane_cancel` runs
//! while the driver is blocked in `sane_read`). Every frame to the application is written
//! under one lock, from whichever thread produced it.

use crate::protocol::{
    read_frame, write_data, write_msg, Frame, OpenedInfo, StreamAnswer, ToChild, ToParent,
    SOCKET_ENV,
};
use scanwire_core::device::{Device, DeviceError, DeviceErrorKind, PageInfo};
use scanwire_core::transfer::{
    panic_message, seek_within, CancelHandle, MiniDrvTransferCallback, NextStream, RemoteStream,
    StreamHandle,
};
use scanwire_core::wia::{self, HResult, WiaTransferParams};
use std::collections::HashMap;
use std::io::{SeekFrom, Write};
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The process's one connection to the application (also reached by the breadcrumb and panic
/// hooks, which are plain functions).
static LINK: OnceLock<Link> = OnceLock::new();

struct Link {
    out: Mutex<UnixStream>,
    last_crumb: Mutex<&'static str>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Link {
    fn send(&self, msg: &ToParent) -> bool {
        write_msg(&mut *lock(&self.out), msg).is_ok()
    }
}

fn send(msg: &ToParent) -> bool {
    LINK.get().is_some_and(|l| l.send(msg))
}

/// The breadcrumb observer: passes a new native call's name on; repeats cost nothing.
fn crumb(name: &'static str) {
    let Some(link) = LINK.get() else { return };
    {
        let mut last = lock(&link.last_crumb);
        if std::ptr::eq(*last, name) || *last == name {
            return;
        }
        *last = name;
    }
    link.send(&ToParent::Crumb(name.to_string()));
}

/// What the reader thread hands the main thread.
enum Work {
    Open(String),
    Capabilities,
    Options,
    Acquire(Box<scanwire_core::device::ScanRequest>, CancelHandle),
    Exit,
}

/// What the reader thread hands a waiting callback call.
enum Reply {
    Stream(StreamAnswer),
    Answer(HResult),
}

type Failures = Arc<Mutex<HashMap<u32, HResult>>>;

/// The child's entry: connects to the application (the socket named by
/// `SCANWIRE_HOST_SOCKET`), opens the device it names with `open`, and serves it until told
/// to exit or until the application goes away. The CLI's hidden `driver-host` subcommand
/// calls this with the registry's `open`; tests call it from a re-executed test binary.
pub fn run_host(open: impl FnOnce(&str) -> Result<Box<dyn Device>, DeviceError>) -> ExitCode {
    let Some(path) = std::env::var_os(SOCKET_ENV) else {
        eprintln!(
            "scanwire driver-host: {SOCKET_ENV} is not set; this command is started by scanwire itself, not by hand"
        );
        return ExitCode::from(2);
    };
    let stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "scanwire driver-host: cannot connect to {}: {e}",
                std::path::Path::new(&path).display()
            );
            return ExitCode::from(2);
        }
    };
    let (reader, writer) = match stream.try_clone() {
        Ok(w) => (stream, w),
        Err(e) => {
            eprintln!("scanwire driver-host: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = LINK.set(Link {
        out: Mutex::new(writer),
        last_crumb: Mutex::new(""),
    });
    scanwire_core::native::observe(crumb);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        send(&ToParent::Panicked(format!(
            "{}{place}",
            panic_message(info.payload())
        )));
        default_hook(info);
    }));

    let (work_tx, work_rx) = channel::<Work>();
    let (reply_tx, reply_rx) = channel::<Reply>();
    let failures: Failures = Arc::default();
    {
        let failures = failures.clone();
        std::thread::Builder::new()
            .name("scanwire-host-reader".into())
            .spawn(move || read_loop(reader, work_tx, reply_tx, failures))
            .expect("the reader thread starts");
    }
    serve(open, work_rx, reply_rx, failures)
}

fn read_loop(
    mut reader: UnixStream,
    work: Sender<Work>,
    replies: Sender<Reply>,
    failures: Failures,
) {
    let mut cancel: Option<CancelHandle> = None;
    loop {
        let frame = match read_frame::<ToChild>(&mut reader, Vec::new()) {
            Ok(Some(Frame::Msg(m))) => m,
            // The application is gone (or spoke nonsense): nobody is left to serve.
            Ok(Some(Frame::Write(..))) | Ok(None) | Err(_) => std::process::exit(0),
        };
        let sent = match frame {
            ToChild::Open(id) => work.send(Work::Open(id)).is_ok(),
            ToChild::Capabilities => work.send(Work::Capabilities).is_ok(),
            ToChild::Options => work.send(Work::Options).is_ok(),
            ToChild::Acquire(req) => {
                let handle = CancelHandle::new();
                cancel = Some(handle.clone());
                lock(&failures).clear();
                work.send(Work::Acquire(req, handle)).is_ok()
            }
            ToChild::Cancel => {
                if let Some(c) = &cancel {
                    c.cancel();
                }
                true
            }
            ToChild::Stream(a) => replies.send(Reply::Stream(a)).is_ok(),
            ToChild::Answer(hr) => replies.send(Reply::Answer(hr)).is_ok(),
            ToChild::StreamFailed(id, hr) => {
                lock(&failures).insert(id, hr);
                true
            }
            ToChild::Exit => {
                let _ = work.send(Work::Exit);
                return;
            }
        };
        if !sent {
            return;
        }
    }
}

fn serve(
    open: impl FnOnce(&str) -> Result<Box<dyn Device>, DeviceError>,
    work: Receiver<Work>,
    replies: Receiver<Reply>,
    failures: Failures,
) -> ExitCode {
    let mut open = Some(open);
    let mut device: Option<Box<dyn Device>> = None;
    while let Ok(w) = work.recv() {
        match w {
            Work::Open(id) => {
                let r = match open.take() {
                    Some(f) => f(&id),
                    None => Err(DeviceError::new(
                        DeviceErrorKind::Internal,
                        "a driver host opens one device",
                    )),
                };
                let answer = r.map(|d| {
                    let info = d.info();
                    device = Some(d);
                    OpenedInfo {
                        id: info.id,
                        vendor: info.vendor,
                        model: info.model,
                        driver: info.driver.to_string(),
                    }
                });
                send(&ToParent::Opened(answer));
            }
            Work::Capabilities => {
                let r = match device.as_mut() {
                    Some(d) => d.capabilities(),
                    None => Err(not_open()),
                };
                send(&ToParent::Capabilities(r));
            }
            Work::Options => {
                let r = device.as_mut().map(|d| d.options()).unwrap_or_default();
                send(&ToParent::Options(r));
            }
            Work::Acquire(request, cancel) => {
                let Some(d) = device.as_mut() else {
                    send(&ToParent::Done(Err(not_open())));
                    continue;
                };
                let mut cb = HostCallback {
                    replies: &replies,
                    failures: &failures,
                };
                let token = cancel.token();
                let r = catch_unwind(AssertUnwindSafe(|| d.acquire(&request, &mut cb, &token)));
                match r {
                    Ok(result) => {
                        send(&ToParent::Done(result));
                    }
                    Err(panic) => {
                        send(&ToParent::Done(Err(DeviceError::from_hresult(
                            wia::WIA_ERROR_EXCEPTION_IN_DRIVER,
                            format!("the driver panicked: {}", panic_message(panic.as_ref())),
                        ))));
                        // The driver's state is unknown after a panic: the next transfer gets
                        // a fresh process.
                        return ExitCode::from(EXIT_AFTER_PANIC);
                    }
                }
            }
            Work::Exit => break,
        }
    }
    ExitCode::SUCCESS
}

/// The exit status of a host that ends itself after its driver panicked.
pub const EXIT_AFTER_PANIC: u8 = 70;

fn not_open() -> DeviceError {
    DeviceError::new(
        DeviceErrorKind::Internal,
        "the driver host has no open device",
    )
}

/// The driver's `MiniDrvTransferCallback`: every call is answered by the application's
/// real callback, in the other process.
struct HostCallback<'a> {
    replies: &'a Receiver<Reply>,
    failures: &'a Failures,
}

impl HostCallback<'_> {
    fn ask(&self, msg: &ToParent) -> Option<Reply> {
        if !send(msg) {
            return None;
        }
        self.replies.recv().ok()
    }
}

impl MiniDrvTransferCallback for HostCallback<'_> {
    fn get_next_stream(&mut self, flags: i32, page: &PageInfo) -> NextStream {
        match self.ask(&ToParent::NextStream(flags, page.clone())) {
            Some(Reply::Stream(StreamAnswer::Stream(id))) => {
                NextStream::Stream(StreamHandle::remote(
                    page.number,
                    Box::new(ChildStream {
                        id,
                        position: 0,
                        end: 0,
                        failures: self.failures.clone(),
                    }),
                ))
            }
            Some(Reply::Stream(StreamAnswer::Skip)) => NextStream::Skip,
            Some(Reply::Stream(StreamAnswer::Cancelled)) => NextStream::Cancelled,
            Some(Reply::Stream(StreamAnswer::Failed(hr))) => NextStream::Failed(hr),
            Some(Reply::Answer(_)) | None => NextStream::Failed(wia::E_UNEXPECTED),
        }
    }

    fn send_message(&mut self, flags: i32, params: Option<&WiaTransferParams>) -> HResult {
        match self.ask(&ToParent::Message(flags, params.copied())) {
            Some(Reply::Answer(hr)) => hr,
            Some(Reply::Stream(_)) | None => wia::E_UNEXPECTED,
        }
    }
}

/// A page stream whose real handle is in the application's process. Writes and seeks are
/// passed on without waiting (the application's verdict on a write arrives as
/// `StreamFailed` and is returned by the next write); the position is mirrored here so
/// `seek` and `bytes_written` answer at once, as the real handle would.
struct ChildStream {
    id: u32,
    position: u64,
    end: u64,
    failures: Failures,
}

/// Page bytes are sent in frames of at most this much.
const MAX_WRITE: usize = 16 << 20;

impl RemoteStream for ChildStream {
    fn write(&mut self, data: &[u8]) -> Result<(), HResult> {
        if let Some(hr) = lock(&self.failures).get(&self.id) {
            return Err(*hr);
        }
        let Some(link) = LINK.get() else {
            return Err(wia::E_UNEXPECTED);
        };
        {
            let mut out = lock(&link.out);
            for chunk in data.chunks(MAX_WRITE) {
                write_data(&mut *out, self.id, chunk).map_err(|_| wia::E_UNEXPECTED)?;
            }
            let _ = out.flush();
        }
        self.end += data.len() as u64;
        self.position = self.end;
        Ok(())
    }

    fn seek(&mut self, pos: SeekFrom) -> Result<u64, HResult> {
        let t = seek_within(self.position, self.end, pos).ok_or(wia::E_INVALIDARG)?;
        send(&ToParent::Seek(self.id, pos.into()));
        self.position = t;
        Ok(t)
    }

    fn bytes_written(&self) -> u64 {
        self.end
    }

    fn release(&mut self, finished: bool) {
        send(&ToParent::Release(self.id, finished));
    }
}
