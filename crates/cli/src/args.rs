//! The command line as typed: clap definitions only. `plan.rs` turns these into what to do.

use clap::{Args, Parser, Subcommand, ValueEnum};
use scanwire_core::device::Length;
use std::path::PathBuf;

/// Scan documents from scanners (the built-in virtual scanner, SANE backends, eSCL network
/// scanners) into PNG, JPEG, TIFF, PDF or PNM files.
#[derive(Parser, Debug)]
#[command(
    name = "scanwire",
    version,
    about,
    long_about = None,
    after_help = "Examples:\n  scanwire scan -o page.png                      scan one page from the virtual scanner\n  scanwire scan --source adf --pages 3 -o p-%d.png\n  scanwire devices                               list devices\n  scanwire caps virtual                          what a device can do"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the devices Scanwire can reach.
    #[command(
        after_help = "Examples:\n  scanwire devices\n  scanwire devices --json\n  scanwire devices --verbose      also say why a driver found nothing\n  scanwire devices add escl http://192.168.1.20/eSCL --name office\n  scanwire devices add wsd http://192.168.1.21:5358/WSDScanner --name hall\n  scanwire scan -d office -o page.png\n  scanwire devices remove office\n  scanwire devices --discover     also browse the network (mDNS, WS-Discovery) for scanners\n\nAdded devices are kept in $SCANWIRE_CONFIG_DIR/devices.toml, else\n$XDG_CONFIG_HOME/scanwire/devices.toml, else ~/.config/scanwire/devices.toml."
    )]
    Devices(DevicesArgs),
    /// Show what a device can do: sources, modes, resolutions, area, options.
    #[command(
        after_help = "Examples:\n  scanwire caps                  the virtual scanner\n  scanwire caps sane:test:0 --json"
    )]
    Caps(CapsArgs),
    /// Scan pages into files.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// Share devices over eSCL (AirScan), so macOS, Windows, Mopria and sane-airscan scan
    /// from them.
    #[command(
        after_help = "Examples:\n  scanwire serve                                  the virtual scanner at http://127.0.0.1:8090/eSCL\n  scanwire serve --listen 0.0.0.0:8090 --device sane:epson2:libusb:001:004\n  scanwire serve --listen 192.0.2.7:8090 --mdns --tls-self-signed   HTTPS, announced as _uscans\n  scanimage -d 'airscan:escl:Scanwire:http://127.0.0.1:8090/eSCL' -o page.png\n\nThe first device is also served at /eSCL, the path clients try first; each device is\nat /eSCL/<id>. It listens on 127.0.0.1 only unless --listen says otherwise.\nEach device's driver runs in its own process, so a driver that crashes or hangs fails\nonly its job (see --no-isolate and --watchdog)."
    )]
    Serve(Box<ServeArgs>),
    /// Not a user command: runs one device's driver in its own process for `serve` and
    /// `scan --isolate` (scanwire-host), which start it.
    #[command(hide = true)]
    DriverHost,
    /// Process pages that `scan --queue` puts on a NATS JetStream queue
    /// (deskew, crop, blank pages, OCR), on this machine; run one per machine, or several.
    #[command(after_help = WORKER_EXAMPLES)]
    Worker(WorkerArgs),
}

const WORKER_EXAMPLES: &str = "Examples:
  scanwire worker --queue nats://127.0.0.1:4222
  scanwire worker --queue nats://10.0.0.5:4222 --threads 4 --json

Each page is processed with the settings of the job that scanned it; the finished document
is assembled by whichever worker completes its last page. Ctrl-C stops after the page under
way (a second Ctrl-C abandons it: the queue gives it to another worker) and exits 130.";

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The NATS server (with JetStream) to take pages from.
    #[arg(long, value_name = "URL")]
    pub queue: String,
    /// Pages processed at once (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print the worker's throughput as one JSON object per line, every --interval seconds
    /// and at the end.
    #[arg(long)]
    pub json: bool,
    /// Seconds between throughput reports.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub interval: f64,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    // (Not a doc comment: rustdoc would read "[::1]" as a link.)
    #[arg(
        long,
        default_value = "127.0.0.1:8090",
        help = "Address and port to listen on ([::1]:8090 for IPv6)"
    )]
    pub listen: std::net::SocketAddr,
    /// A device to share, repeatable (default: the virtual scanner).
    #[arg(long, short = 'd')]
    pub device: Vec<String>,
    /// A device-specific option applied to every job, repeatable: --set name=value; one
    /// device's only: --set DEVICE:name=value (e.g. --set sane:test:0:read-delay=yes).
    #[arg(long = "set", value_name = "[DEVICE:]NAME=VALUE")]
    pub set: Vec<String>,
    /// Require HTTP basic auth with this user; the password comes from --password-file,
    /// the SCANWIRE_PASSWORD environment variable or --password.
    #[arg(long)]
    pub user: Option<String>,
    /// The password for --user. Every local user can read it in the process list: prefer
    /// --password-file or SCANWIRE_PASSWORD.
    #[arg(long, requires = "user", conflicts_with = "password_file")]
    pub password: Option<String>,
    /// Read the password for --user from this file (its first line).
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate (PEM: the certificate, then any intermediates).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key for --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a new self-signed certificate for the --tls-name names (default: the
    /// listening address, localhost and this host's name).
    #[arg(long)]
    pub tls_self_signed: bool,
    /// A host name or IP address for the self-signed certificate, repeatable.
    #[arg(long, value_name = "NAME", requires = "tls_self_signed")]
    pub tls_name: Vec<String>,
    /// Write the self-signed certificate (PEM) here, for clients to trust.
    #[arg(long, value_name = "FILE", requires = "tls_self_signed")]
    pub tls_save_cert: Option<PathBuf>,
    /// Announce the devices over mDNS (DNS-SD _uscan._tcp, _uscans._tcp with TLS) on the
    /// listening address's network.
    #[arg(long)]
    pub mdns: bool,
    /// The name clients show for the announced scanner (default: its make and model).
    #[arg(long, value_name = "NAME", requires = "mdns")]
    pub mdns_name: Option<String>,
    /// Also serve every device as a WS-Scan (WSD) scanner on the same address, at
    /// `/WSDScanner` (the first device) and `/WSDScanner/<id>`; e.g. sane-airscan:
    /// `"Scanwire" = http://127.0.0.1:8090/WSDScanner, WSD` in airscan.conf.
    #[arg(long)]
    pub wsd: bool,
    /// Announce the WS-Scan services over WS-Discovery (Hello, Bye, answers to Probe and
    /// Resolve; UDP 239.255.255.250:3702) on the listening address's network, as Windows
    /// and sane-airscan look for scanners.
    #[arg(long, requires = "wsd")]
    pub wsd_discovery: bool,
    /// Make every PDF served searchable: Tesseract recognises each page (languages such as
    /// eng or eng+deu) and its words lie invisibly over the image. eSCL has no element for a
    /// client to ask for it, so it is the server's setting.
    #[arg(long, value_name = "LANGS")]
    pub ocr: Option<String>,
    /// Serve no web page: `/` and `/api` answer 404 (eSCL and WS-Scan only).
    #[arg(long)]
    pub no_web: bool,
    /// Connections served at once; more get 503 (plain HTTP) or are closed (TLS).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_connections: usize,
    /// Deflate effort for served PNG pages (and lossless PDF pages): wire (zlib 1, Up or Sub
    /// row filters), fastest (fdeflate), fast (zlib 2), balanced (zlib 6) or high (zlib 9).
    /// Faster means larger pages on the network; wire suits loopback and a LAN.
    #[arg(long, default_value = "wire", value_name = "EFFORT")]
    pub deflate: String,
    /// Run the drivers inside the server process. By default each device's driver runs in
    /// its own process (a driver host), because drivers are often third-party C code (SANE
    /// backends) that can crash or hang: isolated, a crash or a hang fails only that job (its
    /// pages delivered before are kept), the device comes back with a new host, and the
    /// server and its other devices never notice. In-process, a crash ends the server and a
    /// hung driver holds its device until the server restarts.
    #[arg(long)]
    pub no_isolate: bool,
    /// Stop a driver that makes no progress for SECS seconds (isolated: its host is killed
    /// and restarted; default 120, 0: never). DEVICE=SECS sets one device's, repeatable.
    #[arg(long, value_name = "[DEVICE=]SECS")]
    pub watchdog: Vec<String>,
    /// Where the web page's documents and presets are kept (default:
    /// $XDG_STATE_HOME/scanwire, else ~/.local/state/scanwire).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The most the state directory's documents may use (bytes; K, M, G, T suffixes are
    /// powers of 1024); past it the oldest documents are removed.
    #[arg(long, value_name = "BYTES", default_value = "2G")]
    pub state_max_bytes: String,
    /// Archive finished documents from the web page as PDFs into this folder (e.g.
    /// paperless-ngx's consume folder).
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// How archived files are named: {date} and {time} (UTC), {preset}, {n} (a counter),
    /// {name} (the document's); .pdf is added, an existing file never overwritten.
    #[arg(long, value_name = "TEMPLATE", requires = "archive",
          default_value = scanwire_library::DEFAULT_TEMPLATE)]
    pub archive_template: String,
    /// The most the files Scanwire archived may use (K, M, G, T suffixes); the oldest are
    /// removed first.
    #[arg(long, value_name = "BYTES", requires = "archive")]
    pub archive_max_bytes: Option<String>,
    /// Scan here, but process and assemble PDF and TIFF jobs (the client's processing,
    /// --ocr) on `scanwire worker` processes through this NATS server (JetStream): each page
    /// goes to the queue as it is scanned, and NextDocument serves the document the workers
    /// assemble. Jobs of single images (PNG, JPEG) still run here.
    #[arg(long, value_name = "URL")]
    pub queue: Option<String>,
    /// The most bytes of pages waiting in the queue (K, M, G, T suffixes; default: the
    /// SCANWIRE_QUEUE_MAX_BYTES environment variable, else 1G); past it the scan waits for
    /// workers and the feeder pauses.
    #[arg(long, value_name = "BYTES", requires = "queue")]
    pub queue_max_bytes: Option<String>,
}

const SCAN_EXAMPLES: &str = "Examples:
  scanwire scan -o page.png
      the whole glass (the virtual scanner's: 215.9 x 297 mm, wider than A4), color,
      300 dpi, from the virtual scanner
  scanwire scan --paper a4 -o page.png
      an A4 page (210 x 297 mm) from the top-left corner of the glass
  scanwire scan --mode gray --resolution 150 -l 10 -t 10 -x 100 -y 50 -o crop.png
      a 100 x 50 mm region, 10 mm from the top-left corner
  scanwire scan --source adf --pages 5 -o page-%02d.png
      five pages from the document feeder, one file each (page-01.png, page-02.png, ...)
  scanwire scan --source adf-duplex -o book.pdf
      every sheet in the feeder, both sides, into one PDF
  scanwire scan --set jam-at-page=3 --source adf -o p%d.png
      the virtual scanner jams at page 3 (pages 1 and 2 are kept)
  scanwire scan --source adf --deskew --crop --blank skip -o letters.pdf
      every sheet, straightened, cut to the paper, blank sides left out
  scanwire scan --source adf --blank split -o box.pdf
      a stack with blank sheets between documents: box.pdf, box-2.pdf, ...
  scanwire scan --split-photos -o photo-%d.jpg
      each photo on the glass in its own file

Exit status: 0 when the scan succeeded (also when the feeder ran out after at least one
page); 2 for a request that can be fixed before scanning (bad arguments, an unknown device or
option, an output path that cannot be written, a format that cannot hold what was asked);
1 when the device or the output failed during the scan; 130 when interrupted with Ctrl-C
(completed pages are kept, the partial page is removed; a second Ctrl-C stops waiting for
the device, and still removes the partial page).";

#[derive(Args, Debug)]
pub struct DevicesArgs {
    #[command(subcommand)]
    pub action: Option<DevicesAction>,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Also say why a driver found no devices (e.g. SANE is not installed).
    #[arg(long, short)]
    pub verbose: bool,
    /// Also look for scanners on the network: eSCL over mDNS (_uscan._tcp, _uscans._tcp)
    /// and WS-Scan over WS-Discovery. Off by default: it sends multicast queries on every
    /// interface.
    #[arg(long)]
    pub discover: bool,
    /// How long --discover listens, in seconds.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub discover_time: f64,
}

#[derive(Subcommand, Debug)]
pub enum DevicesAction {
    /// Remember a network scanner, usable as --device NAME and listed by `scanwire devices`.
    Add(DeviceAddArgs),
    /// Forget a remembered scanner, by name, URL or device id.
    Remove(DeviceRemoveArgs),
}

#[derive(Args, Debug)]
pub struct DeviceAddArgs {
    /// The kind of device: escl (eSCL, AirScan) or wsd (WS-Scan).
    pub kind: String,
    /// Its URL: http://HOST:PORT/eSCL for escl, the scan service
    /// http://HOST:PORT/WSDScanner for wsd.
    pub url: String,
    /// The name to use with --device (default: HOST-PORT).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct DeviceRemoveArgs {
    /// The name given with `add`, the URL, or the device id (escl:URL, wsd:URL).
    pub device: String,
}

#[derive(Args, Debug)]
pub struct CapsArgs {
    /// The device id (see `scanwire devices`).
    #[arg(default_value = "virtual")]
    pub device: String,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The device id (see `scanwire devices`).
    #[arg(long, short = 'd', default_value = "virtual")]
    pub device: String,

    /// Where the paper is: flatbed, adf (feeder, front sides) or adf-duplex (both sides).
    /// Default: the flatbed, or the device's own source if it has no flatbed (a `file:`
    /// device is a feeder).
    #[arg(long)]
    pub source: Option<String>,

    /// Color mode: color, gray or lineart (black and white). Default: color, or the
    /// source's first mode if it has no color (gray image files stay gray).
    #[arg(long)]
    pub mode: Option<String>,

    /// Bits per channel: 1 (lineart), 8 or 16.
    #[arg(long)]
    pub depth: Option<u8>,

    /// Resolution in dpi. Default: 300, or the nearest the source has.
    #[arg(long)]
    pub resolution: Option<u32>,

    /// Left edge of the scan area in mm.
    #[arg(short = 'l', value_name = "MM")]
    pub left: Option<f64>,
    /// Top edge of the scan area in mm.
    #[arg(short = 't', value_name = "MM")]
    pub top: Option<f64>,
    /// Width of the scan area in mm (default: to the right edge of the glass).
    #[arg(short = 'x', value_name = "MM")]
    pub width: Option<f64>,
    /// Height of the scan area in mm (default: to the bottom edge of the glass).
    #[arg(short = 'y', value_name = "MM")]
    pub height: Option<f64>,
    /// Scan this paper size from the top-left corner (-l/-t move it) instead of the whole
    /// glass.
    #[arg(long, value_enum, conflicts_with_all = ["width", "height"])]
    pub paper: Option<Paper>,

    /// Pages to scan from the feeder (default: every sheet in it). Duplex counts both sides.
    #[arg(long)]
    pub pages: Option<u32>,

    /// Output file. The format comes from the extension (.png .jpg .tif .pdf .pnm) or
    /// --format. For several pages put the page number in the name as scanimage's --batch
    /// does (page-%d.png, page-%03d.png; a brace pattern with n works too); .tif and .pdf
    /// hold every page in one file.
    #[arg(long, short = 'o', value_name = "FILE", default_value = "scan.png")]
    pub output: PathBuf,

    /// Output format: png, jpeg, tiff, pdf or pnm (default: from the extension).
    #[arg(long)]
    pub format: Option<String>,

    /// JPEG quality 1..=100 (JPEG files and PDF pages) [default: 85]. Without it, a scanner
    /// that sends JPEG itself (eSCL) hands its pages over untouched into a .jpg or a PDF;
    /// with it, Scanwire encodes them at this quality.
    #[arg(long, value_name = "1-100")]
    pub quality: Option<u8>,

    /// PDF: store pages losslessly (Flate) instead of as JPEG.
    #[arg(long)]
    pub lossless: bool,

    /// Write the file even if its format cannot hold what was asked (16 bits or lineart
    /// into JPEG, 16 bits into a PDF's JPEG pages): the pages are converted to 8 bits.
    #[arg(long)]
    pub force: bool,

    /// PDF: the document title.
    #[arg(long)]
    pub title: Option<String>,

    /// PDF: write PDF/A-2b for archiving (XMP metadata, an sRGB output intent, a document ID).
    #[arg(long)]
    pub pdfa: bool,

    /// Multi-page files: if the scan does not complete, leave no file at all (by default a
    /// cancelled or failed PDF/TIFF keeps every completed page).
    #[arg(long)]
    pub all_or_nothing: bool,

    /// Recognise the text with Tesseract while scanning and make the PDF searchable (an
    /// invisible text layer over each page): languages such as eng or eng+deu.
    #[arg(long, value_name = "LANGS")]
    pub ocr: Option<String>,

    /// With --ocr: turn pages that are 90, 180 or 270 degrees off upright first.
    #[arg(long)]
    pub auto_rotate: bool,

    /// With --ocr: also write the recognised text to FILE, pages separated by form feeds.
    #[arg(long, value_name = "FILE")]
    pub ocr_text: Option<PathBuf>,

    /// With --ocr: also write the words with their boxes and confidences as hOCR to FILE.
    #[arg(long, value_name = "FILE")]
    pub ocr_hocr: Option<PathBuf>,

    /// Straighten each page: the angle of its text lines (with --crop: of the sheet's
    /// edges) is found and the page turned back. A page with too little structure (a photo,
    /// a nearly empty page) is left as it is, and --json says so.
    #[arg(
        long,
        help_heading = "Processing (run here, while the next page scans)"
    )]
    pub deskew: bool,

    /// Cut each page to the sheet of paper, found against a darker lid or feeder
    /// background; where no background shows, the page is kept whole.
    #[arg(
        long,
        conflicts_with = "split_photos",
        help_heading = "Processing (run here, while the next page scans)"
    )]
    pub crop: bool,

    /// Find the photos laid on the glass and deliver each as a page of its own, in reading
    /// order (name them: -o photo-%d.jpg); no photo found: the whole page.
    #[arg(
        long,
        help_heading = "Processing (run here, while the next page scans)"
    )]
    pub split_photos: bool,

    /// Blank pages: skip drops them; split drops them and starts a new document at each
    /// (out.pdf, out-2.pdf, ... or {doc} in the name: -o box-{doc}.pdf). Pages are numbered
    /// as kept.
    #[arg(
        long,
        value_enum,
        value_name = "skip|split",
        help_heading = "Processing (run here, while the next page scans)"
    )]
    pub blank: Option<BlankArg>,

    /// How readily a page counts as blank, 0..100 (higher: more pages are blank)
    /// [default: 50]. Look at the coverage --json reports per page to choose.
    #[arg(
        long,
        value_name = "0-100",
        requires = "blank",
        help_heading = "Processing (run here, while the next page scans)"
    )]
    pub blank_sensitivity: Option<u32>,

    /// Turn every page counterclockwise by 0, 90, 180 or 270 degrees (after everything
    /// else).
    #[arg(
        long,
        value_name = "DEGREES",
        allow_negative_numbers = true,
        help_heading = "Processing (run here, while the next page scans)"
    )]
    pub rotate: Option<i32>,

    /// Brightness, -1000..1000 (0: unchanged; 1000 turns mid-gray white).
    #[arg(
        long,
        value_name = "-1000..1000",
        allow_negative_numbers = true,
        help_heading = "Processing (run here, while the next page scans)"
    )]
    pub brightness: Option<i32>,

    /// Contrast, -1000..1000 (0: unchanged; -1000 flattens to gray, 1000 is black and
    /// white).
    #[arg(
        long,
        value_name = "-1000..1000",
        allow_negative_numbers = true,
        help_heading = "Processing (run here, while the next page scans)"
    )]
    pub contrast: Option<i32>,

    /// A device-specific option, repeatable: --set name=value (see `scanwire caps DEVICE`).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,

    /// Scan here, but process the pages (--deskew, --crop, --blank skip, --ocr...) on
    /// `scanwire worker` processes through this NATS server (JetStream); the PDF they
    /// assemble is written to -o. While the queue is full (SCANWIRE_QUEUE_MAX_BYTES of pages
    /// waiting, default 1 GiB) the scan waits for workers.
    #[arg(long, value_name = "URL")]
    pub queue: Option<String>,

    /// Fail the scan if the driver breaks a rule of the WIA transfer model.
    #[arg(long)]
    pub verify: bool,

    /// Give up on a driver that shows no progress for this many seconds (0: never).
    #[arg(long, default_value_t = 120.0, value_name = "SECONDS")]
    pub watchdog: f64,

    /// Run the driver in its own process (a driver host), as `serve` does: a driver that
    /// crashes ends the scan with an error naming the crash (pages written before are kept)
    /// instead of ending scanwire, and a hung one is killed by --watchdog.
    #[arg(long)]
    pub isolate: bool,

    /// No progress bars or messages.
    #[arg(long, short)]
    pub quiet: bool,

    /// Print a JSON report for scripts (implies --quiet).
    #[arg(long)]
    pub json: bool,

    /// Also print the WIA code (HRESULT) with a device's errors.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `--blank`: what happens to a blank page.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum BlankArg {
    /// Drop it.
    Skip,
    /// Drop it and start a new document after it.
    Split,
}

/// Common paper sizes for `--paper`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Paper {
    /// ISO A4, 210 x 297 mm.
    A4,
    /// US Letter, 8.5 x 11 in.
    Letter,
    /// US Legal, 8.5 x 14 in.
    Legal,
    /// ISO A5, 148 x 210 mm.
    A5,
}

impl Paper {
    /// Width and height, portrait.
    pub fn size(self) -> (Length, Length) {
        let inch = |n: u32| Length::from_300ths(n * 300);
        match self {
            Paper::A4 => (Length::mm(210), Length::mm(297)),
            Paper::Letter => (Length::from_300ths(2550), inch(11)),
            Paper::Legal => (Length::from_300ths(2550), inch(14)),
            Paper::A5 => (Length::mm(148), Length::mm(210)),
        }
    }

    /// As typed.
    pub fn name(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Letter => "letter",
            Paper::Legal => "legal",
            Paper::A5 => "a5",
        }
    }
}
