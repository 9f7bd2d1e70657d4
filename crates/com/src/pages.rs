//! Platform-free pieces the COM objects share: which page a `GetNextStream` is for, how an
//! `IStream::Seek` origin reads, when a page a COM driver released counts as complete, and how
//! a COM driver's HRESULT reads as an acquire result.
//!
//! WIA's `GetNextStream` passes item names, not a page description; Scanwire's callbacks want
//! a [`PageInfo`]. A [`PageTemplate`] (what the request asked for: source, layout, resolution)
//! numbers the pages in the order the streams are asked for.

use scanwire_core::device::{
    AcquireResult, Completion, DeviceError, PageData, PageInfo, ScanRequest, Side, Source,
};
use scanwire_core::transfer::CancelHandle;
use scanwire_core::wia::{self, HResult};
use std::io::SeekFrom;
use std::sync::Mutex;

/// `STG_E_INVALIDFUNCTION`: what `IStream` answers for an operation it cannot do.
pub const STG_E_INVALIDFUNCTION: HResult = HResult::from_u32(0x8003_0001);
/// `STG_E_ACCESSDENIED`: reading a write-only stream.
pub const STG_E_ACCESSDENIED: HResult = HResult::from_u32(0x8003_0005);
/// `STG_E_REVERTED`: the stream was closed under the caller (its page already ended).
pub const STG_E_REVERTED: HResult = HResult::from_u32(0x8003_0102);
/// `E_NOTIMPL`.
pub const E_NOTIMPL: HResult = HResult::from_u32(0x8000_4001);

/// `STREAM_SEEK_SET`.
pub const STREAM_SEEK_SET: u32 = 0;
/// `STREAM_SEEK_CUR`.
pub const STREAM_SEEK_CUR: u32 = 1;
/// `STREAM_SEEK_END`.
pub const STREAM_SEEK_END: u32 = 2;

/// What every page of one transfer has in common; numbers the pages as streams are asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageTemplate {
    /// Where the paper is: decides sheet and side numbering (duplex: two pages per sheet).
    pub source: Source,
    /// The layout of the bytes the driver writes.
    pub data: PageData,
    /// Resolution in dpi (X, Y).
    pub dpi: (u32, u32),
}

impl PageTemplate {
    /// The template for pages scanned for `request`, delivered as `data`.
    pub fn for_request(request: &ScanRequest, data: PageData) -> Self {
        PageTemplate {
            source: request.source,
            data,
            dpi: (request.resolution, request.resolution),
        }
    }

    /// Page `number` (1-based) of the transfer. In duplex, odd pages are fronts and even pages
    /// backs, two per sheet, as feeders deliver them.
    pub fn page(&self, number: u32) -> PageInfo {
        let number = number.max(1);
        let (sheet, side) = match self.source {
            Source::FeederDuplex => (
                number.div_ceil(2),
                if number % 2 == 1 {
                    Side::Front
                } else {
                    Side::Back
                },
            ),
            Source::Flatbed | Source::Feeder => (number, Side::Front),
        };
        PageInfo {
            number,
            sheet,
            side,
            source: self.source,
            data: self.data,
            dpi: self.dpi,
        }
    }
}

/// The two names WIA's `GetNextStream` passes (`WIA_IPA_ITEM_NAME`, `WIA_IPA_FULL_ITEM_NAME`).
/// They name the item, so every page of a feeder item gets the same pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemNames {
    /// `WIA_IPA_ITEM_NAME`, e.g. `Feeder`.
    pub name: String,
    /// `WIA_IPA_FULL_ITEM_NAME`, e.g. `0000\Root\Feeder`.
    pub full_name: String,
}

impl ItemNames {
    /// Names for an item called `name` under the device's root item.
    pub fn under_root(name: &str) -> Self {
        ItemNames {
            name: name.to_string(),
            full_name: format!("0000\\Root\\{name}"),
        }
    }
}

/// Reads `IStream::Seek`'s origin and offset.
///
/// Unknown origins and positions before the start are `STG_E_INVALIDFUNCTION`, as the COM
/// documentation has it for `IStream::Seek`.
pub fn seek_from(origin: u32, offset: i64) -> Result<SeekFrom, HResult> {
    match origin {
        STREAM_SEEK_SET => u64::try_from(offset)
            .map(SeekFrom::Start)
            .map_err(|_| STG_E_INVALIDFUNCTION),
        STREAM_SEEK_CUR => Ok(SeekFrom::Current(offset)),
        STREAM_SEEK_END => Ok(SeekFrom::End(offset)),
        _ => Err(STG_E_INVALIDFUNCTION),
    }
}

/// Whether a page whose stream a COM driver released counts as complete.
///
/// COM has no "finish" call: a driver writes, releases the stream and goes on. So the rule is:
/// **on its final `Release`, a page is complete unless the transfer was cancelled, or the
/// driver was answered S_FALSE or an error (by `SendMessage` or a stream method) while the
/// stream was out.** A driver that fails after releasing a page cannot take that page back;
/// the transfer still fails, the page stays delivered (WIA's own service behaves the same: the
/// application gets END_OF_STREAM when the stream is released).
#[derive(Debug, Default)]
pub struct StreamVerdict {
    spoiled: Mutex<Option<HResult>>,
}

impl StreamVerdict {
    /// A fresh verdict: complete so far.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an answer given to the driver while the stream is out. S_OK and other success
    /// codes leave the page complete; S_FALSE and failures spoil it (the first one is kept).
    pub fn note_answer(&self, hr: HResult) {
        if hr == wia::S_FALSE || hr.is_failure() {
            let mut g = self.spoiled.lock().unwrap_or_else(|p| p.into_inner());
            g.get_or_insert(hr);
        }
    }

    /// Why the page is incomplete, if it is.
    pub fn spoiled_by(&self) -> Option<HResult> {
        *self.spoiled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rule above: complete when nothing spoiled the page and the transfer is not
    /// cancelled.
    pub fn is_complete(&self, cancel: &CancelHandle) -> bool {
        self.spoiled_by().is_none() && !cancel.is_cancelled()
    }
}

/// What a COM driver's `drvAcquireItemData` result means as Scanwire's [`AcquireResult`].
///
/// S_OK, WIA_STATUS_END_OF_MEDIA and S_FALSE are the three completions; every other code
/// (failures, and success codes a driver must not return, such as WIA_STATUS_SKIP_ITEM) is
/// kept as an error value with its exact HRESULT, so the relay can judge it (S20 for SKIP).
pub fn acquire_result(hr: HResult) -> AcquireResult {
    match hr {
        wia::S_OK => Ok(Completion::Done),
        wia::WIA_STATUS_END_OF_MEDIA => Ok(Completion::EndOfMedia),
        wia::S_FALSE => Ok(Completion::Cancelled),
        other => Err(DeviceError::from_hresult(
            other,
            format!("the COM driver returned {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_core::device::{Encoding, PixelFormat};
    use scanwire_core::transfer::{Outcome, Recorder, Relay, TransferOptions};

    #[test]
    fn duplex_pages_alternate_front_and_back_two_per_sheet() {
        let t = PageTemplate {
            source: Source::FeederDuplex,
            data: PageData::Encoded(Encoding::Png),
            dpi: (300, 300),
        };
        let sides: Vec<(u32, u32, Side)> = (1..=4)
            .map(|n| {
                let p = t.page(n);
                (p.number, p.sheet, p.side)
            })
            .collect();
        assert_eq!(
            sides,
            vec![
                (1, 1, Side::Front),
                (2, 1, Side::Back),
                (3, 2, Side::Front),
                (4, 2, Side::Back)
            ]
        );
        assert_eq!(t.page(2).item_name(), "sheet-1-back");
    }

    #[test]
    fn simplex_pages_are_one_per_sheet_and_take_the_request_layout() {
        let req = ScanRequest {
            source: Source::Feeder,
            resolution: 150,
            ..Default::default()
        };
        let data = PageData::Raster {
            pixel: PixelFormat::Gray8,
            width: 10,
            height: None,
        };
        let p = PageTemplate::for_request(&req, data).page(3);
        assert_eq!((p.number, p.sheet, p.side), (3, 3, Side::Front));
        assert_eq!(p.dpi, (150, 150));
        assert_eq!(p.data, data);
        assert_eq!(p.source, Source::Feeder);
    }

    #[test]
    fn seek_origins_follow_istream() {
        assert_eq!(seek_from(STREAM_SEEK_SET, 5), Ok(SeekFrom::Start(5)));
        assert_eq!(seek_from(STREAM_SEEK_CUR, -2), Ok(SeekFrom::Current(-2)));
        assert_eq!(seek_from(STREAM_SEEK_END, 0), Ok(SeekFrom::End(0)));
        assert_eq!(seek_from(STREAM_SEEK_SET, -1), Err(STG_E_INVALIDFUNCTION));
        assert_eq!(seek_from(3, 0), Err(STG_E_INVALIDFUNCTION));
    }

    #[test]
    fn verdict_is_spoiled_by_cancel_false_or_errors_but_not_success_codes() {
        let cancel = CancelHandle::new();
        let v = StreamVerdict::new();
        v.note_answer(wia::S_OK);
        v.note_answer(wia::WIA_STATUS_SKIP_ITEM);
        assert!(v.is_complete(&cancel));
        v.note_answer(wia::WIA_ERROR_PAPER_JAM);
        v.note_answer(wia::S_FALSE);
        assert_eq!(v.spoiled_by(), Some(wia::WIA_ERROR_PAPER_JAM));
        assert!(!v.is_complete(&cancel));

        let v = StreamVerdict::new();
        cancel.cancel();
        assert!(!v.is_complete(&cancel));
    }

    #[test]
    fn driver_results_map_to_completions_and_keep_other_codes() {
        assert_eq!(acquire_result(wia::S_OK), Ok(Completion::Done));
        assert_eq!(acquire_result(wia::S_FALSE), Ok(Completion::Cancelled));
        assert_eq!(
            acquire_result(wia::WIA_STATUS_END_OF_MEDIA),
            Ok(Completion::EndOfMedia)
        );
        let e = acquire_result(wia::WIA_ERROR_PAPER_JAM).unwrap_err();
        assert_eq!(e.hresult(), wia::WIA_ERROR_PAPER_JAM);
        let skip = acquire_result(wia::WIA_STATUS_SKIP_ITEM).unwrap_err();
        assert_eq!(skip.hresult(), wia::WIA_STATUS_SKIP_ITEM);
    }

    #[test]
    fn a_skip_result_reaches_the_relay_as_an_s20_breach_and_ends_s_ok() {
        // The point of keeping SKIP as a value: the relay corrects it and records why.
        let (app, _log) = Recorder::new();
        let mut relay = Relay::new(
            Box::new(app),
            CancelHandle::new(),
            &TransferOptions::default(),
        );
        let out: Outcome = relay.finish(&acquire_result(wia::WIA_STATUS_SKIP_ITEM));
        assert_eq!(out.result, wia::S_OK);
        assert_eq!(out.violations.len(), 1, "{:?}", out.violations);
    }
}
