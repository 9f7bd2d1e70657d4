//! Fuzzes the ScannerElements reader: the input is placed inside a GetScannerElementsResponse
//! envelope, so mutations spend their time on ElementData, ScannerConfiguration and tickets.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const HEAD: &[u8] = b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:scan=\"http://schemas.microsoft.com/windows/2006/08/wdp/scan\"><s:Body><scan:GetScannerElementsResponse><scan:ScannerElements>";
const TAIL: &[u8] = b"</scan:ScannerElements></scan:GetScannerElementsResponse></s:Body></s:Envelope>";

fuzz_target!(|data: &[u8]| {
    let mut xml = Vec::with_capacity(HEAD.len() + data.len() + TAIL.len());
    xml.extend_from_slice(HEAD);
    xml.extend_from_slice(data);
    xml.extend_from_slice(TAIL);
    common::check(&xml);
});
