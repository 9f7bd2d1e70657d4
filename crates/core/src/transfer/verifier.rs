//! The rules a driver must keep (statements 15–24 of the spec, plus the service-side ones a
//! driver can break: 2, 9, 11), and what the relay does when one is broken.

use std::fmt;

/// How the relay treats a driver that breaks a rule.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum VerifyMode {
    /// Record the violation, contain it (clamp, drop, correct the result) and go on. The
    /// application never sees the bad message.
    #[default]
    Lenient,
    /// Record it and fail the transfer with WIA_ERROR_INVALID_DRIVER_RESPONSE, naming the rule.
    /// For tests and `--verify`.
    Strict,
}

/// A rule of the transfer model, named by its statement number in `spec/wia-transfer.md` §5.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// S2: `lFlags` must be 0.
    S02Flags,
    /// S9: `SendMessage` needs a params pointer.
    S09NullParams,
    /// S11: drivers never send END_OF_STREAM or END_OF_TRANSFER.
    S11ServiceOnlyMessage,
    /// S15: `0 <= lPercentComplete <= 100`.
    S15Percent,
    /// S16: `ulTransferredBytes` is the bytes written to the current stream.
    S16Bytes,
    /// S17: no call after S_FALSE or an error.
    S17CallAfterStop,
    /// S18: a cancelled transfer returns S_FALSE.
    S18CancelResult,
    /// S19: a failed call makes the transfer fail.
    S19FailureResult,
    /// S20: after SKIP the transfer goes on and ends S_OK; SKIP is never the result.
    S20SkipResult,
    /// S21: data is appended at the end of the stream.
    S21Append,
    /// S22: the stream is released before the next GetNextStream and before returning.
    S22Release,
    /// S23: one stream per item (a multi-page stream takes NEW_PAGE, not a second stream).
    S23StreamsPerItem,
    /// S24: drivers never send WIA_STATUS_CLEAR.
    S24Clear,
    /// A message kind WIA does not define (0, 4, 7, …).
    UnknownMessage,
}

impl Rule {
    /// The statement number, if the rule is one of the spec's.
    pub const fn statement(self) -> Option<u8> {
        Some(match self {
            Rule::S02Flags => 2,
            Rule::S09NullParams => 9,
            Rule::S11ServiceOnlyMessage => 11,
            Rule::S15Percent => 15,
            Rule::S16Bytes => 16,
            Rule::S17CallAfterStop => 17,
            Rule::S18CancelResult => 18,
            Rule::S19FailureResult => 19,
            Rule::S20SkipResult => 20,
            Rule::S21Append => 21,
            Rule::S22Release => 22,
            Rule::S23StreamsPerItem => 23,
            Rule::S24Clear => 24,
            Rule::UnknownMessage => return None,
        })
    }

    /// The rule in words.
    pub const fn text(self) -> &'static str {
        match self {
            Rule::S02Flags => "lFlags must be 0",
            Rule::S09NullParams => "SendMessage needs a WiaTransferParams pointer",
            Rule::S11ServiceOnlyMessage => "drivers must not send END_OF_STREAM or END_OF_TRANSFER",
            Rule::S15Percent => "lPercentComplete must be within 0..=100",
            Rule::S16Bytes => {
                "ulTransferredBytes must equal the bytes written to the current stream"
            }
            Rule::S17CallAfterStop => "no SendMessage or GetNextStream after S_FALSE or an error",
            Rule::S18CancelResult => "a cancelled transfer must return S_FALSE",
            Rule::S19FailureResult => {
                "a transfer whose callback or stream failed must return a failure"
            }
            Rule::S20SkipResult => "a skipped item must not end the transfer with SKIP",
            Rule::S21Append => "data must be appended at the end of the stream",
            Rule::S22Release => {
                "the stream must be released before the next GetNextStream and before returning"
            }
            Rule::S23StreamsPerItem => {
                "a multi-page transfer takes one stream; pages are marked with NEW_PAGE"
            }
            Rule::S24Clear => "drivers must not send WIA_STATUS_CLEAR",
            Rule::UnknownMessage => "lMessage must be STATUS, DEVICE_STATUS or NEW_PAGE",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.statement() {
            Some(n) => write!(f, "S{n}"),
            None => f.write_str("message kind"),
        }
    }
}

/// One broken rule, with what the driver actually did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub rule: Rule,
    /// What happened.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "driver broke rule {} ({}): {}",
            self.rule,
            self.rule.text(),
            self.detail
        )
    }
}
