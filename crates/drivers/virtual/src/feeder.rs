//! The paper model: which images a scan produces, on which sheet and side, and how the scan
//! ends, following the feeder table of `spec/wia-transfer.md` §4:
//!
//! | situation | result |
//! |---|---|
//! | pages = all, the feeder emptied | S_OK ([`Completion::Done`]) |
//! | pages = N, N images delivered | S_OK |
//! | pages = N, paper ran out after ≥ 1 and < N images | WIA_STATUS_END_OF_MEDIA |
//! | no paper for the first image | WIA_ERROR_PAPER_EMPTY ([`Fault::FeederEmpty`]) |
//!
//! Duplex gives two images per sheet, front then back; `pages` counts images.

use crate::errors::Fault;
use scanwire_core::device::{Completion, Side, Source};

/// One image of a scan: its number in the transfer and where it is on the paper.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageSlot {
    /// 1-based image number.
    pub number: u32,
    /// 1-based sheet.
    pub sheet: u32,
    /// Front or back.
    pub side: Side,
}

/// Where image `number` of a scan from `source` lies: in duplex, odd images are fronts and
/// even ones backs of sheet `(number + 1) / 2`; otherwise image N is the front of sheet N.
pub fn slot(source: Source, number: u32) -> PageSlot {
    match source {
        Source::FeederDuplex => PageSlot {
            number,
            sheet: number.div_ceil(2),
            side: if number % 2 == 1 {
                Side::Front
            } else {
                Side::Back
            },
        },
        Source::Flatbed | Source::Feeder => PageSlot {
            number,
            sheet: number,
            side: Side::Front,
        },
    }
}

/// The images a scan will produce, and how it ends once they are all delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// In order.
    pub pages: Vec<PageSlot>,
    /// [`Completion::Done`], or [`Completion::EndOfMedia`] when the feeder runs out before
    /// the requested count.
    pub completion: Completion,
}

/// Plans a scan of `requested` images (`None`: all) from `source` with `sheets` in the
/// feeder. The flatbed always gives one image.
pub fn plan(source: Source, requested: Option<u32>, sheets: u32) -> Result<Plan, Fault> {
    let available = match source {
        Source::Flatbed => 1,
        Source::Feeder => sheets,
        Source::FeederDuplex => sheets * 2,
    };
    if available == 0 {
        return Err(Fault::FeederEmpty);
    }
    let wanted = requested.unwrap_or(available);
    let count = wanted.min(available);
    let completion = if wanted > available {
        Completion::EndOfMedia
    } else {
        Completion::Done
    };
    Ok(Plan {
        pages: (1..=count).map(|n| slot(source, n)).collect(),
        completion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_pages_empties_the_feeder_and_is_done() {
        let p = plan(Source::Feeder, None, 5).unwrap();
        assert_eq!(p.pages.len(), 5);
        assert_eq!(p.completion, Completion::Done);
        assert!(p.pages.iter().all(|s| s.side == Side::Front));
        assert_eq!(p.pages[4].sheet, 5);
    }

    #[test]
    fn fewer_pages_than_sheets_is_done_and_more_is_end_of_media() {
        let p = plan(Source::Feeder, Some(3), 5).unwrap();
        assert_eq!((p.pages.len(), p.completion), (3, Completion::Done));
        let p = plan(Source::Feeder, Some(8), 5).unwrap();
        assert_eq!((p.pages.len(), p.completion), (5, Completion::EndOfMedia));
    }

    #[test]
    fn empty_feeder_fails_for_any_page_count() {
        assert_eq!(plan(Source::Feeder, None, 0), Err(Fault::FeederEmpty));
        assert_eq!(
            plan(Source::FeederDuplex, Some(2), 0),
            Err(Fault::FeederEmpty)
        );
    }

    #[test]
    fn duplex_gives_front_then_back_of_each_sheet() {
        let p = plan(Source::FeederDuplex, None, 2).unwrap();
        let got: Vec<(u32, u32, Side)> = p
            .pages
            .iter()
            .map(|s| (s.number, s.sheet, s.side))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 1, Side::Front),
                (2, 1, Side::Back),
                (3, 2, Side::Front),
                (4, 2, Side::Back)
            ]
        );
        let p = plan(Source::FeederDuplex, Some(3), 2).unwrap();
        assert_eq!((p.pages.len(), p.completion), (3, Completion::Done));
        let p = plan(Source::FeederDuplex, Some(5), 2).unwrap();
        assert_eq!((p.pages.len(), p.completion), (4, Completion::EndOfMedia));
    }

    #[test]
    fn flatbed_is_one_page_whatever_the_feeder_holds() {
        let p = plan(Source::Flatbed, None, 0).unwrap();
        assert_eq!(p.pages, vec![slot(Source::Flatbed, 1)]);
        assert_eq!(p.completion, Completion::Done);
    }
}
