//! Page bodies as the decoders want them: a [`ChunkReader`] turns the chunks of a body that
//! is still arriving into a reader, so a PNG is decoded row by row while it arrives
//! (`scanwire_codecs::decode::PngRows`: the application gets rows, and progress, as the
//! scanner sends them). The decoders themselves are the codecs crate's, shared with the
//! encoders.

use crate::errors;
use scanwire_codecs::EncodeError;
use scanwire_core::device::DeviceError;
use std::io::{BufRead, Read, Seek};

/// A page that does not decode is the scanner's fault.
pub fn bad_page(e: EncodeError) -> DeviceError {
    errors::bad_response(format!("a page that does not decode: {e}"))
}

/// Adapts a source of body chunks to [`Read`] + [`BufRead`] for the PNG decoder. `Seek` is a
/// bound of `png::Decoder` that it never uses; seeking reports "unsupported".
pub struct ChunkReader<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> {
    next: F,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
    /// Bytes taken from the source so far.
    pub received: u64,
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> ChunkReader<F> {
    /// A reader over `first` and then whatever `next` returns (`None` at the end).
    pub fn new(first: Vec<u8>, next: F) -> Self {
        ChunkReader {
            received: first.len() as u64,
            next,
            buf: first,
            pos: 0,
            done: false,
        }
    }
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> BufRead for ChunkReader<F> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos >= self.buf.len() && !self.done {
            match (self.next)()? {
                Some(chunk) => {
                    self.received += chunk.len() as u64;
                    self.buf = chunk;
                    self.pos = 0;
                }
                None => self.done = true,
            }
        }
        Ok(&self.buf[self.pos.min(self.buf.len())..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.buf.len());
    }
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> Read for ChunkReader<F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<F: FnMut() -> std::io::Result<Option<Vec<u8>>>> Seek for ChunkReader<F> {
    fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "a page body cannot seek",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanwire_codecs::decode::{decode, PngRows};
    use scanwire_core::device::ColorMode;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, width, height);
        e.set_color(png::ColorType::Rgb);
        e.set_depth(png::BitDepth::Eight);
        let data: Vec<u8> = (0..width * height * 3)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut w = e.write_header().unwrap();
        w.write_image_data(&data).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn png_rows_streamed_in_small_chunks_equal_a_whole_decode() {
        let bytes = png(37, 11);
        let whole = decode(&bytes, Some(ColorMode::Color)).unwrap();
        assert_eq!((whole.width, whole.height), (37, 11));
        // Three bytes at a time, as a slow connection would deliver them.
        let mut chunks = bytes[3..].chunks(3).map(<[u8]>::to_vec).collect::<Vec<_>>();
        chunks.reverse();
        let reader = ChunkReader::new(bytes[..3].to_vec(), move || Ok(chunks.pop()));
        let mut rows = PngRows::new(reader, Some(ColorMode::Color)).unwrap();
        let mut data = Vec::new();
        let mut row = vec![0; rows.conv.dst_len()];
        while rows.next_row(&mut row).unwrap() {
            data.extend_from_slice(&row);
        }
        rows.finish().unwrap();
        assert_eq!(data, whole.data);
    }

    #[test]
    fn a_page_that_does_not_decode_is_the_scanners_fault() {
        let bytes = png(64, 64);
        let e = decode(&bytes[..bytes.len() / 2], Some(ColorMode::Color)).unwrap_err();
        let e = bad_page(e).to_string();
        assert!(e.contains("the scanner sent") && e.contains("PNG"), "{e}");
    }
}
