//! Enumerated wire values and small value types shared by the documents.
//!
//! Every enum keeps values it does not know as `Other(String)`: real devices send vendor values
//! (`JobScanningAndTransferring`, `scan:AutoColorDetection`, ...) and a reader must not fail on
//! them. Known values match case-insensitively and ignore a `prefix:` (Brother and HP send
//! `scan:AutoColorDetection` as the *text* of `scan:ColorMode`).

use std::fmt;

use crate::ns::local_part;

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $variant:ident = $wire:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                #[doc = concat!("`", $wire, "`")]
                $variant,
            )*
            /// A value this crate does not know, kept as it was read (trimmed).
            Other(String),
        }

        impl $name {
            /// Every known value, in wire spelling.
            pub const KNOWN: &'static [&'static str] = &[$($wire),*];

            /// The spelling written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Other(s) => s,
                }
            }

            /// Reads a wire value; unknown values become `Other`.
            pub fn from_wire(value: &str) -> Self {
                let local = local_part(value);
                $(
                    if local.eq_ignore_ascii_case(local_part($wire)) {
                        return $name::$variant;
                    }
                )*
                $name::Other(value.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name::from_wire(value)
            }
        }
    };
}

wire_enum! {
    /// `scan:ColorMode`: pixel format of the scanned image.
    ColorMode {
        BlackAndWhite1 = "BlackAndWhite1",
        Grayscale8 = "Grayscale8",
        Grayscale16 = "Grayscale16",
        Rgb24 = "RGB24",
        Rgb48 = "RGB48",
        AutoColorDetection = "scan:AutoColorDetection",
    }
}

wire_enum! {
    /// `scan:Intent` / `scan:SupportedIntent`: what the scan is for.
    Intent {
        Document = "Document",
        TextAndGraphic = "TextAndGraphic",
        Photo = "Photo",
        Preview = "Preview",
        Object = "Object",
        BusinessCard = "BusinessCard",
    }
}

wire_enum! {
    /// `pwg:ContentType`: the kind of original.
    ContentType {
        Auto = "Auto",
        Text = "Text",
        Photo = "Photo",
        TextAndPhoto = "TextAndPhoto",
        LineArt = "LineArt",
        Magazine = "Magazine",
        Halftone = "Halftone",
    }
}

wire_enum! {
    /// `pwg:InputSource` in a ScanSettings request.
    InputSource {
        Platen = "Platen",
        Feeder = "Feeder",
        Camera = "Camera",
    }
}

wire_enum! {
    /// `pwg:State` of a ScannerStatus.
    ScannerState {
        Idle = "Idle",
        Processing = "Processing",
        Testing = "Testing",
        Stopped = "Stopped",
        Down = "Down",
    }
}

wire_enum! {
    /// `scan:AdfState` of a ScannerStatus.
    AdfState {
        Processing = "ScannerAdfProcessing",
        Empty = "ScannerAdfEmpty",
        Jam = "ScannerAdfJam",
        Loaded = "ScannerAdfLoaded",
        Mispick = "ScannerAdfMispick",
        HatchOpen = "ScannerAdfHatchOpen",
        DuplexPageTooShort = "ScannerAdfDuplexPageTooShort",
        DuplexPageTooLong = "ScannerAdfDuplexPageTooLong",
        MultipickDetected = "ScannerAdfMultipickDetected",
        InputTrayFailed = "ScannerAdfInputTrayFailed",
        InputTrayOverloaded = "ScannerAdfInputTrayOverloaded",
        DoorOpen = "ScannerAdfDoorOpen",
    }
}

wire_enum! {
    /// `pwg:JobState` of a JobInfo.
    JobState {
        Pending = "Pending",
        PendingHeld = "PendingHeld",
        Processing = "Processing",
        ProcessingStopped = "ProcessingStopped",
        Completed = "Completed",
        Canceled = "Canceled",
        Aborted = "Aborted",
    }
}

wire_enum! {
    /// `pwg:JobStateReason` of a JobInfo.
    JobStateReason {
        NoReason = "None",
        JobQueued = "JobQueued",
        JobScanning = "JobScanning",
        JobScanningAndTransferring = "JobScanningAndTransferring",
        JobTransferring = "JobTransferring",
        JobCompletedSuccessfully = "JobCompletedSuccessfully",
        JobCompletedWithWarnings = "JobCompletedWithWarnings",
        JobCompletedWithErrors = "JobCompletedWithErrors",
        JobCanceledByUser = "JobCanceledByUser",
        AbortedBySystem = "AbortedBySystem",
        ResourcesAreNotReady = "ResourcesAreNotReady",
        InvalidScanTicket = "InvalidScanTicket",
        UnsupportedDocumentFormat = "UnsupportedDocumentFormat",
        ErrorsDetected = "ErrorsDetected",
    }
}

wire_enum! {
    /// `scan:AdfOption` of an Adf.
    AdfOption {
        DetectPaperLoaded = "DetectPaperLoaded",
        SelectSinglePage = "SelectSinglePage",
        Duplex = "Duplex",
        MultipickDetection = "MultipickDetection",
    }
}

wire_enum! {
    /// `scan:FeedDirection`.
    FeedDirection {
        ShortEdgeFeed = "ShortEdgeFeed",
        LongEdgeFeed = "LongEdgeFeed",
    }
}

wire_enum! {
    /// `pwg:XImagePosition` / `pwg:YImagePosition` of an ADF's justification.
    ImagePosition {
        Left = "Left",
        Right = "Right",
        Center = "Center",
        Top = "Top",
        Bottom = "Bottom",
        NoJustification = "None",
    }
}

wire_enum! {
    /// `pwg:ContentRegionUnits` of a scan region.
    ContentRegionUnits {
        ThreeHundredthsOfInches = "escl:ThreeHundredthsOfInches",
    }
}

wire_enum! {
    /// `scan:ColorSpace`.
    ColorSpace {
        Srgb = "sRGB",
        Rgb = "RGB",
        Ycc = "YCC",
        Cmyk = "CMYK",
    }
}

wire_enum! {
    /// `scan:CcdChannel`: which sensor channel(s) make a gray image.
    CcdChannel {
        Red = "Red",
        Green = "Green",
        Blue = "Blue",
        Ntsc = "NTSC",
        GrayCcd = "GrayCcd",
        GrayCcdEmulated = "GrayCcdEmulated",
    }
}

wire_enum! {
    /// `scan:BinaryRendering`: how a 1-bit image is made.
    BinaryRendering {
        Halftone = "Halftone",
        Threshold = "Threshold",
    }
}

/// A `Min`/`Max`/`Normal`/`Step` range (`scan:BrightnessSupport`, a resolution range, ...).
///
/// Values are signed: HP M426fdn reports Contrast -127..127 and Kyocera Sharpen -3..3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Range {
    /// `Min` (required).
    pub min: i32,
    /// `Max` (required).
    pub max: i32,
    /// `Normal`, the default (HP DeskJet 2540 omits it).
    pub normal: Option<i32>,
    /// `Step`.
    pub step: Option<i32>,
}

impl Range {
    /// Whether `value` lies in `min..=max` and on a step from `min` (when a step > 0 is given).
    pub fn contains(&self, value: i32) -> bool {
        if value < self.min || value > self.max {
            return false;
        }
        match self.step {
            Some(step) if step > 0 => {
                (i64::from(value) - i64::from(self.min)) % i64::from(step) == 0
            }
            _ => true,
        }
    }
}

/// One `scan:DiscreteResolution` (dots per inch). X and Y can differ (Kyocera offers 200x100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resolution {
    /// `scan:XResolution`.
    pub x: u32,
    /// `scan:YResolution`.
    pub y: u32,
}

/// One `scan:ResolutionRange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResolutionRange {
    /// `scan:XResolutionRange`.
    pub x: Range,
    /// `scan:YResolutionRange`.
    pub y: Range,
}

/// `scan:SupportedResolutions`: a discrete list, ranges, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SupportedResolutions {
    /// `scan:DiscreteResolutions/scan:DiscreteResolution`, in document order.
    pub discrete: Vec<Resolution>,
    /// `scan:ResolutionRange` elements.
    pub ranges: Vec<ResolutionRange>,
}
