//! Recognises a PNG and prints its words with boxes and the time taken:
//! `cargo run --release -p scanwire-ocr --example recognize -- page.png [-l eng] [--dpi N]
//! [--text | --hocr] [--orientation]`.

#[path = "../tests/common/png_page.rs"]
mod png_page;

use scanwire_ocr::{CancelFlag, Engine, OcrConfig};
use std::time::Instant;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut path, mut langs, mut dpi, mut mode, mut orientation) =
        (None, "eng".to_string(), None, "words", false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-l" => langs = args.next().ok_or("-l needs a language list")?,
            "--dpi" => {
                let v = args.next().ok_or("--dpi needs a number")?;
                dpi = Some(v.parse::<u32>().map_err(|_| format!("bad --dpi {v}"))?);
            }
            "--text" => mode = "text",
            "--hocr" => mode = "hocr",
            "--orientation" => orientation = true,
            p if path.is_none() && !p.starts_with('-') => path = Some(p.to_string()),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let path =
        path.ok_or("usage: recognize PAGE.png [-l eng] [--dpi N] [--text|--hocr] [--orientation]")?;
    let start = Instant::now();
    let mut page = png_page::load_png(path.as_ref())?;
    if dpi.is_some() {
        page.dpi = dpi;
    }
    let mut engine = Engine::new(&OcrConfig::new(&langs).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if orientation {
        let o = engine
            .detect_orientation(&page)
            .map_err(|e| e.to_string())?;
        println!(
            "orientation: turn {}° clockwise (confidence {:.2}, script {})",
            o.quarter_turns as u32 * 90,
            o.confidence,
            o.script
        );
        return Ok(());
    }
    let rec = engine
        .recognize(&page, &CancelFlag::new())
        .map_err(|e| e.to_string())?;
    match mode {
        "text" => print!("{}", scanwire_ocr::text::plain(&rec)),
        "hocr" => print!(
            "{}",
            scanwire_ocr::hocr::document(std::slice::from_ref(&rec))
        ),
        _ => {
            for w in &rec.words {
                let b = w.bbox;
                println!(
                    "{}\t{} {} {} {}\t{:.0}\tline {} par {}",
                    w.text, b.left, b.top, b.right, b.bottom, w.confidence, w.line, w.paragraph
                );
            }
        }
    }
    eprintln!(
        "{} words, mean confidence {:.1}, recognition {:.3} s, total {:.3} s (Tesseract {})",
        rec.words.len(),
        rec.mean_confidence,
        rec.elapsed.as_secs_f64(),
        start.elapsed().as_secs_f64(),
        engine.version()
    );
    Ok(())
}
