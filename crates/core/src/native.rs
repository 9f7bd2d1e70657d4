//! Breadcrumbs: the foreign call a driver is about to make, so that a driver host can say
//! where its process died (`driver crashed: SIGSEGV in sane_start`).
//!
//! A driver calls [`call`] before each call into third-party code (crates/drivers/sane does,
//! around every libsane function). In an application's own process nobody observes them and a
//! breadcrumb costs one atomic load; a driver host (`scanwire-host`) installs the one
//! observer with [`observe`] and passes each new name to the application's process.

use std::sync::OnceLock;

static OBSERVER: OnceLock<fn(&'static str)> = OnceLock::new();

/// Notes that the driver is entering the foreign function `name`.
#[inline]
pub fn call(name: &'static str) {
    if let Some(f) = OBSERVER.get() {
        f(name);
    }
}

/// Installs the process's one observer of breadcrumbs. Returns false if one already was.
pub fn observe(observer: fn(&'static str)) -> bool {
    OBSERVER.set(observer).is_ok()
}
