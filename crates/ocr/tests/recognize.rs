//! Recognition with the real Tesseract: the shared scanned pages against the `tesseract`
//! command line, a synthetic page with known word boxes, orientation, errors, cancellation.

mod common;

use common::*;
use scanwire_ocr::{CancelFlag, Engine, OcrConfig, OcrError, OcrPool, PageImage, Pixels, Progress};
use scanwire_testkit::ocr::{imgsrc002_truth, recall, words, TYPEWRITER};
use std::time::{Duration, Instant};

/// Our recall and the command line's on one fixture, same language, same engine.
fn compare_with_cli(name: &str, truth: &str) {
    let Some(mut engine) = engine() else { return };
    let Some(path) = fixture(name) else { return };
    let Some(cli) = tesseract_cli(&path, "eng") else {
        return;
    };
    let page = png_page::load_png(&path).unwrap();
    let rec = engine.recognize(&page, &CancelFlag::new()).unwrap();
    let ours: Vec<String> = rec.words.iter().map(|w| w.text.clone()).collect();
    let truth = words(truth);
    let (r_ours, r_cli) = (recall(&truth, &ours), recall(&truth, &words(&cli)));
    eprintln!(
        "{name}: word recall ours {:.2} %, tesseract CLI {:.2} % ({} true words, {} found, mean confidence {:.1}, {:?})",
        r_ours * 100.0,
        r_cli * 100.0,
        truth.len(),
        ours.len(),
        rec.mean_confidence,
        rec.elapsed
    );
    assert!(
        (r_ours - r_cli).abs() <= 0.005,
        "{name}: recall {:.2} % vs the CLI's {:.2} %",
        r_ours * 100.0,
        r_cli * 100.0
    );
    assert!(r_ours > 0.8, "{name}: recall {r_ours}");
    // Reading order: the plain text is the CLI's text, line for line (blank lines aside).
    let lines = |s: &str| -> Vec<String> {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(lines(&scanwire_ocr::text::plain(&rec)), lines(&cli));
}

#[test]
fn typewriter_recall_matches_the_command_line() {
    compare_with_cli("ocrmypdf-typewriter.png", TYPEWRITER);
}

#[test]
fn imgsrc002_recall_matches_the_command_line() {
    compare_with_cli("unpaper-imgsrc002.png", &imgsrc002_truth());
}

#[test]
fn synthetic_page_words_in_order_and_in_place() {
    let Some(mut engine) = engine() else { return };
    let Some((page, truth)) = synthetic_page(LINES, 50.0, 1800) else {
        return;
    };
    let rec = engine.recognize(&page, &CancelFlag::new()).unwrap();
    let found: Vec<&str> = rec.words.iter().map(|w| w.text.as_str()).collect();
    let expected: Vec<&str> = truth.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(found, expected);
    for (w, (_, b)) in rec.words.iter().zip(&truth) {
        let overlap = iou(&w.bbox, b);
        assert!(
            overlap > 0.8,
            "{}: box {:?} vs true {:?} (IoU {overlap:.2})",
            w.text,
            w.bbox,
            b
        );
        assert!(
            w.confidence > 50.0,
            "{}: confidence {}",
            w.text,
            w.confidence
        );
    }
    // Lines and paragraphs: one line per printed line, in order.
    let lines: Vec<u32> = rec.words.iter().map(|w| w.line).collect();
    let mut expected_lines = Vec::new();
    for (i, l) in LINES.iter().enumerate() {
        expected_lines.extend(std::iter::repeat_n(i as u32, l.split(' ').count()));
    }
    assert_eq!(lines, expected_lines);
    // Tesseract may start a paragraph anywhere (a blank line); the lines are the page's.
    let text = scanwire_ocr::text::plain(&rec);
    assert_eq!(
        text.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(),
        LINES,
        "{text}"
    );
    assert!(rec.mean_confidence > 80.0);
    // The same page in colour reads the same.
    let Pixels::Gray8(g) = &page.pixels else {
        unreachable!()
    };
    let rgb: Vec<u8> = g.iter().flat_map(|v| [*v, *v, *v]).collect();
    let colour = PageImage::rgb(page.width, page.height, page.dpi, rgb).unwrap();
    let rec2 = engine.recognize(&colour, &CancelFlag::new()).unwrap();
    assert_eq!(
        rec2.words.iter().map(|w| &w.text).collect::<Vec<_>>(),
        found
    );
    // And in black and white (1 bit a pixel), as a lineart scan.
    let bpl = (page.width as usize).div_ceil(8);
    let mut bw = vec![0u8; bpl * page.height as usize];
    for (i, v) in g.iter().enumerate() {
        let (x, y) = (i % page.width as usize, i / page.width as usize);
        if *v < 128 {
            bw[y * bpl + x / 8] |= 0x80 >> (x % 8);
        }
    }
    let lineart = PageImage::black_and_white(page.width, page.height, page.dpi, bw).unwrap();
    let rec3 = engine.recognize(&lineart, &CancelFlag::new()).unwrap();
    assert_eq!(
        rec3.words.iter().map(|w| &w.text).collect::<Vec<_>>(),
        found
    );
}

#[test]
fn rotated_pages_are_detected() {
    let Some(mut engine) = engine() else { return };
    let lines: Vec<&str> = LINES.iter().chain(LINES).chain(LINES).copied().collect();
    let Some((page, _)) = synthetic_page(&lines, 40.0, 1600) else {
        return;
    };
    for turns in 0..4u8 {
        // A page scanned `turns` quarter turns clockwise off needs 4 - turns more.
        let scanned = page.rotated(turns);
        let o = match engine.detect_orientation(&scanned) {
            Ok(o) => o,
            Err(OcrError::NoOrientation(why)) if why.contains("osd.traineddata") => {
                skip(&format!("needs osd.traineddata (tesseract-ocr-osd): {why}"));
                return;
            }
            Err(e) => panic!("{turns} turns: {e}"),
        };
        assert_eq!(
            o.quarter_turns,
            (4 - turns) % 4,
            "page turned {turns}× 90°: {o:?}"
        );
        assert!(o.confidence > 1.0, "{o:?}");
        // Turning it back gives the upright page.
        assert_eq!(scanned.rotated(o.quarter_turns), page);
    }
}

#[test]
fn missing_language_names_it_and_the_installed_ones() {
    let Some(engine) = engine() else { return };
    // Tesseract's own list agrees with the directory's.
    let available = engine.available_languages();
    assert!(available.iter().any(|l| l == "eng"), "{available:?}");
    assert_eq!(available, scanwire_ocr::installed_in(engine.tessdata()));
    assert!(engine.version().starts_with('5'), "{}", engine.version());
    let e = Engine::new(&OcrConfig::new("eng+xqz").unwrap())
        .err()
        .expect("xqz is no language")
        .to_string();
    assert!(e.contains("language not installed: xqz"), "{e}");
    assert!(e.contains("eng") && e.contains("osd"), "{e}");
    assert!(e.contains("tesseract-ocr-xqz"), "{e}");
    // The pool reports the same, from its workers.
    let e = OcrPool::new(&OcrConfig::new("xqz").unwrap(), 2)
        .err()
        .expect("xqz is no language")
        .to_string();
    assert!(e.contains("xqz"), "{e}");
}

#[test]
fn missing_library_names_the_debian_packages() {
    let mut config = OcrConfig::new("eng").unwrap();
    config.library = Some("/nonexistent/libtesseract.so.5".into());
    let e = Engine::new(&config)
        .err()
        .expect("no such library")
        .to_string();
    assert!(
        e.contains("apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd"),
        "{e}"
    );
    assert!(e.contains("/nonexistent/libtesseract.so.5"), "{e}");
}

#[test]
fn bad_images_are_refused_before_tesseract() {
    let e = PageImage::gray(10, 10, Some(300), vec![0; 99])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("10×10 Gray8 holds 99 bytes, expected 100"),
        "{e}"
    );
    assert!(PageImage::rgb(0, 10, None, vec![]).is_err());
    assert!(PageImage::gray(1, 1, Some(0), vec![0]).is_err());
    let Some(mut engine) = engine() else { return };
    let bad = PageImage {
        width: 4,
        height: 4,
        dpi: None,
        pixels: Pixels::Rgb8(vec![0; 4]),
    };
    assert!(matches!(
        engine.recognize(&bad, &CancelFlag::new()),
        Err(OcrError::BadImage(_))
    ));
    // A blank page is no error: no words.
    let blank = PageImage::gray(300, 200, Some(300), vec![255; 60_000]).unwrap();
    let rec = engine.recognize(&blank, &CancelFlag::new()).unwrap();
    assert!(rec.words.is_empty());
    assert_eq!(rec.mean_confidence, 0.0);
}

/// A page that takes Tesseract seconds: imgsrc002 twice, one above the other.
fn long_page() -> Option<PageImage> {
    let p = png_page::load_png(&fixture("unpaper-imgsrc002.png")?).unwrap();
    let Pixels::BlackAndWhite1(d) = &p.pixels else {
        panic!("imgsrc002 is a 1-bit page")
    };
    let twice = [d.as_slice(), d].concat();
    Some(PageImage::black_and_white(p.width, p.height * 2, Some(150), twice).unwrap())
}

#[test]
fn cancel_stops_a_page_midway() {
    let Some(mut engine) = engine() else { return };
    assert!(engine.can_cancel_midpage(), "Tesseract 5 has the monitor");
    let Some(page) = long_page() else { return };
    let cancel = CancelFlag::new();
    let progress = Progress::new();
    let (c, p) = (cancel.clone(), progress.clone());
    // Cancel once Tesseract is among the words (layout analysis, before them, cannot stop).
    let canceller = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while p.percent() < 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let at = p.percent();
        c.cancel();
        (Instant::now(), at)
    });
    let r = engine.recognize_with_progress(&page, &cancel, &progress);
    let returned = Instant::now();
    let (cancelled_at, percent) = canceller.join().unwrap();
    assert!(
        matches!(r, Err(OcrError::Cancelled)),
        "{:?}",
        r.map(|r| r.elapsed)
    );
    let latency = returned.saturating_duration_since(cancelled_at);
    eprintln!("recognition returned {latency:?} after the cancel at {percent} %");
    assert!(
        latency < Duration::from_millis(500),
        "took {latency:?} to stop"
    );
    // The engine is still good for the next page.
    let Some((small, truth)) = synthetic_page(&LINES[..1], 50.0, 1200) else {
        return;
    };
    let rec = engine.recognize(&small, &CancelFlag::new()).unwrap();
    assert_eq!(rec.words.len(), truth.len());
}

#[test]
fn pool_returns_pages_in_order_and_cancels_at_once() {
    let Some((a, ta)) = synthetic_page(&LINES[..2], 50.0, 1400) else {
        return;
    };
    let Some((b, tb)) = synthetic_page(&LINES[2..], 50.0, 1400) else {
        return;
    };
    let pool = match OcrPool::new(&OcrConfig::new("eng").unwrap(), 2) {
        Ok(p) => p,
        Err(e) => {
            skip(&format!("needs Tesseract with English ({e})"));
            return;
        }
    };
    assert_eq!(pool.workers(), 2);
    let flag = CancelFlag::new();
    let results = pool.recognize_all([a.clone(), b, a], &flag);
    let texts: Vec<Vec<String>> = results
        .into_iter()
        .map(|r| r.unwrap().words.into_iter().map(|w| w.text).collect())
        .collect();
    let names =
        |t: &[(String, scanwire_ocr::BBox)]| t.iter().map(|(w, _)| w.clone()).collect::<Vec<_>>();
    assert_eq!(texts, vec![names(&ta), names(&tb), names(&ta)]);

    // Orientation through the pool (each worker makes its OSD engine on first use).
    let lines: Vec<&str> = LINES.iter().chain(LINES).chain(LINES).copied().collect();
    if let Some((page, _)) = synthetic_page(&lines, 40.0, 1600) {
        let jobs: Vec<_> = (1..4u8)
            .map(|t| pool.submit_orientation(page.rotated(t), &CancelFlag::new()))
            .collect();
        let turns: Vec<u8> = jobs
            .into_iter()
            .map(|j| j.wait().unwrap().quarter_turns)
            .collect();
        assert_eq!(turns, [3, 2, 1]);
    }

    // Cancel while pages are queued and one is running: every wait returns at once.
    let Some(long) = long_page() else { return };
    let flag = CancelFlag::new();
    let jobs: Vec<_> = (0..4).map(|_| pool.submit(long.clone(), &flag)).collect();
    // Both workers among the words of their pages.
    let deadline = Instant::now() + Duration::from_secs(120);
    while (jobs[0].progress() == 0 || jobs[1].progress() == 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(jobs[3].progress(), 0, "the fourth page is still queued");
    flag.cancel();
    let t = Instant::now();
    for j in jobs {
        assert!(matches!(j.wait(), Err(OcrError::Cancelled)));
    }
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    // The workers stop too: a new page is served well before the long pages could finish.
    let t = Instant::now();
    let Some((small, truth)) = synthetic_page(&LINES[..1], 50.0, 1200) else {
        return;
    };
    let rec = pool.submit(small, &CancelFlag::new()).wait().unwrap();
    assert_eq!(rec.words.len(), truth.len());
    eprintln!("a new page after the cancel took {:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}
