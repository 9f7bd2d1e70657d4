//! One stored page: its pixels as a PNG (lossless, the fast Deflate effort), a JPEG
//! thumbnail, and its text layer (JSON) when it was recognised; and the quarter turns that
//! rewrite all three.

use crate::error::LibraryError;
use scanwire_codecs::{
    encode_page, DeflateEffort, EncodeOptions, Format, SliceSource, TextLayer, TextWord,
};
use scanwire_core::device::{ColorMode, PageData, PageInfo, PixelFormat, Side, Source};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The longest side of a thumbnail, in pixels: sharp on a phone's page grid at 2x.
pub const THUMBNAIL_MAX: u32 = 256;

/// A page in memory (one at a time: documents never are).
#[derive(Clone, Debug)]
pub(crate) struct Raster {
    pub pixel: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub dpi: (u32, u32),
    pub data: Vec<u8>,
}

impl Raster {
    pub fn page_info(&self) -> PageInfo {
        PageInfo {
            number: 1,
            sheet: 1,
            side: Side::Front,
            source: Source::Flatbed,
            data: PageData::Raster {
                pixel: self.pixel,
                width: self.width,
                height: Some(self.height),
            },
            dpi: self.dpi,
        }
    }
}

/// The stored names of a page's pixel format.
pub(crate) fn pixel_name(p: PixelFormat) -> &'static str {
    match p {
        PixelFormat::BlackAndWhite1 => "lineart",
        PixelFormat::Gray8 => "gray",
        PixelFormat::Gray16 => "gray16",
        PixelFormat::Rgb8 => "color",
        PixelFormat::Rgb16 => "color48",
    }
}

pub(crate) fn pixel_from_name(s: &str) -> Option<PixelFormat> {
    Some(match s {
        "lineart" => PixelFormat::BlackAndWhite1,
        "gray" => PixelFormat::Gray8,
        "gray16" => PixelFormat::Gray16,
        "color" => PixelFormat::Rgb8,
        "color48" => PixelFormat::Rgb16,
        _ => return None,
    })
}

fn mode_of(p: PixelFormat) -> ColorMode {
    match p {
        PixelFormat::BlackAndWhite1 => ColorMode::Lineart,
        PixelFormat::Gray8 => ColorMode::Gray,
        PixelFormat::Gray16 => ColorMode::Gray16,
        PixelFormat::Rgb8 => ColorMode::Color,
        PixelFormat::Rgb16 => ColorMode::Color48,
    }
}

/// Writes `path` whole or not at all: a temporary file in the same directory, renamed.
pub(crate) fn write_atomic(
    path: &Path,
    what: &'static str,
    fill: impl FnOnce(&mut std::fs::File) -> Result<(), LibraryError>,
) -> Result<u64, LibraryError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(LibraryError::io(what, path))?;
    fill(tmp.as_file_mut())?;
    tmp.as_file_mut()
        .flush()
        .map_err(LibraryError::io(what, path))?;
    let len = tmp
        .as_file()
        .metadata()
        .map_err(LibraryError::io(what, path))?
        .len();
    tmp.persist(path)
        .map_err(|e| LibraryError::io(what, path)(e.error))?;
    Ok(len)
}

/// Stores the page's pixels as PNG at `path`; returns the bytes written.
pub(crate) fn write_png(path: &Path, r: &Raster) -> Result<u64, LibraryError> {
    write_png_rows(path, r, &r.data)
}

/// [`write_png`] of `r`'s layout with the rows `data` (a page borrowed, not copied).
pub(crate) fn write_png_rows(path: &Path, r: &Raster, data: &[u8]) -> Result<u64, LibraryError> {
    let opts = EncodeOptions {
        deflate: DeflateEffort::Fast,
        ..EncodeOptions::default()
    };
    write_atomic(path, "the page image", |f| {
        let mut w = std::io::BufWriter::new(f);
        encode_page(
            Format::Png,
            &r.page_info(),
            &opts,
            &mut SliceSource::new(data, 1 << 20),
            &mut w,
        )
        .map_err(LibraryError::codec("storing the page as PNG"))?;
        w.flush().map_err(LibraryError::io("the page image", path))
    })
}

/// Pixel layout, width and height from a PNG's header (IHDR), if it is one this library
/// can store.
pub(crate) fn png_layout(png: &[u8]) -> Option<(PixelFormat, u32, u32)> {
    if png.get(..8)? != b"\x89PNG\r\n\x1a\n" || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let be =
        |i: usize| -> Option<u32> { Some(u32::from_be_bytes(png.get(i..i + 4)?.try_into().ok()?)) };
    let (w, h) = (be(16)?, be(20)?);
    let pixel = match (png.get(24)?, png.get(25)?) {
        (1, 0) => PixelFormat::BlackAndWhite1,
        (8, 0) => PixelFormat::Gray8,
        (16, 0) => PixelFormat::Gray16,
        (8, 2) => PixelFormat::Rgb8,
        (16, 2) => PixelFormat::Rgb16,
        _ => return None,
    };
    (w > 0 && h > 0).then_some((pixel, w, h))
}

/// Reads a stored page back in the layout it was stored in.
pub(crate) fn read_png(path: &Path, pixel: PixelFormat) -> Result<Raster, LibraryError> {
    let bytes = std::fs::read(path).map_err(LibraryError::io("the page image", path))?;
    let d = scanwire_codecs::decode::decode(&bytes, Some(mode_of(pixel)))
        .map_err(LibraryError::codec(format!("reading {}", path.display())))?;
    Ok(Raster {
        pixel: d.pixel,
        width: d.width,
        height: d.height,
        dpi: d.dpi.unwrap_or((0, 0)),
        data: d.data,
    })
}

/// One 8-bit sample of pixel `x`, channel `c` of `row` (lineart as 0/255, 16 bits' high byte).
#[inline]
fn sample(pixel: PixelFormat, row: &[u8], x: usize, c: usize) -> u32 {
    u32::from(match pixel {
        PixelFormat::BlackAndWhite1 => {
            if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                0
            } else {
                255
            }
        }
        PixelFormat::Gray8 => row[x],
        PixelFormat::Gray16 => row[2 * x],
        PixelFormat::Rgb8 => row[3 * x + c],
        PixelFormat::Rgb16 => row[6 * x + 2 * c],
    })
}

/// The page shrunk by a box filter to fit [`THUMBNAIL_MAX`], as a JPEG (gray or color).
pub(crate) fn thumbnail_jpeg(r: &Raster) -> Result<Vec<u8>, LibraryError> {
    thumbnail_jpeg_rows(r, &r.data)
}

/// [`thumbnail_jpeg`] of `r`'s layout with the rows `data`.
pub(crate) fn thumbnail_jpeg_rows(r: &Raster, data: &[u8]) -> Result<Vec<u8>, LibraryError> {
    let (w, h) = (r.width.max(1) as usize, r.height.max(1) as usize);
    let step = w.max(h).div_ceil(THUMBNAIL_MAX as usize).max(1);
    let (tw, th) = (w.div_ceil(step), h.div_ceil(step));
    let ch = r.pixel.channels() as usize;
    let bpl = r.pixel.bytes_per_line(r.width);
    let mut out = Vec::with_capacity(tw * th * ch);
    let mut sums = vec![0u32; tw * ch];
    let mut counts = vec![0u32; tw];
    for ty in 0..th {
        sums.fill(0);
        counts.fill(0);
        for y in ty * step..((ty + 1) * step).min(r.height as usize) {
            let row = &data[y * bpl..(y + 1) * bpl];
            for x in 0..r.width as usize {
                let tx = x / step;
                counts[tx] += 1;
                for c in 0..ch {
                    sums[tx * ch + c] += sample(r.pixel, row, x, c);
                }
            }
        }
        for tx in 0..tw {
            let n = counts[tx].max(1);
            for c in 0..ch {
                out.push(((sums[tx * ch + c] + n / 2) / n) as u8);
            }
        }
    }
    let pixel = if ch == 3 {
        PixelFormat::Rgb8
    } else {
        PixelFormat::Gray8
    };
    let thumb = Raster {
        pixel,
        width: tw as u32,
        height: th as u32,
        dpi: (72, 72),
        data: out,
    };
    let opts = EncodeOptions {
        jpeg_quality: 80,
        threads: 1,
        ..EncodeOptions::default()
    };
    encode_page(
        Format::Jpeg,
        &thumb.page_info(),
        &opts,
        &mut SliceSource::new(&thumb.data, 1 << 20),
        Vec::new(),
    )
    .map_err(LibraryError::codec("making the thumbnail"))
}

/// A page as a JPEG at its own size (the page's `.jpg` route; the PNG is the lossless one).
pub(crate) fn page_jpeg(r: &Raster) -> Result<Vec<u8>, LibraryError> {
    encode_page(
        Format::Jpeg,
        &r.page_info(),
        &EncodeOptions::default(),
        &mut SliceSource::new(&r.data, 1 << 20),
        Vec::new(),
    )
    .map_err(LibraryError::codec("encoding the page as JPEG"))
}

/// Turns the page `quarters` quarter turns clockwise (1..=3).
pub(crate) fn rotate(r: Raster, quarters: u32) -> Result<Raster, LibraryError> {
    use scanwire_imaging::QuarterTurns;
    // WIA's turns are counterclockwise.
    let turns = match quarters % 4 {
        1 => QuarterTurns::Ccw270,
        2 => QuarterTurns::Half,
        3 => QuarterTurns::Ccw90,
        _ => QuarterTurns::None,
    };
    let img = scanwire_imaging::Image {
        pixel: r.pixel,
        width: r.width,
        height: r.height,
        dpi: r.dpi,
        data: r.data,
    };
    let out = scanwire_imaging::rotate(&img, turns)
        .map_err(|e| LibraryError::BadPage(format!("rotating it: {e}")))?;
    Ok(Raster {
        pixel: out.pixel,
        width: out.width,
        height: out.height,
        dpi: out.dpi,
        data: out.data,
    })
}

/// The text layer turned with its page: boxes move with the pixels (the words of a page
/// turned by 90° read along a column; they are still found by search and copy).
pub(crate) fn rotate_text(t: &TextLayer, quarters: u32) -> TextLayer {
    let mut t = t.clone();
    for _ in 0..quarters % 4 {
        // One turn clockwise: (x, y) in a w×h frame goes to (h - y, x) in an h×w frame.
        let h = t.height;
        for w in &mut t.words {
            let [l, top, r, b] = w.bbox;
            w.bbox = [h.saturating_sub(b), l, h.saturating_sub(top), r];
        }
        std::mem::swap(&mut t.width, &mut t.height);
    }
    t
}

/// The text layer as stored (the codec's type has no serde of its own).
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredText {
    width: u32,
    height: u32,
    words: Vec<StoredWord>,
}

#[derive(Serialize, Deserialize)]
struct StoredWord {
    text: String,
    bbox: [u32; 4],
    line: u32,
}

impl From<&TextLayer> for StoredText {
    fn from(t: &TextLayer) -> Self {
        StoredText {
            width: t.width,
            height: t.height,
            words: t
                .words
                .iter()
                .map(|w| StoredWord {
                    text: w.text.clone(),
                    bbox: w.bbox,
                    line: w.line,
                })
                .collect(),
        }
    }
}

impl From<StoredText> for TextLayer {
    fn from(t: StoredText) -> Self {
        TextLayer {
            width: t.width,
            height: t.height,
            words: t
                .words
                .into_iter()
                .map(|w| TextWord {
                    text: w.text,
                    bbox: w.bbox,
                    line: w.line,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_follows_the_pixels() {
        let t = TextLayer {
            width: 100,
            height: 50,
            words: vec![TextWord {
                text: "a".into(),
                bbox: [10, 5, 30, 15],
                line: 0,
            }],
        };
        let r = rotate_text(&t, 1);
        assert_eq!((r.width, r.height), (50, 100));
        assert_eq!(r.words[0].bbox, [35, 10, 45, 30]);
        let half = rotate_text(&t, 2);
        assert_eq!(half.words[0].bbox, [70, 35, 90, 45]);
        assert_eq!(rotate_text(&t, 4), t);
    }
}
