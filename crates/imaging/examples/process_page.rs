//! One page through detection, deskew + crop and the blank check, timed in CPU time.
//!
//! ```text
//! process_page --write-bench-page page.ppm      the benchmark's A4 300 dpi colour page
//! process_page [--repeat N] IN.pnm [OUT.pnm]    process (P5 gray or P6 colour), report
//! ```
//! The report is one line: what was found, and the CPU time per page (this thread's run time
//! from /proc/thread-self/schedstat, so other load on the machine does not count).

#[path = "../benches/common/finish.rs"]
mod finish;

use scanwire_core::device::PixelFormat;
use scanwire_imaging::Image;
use std::io::{Read, Write};
use std::process::ExitCode;

/// Reads a binary PGM/PPM with one allocation for the samples and one copy (the header is
/// read first, then the samples straight into the page's buffer).
fn read_pnm(path: &str) -> Result<Image, String> {
    let err = |e: std::io::Error| format!("{path}: {e}");
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut head = vec![0u8; 4096];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]).map_err(err)? {
            0 => break,
            n => got += n,
        }
    }
    head.truncate(got);
    let bytes = &head;
    // Header: magic, width, height, maxval, one whitespace byte, then the samples.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 && i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) == Some(&b'#') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
    }
    let bad = || format!("{path}: not a binary PGM/PPM (P5/P6, maxval 255, header within 4 KiB)");
    if fields.len() < 4 || fields[3] != "255" || i >= bytes.len() {
        return Err(bad());
    }
    let pixel = match fields[0].as_str() {
        "P5" => PixelFormat::Gray8,
        "P6" => PixelFormat::Rgb8,
        _ => return Err(bad()),
    };
    let w: u32 = fields[1].parse().map_err(|_| bad())?;
    let h: u32 = fields[2].parse().map_err(|_| bad())?;
    let size = pixel.bytes_per_line(w) * h as usize;
    let first = &bytes[i + 1..];
    if first.len() > size {
        return Err(format!("{path}: more data than {w}x{h} needs"));
    }
    let mut data = vec![0u8; size];
    data[..first.len()].copy_from_slice(first);
    file.read_exact(&mut data[first.len()..])
        .map_err(|e| format!("{path}: {w}x{h} samples: {e}"))?;
    Image::new(pixel, w, h, (300, 300), data).map_err(|e| format!("{path}: {e}"))
}

/// Writes the header, then the samples as they are (no copy of the page).
fn write_pnm(img: &Image, path: &str) -> Result<(), String> {
    let magic = if img.pixel == PixelFormat::Rgb8 {
        "P6"
    } else {
        "P5"
    };
    let err = |e: std::io::Error| format!("{path}: {e}");
    let mut file = std::fs::File::create(path).map_err(err)?;
    file.write_all(format!("{magic}\n{} {}\n255\n", img.width, img.height).as_bytes())
        .map_err(err)?;
    file.write_all(&img.data).map_err(err)
}

/// This thread's CPU time so far, in nanoseconds.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--write-bench-page") {
        let path = args.get(1).ok_or("--write-bench-page needs a file name")?;
        return write_pnm(&finish::a4_page(), path);
    }
    let (repeat, rest) = match args.first().map(String::as_str) {
        Some("--repeat") => (
            args.get(1)
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or("--repeat needs a count")?,
            &args[2..],
        ),
        _ => (1, &args[..]),
    };
    let input = rest
        .first()
        .ok_or("usage: process_page [--repeat N] IN.pnm [OUT.pnm]")?;
    let page = read_pnm(input)?;
    let start = cpu_ns();
    let mut result = finish::finish(&page);
    for _ in 1..repeat {
        result = finish::finish(&page);
    }
    let per_page = (cpu_ns() - start) as f64 / repeat.max(1) as f64 / 1e6;
    let angle = result
        .skew
        .map(|s| format!("{:+.3}", s.angle_deg))
        .unwrap_or("none".into());
    let sheet = result.sheet.map(|r| {
        let b = r.bounding_rect(page.width, page.height);
        format!(
            "{}x{}+{}+{} turned {:+.3}",
            b.width, b.height, b.x, b.y, r.angle_deg
        )
    });
    println!(
        "{input}: skew {angle}, sheet {}, coverage {:.4} %, blank {}, {per_page:.1} ms CPU per page ({repeat} runs)",
        sheet.unwrap_or("none".into()),
        100.0 * result.coverage,
        result.blank
    );
    if let (Some(out), Some(page)) = (rest.get(1), &result.page) {
        write_pnm(page, out)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("process_page: {e}");
            ExitCode::FAILURE
        }
    }
}
