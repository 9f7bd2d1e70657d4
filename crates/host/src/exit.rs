//! Saying how a host process ended, in the words a user sees.

use crate::child::EXIT_AFTER_PANIC;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// The name of a signal (Linux numbering), or its number.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// `driver crashed: SIGSEGV in sane_start`, `driver panicked: …`, `driver host exited with
/// status 3`: how a host ended, with the last native call it entered and a panic it reported.
pub fn describe_exit(status: ExitStatus, crumb: Option<&str>, panicked: Option<&str>) -> String {
    let place = crumb.map(|c| format!(" in {c}")).unwrap_or_default();
    let panic = panicked
        .map(|p| format!(" (after a panic: {p})"))
        .unwrap_or_default();
    if let Some(sig) = status.signal() {
        format!("driver crashed: {}{place}{panic}", signal_name(sig))
    } else if status.code() == Some(i32::from(EXIT_AFTER_PANIC)) {
        format!("driver panicked: {}", panicked.unwrap_or("(no message)"))
    } else if let Some(code) = status.code() {
        format!("driver host exited with status {code}{place}{panic}")
    } else {
        format!("driver host ended ({status}){place}")
    }
}
