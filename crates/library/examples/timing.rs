//! What the library costs per page, on generated A4 300 dpi feeder pages (text, paper
//! texture, scanner noise): storing a page (PNG + thumbnail), turning one, and assembling
//! the PDF, the ZIP and an archive copy of a 10-page document.
//!
//! `cargo run --release -p scanwire-library --example timing [PAGES]`

use scanwire_core::device::{PageData, PageInfo, Side, Source};
use scanwire_imaging::synth::{sheet, SheetSpec};
use scanwire_library::{ArchiveConfig, Library, LibraryConfig};
use scanwire_pipeline::PageImage;
use std::time::Instant;

fn page(color: bool, seed: u64) -> PageImage {
    let img = sheet(&SheetSpec {
        color,
        ..SheetSpec::a4_feeder(300, seed)
    })
    .image;
    PageImage {
        page: PageInfo {
            number: 1,
            sheet: 1,
            side: Side::Front,
            source: Source::Feeder,
            data: PageData::Raster {
                pixel: img.pixel,
                width: img.width,
                height: Some(img.height),
            },
            dpi: img.dpi,
        },
        data: img.data,
        text: None,
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let pages: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    for color in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(LibraryConfig {
            archive: Some(ArchiveConfig::new(dir.path().join("archive"))),
            ..LibraryConfig::new(dir.path().join("state"))
        })
        .unwrap();
        let doc = lib.create_document(Some("timing"), None).unwrap();
        let imgs: Vec<PageImage> = (0..pages.min(3)).map(|s| page(color, s)).collect();
        let (_, w, h) = imgs[0].layout();
        let mut store = Vec::new();
        let mut bytes = 0;
        for i in 0..pages {
            let t = Instant::now();
            let p = lib.add_page(&doc, &imgs[(i % 3) as usize], None).unwrap();
            store.push(ms(t));
            bytes += p.bytes;
        }
        let t = Instant::now();
        lib.rotate(&doc, "p1", 90).unwrap();
        let rotate = ms(t);
        let t = Instant::now();
        let pdf = lib.pdf(&doc).unwrap();
        let pdf_ms = ms(t);
        let t = Instant::now();
        let zip = lib.zip(&doc).unwrap();
        let zip_ms = ms(t);
        let t = Instant::now();
        lib.archive(&doc).unwrap();
        let archive_ms = ms(t);
        println!(
            "{} {w}x{h}: store a page (PNG + thumbnail) median {:.0} ms, {:.1} MB per page stored; \
             turn a page {:.0} ms; {pages}-page PDF {:.0} ms ({:.1} MB), ZIP {:.0} ms ({:.1} MB), archive {:.0} ms",
            if color { "color" } else { "gray" },
            median(store),
            bytes as f64 / pages as f64 / 1e6,
            rotate,
            pdf_ms,
            pdf.len as f64 / 1e6,
            zip_ms,
            zip.len as f64 / 1e6,
            archive_ms,
        );
    }
}
