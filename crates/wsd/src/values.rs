//! The enumerated values of WS-Scan (formats, color entries, sources, states). Unknown
//! values are kept as `Other(String)`: the schema lets vendors extend every list.

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know, as written.
            Other(String),
        }

        impl $name {
            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// `FormatValue` / `Format`: the file format of the images.
    Format {
        /// JPEG (JFIF).
        Jfif = "jfif",
        /// JPEG with Exif headers.
        Exif = "exif",
        /// PNG.
        Png = "png",
        /// PDF/A.
        PdfA = "pdf-a",
        /// Windows bitmap.
        Dib = "dib",
        /// JBIG.
        Jbig = "jbig",
        /// JPEG 2000.
        Jpeg2k = "jpeg2k",
        /// One uncompressed TIFF per image.
        TiffSingleUncompressed = "tiff-single-uncompressed",
        /// One G4 TIFF per image.
        TiffSingleG4 = "tiff-single-g4",
        /// One G3 MH TIFF per image.
        TiffSingleG3Mh = "tiff-single-g3mh",
        /// One JPEG (TN2) TIFF per image.
        TiffSingleJpegTn2 = "tiff-single-jpeg-tn2",
        /// One uncompressed TIFF for all images.
        TiffMultiUncompressed = "tiff-multi-uncompressed",
        /// One G4 TIFF for all images.
        TiffMultiG4 = "tiff-multi-g4",
        /// One G3 MH TIFF for all images.
        TiffMultiG3Mh = "tiff-multi-g3mh",
        /// One JPEG (TN2) TIFF for all images.
        TiffMultiJpegTn2 = "tiff-multi-jpeg-tn2",
        /// XPS.
        Xps = "xps",
    }
}

impl Format {
    /// Whether the format is JPEG (`jfif` or `exif`).
    pub fn is_jpeg(&self) -> bool {
        matches!(self, Format::Jfif | Format::Exif)
    }

    /// The MIME type of an image in this format, if it has a common one.
    pub fn mime(&self) -> Option<&'static str> {
        Some(match self {
            Format::Jfif | Format::Exif => "image/jpeg",
            Format::Png => "image/png",
            Format::PdfA => "application/pdf",
            Format::Dib => "image/bmp",
            Format::Xps => "application/vnd.ms-xpsdocument",
            Format::TiffSingleUncompressed
            | Format::TiffSingleG4
            | Format::TiffSingleG3Mh
            | Format::TiffSingleJpegTn2
            | Format::TiffMultiUncompressed
            | Format::TiffMultiG4
            | Format::TiffMultiG3Mh
            | Format::TiffMultiJpegTn2 => "image/tiff",
            _ => return None,
        })
    }
}

wire_enum! {
    /// `ColorEntry` / `ColorProcessing`: the pixel format of the images.
    ColorEntry {
        /// 1 bit per pixel.
        BlackAndWhite1 = "BlackAndWhite1",
        /// 4-bit gray.
        Grayscale4 = "Grayscale4",
        /// 8-bit gray.
        Grayscale8 = "Grayscale8",
        /// 16-bit gray.
        Grayscale16 = "Grayscale16",
        /// 8 bits per RGB channel.
        Rgb24 = "RGB24",
        /// 16 bits per RGB channel.
        Rgb48 = "RGB48",
        /// RGB with alpha, 8 bits.
        Rgba32 = "RGBa32",
        /// RGB with alpha, 16 bits.
        Rgba64 = "RGBa64",
    }
}

wire_enum! {
    /// `InputSource`.
    InputSource {
        /// The flatbed.
        Platen = "Platen",
        /// The feeder, one side.
        Adf = "ADF",
        /// The feeder, both sides.
        AdfDuplex = "ADFDuplex",
        /// A film adapter.
        Film = "Film",
    }
}

wire_enum! {
    /// `ScannerState`.
    ScannerState {
        /// Ready for a job.
        Idle = "Idle",
        /// Busy with jobs.
        Processing = "Processing",
        /// Needs intervention.
        Stopped = "Stopped",
    }
}

wire_enum! {
    /// `JobState`.
    JobState {
        /// Being initialised.
        Creating = "Creating",
        /// Waiting to be processed.
        Pending = "Pending",
        /// Processing started (transient).
        Started = "Started",
        /// Being scanned or transferred.
        Processing = "Processing",
        /// Not schedulable for now.
        Held = "Held",
        /// Being cancelled or aborted.
        Terminating = "Terminating",
        /// Every image was sent.
        Completed = "Completed",
        /// The device aborted it.
        Aborted = "Aborted",
        /// A client or the panel cancelled it.
        Canceled = "Canceled",
    }
}

impl JobState {
    /// Whether the job is over (`Completed`, `Aborted`, `Canceled`).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Aborted | JobState::Canceled
        )
    }
}
