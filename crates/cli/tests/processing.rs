//! `scanwire scan` with WIA 2.0's processing (docs/processing.md), through real transfers
//! from the virtual scanner with the strict verifier (`--verify`): blank pages skipped or
//! splitting documents, sheets straightened and cut out, photos cut apart, pages turned, and
//! the `--json` report of each; bad values refused before anything is scanned.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs a scan that must succeed and returns its `--json` report.
fn scan_json(args: &[&str], dir: &Path) -> Value {
    let mut all = vec!["scan", "--verify", "--json", "--resolution", "100"];
    all.extend_from_slice(args);
    let o = scanwire(&all, dir);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["violations"], serde_json::json!([]), "{v}");
    v
}

/// The processing report's pages.
fn pages(v: &Value) -> &Vec<Value> {
    v["processing"].as_array().expect("a processing report")
}

/// Pages in a PDF, by qpdf (the peer); `None` (skipped, or failed under
/// SCANWIRE_REQUIRE_PEERS=1) when qpdf is missing.
fn pdf_pages(path: &Path) -> Option<u64> {
    let o = match Command::new("qpdf").arg("--show-npages").arg(path).output() {
        Ok(o) => o,
        Err(e) => {
            scanwire_testkit::peer_missing(&format!("qpdf: {e} (apt-get install qpdf)"));
            return None;
        }
    };
    assert!(o.status.success(), "qpdf on {}", path.display());
    qpdf_check(path);
    Some(String::from_utf8_lossy(&o.stdout).trim().parse().unwrap())
}

/// A PNG file's width and height.
fn png_size(path: &Path) -> (u32, u32) {
    let d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let r = d.read_info().unwrap();
    (r.info().width, r.info().height)
}

fn files(dir: &Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    v.sort();
    v
}

#[test]
fn bad_values_are_usage_errors_before_anything_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, needle) in [
        (&["--rotate", "45"][..], "allowed 0, 90, 180 or 270"),
        (&["--brightness", "2000"], "-1000..=1000"),
        (&["--contrast", "-1001"], "contrast -1001"),
        (
            &["--blank", "skip", "--blank-sensitivity", "150"],
            "0..=100",
        ),
        (&["--blank", "maybe"], "possible values: skip, split"),
        (&["--blank-sensitivity", "10"], "--blank"),
        (&["--crop", "--split-photos"], "cannot be used with"),
    ] {
        let mut all = vec!["scan", "-o", "x.pdf"];
        all.extend_from_slice(args);
        exits_with(&scanwire(&all, d), 2, needle);
    }
    let o = scanwire(&["scan", "--split-photos", "-o", "one.png"], d);
    exits_with(&o, 2, "photo-{n}.jpg");
    assert!(files(d, ".pdf").is_empty() && files(d, ".png").is_empty());
}

#[test]
fn blank_skip_leaves_blank_sheets_out_of_the_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v = scan_json(
        &[
            "--source",
            "adf",
            "--mode",
            "gray",
            "--set",
            "sheets=5",
            "--set",
            "blank-sheets=2,4",
            "--blank",
            "skip",
            "-o",
            "out.pdf",
        ],
        d,
    );
    assert_eq!(
        (v["pages"].as_u64(), v["discarded"].as_u64()),
        (Some(3), Some(2)),
        "{v}"
    );
    let p = pages(&v);
    assert_eq!(p.len(), 5, "{v}");
    let blank: Vec<bool> = p
        .iter()
        .map(|p| p["blank"]["blank"].as_bool().unwrap())
        .collect();
    assert_eq!(blank, [false, true, false, true, false]);
    // Numbered as kept: scanned 3 is page 2, scanned 5 page 3.
    assert_eq!(p[2]["pages"], serde_json::json!([2]));
    assert_eq!(p[4]["pages"], serde_json::json!([3]));
    assert_eq!(p[1]["pages"], serde_json::json!([]));
    for page in p {
        assert_eq!(page["processed"], serde_json::json!({"blank": "local"}));
        let c = page["blank"]["coverage"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{page}");
    }
    assert_eq!(v["files"], serde_json::json!(["out.pdf"]));
    if let Some(n) = pdf_pages(&d.join("out.pdf")) {
        assert_eq!(n, 3);
    }
}

#[test]
fn blank_split_starts_a_new_document_at_each_blank_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A blank first sheet opens no empty document; two in a row split once.
    let args = [
        "--source",
        "adf",
        "--mode",
        "gray",
        "--set",
        "sheets=6",
        "--set",
        "blank-sheets=1,3,4",
        "--blank",
        "split",
    ];
    let mut pdf = args.to_vec();
    pdf.extend(["-o", "box.pdf"]);
    let v = scan_json(&pdf, d);
    assert_eq!(
        v["files"],
        serde_json::json!(["box.pdf", "box-2.pdf"]),
        "{v}"
    );
    let docs: Vec<Value> = pages(&v).iter().map(|p| p["document"].clone()).collect();
    assert_eq!(
        docs,
        serde_json::json!([null, 1, null, null, 2, 2])
            .as_array()
            .unwrap()
            .clone()
    );
    if let (Some(a), Some(b)) = (
        pdf_pages(&d.join("box.pdf")),
        pdf_pages(&d.join("box-2.pdf")),
    ) {
        assert_eq!((a, b), (1, 2));
    }
    // Page files: the document number where {doc} says, pages numbered on.
    let mut png = args.to_vec();
    png.extend(["-o", "p-{doc}-{n}.png"]);
    scan_json(&png, d);
    assert_eq!(files(d, ".png"), ["p-1-1.png", "p-2-2.png", "p-2-3.png"]);
}

#[test]
fn deskew_and_crop_straighten_the_sheet_and_cut_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v = scan_json(
        &[
            "--source",
            "adf",
            "--pages",
            "1",
            "--mode",
            "gray",
            "--set",
            "skew=3",
            "--set",
            "paper=a5",
            "--deskew",
            "--crop",
            "-o",
            "sheet-{n}.png",
        ],
        d,
    );
    let p = &pages(&v)[0];
    let angle = p["deskew"]["angle"].as_f64().unwrap();
    assert!((angle - 3.0).abs() <= 0.1, "{p}");
    // A5 (148 x 210 mm) at 100 dpi: 582.7 x 826.8 pixels.
    let (w, h) = (
        p["crop"]["width"].as_f64().unwrap(),
        p["crop"]["height"].as_f64().unwrap(),
    );
    assert!((w - 582.7).abs() < 3.0 && (h - 826.8).abs() < 3.0, "{p}");
    let (fw, fh) = png_size(&d.join("sheet-1.png"));
    assert!(fw.abs_diff(583) <= 3 && fh.abs_diff(827) <= 3, "{fw}x{fh}");
    // A page whose skew cannot be told is left alone, and says so.
    let v = scan_json(
        &[
            "--source",
            "adf",
            "--pages",
            "1",
            "--mode",
            "gray",
            "--set",
            "blank-sheets=1",
            "--deskew",
            "-o",
            "plain-{n}.png",
        ],
        d,
    );
    assert_eq!(
        pages(&v)[0]["deskew"]["reason"],
        "not enough structure",
        "{v}"
    );
}

#[test]
fn split_photos_makes_a_page_of_each_photo() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v = scan_json(
        &[
            "--set",
            "photos=3",
            "--deskew",
            "--split-photos",
            "-o",
            "photo-{n}.png",
        ],
        d,
    );
    let p = &pages(&v)[0];
    assert_eq!(p["photos"].as_array().unwrap().len(), 3, "{p}");
    assert_eq!(p["pages"], serde_json::json!([1, 2, 3]));
    assert_eq!(
        files(d, ".png"),
        ["photo-1.png", "photo-2.png", "photo-3.png"]
    );
    for (i, photo) in p["photos"].as_array().unwrap().iter().enumerate() {
        let (w, h) = png_size(&d.join(format!("photo-{}.png", i + 1)));
        let (pw, ph) = (
            photo["width"].as_f64().unwrap(),
            photo["height"].as_f64().unwrap(),
        );
        assert!(
            (w as f64 - pw).abs() <= 2.0 && (h as f64 - ph).abs() <= 2.0,
            "{photo}: {w}x{h}"
        );
    }
}

#[test]
fn rotate_turns_the_page_a_quarter_counterclockwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 40 x 30 mm at 100 dpi: 157 x 118 pixels, turned: 118 x 157.
    scan_json(&["-x", "40", "-y", "30", "-o", "flat.png"], d);
    scan_json(
        &["-x", "40", "-y", "30", "--rotate", "90", "-o", "turned.png"],
        d,
    );
    assert_eq!(png_size(&d.join("flat.png")), (157, 118));
    assert_eq!(png_size(&d.join("turned.png")), (118, 157));
}

#[test]
fn contrast_minus_1000_flattens_every_sample_to_mid_gray() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scan_json(
        &[
            "-x",
            "40",
            "-y",
            "30",
            "--mode",
            "gray",
            "--contrast",
            "-1000",
            "-o",
            "flat.png",
        ],
        d,
    );
    let mut r = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(d.join("flat.png")).unwrap(),
    ))
    .read_info()
    .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let samples = &buf[..info.buffer_size()];
    assert!(
        samples.iter().all(|&v| v == 127 || v == 128),
        "{:?}",
        &samples[..16]
    );
}
