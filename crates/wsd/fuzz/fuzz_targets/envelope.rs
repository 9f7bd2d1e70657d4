//! Fuzzes the envelope reader (every body type) and the write -> read round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check(data));
