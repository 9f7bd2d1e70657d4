//! Names that reach a file system or a `Content-Disposition`: sanitised, never trusted.

/// The longest file name stem the library makes, in bytes (file systems allow 255; the
/// archive adds `-N` and the extension).
pub const MAX_STEM: usize = 120;

/// `name` made safe as a file name on Linux, macOS and Windows: path separators, control
/// characters and `<>:"|?*` become `_`, leading dots and trailing dots and spaces go (no
/// hidden files, nothing Windows trims), at most [`MAX_STEM`] bytes (cut at a character
/// boundary), Windows' reserved device names get a `_`; an empty result is `fallback`.
pub fn sanitize_file_name(name: &str, fallback: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    s = s.trim_start_matches(['.', ' ']).to_string();
    if s.len() > MAX_STEM {
        let mut cut = MAX_STEM;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    let s = s.trim_end_matches(['.', ' ']).to_string();
    if s.is_empty() {
        return fallback.to_string();
    }
    let stem = s.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        format!("_{s}")
    } else {
        s
    }
}

/// The ASCII fallback of a download name (`filename="..."`): non-ASCII characters become
/// `_`, and so do `"`, `\` and `%` (the quoted string must not need escapes, and some
/// browsers decode `%`).
pub fn ascii_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A `Content-Disposition: attachment` value for `file_name` (already sanitised): the ASCII
/// fallback and the exact name as RFC 5987 `filename*` (UTF-8, percent-encoded).
pub fn content_disposition(file_name: &str) -> String {
    let mut enc = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{enc}",
        ascii_file_name(file_name)
    )
}

/// Checks a document or preset name given by a person: 1 to 200 characters, no control
/// characters. (It is sanitised again wherever it becomes a file name.)
pub(crate) fn check_name(what: &str, name: &str) -> Result<String, crate::LibraryError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(crate::LibraryError::BadName(format!(
            "{what} {name:?} is not allowed: 1 to 200 characters, no control characters"
        )));
    }
    Ok(n.to_string())
}

/// Whether `id` can be one of the library's ids (`[a-z0-9-]`, 1..=40): anything else never
/// reaches a path.
pub(crate) fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            sanitize_file_name("../../etc/passwd", "x"),
            "_.._etc_passwd"
        );
        assert_eq!(
            sanitize_file_name("a:b*c?\"d\"<e>|f\\g", "x"),
            "a_b_c__d__e__f_g"
        );
        assert_eq!(sanitize_file_name("...hidden", "x"), "hidden");
        assert_eq!(sanitize_file_name("trailing. . ", "x"), "trailing");
        assert_eq!(sanitize_file_name("  ", "scan"), "scan");
        assert_eq!(sanitize_file_name("line\nbreak\u{7}", "x"), "line_break_");
        assert_eq!(sanitize_file_name("CON", "x"), "_CON");
        assert_eq!(sanitize_file_name("com1.txt", "x"), "_com1.txt");
        assert_eq!(sanitize_file_name("Rechnung März", "x"), "Rechnung März");
        let long = "é".repeat(100);
        let s = sanitize_file_name(&long, "x");
        assert!(s.len() <= MAX_STEM && s.chars().all(|c| c == 'é'));
    }

    #[test]
    fn content_disposition_has_both_forms() {
        assert_eq!(
            content_disposition("Rechnung März \"1\".pdf"),
            "attachment; filename=\"Rechnung M_rz _1_.pdf\"; \
             filename*=UTF-8''Rechnung%20M%C3%A4rz%20%221%22.pdf"
        );
        assert!(is_id("d-19ab3") && !is_id("../x") && !is_id("") && !is_id("A"));
    }
}
