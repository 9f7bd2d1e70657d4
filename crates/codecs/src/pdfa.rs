//! What a PDF needs beyond its pages to claim PDF/A-2b (ISO 19005-2, level B: the pages look
//! the same in every viewer, forever): an XMP metadata stream that says so
//! (`pdfaid:part` 2, `pdfaid:conformance` B) and repeats the Info dictionary's entries, an
//! output intent with an embedded ICC profile for the page images' DeviceRGB and DeviceGray
//! (sRGB, which is what scanners deliver), and a document ID in the trailer. The writer uses
//! nothing PDF/A forbids (no transparency, LZW, encryption, JavaScript or external content;
//! the glyphless font is embedded).
//!
//! The sRGB profile is built here ([`srgb_profile`]): an ICC v2 display profile with the
//! IEC 61966-2-1 primaries adapted to D50 (as every sRGB profile states them) and the sRGB
//! tone curve sampled at 1024 points, so no file from the system is needed.

/// The output intent's condition identifier, as registered with the ICC.
pub(crate) const OUTPUT_CONDITION: &str = "sRGB IEC61966-2.1";

fn s15f16(v: f64) -> [u8; 4] {
    ((v * 65536.0).round() as i32).to_be_bytes()
}

fn xyz(x: f64, y: f64, z: f64) -> Vec<u8> {
    let mut t = b"XYZ \0\0\0\0".to_vec();
    for v in [x, y, z] {
        t.extend_from_slice(&s15f16(v));
    }
    t
}

/// An ICC v2 `textDescriptionType`: ASCII, no Unicode or ScriptCode text.
fn desc(text: &str) -> Vec<u8> {
    let mut t = b"desc\0\0\0\0".to_vec();
    t.extend_from_slice(&(text.len() as u32 + 1).to_be_bytes());
    t.extend_from_slice(text.as_bytes());
    t.push(0);
    t.extend_from_slice(&[0; 4 + 4]); // Unicode language code and count
    t.extend_from_slice(&[0; 2 + 1 + 67]); // ScriptCode code, count, and its 67 bytes
    t
}

fn text(s: &str) -> Vec<u8> {
    let mut t = b"text\0\0\0\0".to_vec();
    t.extend_from_slice(s.as_bytes());
    t.push(0);
    t
}

/// The sRGB tone curve (IEC 61966-2-1) sampled at 1024 points, 16 bits.
fn trc() -> Vec<u8> {
    const N: u32 = 1024;
    let mut t = b"curv\0\0\0\0".to_vec();
    t.extend_from_slice(&N.to_be_bytes());
    for i in 0..N {
        let v = f64::from(i) / f64::from(N - 1);
        let lin = if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        };
        t.extend_from_slice(&((lin * 65535.0).round() as u16).to_be_bytes());
    }
    t
}

/// The ICC profile of the output intent: sRGB, ICC v2, display class, XYZ connection space.
pub(crate) fn srgb_profile() -> Vec<u8> {
    // D50, the profile connection space's illuminant, as ICC v2 encodes it.
    const D50: (f64, f64, f64) = (0.9642, 1.0, 0.8249);
    let curve = trc();
    // (signature, data); equal data is stored once (the three TRCs).
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc("sRGB IEC61966-2.1 (Scanwire)")),
        (b"cprt", text("No copyright, use freely")),
        (b"wtpt", xyz(D50.0, D50.1, D50.2)),
        // The sRGB primaries, Bradford-adapted from D65 to D50.
        (b"rXYZ", xyz(0.436_074_7, 0.222_504_5, 0.013_932_2)),
        (b"gXYZ", xyz(0.385_064_9, 0.716_878_6, 0.097_104_5)),
        (b"bXYZ", xyz(0.143_080_4, 0.060_616_9, 0.714_173_3)),
        (b"rTRC", curve.clone()),
        (b"gTRC", curve.clone()),
        (b"bTRC", curve),
    ];
    let table_len = 4 + 12 * tags.len();
    let mut data: Vec<u8> = Vec::new();
    let mut entries: Vec<(&[u8; 4], usize, usize)> = Vec::new();
    for (sig, bytes) in &tags {
        let shared = tags
            .iter()
            .zip(&entries)
            .find(|((_, b), _)| b == bytes)
            .map(|(_, e)| e.1);
        let offset = match shared {
            Some(at) => at,
            None => {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
                let at = 128 + table_len + data.len();
                data.extend_from_slice(bytes);
                at
            }
        };
        entries.push((sig, offset, bytes.len()));
    }
    while data.len() % 4 != 0 {
        data.push(0);
    }
    let size = 128 + table_len + data.len();
    let mut p = Vec::with_capacity(size);
    p.extend_from_slice(&(size as u32).to_be_bytes());
    p.extend_from_slice(&[0; 4]); // preferred CMM: none
    p.extend_from_slice(&[0x02, 0x10, 0, 0]); // version 2.1
    p.extend_from_slice(b"mntrRGB XYZ ");
    for v in [2026u16, 1, 1, 0, 0, 0] {
        p.extend_from_slice(&v.to_be_bytes());
    }
    p.extend_from_slice(b"acsp");
    p.extend_from_slice(&[0; 4 + 4 + 4 + 4 + 8]); // platform, flags, maker, model, attributes
    p.extend_from_slice(&0u32.to_be_bytes()); // perceptual
    for v in [D50.0, D50.1, D50.2] {
        p.extend_from_slice(&s15f16(v));
    }
    p.extend_from_slice(&[0; 4]); // creator
    p.resize(128, 0); // profile ID (v4 only) and reserved bytes
    p.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    for (sig, offset, len) in entries {
        p.extend_from_slice(sig);
        p.extend_from_slice(&(offset as u32).to_be_bytes());
        p.extend_from_slice(&(len as u32).to_be_bytes());
    }
    p.extend_from_slice(&data);
    debug_assert_eq!(p.len(), size);
    p
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The XMP packet: PDF/A-2b identification, and the Info dictionary's entries again
/// (`date` in XMP form, `2026-12-07T17:00:00+00:00`, the same instant as Info's dates).
pub(crate) fn xmp(producer: &str, date: &str, title: Option<&str>, id: &str) -> String {
    let title = title.map_or(String::new(), |t| {
        format!(
            "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title>",
            escape(t)
        )
    });
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\
<pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>\n\
<rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\
<xmp:CreateDate>{date}</xmp:CreateDate><xmp:ModifyDate>{date}</xmp:ModifyDate>\
<xmp:MetadataDate>{date}</xmp:MetadataDate></rdf:Description>\n\
<rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\
<pdf:Producer>{}</pdf:Producer></rdf:Description>\n\
<rdf:Description rdf:about=\"\" xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\">\
<xmpMM:DocumentID>uuid:{id}</xmpMM:DocumentID></rdf:Description>\n\
<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
<dc:format>application/pdf</dc:format>{title}</rdf:Description>\n\
</rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"w\"?>",
        escape(producer)
    )
}

/// A document ID: 16 bytes from the time, the process and what the file holds, as the
/// trailer's `/ID` and XMP's `xmpMM:DocumentID` give it (PDF 14.4: unique, not secret).
pub(crate) fn document_id(seed: &[u64]) -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut out = [0u8; 16];
    for (half, chunk) in out.chunks_exact_mut(8).enumerate() {
        let mut h = state.build_hasher();
        h.write_usize(half);
        h.write_u32(std::process::id());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        h.write_u128(now);
        for v in seed {
            h.write_u64(*v);
        }
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    out
}

/// `id` as a UUID string (8-4-4-4-12 hex digits).
pub(crate) fn uuid(id: &[u8; 16]) -> String {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_a_well_formed_icc_v2_display_profile() {
        let p = srgb_profile();
        assert_eq!(
            u32::from_be_bytes(p[..4].try_into().unwrap()) as usize,
            p.len()
        );
        assert_eq!(&p[12..24], b"mntrRGB XYZ ");
        assert_eq!(&p[36..40], b"acsp");
        let n = u32::from_be_bytes(p[128..132].try_into().unwrap()) as usize;
        assert_eq!(n, 9);
        let mut trc_offsets = Vec::new();
        for i in 0..n {
            let e = &p[132 + 12 * i..144 + 12 * i];
            let (off, len) = (
                u32::from_be_bytes(e[4..8].try_into().unwrap()) as usize,
                u32::from_be_bytes(e[8..12].try_into().unwrap()) as usize,
            );
            assert_eq!(off % 4, 0, "tags are 4-byte aligned");
            assert!(off + len <= p.len());
            let kind = &p[off..off + 4];
            match &e[..4] {
                b"desc" => assert_eq!(kind, b"desc"),
                b"cprt" => assert_eq!(kind, b"text"),
                b"rTRC" | b"gTRC" | b"bTRC" => {
                    assert_eq!(kind, b"curv");
                    trc_offsets.push(off);
                }
                _ => assert_eq!(kind, b"XYZ "),
            }
        }
        // One curve, shared by the three channels; it ends at 1.0 and starts at 0.
        assert!(trc_offsets.windows(2).all(|w| w[0] == w[1]));
        let c = trc_offsets[0];
        assert_eq!(&p[c + 12..c + 14], &[0, 0]);
        assert_eq!(&p[c + 12 + 2 * 1023..c + 12 + 2 * 1024], &[0xff, 0xff]);
    }

    #[test]
    fn xmp_says_pdfa_2b_and_escapes_the_title() {
        let x = xmp(
            "Scanwire 1",
            "2026-01-02T03:04:05+00:00",
            Some("a <b> & c"),
            "u",
        );
        assert!(
            x.contains("<pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>")
        );
        assert!(x.contains("a &lt;b&gt; &amp; c"));
        assert!(x.starts_with("<?xpacket begin=\"\u{feff}\""));
        assert_eq!(uuid(&[0xab; 16]).len(), 36);
    }
}
