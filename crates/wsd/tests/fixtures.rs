//! The real Kyocera ECOSYS M2040dn GetScannerElementsResponse: one line, 56 namespace
//! declarations, `SOAP-ENV:` and `addressing:` prefixes.

mod common;

use scanwire_wsd::{Body, ColorEntry, Envelope, Format, InputSource, Range, Size, SCAN_NS};

#[test]
fn kyocera_get_scanner_elements_response_maps_right() {
    let Some(xml) = common::fixture(common::KYOCERA) else {
        return;
    };
    let env = Envelope::from_xml(&xml).expect("the Kyocera response parses");
    assert_eq!(
        env.header.action.as_deref(),
        Some(format!("{SCAN_NS}/GetScannerElementsResponse").as_str())
    );
    assert_eq!(
        env.header.relates_to.as_deref(),
        Some("urn:uuid:77541427-1fce-4a86-bf59-ba77fa3c2ce7")
    );
    let Body::GetScannerElementsResponse(elements) = env.body else {
        panic!("not a GetScannerElementsResponse: {:?}", env.body);
    };
    let d = elements.description.as_ref().expect("description");
    assert_eq!(d.name, "ECOSYS M2040dn");
    assert_eq!(d.location.as_deref(), Some("Living Room"));

    let c = elements.configuration.as_ref().expect("configuration");
    assert_eq!(
        c.settings.formats,
        vec![
            Format::Exif,
            Format::PdfA,
            Format::TiffSingleG4,
            Format::TiffSingleJpegTn2,
            Format::TiffMultiG4,
            Format::TiffMultiJpegTn2,
            Format::Xps,
            Format::Jfif
        ]
    );
    assert_eq!(
        c.settings.compression_quality,
        Some(Range { min: 20, max: 100 })
    );
    assert_eq!(c.settings.auto_exposure, Some(true));
    assert_eq!(c.settings.rotations, vec![0]);

    let platen = c.platen.as_ref().expect("platen");
    // As the device writes it (width and height swapped: the driver's mapping turns it).
    assert_eq!(platen.max_size, Size::new(14016, 8504));
    assert_eq!(platen.min_size, Size::new(1969, 1969));
    assert_eq!(platen.widths, vec![200, 300, 400, 600]);
    assert_eq!(platen.heights, vec![100, 200, 300, 400, 600]);
    assert_eq!(platen.optical_resolution, Some(Size::new(600, 600)));
    let modes = vec![
        ColorEntry::BlackAndWhite1,
        ColorEntry::Grayscale8,
        ColorEntry::Rgb24,
    ];
    assert_eq!(platen.colors, modes);

    let adf = c.adf.as_ref().expect("ADF");
    assert!(adf.supports_duplex);
    for side in [&adf.front, &adf.back] {
        let side = side.as_ref().expect("ADFFront and ADFBack");
        assert_eq!(side.max_size, Size::new(14016, 8504));
        assert_eq!(side.widths, vec![200, 300, 400, 600]);
        assert_eq!(side.colors, modes);
    }

    let t = elements.default_ticket.as_ref().expect("default ticket");
    assert_eq!(t.job.name.as_deref(), Some("doc"));
    assert_eq!(t.params.format, Some(Format::PdfA));
    assert_eq!(t.params.input_source, Some(InputSource::Platen));
    assert_eq!(t.params.images_to_transfer, Some(0));
    assert_eq!(t.params.input_size, Some(Size::new(8266, 11690)));
    let front = t.params.front.as_ref().expect("MediaFront");
    assert_eq!(front.color, Some(ColorEntry::Rgb24));
    assert_eq!(front.resolution, Some(Size::new(300, 300)));
    assert_eq!(
        front.region.map(|r| (r.width, r.height)),
        Some((8266, 11690))
    );
    assert!(t.params.back.is_some());
    assert!(elements.status.is_none());
}

#[test]
fn kyocera_response_round_trips_through_the_writer() {
    let Some(xml) = common::fixture(common::KYOCERA) else {
        return;
    };
    let env = Envelope::from_xml(&xml).unwrap();
    let again = Envelope::from_xml(env.to_xml().as_bytes()).unwrap();
    assert_eq!(again, env);
}
