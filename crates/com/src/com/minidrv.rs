//! `IWiaMiniDrvTransferCallback` over a core [`Relay`]: any COM code (a WIA mini-driver, a test
//! harness) drives a Scanwire transfer exactly as a WIA driver drives the WIA service.
//!
//! - `GetNextStream(0, name, full, &stream)`: S_OK and a [`PageStream`], or
//!   WIA_STATUS_SKIP_ITEM (0x00210009), S_FALSE or an error with no stream, raw. Pages are
//!   numbered from the session's [`PageTemplate`] in call order; the names are not used (WIA
//!   names the item, not the page). The out-pointer is left untouched when there is no stream,
//!   as with every `#[implement]` object: callers set it to null first.
//! - `SendMessage(0, &params)`: the relay's answer, raw: S_OK, S_FALSE once cancelled (sticky),
//!   E_POINTER for a null pointer, an error. DEVICE_STATUS goes to the error-handler chain.
//! - When the driver is done, [`Session::finish`] with its `drvAcquireItemData` result ends
//!   the transfer (END_OF_TRANSFER) and says what came of it.

use super::stream::PageStream;
use super::{com_result, read_params};
use crate::pages::{acquire_result, PageTemplate, StreamVerdict};
use scanwire_core::device::DeviceError;
use scanwire_core::transfer::{
    CancelHandle, MiniDrvTransferCallback, NextStream, Outcome, Relay, TransferCallback,
    TransferOptions,
};
use scanwire_core::wia::{self, HResult};
use std::sync::{Arc, Mutex, MutexGuard};
use windows::Win32::Devices::ImageAcquisition::{
    IWiaMiniDrvTransferCallback, IWiaMiniDrvTransferCallback_Impl, WiaTransferParams,
};
use windows::Win32::System::Com::IStream;
use windows_core::{implement, Error, BSTR};

struct State {
    relay: Mutex<Relay>,
    cancel: CancelHandle,
    template: PageTemplate,
    pages: Mutex<u32>,
    /// The verdict of the stream the driver holds (see `StreamVerdict`).
    verdict: Mutex<Option<Arc<StreamVerdict>>>,
    outcome: Mutex<Option<Outcome>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    fn note(&self, hr: HResult) {
        if let Some(v) = lock(&self.verdict).as_ref() {
            v.note_answer(hr);
        }
    }

    fn finish(&self, driver_result: HResult) -> Outcome {
        let mut out = lock(&self.outcome);
        if let Some(o) = out.as_ref() {
            return o.clone();
        }
        let o = lock(&self.relay).finish(&acquire_result(driver_result));
        *out = Some(o.clone());
        o
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // Nobody said how the driver ended: END_OF_TRANSFER still comes, once.
        let finished = lock(&self.outcome).is_some();
        if !finished {
            let e = DeviceError::from_hresult(
                wia::E_ABORT,
                "the COM driver's session ended without a result",
            );
            lock(&self.relay).finish(&Err(e));
        }
    }
}

/// The COM object; see the module docs. Create it with [`relay_callback`].
#[implement(IWiaMiniDrvTransferCallback)]
pub struct RelayCallback {
    state: Arc<State>,
}

/// The Rust side of a [`RelayCallback`]: cancel it, end it. Holding it does not keep the COM
/// object alive.
#[derive(Clone)]
pub struct Session {
    state: Arc<State>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("cancelled", &self.state.cancel.is_cancelled())
            .field("outcome", &*lock(&self.state.outcome))
            .finish()
    }
}

impl Session {
    /// Ends the transfer with the COM driver's `drvAcquireItemData` result: checks it against
    /// what the driver was told (S18–S20), delivers END_OF_TRANSFER once. Later calls return
    /// the same outcome.
    pub fn finish(&self, driver_result: HResult) -> Outcome {
        self.state.finish(driver_result)
    }

    /// `IWiaTransfer::Cancel` for this transfer: the driver's next call answers S_FALSE.
    pub fn cancel(&self) {
        self.state.cancel.cancel();
    }

    /// The cancel flag (to hand to the driver as `WIA_EVENT_CANCEL_IO`).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.state.cancel.clone()
    }
}

/// A COM `IWiaMiniDrvTransferCallback` delivering to `app`, and its [`Session`].
pub fn relay_callback(
    app: Box<dyn TransferCallback>,
    cancel: CancelHandle,
    opts: &TransferOptions,
    template: PageTemplate,
) -> (IWiaMiniDrvTransferCallback, Session) {
    let state = Arc::new(State {
        relay: Mutex::new(Relay::new(app, cancel.clone(), opts)),
        cancel,
        template,
        pages: Mutex::new(0),
        verdict: Mutex::new(None),
        outcome: Mutex::new(None),
    });
    let cb: IWiaMiniDrvTransferCallback = RelayCallback {
        state: state.clone(),
    }
    .into();
    (cb, Session { state })
}

impl IWiaMiniDrvTransferCallback_Impl for RelayCallback_Impl {
    fn GetNextStream(
        &self,
        lflags: i32,
        _bstritemname: &BSTR,
        _bstrfullitemname: &BSTR,
    ) -> windows_core::Result<IStream> {
        let s = &self.state;
        let page = {
            let mut n = lock(&s.pages);
            *n += 1;
            s.template.page(*n)
        };
        let next = lock(&s.relay).get_next_stream(lflags, &page);
        match next {
            NextStream::Stream(handle) => {
                let verdict = Arc::new(StreamVerdict::new());
                *lock(&s.verdict) = Some(verdict.clone());
                Ok(PageStream::driver(handle, verdict, s.cancel.clone()))
            }
            other => {
                let hr = other.hresult();
                s.note(hr);
                Err(Error::from_hresult(super::to_hresult(hr)))
            }
        }
    }

    fn SendMessage(
        &self,
        lflags: i32,
        pwiatransferparams: *const WiaTransferParams,
    ) -> windows_core::Result<()> {
        // SAFETY: the interface requires a null or valid WiaTransferParams pointer.
        let params = unsafe { read_params(pwiatransferparams) };
        let hr = lock(&self.state.relay).send_message(lflags, params.as_ref());
        self.state.note(hr);
        com_result(hr)
    }
}
