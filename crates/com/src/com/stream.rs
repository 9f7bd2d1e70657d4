//! `IStream` over a page: on the driver side over core's `StreamHandle` (what
//! `RelayCallback::GetNextStream` hands a COM driver), on the application side over an
//! application page (`SinkSlot`, what `AppCallback::GetNextStream` hands the WIA service).
//!
//! Both are append-only, as a WIA download uses a stream (`Write`, `Seek`, `SetSize` only):
//! - `Write` appends at the position, which must be the end (S21): a write elsewhere fails.
//! - `Seek` moves within what was written; `SetSize` to at least the current size is accepted
//!   as a preallocation hint, shrinking is refused.
//! - `Read` and `CopyTo` are `STG_E_ACCESSDENIED` (the page goes to the application, not
//!   back); `LockRegion`, `UnlockRegion` and `Clone` are `STG_E_INVALIDFUNCTION`; `Commit`
//!   and `Revert` do nothing (nothing is buffered).
//!
//! Release, driver side: when the driver releases its last reference, the page ends. It counts
//! as complete unless the transfer was cancelled or the driver was answered S_FALSE or an
//! error while the stream was out (the rule is [`StreamVerdict`]'s). Application side: the
//! page ends at END_OF_STREAM (see `crate::app`); a release only drops the reference.

use super::{com_result, to_hresult};
use crate::app::SinkSlot;
use crate::pages::{seek_from, StreamVerdict, STG_E_ACCESSDENIED, STG_E_INVALIDFUNCTION};
use scanwire_core::transfer::{CancelHandle, StreamHandle};
use scanwire_core::wia::{self, HResult};
use std::ffi::c_void;
use std::io::SeekFrom;
use std::sync::{Arc, Mutex};
use windows::Win32::System::Com::{
    ISequentialStream_Impl, IStream, IStream_Impl, LOCKTYPE, STATFLAG, STATSTG, STGC, STGM_WRITE,
    STGTY_STREAM, STREAM_SEEK,
};
use windows_core::{implement, Error, Ref, HRESULT};

/// `STG_E_INVALIDPOINTER`.
const STG_E_INVALIDPOINTER: HResult = HResult::from_u32(0x8003_0009);

enum Target {
    Driver {
        handle: Mutex<Option<StreamHandle>>,
        verdict: Arc<StreamVerdict>,
        cancel: CancelHandle,
    },
    App(Arc<SinkSlot>),
}

/// The `IStream` of one page; see the module docs.
#[implement(IStream)]
pub struct PageStream {
    target: Target,
}

impl PageStream {
    /// A driver-side stream over `handle`; `verdict` collects the answers the driver gets
    /// while it holds the stream.
    pub fn driver(
        handle: StreamHandle,
        verdict: Arc<StreamVerdict>,
        cancel: CancelHandle,
    ) -> IStream {
        PageStream {
            target: Target::Driver {
                handle: Mutex::new(Some(handle)),
                verdict,
                cancel,
            },
        }
        .into()
    }

    /// An application-side stream over `slot`.
    pub fn app(slot: Arc<SinkSlot>) -> IStream {
        PageStream {
            target: Target::App(slot),
        }
        .into()
    }

    fn write(&self, data: &[u8]) -> Result<(), HResult> {
        match &self.target {
            Target::Driver {
                handle, verdict, ..
            } => {
                let mut g = handle.lock().unwrap_or_else(|p| p.into_inner());
                let r = match g.as_mut() {
                    Some(h) => h.write(data),
                    None => Err(wia::E_UNEXPECTED),
                };
                if let Err(hr) = r {
                    verdict.note_answer(hr);
                }
                r
            }
            Target::App(slot) => slot.write(data),
        }
    }

    fn seek(&self, pos: SeekFrom) -> Result<u64, HResult> {
        match &self.target {
            Target::Driver { handle, .. } => {
                let mut g = handle.lock().unwrap_or_else(|p| p.into_inner());
                match g.as_mut() {
                    Some(h) => h.seek(pos),
                    None => Err(wia::E_UNEXPECTED),
                }
            }
            Target::App(slot) => slot.seek(pos),
        }
    }

    fn len(&self) -> u64 {
        match &self.target {
            Target::Driver { handle, .. } => handle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map_or(0, StreamHandle::bytes_written),
            Target::App(slot) => slot.len(),
        }
    }
}

impl Drop for PageStream {
    fn drop(&mut self) {
        if let Target::Driver {
            handle,
            verdict,
            cancel,
        } = &mut self.target
        {
            let h = handle.get_mut().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(h) = h {
                if verdict.is_complete(cancel) {
                    h.finish();
                }
                // Otherwise dropped unfinished: END_OF_STREAM says why.
            }
        }
    }
}

impl ISequentialStream_Impl for PageStream_Impl {
    fn Read(&self, _pv: *mut c_void, _cb: u32, pcbread: *mut u32) -> HRESULT {
        if !pcbread.is_null() {
            // SAFETY: a non-null pcbread points to a u32 the caller owns (IStream contract).
            unsafe { pcbread.write(0) };
        }
        to_hresult(STG_E_ACCESSDENIED)
    }

    fn Write(&self, pv: *const c_void, cb: u32, pcbwritten: *mut u32) -> HRESULT {
        let data: &[u8] = if cb == 0 {
            &[]
        } else if pv.is_null() {
            return to_hresult(STG_E_INVALIDPOINTER);
        } else {
            // SAFETY: the caller passes `cb` readable bytes at `pv` for the duration of the
            // call (ISequentialStream::Write contract); we copy them out before returning.
            unsafe { std::slice::from_raw_parts(pv.cast::<u8>(), cb as usize) }
        };
        let r = self.write(data);
        let written = if r.is_ok() { cb } else { 0 };
        if !pcbwritten.is_null() {
            // SAFETY: a non-null pcbwritten points to a u32 the caller owns.
            unsafe { pcbwritten.write(written) };
        }
        match r {
            Ok(()) => HRESULT(0),
            Err(hr) => to_hresult(hr),
        }
    }
}

impl IStream_Impl for PageStream_Impl {
    fn Seek(
        &self,
        dlibmove: i64,
        dworigin: STREAM_SEEK,
        plibnewposition: *mut u64,
    ) -> windows_core::Result<()> {
        let pos = seek_from(dworigin.0, dlibmove)
            .and_then(|p| self.seek(p))
            .map_err(|hr| Error::from_hresult(to_hresult(hr)))?;
        if !plibnewposition.is_null() {
            // SAFETY: a non-null plibnewposition points to a u64 the caller owns.
            unsafe { plibnewposition.write(pos) };
        }
        Ok(())
    }

    fn SetSize(&self, libnewsize: u64) -> windows_core::Result<()> {
        if libnewsize >= self.len() {
            Ok(())
        } else {
            com_result(STG_E_INVALIDFUNCTION)
        }
    }

    fn CopyTo(
        &self,
        _pstm: Ref<IStream>,
        _cb: u64,
        pcbread: *mut u64,
        pcbwritten: *mut u64,
    ) -> windows_core::Result<()> {
        for p in [pcbread, pcbwritten] {
            if !p.is_null() {
                // SAFETY: non-null out-pointers the caller owns.
                unsafe { p.write(0) };
            }
        }
        com_result(STG_E_ACCESSDENIED)
    }

    fn Commit(&self, _grfcommitflags: &STGC) -> windows_core::Result<()> {
        Ok(())
    }

    fn Revert(&self) -> windows_core::Result<()> {
        Ok(())
    }

    fn LockRegion(
        &self,
        _liboffset: u64,
        _cb: u64,
        _dwlocktype: &LOCKTYPE,
    ) -> windows_core::Result<()> {
        com_result(STG_E_INVALIDFUNCTION)
    }

    fn UnlockRegion(
        &self,
        _liboffset: u64,
        _cb: u64,
        _dwlocktype: u32,
    ) -> windows_core::Result<()> {
        com_result(STG_E_INVALIDFUNCTION)
    }

    fn Stat(&self, pstatstg: *mut STATSTG, _grfstatflag: &STATFLAG) -> windows_core::Result<()> {
        if pstatstg.is_null() {
            return com_result(STG_E_INVALIDPOINTER);
        }
        let stat = STATSTG {
            // Unnamed stream: no name to allocate whatever the flag asks.
            pwcsName: windows_core::PWSTR::null(),
            r#type: STGTY_STREAM.0 as u32,
            cbSize: self.len(),
            grfMode: STGM_WRITE,
            ..Default::default()
        };
        // SAFETY: non-null, points to a STATSTG the caller owns.
        unsafe { pstatstg.write(stat) };
        Ok(())
    }

    fn Clone(&self) -> windows_core::Result<IStream> {
        Err(Error::from_hresult(to_hresult(STG_E_INVALIDFUNCTION)))
    }
}
