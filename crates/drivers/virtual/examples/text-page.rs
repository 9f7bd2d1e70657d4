//! Prints the words the virtual scanner's `content=text` pages carry, for benchmarks and
//! scripts that measure OCR recall against them.
//!
//! `cargo run -p scanwire-virtual --example text-page -- FIRST [LAST]` prints the text of pages
//! FIRST..=LAST (image numbers of the scan), each followed by a blank line.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let first: u32 = args
        .first()
        .ok_or("usage: text-page FIRST [LAST]")?
        .parse()?;
    let last: u32 = args.get(1).map_or(Ok(first), |s| s.parse())?;
    for page in first..=last {
        println!("{}\n", scanwire_virtual::page_text(page));
    }
    Ok(())
}
