//! Every prefix of the real device message and of every message the writers produce:
//! never a panic, and a message cut before its closing root tag is always refused.

mod common;

use scanwire_wsd::{Body, Envelope, Fault, Header, QName, ScanTicket};

fn sweep(name: &str, bytes: &[u8]) -> usize {
    let complete_at = bytes.iter().rposition(|&b| b == b'>').expect("a '>'") + 1;
    let mut refused = 0;
    for len in 0..=bytes.len() {
        match Envelope::from_xml(&bytes[..len]) {
            Ok(_) => assert!(
                len >= complete_at,
                "{name}[..{len}] accepted although truncated"
            ),
            Err(e) => {
                assert!(
                    len < complete_at,
                    "{name}[..{len}] refused although complete: {e}"
                );
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
        }
    }
    refused
}

#[test]
fn truncated_messages_fail_cleanly() {
    let mut messages: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(k) = common::fixture(common::KYOCERA) {
        messages.push((common::KYOCERA.into(), k));
    }
    for body in [
        Body::CreateScanJobRequest(ScanTicket::default()),
        Body::Fault(Fault::sender("ClientErrorNoImagesAvailable", "none")),
        Body::Probe(vec![QName::scan_device_type()]),
        Body::TransferGet,
    ] {
        let env = Envelope::new(Header::request("http://h/s", &body), body);
        messages.push((env.body.name(), env.to_xml().into_bytes()));
    }
    let mut refused = 0;
    for (name, bytes) in &messages {
        refused += sweep(name, bytes);
    }
    // Every prefix up to the closing `>` is refused; only the final newline may follow.
    let total: usize = messages.iter().map(|(_, b)| b.len()).sum();
    assert!(
        refused + 2 * messages.len() >= total,
        "only {refused} refusals over {total} bytes"
    );
}
