//! PDF/A-2b (`EncodeOptions::pdfa`): what the file must hold, read back with qpdf, and the
//! embedded sRGB profile run through littleCMS (`transicc`) against its own built-in sRGB.
//!
//! Not validated: no PDF/A validator is packaged for Debian or PyPI (veraPDF is Java and not
//! in Debian). These checks cover the structure ISO 19005-2 asks for, not every rule.

mod common;

use common::*;
use scanwire_codecs::*;
use scanwire_core::device::PixelFormat;
use std::io::Cursor;

fn write(pdfa: bool, title: Option<&str>) -> Vec<u8> {
    let opts = EncodeOptions {
        pdfa,
        title: title.map(str::to_string),
        ..EncodeOptions::default()
    };
    let mut doc = Document::new(Format::Pdf, Cursor::new(Vec::new()), &opts, true).unwrap();
    for (i, pixel) in [
        PixelFormat::Rgb8,
        PixelFormat::BlackAndWhite1,
        PixelFormat::Gray8,
    ]
    .into_iter()
    .enumerate()
    {
        let (w, h) = (64, 48);
        let data = chart(pixel, w, h);
        doc.add_page(
            &page(i as u32 + 1, pixel, w, Some(h), 150),
            &mut SliceSource::new(&data, 1000),
        )
        .unwrap();
    }
    doc.finish().unwrap().into_inner()
}

/// `qpdf --show-object=N` of `pdf` (`trailer` too), with `extra` arguments.
fn object(pdf: &std::path::Path, n: &str, extra: &[&str]) -> Vec<u8> {
    let mut args = vec![format!("--show-object={n}")];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = std::process::Command::new("qpdf")
        .args(&args)
        .arg(pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The object number a dictionary's `/Key N 0 R` names.
fn reference(dict: &str, key: &str) -> String {
    let at = dict
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {dict}"))
        + key.len();
    dict[at..].split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_pdfa_file_has_its_metadata_output_intent_and_id() {
    if !peer("qpdf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pdf");
    std::fs::write(&path, write(true, Some("Taxes <2026> & more"))).unwrap();
    let p = path.to_str().unwrap();
    run("qpdf", &["--check", p]);
    let trailer = String::from_utf8(object(&path, "trailer", &[])).unwrap();
    assert!(trailer.contains("/ID [ <"), "{trailer}");
    let catalog = String::from_utf8(object(&path, "1", &[])).unwrap();
    assert!(catalog.contains("/S /GTS_PDFA1"), "{catalog}");
    assert!(
        catalog.contains("/OutputConditionIdentifier (sRGB IEC61966-2.1)"),
        "{catalog}"
    );
    let xmp = object(
        &path,
        &reference(&catalog, "/Metadata"),
        &["--filtered-stream-data"],
    );
    let xmp = String::from_utf8(xmp).unwrap();
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"), "{xmp}");
    assert!(
        xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{xmp}"
    );
    assert!(xmp.contains("Taxes &lt;2026&gt; &amp; more"), "{xmp}");
    // The metadata stream is uncompressed (PDF/A: readable without filters).
    let raw = object(
        &path,
        &reference(&catalog, "/Metadata"),
        &["--raw-stream-data"],
    );
    assert!(String::from_utf8_lossy(&raw).contains("pdfaid"));
    // Info's dates are XMP's, the same instant.
    let info = String::from_utf8(object(&path, &reference(&trailer, "/Info"), &[])).unwrap();
    let created = info.split("/CreationDate (D:").nth(1).unwrap();
    let (d, t) = (&created[..8], &created[8..14]);
    let xmp_created = format!(
        "<xmp:CreateDate>{}-{}-{}T{}:{}:{}+00:00</xmp:CreateDate>",
        &d[..4],
        &d[4..6],
        &d[6..8],
        &t[..2],
        &t[2..4],
        &t[4..6]
    );
    assert!(xmp.contains(&xmp_created), "{info}\n{xmp}");
    assert!(info.contains("/ModDate"), "{info}");
    // The output intent's profile: an RGB profile littleCMS reads, which maps colours as its
    // own built-in sRGB does.
    let intent = catalog.split("/OutputIntents").nth(1).unwrap();
    let icc = object(
        &path,
        &reference(intent, "/DestOutputProfile"),
        &["--filtered-stream-data"],
    );
    let dict = String::from_utf8(object(&path, &reference(intent, "/DestOutputProfile"), &[]))
        .unwrap_or_default();
    assert!(dict.contains("/N 3"), "{dict}");
    let icc_path = dir.path().join("srgb.icc");
    std::fs::write(&icc_path, &icc).unwrap();
    if !peer("transicc") {
        return;
    }
    let out = std::process::Command::new("transicc")
        .args(["-n", "-i"])
        .arg(&icc_path)
        .args(["-o", "*sRGB"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"0 0 0\n255 255 255\n200 30 90\n12 128 250\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: Vec<f64> = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|s| s.parse().ok())
        .collect();
    let want = [
        0., 0., 0., 255., 255., 255., 200., 30., 90., 12., 128., 250.,
    ];
    assert_eq!(values.len(), want.len(), "{text}");
    for (got, want) in values.iter().zip(want) {
        assert!((got - want).abs() <= 1.0, "through our profile: {text}");
    }
}

#[test]
fn without_pdfa_nothing_changes() {
    let pdf = write(false, None);
    let text = String::from_utf8_lossy(&pdf);
    assert!(!text.contains("/OutputIntents") && !text.contains("/Metadata"));
    assert!(!text.contains("/ID"));
}
