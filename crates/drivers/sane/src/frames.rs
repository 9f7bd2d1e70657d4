//! SANE frames → raster rows, as [`PixelFormat`] lays them out.
//!
//! - Padding at the end of each line (`bytes_per_line` larger than the pixels need, as the
//!   test backend's `ppl-loss` makes it) is stripped.
//! - 16-bit samples, host-endian in SANE, become big-endian.
//! - 1-bit gray is passed through: SANE and [`PixelFormat::BlackAndWhite1`] agree that 1 is
//!   black and rows are padded to whole bytes.
//! - Three-pass scanners send a red, a green and a blue frame (in any order). The first two
//!   are kept in memory, and rows are interleaved while the third arrives: the buffer holds
//!   two thirds of the page (17.4 MB for an A4 page at 300 dpi, 8 bits per sample), which is
//!   the least any frontend can hold, since a pixel needs all three samples.
//!
//! Data arrives in arbitrary pieces (whatever `sane_read` returned); partial lines are carried
//! over to the next piece. Nothing here does I/O.

use crate::errors;
use crate::ffi::{Frame, Parameters};
use scanwire_core::device::{DeviceError, DeviceErrorKind, PixelFormat};

/// The geometry of a page, from the first frame's parameters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// What the application receives.
    pub pixel: PixelFormat,
    /// Pixels per line.
    pub width: u32,
    /// Lines, when the device knows them (not for hand scanners).
    pub height: Option<u32>,
    /// Bytes per line as the device sends them (with padding).
    src_bpl: usize,
    /// Bytes of a source line that hold pixels (one channel's worth in three-pass).
    used_bpl: usize,
    /// Red, green and blue frames instead of one.
    three_pass: bool,
    /// Bytes per sample (1 for 1- and 8-bit, 2 for 16-bit).
    sample: usize,
    /// Swap byte pairs (16-bit samples on a little-endian host).
    swap: bool,
    /// For 1-bit rows whose width is not a multiple of 8: the bits of the last byte that are
    /// pixels. The rest are cleared, so the same image always gives the same bytes (the test
    /// backend leaves whatever was in its buffer there).
    last_byte_mask: Option<u8>,
}

fn unsupported(detail: String) -> DeviceError {
    DeviceError::new(DeviceErrorKind::Unsupported, detail)
}

fn channel(format: Frame) -> Option<usize> {
    match format {
        Frame::Red => Some(0),
        Frame::Green => Some(1),
        Frame::Blue => Some(2),
        _ => None,
    }
}

impl Layout {
    /// The layout of a page whose first frame has parameters `p`.
    pub(crate) fn from_params(p: &Parameters, device: &str) -> Result<Layout, DeviceError> {
        let bad = |what: String| {
            DeviceError::new(
                DeviceErrorKind::Communication,
                format!("{device} reported impossible scan parameters: {what} ({p:?})"),
            )
        };
        let width = u32::try_from(p.pixels_per_line)
            .ok()
            .filter(|w| *w > 0)
            .ok_or_else(|| bad(format!("{} pixels per line", p.pixels_per_line)))?;
        let src_bpl = usize::try_from(p.bytes_per_line)
            .ok()
            .filter(|b| *b > 0)
            .ok_or_else(|| bad(format!("{} bytes per line", p.bytes_per_line)))?;
        let height = match p.lines {
            n if n < 0 => None,
            0 => return Err(bad("0 lines".into())),
            n => Some(n as u32),
        };
        let three_pass = channel(p.format).is_some();
        let pixel = match (p.format, p.depth) {
            (Frame::Gray, 1) => PixelFormat::BlackAndWhite1,
            (Frame::Gray, 8) => PixelFormat::Gray8,
            (Frame::Gray, 16) => PixelFormat::Gray16,
            (Frame::Rgb, 8) => PixelFormat::Rgb8,
            (Frame::Rgb, 16) => PixelFormat::Rgb16,
            (Frame::Red | Frame::Green | Frame::Blue, 8) => PixelFormat::Rgb8,
            (Frame::Red | Frame::Green | Frame::Blue, 16) => PixelFormat::Rgb16,
            (format, depth) => {
                return Err(unsupported(format!(
                    "{device} sends {format:?} frames at depth {depth}; Scanwire handles gray \
                     at 1, 8 and 16 bits and color (one or three passes) at 8 and 16 bits \
                     (pick another --mode or --set depth=...)"
                )))
            }
        };
        let used_bpl = if three_pass {
            width as usize * pixel.bit_depth() as usize / 8
        } else {
            pixel.bytes_per_line(width)
        };
        if src_bpl < used_bpl {
            return Err(bad(format!(
                "{src_bpl} bytes per line cannot hold {width} pixels at depth {}",
                p.depth
            )));
        }
        let sample = if pixel.bit_depth() == 16 { 2 } else { 1 };
        Ok(Layout {
            pixel,
            width,
            height,
            src_bpl,
            used_bpl,
            three_pass,
            sample,
            swap: sample == 2 && cfg!(target_endian = "little"),
            last_byte_mask: (pixel == PixelFormat::BlackAndWhite1 && width % 8 != 0)
                .then(|| 0xffu8 << (8 - width % 8)),
        })
    }
}

/// Turns the frames of one page into output rows.
pub(crate) struct Assembler {
    layout: Layout,
    device: String,
    carry: Vec<u8>,
    scratch: Vec<u8>,
    /// Source lines taken in the current frame.
    rows_in_frame: u64,
    frames_done: usize,
    /// Channel of the current three-pass frame.
    current: Option<usize>,
    /// Completed three-pass planes, by channel, and their line counts.
    planes: [Option<Vec<u8>>; 3],
    plane_rows: [u64; 3],
    rows_out: u64,
}

impl Assembler {
    /// Starts a page whose first frame has parameters `first`.
    pub(crate) fn new(first: &Parameters, device: &str) -> Result<Assembler, DeviceError> {
        let layout = Layout::from_params(first, device)?;
        Ok(Assembler {
            layout,
            device: device.to_string(),
            carry: Vec::new(),
            scratch: Vec::new(),
            rows_in_frame: 0,
            frames_done: 0,
            current: channel(first.format),
            planes: [None, None, None],
            plane_rows: [0; 3],
            rows_out: 0,
        })
    }

    /// The page's layout.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Starts the next frame of a three-pass page.
    pub(crate) fn start_frame(&mut self, p: &Parameters) -> Result<(), DeviceError> {
        let l = &self.layout;
        let ch = channel(p.format).filter(|_| l.three_pass);
        let same = p.pixels_per_line as i64 == l.width as i64
            && p.bytes_per_line as i64 == l.src_bpl as i64
            && p.depth as u32 == l.pixel.bit_depth() as u32
            && (p.lines < 0) == l.height.is_none()
            && match l.height {
                Some(h) => p.lines as i64 == h as i64,
                None => true,
            };
        match ch {
            Some(c) if same && self.planes[c].is_none() && self.current.is_none() => {
                self.current = Some(c);
                Ok(())
            }
            _ => Err(DeviceError::new(
                DeviceErrorKind::Communication,
                format!(
                    "{}: frame {} ({:?}) does not continue the page ({:?} frames of {} x {:?})",
                    self.device,
                    self.frames_done + 1,
                    p,
                    self.layout.pixel,
                    self.layout.width,
                    self.layout.height
                ),
            )),
        }
    }

    fn rows_wanted(&self) -> u64 {
        match self.layout.height {
            Some(h) => (h as u64).saturating_sub(self.rows_in_frame),
            None if self.interleaving() => self
                .planes
                .iter()
                .zip(self.plane_rows)
                .filter(|(p, _)| p.is_some())
                .map(|(_, r)| r)
                .min()
                .unwrap_or(0)
                .saturating_sub(self.rows_in_frame),
            None => u64::MAX,
        }
    }

    /// Whether the current frame is the third of a three-pass page.
    fn interleaving(&self) -> bool {
        self.layout.three_pass && self.planes.iter().filter(|p| p.is_some()).count() == 2
    }

    /// Takes a piece of the current frame; hands complete output rows to `emit` (possibly in
    /// several calls). Lines past the announced height are ignored.
    pub(crate) fn push<E>(
        &mut self,
        mut data: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let bpl = self.layout.src_bpl;
        if !self.carry.is_empty() {
            let take = (bpl - self.carry.len()).min(data.len());
            self.carry.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.carry.len() < bpl {
                return Ok(());
            }
            let line = std::mem::take(&mut self.carry);
            let r = self.lines(&line, emit);
            self.carry = line;
            self.carry.clear();
            r?;
        }
        let full = data.len() / bpl;
        let (lines, rest) = data.split_at(full * bpl);
        self.lines(lines, emit)?;
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    /// Whole source lines.
    fn lines<E>(
        &mut self,
        lines: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let l = self.layout;
        let n = (lines.len() / l.src_bpl) as u64;
        let n = n.min(self.rows_wanted());
        if n == 0 {
            return Ok(());
        }
        let lines = &lines[..n as usize * l.src_bpl];
        let first_row = self.rows_in_frame;
        self.rows_in_frame += n;
        if l.three_pass {
            if !self.interleaving() {
                // The plane being filled lives in `scratch` until its frame ends.
                for line in lines.chunks_exact(l.src_bpl) {
                    self.scratch.extend_from_slice(&line[..l.used_bpl]);
                }
                return Ok(());
            }
            let s = l.sample;
            let used = l.used_bpl;
            let planes = &self.planes;
            let scratch = &mut self.scratch;
            scratch.clear();
            for (k, line) in lines.chunks_exact(l.src_bpl).enumerate() {
                let row = (first_row as usize + k) * used;
                let plane = |c: usize| -> &[u8] {
                    match &planes[c] {
                        Some(p) => &p[row..row + used],
                        None => &line[..used],
                    }
                };
                let (r, g, b) = (plane(0), plane(1), plane(2));
                for x in (0..used).step_by(s) {
                    for src in [r, g, b] {
                        if l.swap {
                            scratch.push(src[x + 1]);
                            scratch.push(src[x]);
                        } else {
                            scratch.extend_from_slice(&src[x..x + s]);
                        }
                    }
                }
            }
            self.rows_out += n;
            return emit(&self.scratch);
        }
        self.rows_out += n;
        if l.src_bpl == l.used_bpl && !l.swap && l.last_byte_mask.is_none() {
            return emit(lines);
        }
        self.scratch.clear();
        for line in lines.chunks_exact(l.src_bpl) {
            let used = &line[..l.used_bpl];
            if l.swap {
                for pair in used.chunks_exact(2) {
                    self.scratch.push(pair[1]);
                    self.scratch.push(pair[0]);
                }
            } else {
                self.scratch.extend_from_slice(used);
            }
            if let (Some(mask), Some(last)) = (l.last_byte_mask, self.scratch.last_mut()) {
                *last &= mask;
            }
        }
        emit(&self.scratch)
    }

    /// Ends the current frame. A frame with fewer lines than announced is an error; a
    /// partial last line of a frame of unknown height is dropped.
    pub(crate) fn end_frame(&mut self) -> Result<(), DeviceError> {
        if let Some(h) = self.layout.height {
            if self.rows_in_frame < h as u64 {
                return Err(DeviceError::new(
                    DeviceErrorKind::Communication,
                    format!(
                        "{} ended {} ({}) after {} of {h} lines",
                        self.device,
                        if self.layout.three_pass {
                            format!("frame {}", self.frames_done + 1)
                        } else {
                            "the page".to_string()
                        },
                        crate::errors::Status::Eof.name(),
                        self.rows_in_frame
                    ),
                ));
            }
        }
        if self.layout.three_pass && !self.interleaving() {
            let ch = self.current.unwrap_or(0);
            self.planes[ch] = Some(std::mem::take(&mut self.scratch));
            self.plane_rows[ch] = self.rows_in_frame;
        }
        self.current = None;
        self.carry.clear();
        self.rows_in_frame = 0;
        self.frames_done += 1;
        Ok(())
    }

    /// Checks the page is whole after its last frame.
    pub(crate) fn finish(&self) -> Result<(), DeviceError> {
        let frames = if self.layout.three_pass { 3 } else { 1 };
        if self.frames_done != frames {
            return Err(DeviceError::new(
                DeviceErrorKind::Communication,
                format!(
                    "{} ended the page after {} of {frames} frames",
                    self.device, self.frames_done
                ),
            ));
        }
        if self.rows_out == 0 {
            return Err(errors::error(
                crate::errors::Status::Eof,
                &format!("{} sent an empty page", self.device),
            ));
        }
        Ok(())
    }

    /// Output rows delivered so far.
    #[cfg(test)]
    pub(crate) fn rows_out(&self) -> u64 {
        self.rows_out
    }

    /// Percent of the page read (0 while the height is unknown).
    pub(crate) fn percent(&self) -> i32 {
        let Some(h) = self.layout.height else {
            return 0;
        };
        let frames = if self.layout.three_pass { 3 } else { 1 };
        let total = h as u64 * frames;
        let done = (self.frames_done as u64 * h as u64 + self.rows_in_frame).min(total);
        (done * 100 / total.max(1)) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(format: Frame, depth: i32, ppl: i32, bpl: i32, lines: i32) -> Parameters {
        Parameters {
            format,
            last_frame: true,
            bytes_per_line: bpl,
            pixels_per_line: ppl,
            lines,
            depth,
        }
    }

    /// Feeds `data` in pieces of `piece` bytes and collects the output.
    fn run(a: &mut Assembler, data: &[u8], piece: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(piece) {
            a.push::<()>(chunk, &mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        }
        out
    }

    #[test]
    fn padding_is_stripped_whatever_the_pieces() {
        // 3 pixels of gray in 5-byte lines (ppl-loss 2), 4 lines.
        let data: Vec<u8> = (0..20).collect();
        for piece in [1, 2, 3, 7, 20] {
            let mut a = Assembler::new(&params(Frame::Gray, 8, 3, 5, 4), "t").unwrap();
            let out = run(&mut a, &data, piece);
            assert_eq!(
                out,
                vec![0, 1, 2, 5, 6, 7, 10, 11, 12, 15, 16, 17],
                "piece {piece}"
            );
            a.end_frame().unwrap();
            a.finish().unwrap();
            assert_eq!(a.percent(), 100);
        }
    }

    #[test]
    fn sixteen_bit_becomes_big_endian() {
        let host: Vec<u8> = [0x1234u16, 0xabcd]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        let mut a = Assembler::new(&params(Frame::Gray, 16, 2, 4, 1), "t").unwrap();
        assert_eq!(run(&mut a, &host, 3), vec![0x12, 0x34, 0xab, 0xcd]);
        assert_eq!(a.layout().pixel, PixelFormat::Gray16);
    }

    #[test]
    fn lineart_keeps_pixels_clears_padding_bits_and_ignores_extra_lines() {
        let mut a = Assembler::new(&params(Frame::Gray, 1, 10, 2, 2), "t").unwrap();
        let out = run(&mut a, &[0xff, 0xff, 0x00, 0x7f, 0x99, 0x99], 4);
        assert_eq!(out, vec![0xff, 0xc0, 0x00, 0x40]);
        assert_eq!(a.layout().pixel, PixelFormat::BlackAndWhite1);
        let mut a = Assembler::new(&params(Frame::Gray, 1, 16, 2, 1), "t").unwrap();
        assert_eq!(run(&mut a, &[0xa5, 0x5a], 1), vec![0xa5, 0x5a]);
    }

    #[test]
    fn three_pass_frames_are_interleaved_in_any_order() {
        // 2 pixels x 2 lines; frames in G, B, R order; 1 byte of padding per line.
        let g = [10, 11, 0, 12, 13, 0];
        let b = [20, 21, 0, 22, 23, 0];
        let r = [30, 31, 0, 32, 33, 0];
        let p = |f| Parameters {
            last_frame: f == Frame::Red,
            ..params(f, 8, 2, 3, 2)
        };
        let mut a = Assembler::new(&p(Frame::Green), "t").unwrap();
        assert!(run(&mut a, &g, 4).is_empty());
        a.end_frame().unwrap();
        assert_eq!(a.percent(), 33);
        a.start_frame(&p(Frame::Blue)).unwrap();
        assert!(run(&mut a, &b, 1).is_empty());
        a.end_frame().unwrap();
        a.start_frame(&p(Frame::Red)).unwrap();
        let out = run(&mut a, &r, 5);
        a.end_frame().unwrap();
        a.finish().unwrap();
        assert_eq!(out, vec![30, 10, 20, 31, 11, 21, 32, 12, 22, 33, 13, 23]);
        assert_eq!(a.layout().pixel, PixelFormat::Rgb8);
    }

    #[test]
    fn a_repeated_channel_or_other_geometry_is_refused() {
        let p = params(Frame::Red, 8, 2, 2, 1);
        let mut a = Assembler::new(&p, "t").unwrap();
        run(&mut a, &[1, 2], 2);
        a.end_frame().unwrap();
        assert!(a.start_frame(&p).is_err());
        assert!(a.start_frame(&params(Frame::Green, 8, 3, 3, 1)).is_err());
        assert!(a.finish().is_err());
    }

    #[test]
    fn short_pages_and_unknown_heights() {
        let mut a = Assembler::new(&params(Frame::Gray, 8, 2, 2, 3), "dev").unwrap();
        run(&mut a, &[1, 2, 3, 4], 4);
        let e = a.end_frame().unwrap_err();
        assert_eq!(
            e.detail(),
            "dev ended the page (SANE_STATUS_EOF) after 2 of 3 lines"
        );
        // Unknown height: whatever whole lines arrive; a partial last line is dropped.
        let mut a = Assembler::new(&params(Frame::Gray, 8, 2, 2, -1), "dev").unwrap();
        assert_eq!(run(&mut a, &[1, 2, 3, 4, 5], 2), vec![1, 2, 3, 4]);
        a.end_frame().unwrap();
        a.finish().unwrap();
        assert_eq!(a.layout().height, None);
        assert_eq!(a.rows_out(), 2);
        assert_eq!(a.percent(), 0);
    }

    #[test]
    fn impossible_parameters_are_errors_not_panics() {
        for p in [
            params(Frame::Gray, 8, 0, 1, 1),
            params(Frame::Gray, 8, 4, 3, 1),
            params(Frame::Gray, 8, 4, -1, 1),
            params(Frame::Gray, 8, 4, 4, 0),
            params(Frame::Rgb, 1, 4, 3, 1),
            params(Frame::Other(11), 8, 4, 4, 1),
            params(Frame::Gray, 12, 4, 8, 1),
        ] {
            assert!(Layout::from_params(&p, "t").is_err(), "{p:?}");
        }
    }
}
