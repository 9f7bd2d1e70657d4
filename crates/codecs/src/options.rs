//! Encoder settings.

use crate::EncodeError;
use std::path::PathBuf;

/// How hard Deflate works, wherever it is used: PNG, lossless PDF pages, TIFF Deflate strips.
///
/// Measured on A4 300 dpi color pages (PNG, one core; `examples/convert.rs`):
///
/// | effort   | noisy document scan | SANE test "Color pattern" | SANE test "Grid" |
/// |----------|---------------------|---------------------------|------------------|
/// | Fastest  | 12.99 MB,  58 ms    | 3.71 MB, 18 ms            | 135 KB, 7 ms     |
/// | Fast     | 12.85 MB, 289 ms    | 0.81 MB, 29 ms            | 35 KB, 10 ms     |
/// | Balanced | 12.67 MB, 451 ms    | 0.80 MB, 91 ms            | 35 KB, 12 ms     |
/// | scanimage (libpng, zlib 6) | — | 0.77 MB, 270 ms (whole scan) | 35 KB      |
///
/// fdeflate (`Fastest`) is five times faster on noisy scans but falls far behind on flat
/// areas, so PNG's default is zlib-rs level 2: within 1-5 % of libpng's size, 1.5-3x faster
/// than level 6.
///
/// TIFF strips (horizontally differenced, two threads, `examples/convert.rs`):
///
/// | TIFF Deflate        | noisy document scan | SANE test "Color pattern" |
/// |---------------------|---------------------|---------------------------|
/// | fdeflate            | 15.17 MB,  37 ms    | 14.45 MB, 35 ms           |
/// | zlib-rs level 1     | 21.51 MB, 101 ms    | 1.61 MB, 12.5 ms          |
/// | zlib-rs level 2     | 14.39 MB, 170 ms    | 1.11 MB, 25 ms            |
///
/// Neither fast coder wins on both, but which one does is easy to tell from the differenced
/// strip: flat synthetic content is mostly zero bytes (zlib's string matching wins), scanner
/// noise is not (fdeflate's entropy coding wins). So TIFF's default ([`DeflateEffort::Auto`])
/// picks per strip.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeflateEffort {
    /// Each format's fast default: zlib-rs level 2 for PNG and lossless PDF pages; for TIFF
    /// strips, fdeflate for noisy strips and zlib-rs level 1 for strips that are at least
    /// half zero bytes after differencing.
    #[default]
    Auto,
    /// fdeflate, a Deflate specialised for filtered image rows: fastest, but weak on flat
    /// synthetic content.
    Fastest,
    /// zlib-rs level 2.
    Fast,
    /// zlib-rs level 6 (what libpng and scanimage use).
    Balanced,
    /// zlib-rs level 9.
    High,
    /// zlib-rs level 1 and, for PNG and lossless PDF pages, the cheapest row filters (Up or
    /// Sub per row): the cheapest Deflate that still collapses flat areas, for pages a peer
    /// decodes as soon as they arrive. The eSCL server's default: sane-airscan always asks
    /// for PNG; on an A4 300 dpi SANE test page, unfiltered level 1 took its fetch from 1.40x
    /// to 1.21x the local scan; Up or Sub then made the virtual scanner's page 540 -> 292 KB
    /// and its encoding 7.8-8.1 -> 5.8-7.2 ms, the SANE "Color pattern" 1.83 -> 1.39 MB and
    /// 15-17 -> 10 ms (`examples/convert.rs IN out.png wire t1 x15`, against the build before),
    /// and a 10-page color job fetched by Scanwire's own eSCL driver 1.30x -> 1.20x the local
    /// scan (`bench/escl-client-vs-local.sh`).
    Wire,
}

impl DeflateEffort {
    /// The effort for a page that will be stored as it is: this one, or at least what
    /// Scanwire writes to files ([`DeflateEffort::Auto`]) when this one trades size for speed.
    pub fn for_storage(self) -> DeflateEffort {
        match self {
            DeflateEffort::Wire | DeflateEffort::Fastest => DeflateEffort::Auto,
            other => other,
        }
    }

    /// The zlib level, or `None` for fdeflate (`Auto` as PNG uses it).
    pub(crate) fn zlib_level(self) -> Option<u8> {
        match self {
            DeflateEffort::Fastest => None,
            DeflateEffort::Wire => Some(1),
            DeflateEffort::Auto | DeflateEffort::Fast => Some(2),
            DeflateEffort::Balanced => Some(6),
            DeflateEffort::High => Some(9),
        }
    }

    pub(crate) fn to_png(self) -> png::DeflateCompression {
        match self.zlib_level() {
            None => png::DeflateCompression::FdeflateUltraFast,
            Some(l) => png::DeflateCompression::Level(l),
        }
    }
}

/// TIFF strip compression.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum TiffCompression {
    /// Adobe Deflate (compression 8) with horizontal differencing for gray and color, at
    /// [`EncodeOptions::deflate`] effort.
    #[default]
    Deflate,
    /// LZW (compression 5) with horizontal differencing for gray and color.
    Lzw,
    /// Uncompressed.
    None,
}

/// Settings for every format; each format reads the fields it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// JPEG quality, 1..=100 (JPEG files and DCT pages in PDF). Default 85: text on scans
    /// stays crisp, files stay about a tenth of the raw size.
    pub jpeg_quality: u8,
    /// Deflate effort for PNG, lossless PDF pages and TIFF Deflate strips.
    pub deflate: DeflateEffort,
    /// TIFF strip compression.
    pub tiff: TiffCompression,
    /// PDF: store gray and color pages losslessly (Flate) instead of as JPEG (DCT).
    /// Lineart is always lossless.
    pub pdf_lossless: bool,
    /// PDF document title.
    pub title: Option<String>,
    /// PDF: write PDF/A-2b (ISO 19005-2 level B, for archiving): XMP metadata saying so, an
    /// sRGB output intent, a document ID (`pdfa.rs`). Pages and text are the same.
    pub pdfa: bool,
    /// PDF: the document's creation date, Unix seconds (`None`: now). Fixed, the same pages
    /// give the same bytes wherever and whenever they are assembled (the queue's workers and a
    /// local run; the document library serving one document twice).
    pub created: Option<u64>,
    /// Threads for encoders that split a page (JPEG and PDF DCT strips, TIFF strips); 0 = one
    /// per core.
    pub threads: usize,
    /// Threads for PNG and PDF Flate strips (zlib efforts, pages of at least 2 MiB); 0 = one
    /// per core. Default 1: split, a PNG page costs up to 20 % more CPU, which pays only when
    /// the encoder is what the scan waits for. Measured on 2 cores, A4 300 dpi: the virtual
    /// scanner's page 5-15 % faster on 2 threads, the SANE test backend's (a source that
    /// itself keeps a core busy) 50 % slower (33 to 50 ms). The eSCL server, whose clients
    /// wait for whole pages, uses every core.
    pub png_threads: usize,
    /// Where pages of unknown height are spooled before encoding (formats whose header
    /// holds the height). `None`: the system temporary directory. File outputs use their own
    /// directory, so spooling never lands on a RAM-backed /tmp by surprise.
    pub spool_dir: Option<PathBuf>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            jpeg_quality: 85,
            deflate: DeflateEffort::default(),
            tiff: TiffCompression::default(),
            pdf_lossless: false,
            title: None,
            pdfa: false,
            created: None,
            threads: 0,
            png_threads: 1,
            spool_dir: None,
        }
    }
}

/// A thread count, 0 meaning one per core.
fn resolve(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

impl EncodeOptions {
    /// Checks the values that have a range.
    pub fn validate(&self) -> Result<(), EncodeError> {
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(EncodeError::Unsupported(format!(
                "JPEG quality must be between 1 and 100, not {}",
                self.jpeg_quality
            )));
        }
        Ok(())
    }

    /// The worker threads to use, resolving 0 to the number of cores.
    pub(crate) fn thread_count(&self) -> usize {
        resolve(self.threads)
    }

    /// The PNG strip threads to use, resolving 0 to the number of cores.
    pub(crate) fn png_thread_count(&self) -> usize {
        resolve(self.png_threads)
    }

    pub(crate) fn spool_file(&self) -> Result<std::fs::File, EncodeError> {
        let r = match &self.spool_dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        };
        r.map_err(EncodeError::io("the spool file"))
    }
}
