//! Embeds the web page's files (`web/`) in the server: generates the table `web/assets.rs`
//! includes, so a file the page adds needs no code change here.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(String, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let path = e.path();
            if !path.is_file() {
                continue;
            }
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            // Editors' and the OS's leftovers are not part of the page.
            if name.starts_with('.') || name.ends_with('~') {
                continue;
            }
            println!("cargo:rerun-if-changed={}", path.display());
            files.push((name.to_string(), path.display().to_string()));
        }
    }
    files.sort();
    let mut out = String::from("&[\n");
    for (name, path) in files {
        out.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    out.push_str("]\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("web_files.rs");
    std::fs::write(dest, out).expect("write web_files.rs");
}
