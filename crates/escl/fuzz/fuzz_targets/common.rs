// Shared by every target: read; if the document is accepted, write it and read it back; the
// value must not change and the rewritten text must be accepted.
use scanwire_escl::Document;

pub fn check<T: Document + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(first) = T::from_xml(data) else {
        return;
    };
    let xml = first.to_xml();
    let second = match T::from_xml(xml.as_bytes()) {
        Ok(v) => v,
        Err(e) => panic!("rewritten document refused: {e}\n{xml}"),
    };
    assert_eq!(first, second, "value changed on write -> read\n{xml}");
}
