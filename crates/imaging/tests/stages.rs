//! The exact stages (rotation, crop, brightness/contrast), every pixel format, and bad input.

use scanwire_core::device::PixelFormat;
use scanwire_imaging::synth::{self, SheetSpec};
use scanwire_imaging::{
    angle_from_deskew_xy, blank_score, brightness_contrast, crop, deskew, detect_skew, extract,
    rotate, Image, ImagingError, QuarterTurns, Rect, Region, Sensitivity,
};

/// A small gray image whose every pixel is distinct: value = 10 y + x.
fn numbered(w: u32, h: u32) -> Image {
    let data = (0..h)
        .flat_map(|y| (0..w).map(move |x| (10 * y + x) as u8))
        .collect();
    Image::new(PixelFormat::Gray8, w, h, (100, 200), data).unwrap()
}

#[test]
fn landscape_is_a_quarter_turn_counterclockwise() {
    let img = numbered(3, 2); // rows [0 1 2] [10 11 12]
    let l = rotate(&img, QuarterTurns::Ccw90).unwrap();
    assert_eq!((l.width, l.height, l.dpi), (2, 3, (200, 100)));
    // Counterclockwise: the right column comes to the top.
    assert_eq!(l.data, vec![2, 12, 1, 11, 0, 10]);
    let r = rotate(&img, QuarterTurns::Ccw270).unwrap();
    assert_eq!(r.data, vec![10, 0, 11, 1, 12, 2]);
    let h = rotate(&img, QuarterTurns::Half).unwrap();
    assert_eq!(h.data, vec![12, 11, 10, 2, 1, 0]);
    // Four quarter turns are the identity, for every pixel format.
    for pixel in [
        PixelFormat::BlackAndWhite1,
        PixelFormat::Gray8,
        PixelFormat::Gray16,
        PixelFormat::Rgb8,
        PixelFormat::Rgb16,
    ] {
        let (w, h) = (13u32, 7u32);
        let bpl = pixel.bytes_per_line(w);
        let mut data: Vec<u8> = (0..bpl * h as usize)
            .map(|i| (i * 37 % 251) as u8)
            .collect();
        if pixel == PixelFormat::BlackAndWhite1 {
            // Padding bits beyond the width are zero, as a scanner sends them.
            for row in data.chunks_mut(bpl) {
                row[bpl - 1] &= 0xff << (8 - w % 8);
            }
        }
        let img = Image::new(pixel, w, h, (300, 300), data).unwrap();
        let mut turned = img.clone();
        for _ in 0..4 {
            turned = rotate(&turned, QuarterTurns::Ccw90).unwrap();
        }
        assert_eq!(turned, img, "{pixel:?}");
        assert_eq!(
            rotate(
                &rotate(&img, QuarterTurns::Half).unwrap(),
                QuarterTurns::Half
            )
            .unwrap(),
            img
        );
    }
    assert_eq!(QuarterTurns::from_degrees(90).unwrap(), QuarterTurns::Ccw90);
    assert!(matches!(
        QuarterTurns::from_degrees(45),
        Err(ImagingError::OutOfRange { .. })
    ));
}

#[test]
fn crop_takes_exactly_the_rectangle() {
    let img = numbered(5, 4);
    let c = crop(
        &img,
        Rect {
            x: 1,
            y: 2,
            width: 3,
            height: 2,
        },
    )
    .unwrap();
    assert_eq!((c.width, c.height), (3, 2));
    assert_eq!(c.data, vec![21, 22, 23, 31, 32, 33]);
    // Lineart at an odd bit offset: same pixels as cropping the gray version.
    let mut spec = SheetSpec::a4_feeder(50, 3);
    spec.noise = 0.0;
    let gray = synth::sheet(&spec).image;
    let bits = to_lineart(&gray);
    let r = Rect {
        x: 13,
        y: 40,
        width: 77,
        height: 50,
    };
    let cb = crop(&bits, r).unwrap();
    let cg = crop(&gray, r).unwrap();
    for y in 0..r.height {
        for x in 0..r.width {
            assert_eq!(cb.luma(x, y) == 0, cg.luma(x, y) < 128, "({x}, {y})");
        }
    }
    let err = crop(
        &img,
        Rect {
            x: 3,
            y: 0,
            width: 3,
            height: 1,
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("not inside the 5x4 image"),
        "{err}"
    );
}

fn to_lineart(gray: &Image) -> Image {
    let bpl = PixelFormat::BlackAndWhite1.bytes_per_line(gray.width);
    let mut data = vec![0u8; bpl * gray.height as usize];
    for y in 0..gray.height {
        for x in 0..gray.width {
            if gray.luma(x, y) < 128 {
                data[y as usize * bpl + x as usize / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    Image::new(
        PixelFormat::BlackAndWhite1,
        gray.width,
        gray.height,
        gray.dpi,
        data,
    )
    .unwrap()
}

#[test]
fn brightness_and_contrast_follow_wia() {
    let ramp = |pixel| {
        let data: Vec<u8> = match pixel {
            PixelFormat::Gray8 => (0..=255).collect(),
            _ => (0..=255u16).flat_map(|v| (v * 257).to_be_bytes()).collect(),
        };
        Image::new(pixel, 256, 1, (300, 300), data).unwrap()
    };
    // 0, 0 is the identity.
    let mut img = ramp(PixelFormat::Gray8);
    brightness_contrast(&mut img, 0, 0).unwrap();
    assert_eq!(img, ramp(PixelFormat::Gray8));
    // Brightness +1000 turns mid-gray white, −1000 black; monotonic in between.
    let mid = |b: i32, c: i32, pixel| {
        let mut img = ramp(pixel);
        brightness_contrast(&mut img, b, c).unwrap();
        img.luma(128, 0)
    };
    assert_eq!(mid(1000, 0, PixelFormat::Gray8), 255);
    assert_eq!(mid(-1000, 0, PixelFormat::Gray8), 0);
    assert!(mid(300, 0, PixelFormat::Gray8) > mid(100, 0, PixelFormat::Gray8));
    assert_eq!(
        mid(300, 0, PixelFormat::Gray16),
        mid(300, 0, PixelFormat::Gray8)
    );
    // Contrast −1000 flattens everything to mid-gray; +1000 is a step at mid-gray.
    let mut flat = ramp(PixelFormat::Gray8);
    brightness_contrast(&mut flat, 0, -1000).unwrap();
    assert!(flat.data.iter().all(|&v| v == 128), "{:?}", &flat.data[..8]);
    let mut step = ramp(PixelFormat::Gray8);
    brightness_contrast(&mut step, 0, 1000).unwrap();
    assert!(step.data[..127].iter().all(|&v| v == 0) && step.data[129..].iter().all(|&v| v == 255));
    // More contrast spreads a dark and a light gray further apart.
    let mut more = ramp(PixelFormat::Gray8);
    brightness_contrast(&mut more, 0, 500).unwrap();
    assert!(more.data[64] < 64 && more.data[192] > 192);
    // Out of range names the range.
    let err = brightness_contrast(&mut more, 1001, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "brightness 1001 is out of range: allowed -1000..=1000"
    );
}

#[test]
fn bad_images_are_refused_with_the_reason() {
    let img = Image {
        pixel: PixelFormat::Rgb8,
        width: 10,
        height: 2,
        dpi: (300, 300),
        data: vec![0; 59],
    };
    let err = detect_skew(&img).unwrap_err().to_string();
    assert_eq!(err, "image data is 59 bytes; Rgb8 10x2 needs exactly 60");
    assert!(matches!(
        blank_score(&img),
        Err(ImagingError::WrongSize { .. })
    ));
    let zero = Image {
        width: 0,
        data: vec![],
        ..img.clone()
    };
    assert_eq!(
        rotate(&zero, QuarterTurns::Half).unwrap_err().to_string(),
        "image has width 0; it must be at least 1"
    );
    let ok = Image {
        data: vec![200; 60],
        ..img
    };
    let err = deskew(&ok, 60.0).unwrap_err().to_string();
    assert_eq!(err, "turn (degrees) 60 is out of range: allowed -45..=45");
    assert!(Sensitivity::new(101).is_err());
    // Tiny and one-pixel images are not an error, just nothing to find.
    let tiny = Image::new(PixelFormat::Gray8, 1, 1, (300, 300), vec![255]).unwrap();
    assert!(detect_skew(&tiny).is_err());
    assert_eq!(scanwire_imaging::detect_paper(&tiny).unwrap(), None);
    assert!(scanwire_imaging::segment_photos(&tiny).unwrap().is_empty());
    assert!(deskew(&tiny, 3.0).is_ok());
}

/// The same page in every pixel format gives the same findings.
#[test]
fn every_pixel_format_is_processed() {
    let mut spec = SheetSpec::a4_on_platen(100, 5);
    spec.skew_deg = 4.0;
    spec.noise = 0.0;
    let sheet = synth::sheet(&spec);
    let gray = &sheet.image;
    let widen = |pixel: PixelFormat| -> Image {
        let data: Vec<u8> = match pixel {
            PixelFormat::Gray16 => gray.data.iter().flat_map(|&v| [v, v]).collect(),
            PixelFormat::Rgb8 => gray.data.iter().flat_map(|&v| [v, v, v]).collect(),
            PixelFormat::Rgb16 => gray.data.iter().flat_map(|&v| [v, v, v, v, v, v]).collect(),
            PixelFormat::BlackAndWhite1 => return to_lineart(gray),
            PixelFormat::Gray8 => gray.data.clone(),
        };
        Image::new(pixel, gray.width, gray.height, gray.dpi, data).unwrap()
    };
    for pixel in [
        PixelFormat::Gray8,
        PixelFormat::Gray16,
        PixelFormat::Rgb8,
        PixelFormat::Rgb16,
        PixelFormat::BlackAndWhite1,
    ] {
        let img = widen(pixel);
        let skew = detect_skew(&img).unwrap();
        assert!((skew.angle_deg - 4.0).abs() <= 0.1, "{pixel:?}: {skew:?}");
        let sheet_found = scanwire_imaging::detect_paper(&img)
            .unwrap()
            .expect("sheet");
        let out = extract(&img, &sheet_found).unwrap();
        assert_eq!(out.pixel, pixel);
        let again = detect_skew(&out).unwrap();
        assert!(
            again.angle_deg.abs() <= 0.1,
            "{pixel:?}: after extract {again:?}"
        );
        assert!(!blank_score(&out).unwrap().is_blank(Sensitivity::default()));
    }
}

/// WIA_IPS_DESKEW_X/Y and back: the sample filter's rule recovers the angle.
#[test]
fn deskew_xy_round_trips() {
    for angle in [-12.0, -3.5, -0.5, 0.5, 2.0, 9.0] {
        let r = Region {
            center: (500.0, 700.0),
            size: (800.0, 1100.0),
            angle_deg: angle,
        };
        let (x, y) = r.deskew_xy();
        let back = angle_from_deskew_xy(x, y);
        assert!((back - angle).abs() < 0.1, "{angle}: ({x}, {y}) -> {back}");
    }
    assert_eq!(
        Region {
            center: (1.0, 1.0),
            size: (2.0, 2.0),
            angle_deg: 0.0
        }
        .deskew_xy(),
        (0, 0)
    );
    assert_eq!(angle_from_deskew_xy(0, 17), 0.0);
}

/// Turns so small that a column moves the source by a hair, and the largest allowed, in every
/// format: the fast path stays inside the source (a regression: a 0.01° turn once read a row
/// above the page), and a zero turn is the identity.
#[test]
fn tiny_and_large_turns_stay_inside() {
    for pixel in [
        PixelFormat::Gray8,
        PixelFormat::Rgb8,
        PixelFormat::Gray16,
        PixelFormat::Rgb16,
        PixelFormat::BlackAndWhite1,
    ] {
        let (w, h) = (301u32, 203u32);
        let bpl = pixel.bytes_per_line(w);
        let data: Vec<u8> = (0..bpl * h as usize)
            .map(|i| (i * 31 % 253) as u8)
            .collect();
        let img = Image::new(pixel, w, h, (300, 300), data).unwrap();
        for angle in [1e-9, 0.001, -0.001, 0.01, -0.01, 0.3, 45.0, -45.0] {
            let out = deskew(&img, angle).unwrap();
            assert_eq!((out.width, out.height, out.pixel), (w, h, pixel));
        }
        if pixel != PixelFormat::BlackAndWhite1 {
            assert_eq!(deskew(&img, 0.0).unwrap(), img, "{pixel:?}");
        }
    }
}
