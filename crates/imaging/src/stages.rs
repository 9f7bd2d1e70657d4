//! The page pipeline's processing stage: one [`Processing`] (what the user asked, the same
//! for every front end) becomes the stages a pipeline runs per page, and a
//! [`ProcessingReport`] collects what they found on each page.
//!
//! Order, as docs/processing.md and Microsoft's sample filter have it: brightness and
//! contrast; the detectors on one shared thumbnail (sheet, skew, blank); a blank page
//! discarded or turned into a job separator before anything costly; crop and deskew in one
//! pass ([`extract`]), or the photos cut out one by one; rotation last.
//!
//! [`Processing::process_image`] is that order on one whole page: the pipeline's stage runs
//! it on every page, and the COM image filter (which gets pages outside the pipeline) on
//! each page it holds, so no front end has an order of its own.

use crate::{
    blank_score_in, brightness_contrast, crop, detect_paper_in, detect_skew_in, extract, rotate,
    segment_photos, BlankResult, Image, ImagingError, QuarterTurns, Rect, Region, Sensitivity,
    SkewError, Thumbnail,
};
use scanwire_core::device::{PageData, Side};
use scanwire_pipeline::{PageImage, Stage, StageError, StageOutput, Stages};
use std::sync::{Arc, Mutex, OnceLock};

/// WIA_IPS_AUTO_CROP: what a page is cut to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crop {
    /// DISABLED: the page as scanned.
    #[default]
    Off,
    /// SINGLE: the sheet, found against a darker lid or feeder background.
    Paper,
    /// MULTI (the segmentation filter): each photo on the glass as a page of its own.
    Photos,
}

/// WIA_IPS_BLANK_PAGES: what happens to a blank page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Blank {
    /// DETECTION_DISABLED: every page is kept.
    #[default]
    Keep,
    /// DISCARD: a blank page is not delivered.
    Skip,
    /// JOB_SEPARATOR with DETECT_NOSCAN_CONTINUE: a blank page is not delivered and the next
    /// kept page starts a new document.
    Split,
}

/// What to do to each page: WIA 2.0's image-processing properties, shared by the CLI, the
/// eSCL server and the COM layer. The default does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Processing {
    /// WIA_IPS_BRIGHTNESS, −1000..=1000 (0: unchanged).
    pub brightness: i32,
    /// WIA_IPS_CONTRAST, −1000..=1000 (0: unchanged).
    pub contrast: i32,
    /// WIA_IPS_ROTATION, applied last.
    pub rotate: QuarterTurns,
    /// WIA_IPS_AUTO_DESKEW.
    pub deskew: bool,
    /// WIA_IPS_AUTO_CROP.
    pub crop: Crop,
    /// WIA_IPS_BLANK_PAGES.
    pub blank: Blank,
    /// WIA_IPS_BLANK_PAGES_SENSITIVITY (0..=100, higher: more pages blank).
    pub sensitivity: Sensitivity,
}

impl Processing {
    /// Whether it changes nothing (no stage is needed).
    pub fn is_none(&self) -> bool {
        *self == Processing::default()
    }

    /// Checks the values that have a range: an error names the value and the range.
    pub fn validate(&self) -> Result<(), ImagingError> {
        for (what, v) in [("brightness", self.brightness), ("contrast", self.contrast)] {
            if !(-1000..=1000).contains(&v) {
                return Err(ImagingError::OutOfRange {
                    what,
                    value: v as f64,
                    min: -1000.0,
                    max: 1000.0,
                });
            }
        }
        Ok(())
    }

    /// The pipeline stages that do it (none when [`Processing::is_none`]), recording what
    /// they find on each page into `report`.
    pub fn stages(&self, report: &Arc<ProcessingReport>) -> Result<Stages, ImagingError> {
        self.validate()?;
        if self.is_none() {
            return Ok(Vec::new());
        }
        Ok(vec![Arc::new(ProcessStage {
            settings: *self,
            report: report.clone(),
        })])
    }
}

/// How the skew of a page was found (with [`Processing::deskew`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SkewFinding {
    /// From the sheet's edges against the background (with [`Crop::Paper`]).
    Sheet {
        /// Degrees counterclockwise, as [`Region::angle_deg`].
        angle_deg: f64,
    },
    /// From the text lines.
    Text {
        /// Degrees counterclockwise.
        angle_deg: f64,
        /// 0..1, how clearly the angle stood out.
        confidence: f64,
    },
    /// Too little structure to tell: the page was left as it is.
    NotEnoughStructure,
}

impl SkewFinding {
    /// The angle found, if one was.
    pub fn angle_deg(&self) -> Option<f64> {
        match *self {
            SkewFinding::Sheet { angle_deg } | SkewFinding::Text { angle_deg, .. } => {
                Some(angle_deg)
            }
            SkewFinding::NotEnoughStructure => None,
        }
    }
}

/// The blank check of one page (with [`Processing::blank`] not `Keep`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlankFinding {
    /// Blank at the sensitivity asked for.
    pub blank: bool,
    /// The measure: share of the page covered by ink, 0..1.
    pub coverage: f64,
}

/// What processing found on one scanned page and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFindings {
    /// The page's number as the driver scanned it.
    pub scanned: u32,
    /// Its sheet (feeder) and side.
    pub sheet: u32,
    /// Front or back.
    pub side: Side,
    /// The scanned page's width and height in pixels (what boxes are measured in).
    pub size: (u32, u32),
    /// With deskew: the angle found, or why none was.
    pub skew: Option<SkewFinding>,
    /// With [`Crop::Paper`]: the sheet found (`None`: no background showed, the page was
    /// kept whole).
    pub crop: Option<Region>,
    /// The area cut out, axis-aligned in the scanned page's pixels (with [`Crop::Paper`]
    /// when a sheet was found; the sheet's bounding box).
    pub crop_box: Option<Rect>,
    /// With blank detection: the check.
    pub blank: Option<BlankFinding>,
    /// With [`Crop::Photos`]: the photos found, in reading order (none: the page was kept
    /// whole).
    pub photos: Option<Vec<Region>>,
    /// Pages it became (0 for a discarded blank page; several for photos).
    pub outputs: u32,
    /// It ended a document (a blank page with [`Blank::Split`]).
    pub separator: bool,
}

/// [`PageFindings`] placed in the job: which pages and document it became.
#[derive(Debug, Clone, PartialEq)]
pub struct PageReport {
    /// What was found.
    pub findings: PageFindings,
    /// The numbers of the pages it became, as the application keeps them.
    pub delivered: Vec<u32>,
    /// The document they are in (1 unless blank pages split the job).
    pub document: Option<u32>,
}

/// Per-page findings of one job's processing, collected while pages are processed in
/// parallel; read once the job is over (or at any time: pages so far).
#[derive(Debug, Default)]
pub struct ProcessingReport {
    pages: Mutex<Vec<PageFindings>>,
    here: OnceLock<Processing>,
}

impl ProcessingReport {
    /// An empty report.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Narrows what Scanwire's stage does to `local`, before the scan starts: the part the
    /// device took on ([`Processing::split`]) is not done twice. Set once; later calls are
    /// ignored.
    pub fn run_here(&self, local: Processing) {
        let _ = self.here.set(local);
    }

    /// What the stage does on this machine: `asked`, or the part [`Self::run_here`] left.
    pub fn here(&self, asked: Processing) -> Processing {
        self.here.get().copied().unwrap_or(asked)
    }

    fn push(&self, f: PageFindings) {
        self.pages.lock().unwrap_or_else(|p| p.into_inner()).push(f);
    }

    /// What was found on the driver's page `scanned`, once it was processed.
    pub fn page(&self, scanned: u32) -> Option<PageFindings> {
        let pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        pages.iter().find(|f| f.scanned == scanned).cloned()
    }

    /// Every processed page in scanned order, with the page numbers and document it became.
    /// The numbers are the pipeline's own rule (pages numbered as kept, across documents;
    /// several separators in a row, or before any page, separate once or not at all),
    /// assuming every later stage keeps the page.
    pub fn pages(&self) -> Vec<PageReport> {
        let mut v = self.pages.lock().unwrap_or_else(|p| p.into_inner()).clone();
        v.sort_by_key(|f| f.scanned);
        let (mut number, mut doc, mut has_pages, mut pending) = (0u32, 1u32, false, false);
        v.into_iter()
            .map(|findings| {
                if findings.separator {
                    pending |= has_pages;
                }
                let mut delivered = Vec::new();
                let mut document = None;
                if findings.outputs > 0 {
                    if std::mem::take(&mut pending) {
                        doc += 1;
                    }
                    has_pages = true;
                    delivered = (number + 1..=number + findings.outputs).collect();
                    number += findings.outputs;
                    document = Some(doc);
                }
                PageReport {
                    findings,
                    delivered,
                    document,
                }
            })
            .collect()
    }
}

impl Processing {
    /// Processes one whole page in the stage's order (module docs): the images it becomes,
    /// in order, with what was found written into `found` (`found.outputs` included). None
    /// for a blank page that is discarded or, with [`Blank::Split`], ends a document
    /// (`found.separator`). The pipeline's stage runs every page through this; a front end
    /// that gets pages outside the pipeline (the COM image filter) calls it directly, so
    /// every front end makes the same pages of the same page with the same settings.
    pub fn process_image(
        &self,
        mut img: Image,
        found: &mut PageFindings,
    ) -> Result<Vec<Image>, ImagingError> {
        let s = self;
        s.validate()?;
        if s.brightness != 0 || s.contrast != 0 {
            brightness_contrast(&mut img, s.brightness, s.contrast)?;
        }
        let detect = s.deskew || s.crop == Crop::Paper || s.blank != Blank::Keep;
        let thumb = if detect {
            Some(Thumbnail::of(&img)?)
        } else {
            None
        };
        // The sheet: to cut it out, and to measure only it for blankness.
        let sheet = match &thumb {
            Some(t) if s.crop == Crop::Paper || (s.blank != Blank::Keep && s.crop == Crop::Off) => {
                detect_paper_in(&img, t)
            }
            _ => None,
        };
        if let (Some(t), true) = (&thumb, s.blank != Blank::Keep) {
            let r: BlankResult = blank_score_in(t, sheet.as_ref());
            let blank = r.is_blank(s.sensitivity);
            found.blank = Some(BlankFinding {
                blank,
                coverage: r.coverage,
            });
            if blank {
                found.separator = s.blank == Blank::Split;
                found.outputs = 0;
                return Ok(Vec::new());
            }
        }
        let mut pages = Vec::with_capacity(1);
        match s.crop {
            Crop::Paper => {
                found.crop = sheet;
                match sheet {
                    Some(region) => {
                        found.crop_box = Some(region.bounding_rect(img.width, img.height));
                        if s.deskew {
                            found.skew = Some(SkewFinding::Sheet {
                                angle_deg: region.angle_deg,
                            });
                            pages.push(extract(&img, &region)?);
                        } else {
                            pages.push(crop(&img, region.bounding_rect(img.width, img.height))?);
                        }
                    }
                    None => pages.push(deskewed(s.deskew, img, thumb.as_ref(), found)?),
                }
            }
            Crop::Photos => {
                let photos = segment_photos(&img)?;
                if photos.is_empty() {
                    pages.push(deskewed(s.deskew, img, thumb.as_ref(), found)?);
                } else {
                    for p in &photos {
                        pages.push(if s.deskew {
                            extract(&img, p)?
                        } else {
                            crop(&img, p.bounding_rect(img.width, img.height))?
                        });
                    }
                }
                found.photos = Some(photos);
            }
            Crop::Off => pages.push(deskewed(s.deskew, img, thumb.as_ref(), found)?),
        }
        if s.rotate != QuarterTurns::None {
            for p in &mut pages {
                *p = rotate(p, s.rotate)?;
            }
        }
        found.outputs = pages.len() as u32;
        Ok(pages)
    }
}

/// The page straightened by its text lines, when `deskew` is asked and an angle is found.
fn deskewed(
    deskew: bool,
    img: Image,
    thumb: Option<&Thumbnail>,
    found: &mut PageFindings,
) -> Result<Image, ImagingError> {
    let (true, Some(t)) = (deskew, thumb) else {
        return Ok(img);
    };
    match detect_skew_in(t) {
        Ok(r) => {
            found.skew = Some(SkewFinding::Text {
                angle_deg: r.angle_deg,
                confidence: r.confidence,
            });
            // Turning by less than this moves no pixel by more than a few hundredths.
            if r.angle_deg.abs() < 0.01 {
                return Ok(img);
            }
            crate::deskew(&img, r.angle_deg)
        }
        Err(SkewError::NotEnoughStructure { .. }) => {
            found.skew = Some(SkewFinding::NotEnoughStructure);
            Ok(img)
        }
        Err(SkewError::Image(e)) => Err(e),
    }
}

impl PageFindings {
    /// Nothing found yet on the driver's page `scanned` (of `sheet`, `side`), `size`
    /// pixels wide and high: what [`Processing::process_image`] fills in.
    pub fn new(scanned: u32, sheet: u32, side: Side, size: (u32, u32)) -> Self {
        PageFindings {
            scanned,
            sheet,
            side,
            size,
            skew: None,
            crop: None,
            crop_box: None,
            blank: None,
            photos: None,
            outputs: 0,
            separator: false,
        }
    }

    /// Whether the pages were cut or turned (text boxes no longer fit).
    fn outputs_changed_geometry(&self) -> bool {
        self.crop.is_some()
            || self.photos.as_ref().is_some_and(|p| !p.is_empty())
            || self
                .skew
                .and_then(|s| s.angle_deg())
                .is_some_and(|a| a.abs() >= 0.01)
    }
}

/// The one stage: [`Processing::process_image`] on each page, in the pipeline's terms.
struct ProcessStage {
    settings: Processing,
    report: Arc<ProcessingReport>,
}

impl ProcessStage {
    fn error(&self, e: ImagingError) -> StageError {
        StageError::new(self.name(), e.to_string())
    }

    /// Processes one page: the pages (or separator) it becomes, and what was found.
    fn run(
        &self,
        page: PageImage,
        found: &mut PageFindings,
    ) -> Result<Vec<StageOutput>, ImagingError> {
        let s = self.report.here(self.settings);
        let (pixel, width, height) = page.layout();
        let text = page.text.clone();
        let info = page.page;
        let img = Image::new(pixel, width, height, info.dpi, page.data)?;
        let pages = s.process_image(img, found)?;
        if found.separator {
            return Ok(vec![StageOutput::Separator]);
        }
        let changed = s.rotate != QuarterTurns::None || found.outputs_changed_geometry();
        Ok(pages
            .into_iter()
            .map(|p| {
                let mut info = info.clone();
                info.data = PageData::Raster {
                    pixel: p.pixel,
                    width: p.width,
                    height: Some(p.height),
                };
                info.dpi = p.dpi;
                StageOutput::Page(PageImage {
                    page: info,
                    data: p.data,
                    // Text boxes are in the old geometry; a page whose geometry changed has
                    // none.
                    text: if changed { None } else { text.clone() },
                })
            })
            .collect())
    }
}

impl Stage for ProcessStage {
    fn name(&self) -> &str {
        "processing"
    }

    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        Ok(self
            .process_outputs(page)?
            .into_iter()
            .filter_map(|o| match o {
                StageOutput::Page(p) => Some(p),
                StageOutput::Separator => None,
            })
            .collect())
    }

    fn process_outputs(&self, page: PageImage) -> Result<Vec<StageOutput>, StageError> {
        let (_, width, height) = page.layout();
        let mut found = PageFindings::new(
            page.page.number,
            page.page.sheet,
            page.page.side,
            (width, height),
        );
        let out = self.run(page, &mut found).map_err(|e| self.error(e))?;
        self.report.push(found);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth;
    use scanwire_core::device::{PageInfo, PixelFormat, Source};

    fn page_of(img: &Image, number: u32) -> PageImage {
        PageImage {
            page: PageInfo {
                number,
                sheet: number,
                side: Side::Front,
                source: Source::Feeder,
                data: PageData::Raster {
                    pixel: img.pixel,
                    width: img.width,
                    height: Some(img.height),
                },
                dpi: img.dpi,
            },
            data: img.data.clone(),
            text: None,
        }
    }

    fn run(p: &Processing, pages: &[Image]) -> (Vec<Vec<StageOutput>>, Vec<PageReport>) {
        let report = ProcessingReport::new();
        let stages = p.stages(&report).unwrap();
        let outs = pages
            .iter()
            .enumerate()
            .map(|(i, img)| {
                let mut o = vec![StageOutput::Page(page_of(img, i as u32 + 1))];
                for s in &stages {
                    o = o
                        .into_iter()
                        .flat_map(|o| match o {
                            StageOutput::Page(p) => s.process_outputs(p).unwrap(),
                            sep => vec![sep],
                        })
                        .collect();
                }
                o
            })
            .collect();
        (outs, report.pages())
    }

    #[test]
    fn out_of_range_values_name_the_range() {
        let p = Processing {
            brightness: 1200,
            ..Processing::default()
        };
        let e = p
            .stages(&ProcessingReport::new())
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("brightness 1200") && e.contains("-1000..=1000"),
            "{e}"
        );
        assert!(Processing::default()
            .stages(&ProcessingReport::new())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn deskew_and_crop_find_the_sheet_and_its_angle() {
        let mut spec = synth::SheetSpec::a4_on_platen(100, 3);
        spec.skew_deg = 2.5;
        let page = synth::sheet(&spec).image;
        let p = Processing {
            deskew: true,
            crop: Crop::Paper,
            ..Processing::default()
        };
        let (outs, report) = run(&p, std::slice::from_ref(&page));
        assert_eq!(outs[0].len(), 1);
        let f = &report[0].findings;
        let angle = f.skew.unwrap().angle_deg().unwrap();
        assert!((angle - 2.5).abs() < 0.2, "{angle}");
        let b = f.crop_box.unwrap();
        assert!(b.width < page.width && b.height < page.height, "{b:?}");
        assert_eq!(report[0].delivered, [1]);
        let StageOutput::Page(out) = &outs[0][0] else {
            panic!()
        };
        let (_, w, h) = out.layout();
        // The sheet (180 x 250 mm) cut out straight, at 100 dpi.
        assert!(
            (w as i32 - 709).abs() < 6 && (h as i32 - 984).abs() < 6,
            "{w}x{h}"
        );
    }

    #[test]
    fn blank_pages_skip_or_separate_once() {
        let text = synth::sheet(&synth::SheetSpec::a4_on_platen(100, 5)).image;
        let mut blank_spec = synth::SheetSpec::a4_on_platen(100, 6);
        blank_spec.content = synth::Content::Blank;
        let blank = synth::sheet(&blank_spec).image;
        let pages = [
            blank.clone(),
            text.clone(),
            blank.clone(),
            blank.clone(),
            text.clone(),
        ];
        let skip = Processing {
            blank: Blank::Skip,
            ..Processing::default()
        };
        let (outs, report) = run(&skip, &pages);
        let kept: Vec<usize> = outs.iter().map(|o| o.len()).collect();
        assert_eq!(kept, [0, 1, 0, 0, 1]);
        assert!(report[0].findings.blank.unwrap().blank);
        assert!(!report[1].findings.blank.unwrap().blank);
        assert_eq!(report[4].delivered, [2]);
        let split = Processing {
            blank: Blank::Split,
            ..skip
        };
        let (outs, report) = run(&split, &pages);
        assert_eq!(outs[2], [StageOutput::Separator]);
        let docs: Vec<_> = report.iter().map(|r| r.document).collect();
        assert_eq!(docs, [None, Some(1), None, None, Some(2)]);
        assert_eq!(report[4].delivered, [2]);
    }

    #[test]
    fn photos_become_pages_in_reading_order() {
        let glass = synth::photos(&synth::PhotosSpec::on_a4(100, 3, 9));
        let p = Processing {
            crop: Crop::Photos,
            deskew: true,
            ..Processing::default()
        };
        let (outs, report) = run(&p, &[glass.image]);
        assert_eq!(outs[0].len(), 3);
        assert_eq!(report[0].findings.photos.as_ref().unwrap().len(), 3);
        assert_eq!(report[0].delivered, [1, 2, 3]);
        for (o, truth) in outs[0].iter().zip(&glass.photos) {
            let StageOutput::Page(o) = o else { panic!() };
            let (_, w, h) = o.layout();
            assert!((w as f64 - truth.size.0).abs() < 6.0, "{w} {truth:?}");
            assert!((h as f64 - truth.size.1).abs() < 6.0, "{h} {truth:?}");
        }
    }

    #[test]
    fn rotation_turns_every_page_last() {
        let img = Image::filled(PixelFormat::Gray8, 30, 20, (100, 100), [200, 200, 200]);
        let p = Processing {
            rotate: QuarterTurns::Ccw90,
            ..Processing::default()
        };
        let (outs, _) = run(&p, &[img]);
        let StageOutput::Page(out) = &outs[0][0] else {
            panic!()
        };
        assert_eq!(out.layout(), (PixelFormat::Gray8, 20, 30));
    }
}
