//! Writes the virtual scanner's test chart as a PNM file, to look at.
//!
//! `cargo run -p scanwire-virtual --example chart -- OUT.pnm [DPI] [color|gray|lineart] [PAGE] [adf-duplex]`

use scanwire_core::device::{ColorMode, PixelFormat, ScanRequest, Source};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .first()
        .ok_or("usage: chart OUT.pnm [DPI] [MODE] [PAGE] [SOURCE]")?;
    let request = ScanRequest {
        resolution: args.get(1).map_or(Ok(150), |s| s.parse())?,
        mode: args.get(2).map_or(Ok(ColorMode::Color), |s| s.parse())?,
        source: args.get(4).map_or(Ok(Source::Flatbed), |s| s.parse())?,
        ..Default::default()
    };
    let page: u32 = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let chart = scanwire_virtual::Chart::for_page(&request, page)?;
    let g = *chart.geometry();
    let (magic, max) = match g.pixel {
        PixelFormat::BlackAndWhite1 => ("P4", ""),
        PixelFormat::Gray8 => ("P5", "255\n"),
        PixelFormat::Gray16 => ("P5", "65535\n"),
        PixelFormat::Rgb8 => ("P6", "255\n"),
        PixelFormat::Rgb16 => ("P6", "65535\n"),
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    write!(f, "{magic}\n{} {}\n{max}", g.width, g.height)?;
    let mut row = vec![0; g.bytes_per_line()];
    for y in 0..g.height {
        chart.render_row(y, &mut row);
        f.write_all(&row)?;
    }
    f.flush()?;
    Ok(())
}
