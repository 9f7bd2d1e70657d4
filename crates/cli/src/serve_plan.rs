//! `serve`'s raw arguments to a server configuration, checked before any device is opened:
//! limits, encoder effort, credentials, TLS, mDNS, and `--set` split into names and values
//! (their values are checked against each device once it is open, in `serve.rs`). Every
//! error here is one the user can fix: exit status 2.

use crate::args::ServeArgs;
use crate::exit::usage;
use crate::plan::split_setting;
use anyhow::{bail, Result};
use scanwire_codecs::{DeflateEffort, Format};
use scanwire_core::transfer::DEFAULT_WATCHDOG;
use scanwire_core::transfer::{CancelHandle, HookGuard};
use scanwire_ocr::{CancelFlag, OcrConfig, OcrPool, OcrStage};
use scanwire_server::{
    BasicAuth, JobStages, MdnsConfig, PageImage, ServerConfig, Stage, StageError, Stages, TlsConfig,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable `serve --user` takes its password from (unlike `--password`,
/// other local users cannot read it in the process list).
pub const PASSWORD_ENV: &str = "SCANWIRE_PASSWORD";

/// What `scanwire serve` will do, before its devices are opened.
pub struct ServePlan {
    /// The devices to share, in order (the first is also `/eSCL`).
    pub ids: Vec<String>,
    /// The server's configuration, without the device options (see `settings`).
    pub config: ServerConfig,
    /// `--set` as (device, name, value), in order: `None` for every device, `Some(id)` for
    /// `--set DEVICE:NAME=VALUE`.
    pub settings: Vec<(Option<String>, String, String)>,
    /// Things the user should hear about before the server starts.
    pub warnings: Vec<String>,
    /// The self-signed certificate's names, to say so when one was made.
    pub self_signed: Option<Vec<String>>,
    /// `--watchdog`: the default and per-device values.
    pub watchdogs: Watchdogs,
    /// `--queue`, checked; connected in `serve.rs` (`config.queue`).
    pub queue: Option<crate::serve_queue::ServeQueuePlan>,
}

/// One `--set [DEVICE:]NAME=VALUE`. Option names hold no ':', so a ':' before the '=' ends
/// a device id (which holds ':' itself: `sane:test:0:read-delay=yes`); the device must be
/// served.
fn device_setting(text: &str, ids: &[String]) -> Result<(Option<String>, String, String)> {
    let (name, value) = split_setting(text)?;
    let Some((device, name)) = name.rsplit_once(':') else {
        return Ok((None, name, value));
    };
    if !ids.iter().any(|id| id == device) {
        bail!(usage(format!(
            "--set {text}: `{device}` is not a served device; served: {} (DEVICE:NAME=VALUE sets an option for one device)",
            ids.join(", ")
        )));
    }
    Ok((Some(device.to_string()), name.to_string(), value))
}

/// The settings for device `id`: every device's, then its own (the later wins).
pub fn settings_for(
    settings: &[(Option<String>, String, String)],
    id: &str,
) -> Vec<(String, String)> {
    settings
        .iter()
        .filter(|(d, _, _)| d.is_none())
        .chain(settings.iter().filter(|(d, _, _)| d.as_deref() == Some(id)))
        .map(|(_, n, v)| (n.clone(), v.clone()))
        .collect()
}

/// `--watchdog [DEVICE=]SECS`: how long a driver may make no progress before it is stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Watchdogs {
    /// For every device not named (`None`: never).
    pub default: Option<Duration>,
    /// Per device id, as given with `--device`.
    pub devices: BTreeMap<String, Option<Duration>>,
}

impl Watchdogs {
    /// Parses every `--watchdog` against the served ids: a device that is not served is an
    /// error naming the ones that are (a typo would otherwise leave the 120 s default).
    pub fn parse(values: &[String], ids: &[String]) -> Result<Watchdogs> {
        let mut w = Watchdogs {
            default: Some(DEFAULT_WATCHDOG),
            devices: BTreeMap::new(),
        };
        for v in values {
            // Device ids hold ':' and may hold '=' (a URL's query): the number is after the
            // last '='.
            let (device, secs) = match v.rsplit_once('=') {
                Some((d, s)) => (Some(d), s),
                None => (None, v.as_str()),
            };
            let secs = seconds(v, secs)?;
            match device {
                None => w.default = secs,
                Some(d) if ids.iter().any(|id| id == d) => {
                    w.devices.insert(d.to_string(), secs);
                }
                Some(d) => bail!(usage(format!(
                    "--watchdog {v}: `{d}` is not a served device; served: {}",
                    ids.join(", ")
                ))),
            }
        }
        Ok(w)
    }

    /// The watchdog for one device.
    pub fn of(&self, id: &str) -> Option<Duration> {
        self.devices.get(id).copied().unwrap_or(self.default)
    }
}

/// One `--watchdog` value's seconds: a number >= 0, 0 meaning never.
fn seconds(whole: &str, text: &str) -> Result<Option<Duration>> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=1e9).contains(&x) => {
            Ok((x > 0.0).then(|| Duration::from_secs_f64(x)))
        }
        _ => bail!(usage(format!(
            "--watchdog {whole}: expected SECS or DEVICE=SECS, seconds a number >= 0 (0: never)"
        ))),
    }
}

impl ServePlan {
    /// Checks the arguments; `password_env` is the value of [`PASSWORD_ENV`], if set.
    pub fn new(args: &ServeArgs, password_env: Option<String>) -> Result<ServePlan> {
        let ids = if args.device.is_empty() {
            vec!["virtual".to_string()]
        } else {
            args.device.clone()
        };
        if args.max_connections == 0 {
            bail!(usage(
                "--max-connections 0: at least one connection must be allowed"
            ));
        }
        let mut config = ServerConfig {
            listen: args.listen,
            ..ServerConfig::default()
        };
        config.limits.max_connections = args.max_connections;
        config.wsd = args.wsd;
        config.wsd_discovery = args.wsd_discovery;
        config.encode.deflate = match args.deflate.as_str() {
            "wire" => DeflateEffort::Wire,
            "fastest" => DeflateEffort::Fastest,
            "fast" => DeflateEffort::Fast,
            "balanced" => DeflateEffort::Balanced,
            "high" => DeflateEffort::High,
            other => bail!(usage(format!(
                "--deflate {other}: expected wire, fastest, fast, balanced or high"
            ))),
        };
        let settings = args
            .set
            .iter()
            .map(|s| device_setting(s, &ids))
            .collect::<Result<Vec<_>>>()?;
        let mut warnings = Vec::new();
        config.auth = auth(args, password_env, &mut warnings)?;
        let (tls, self_signed) = tls(args)?;
        config.tls = tls;
        if args.mdns {
            config.mdns = Some(MdnsConfig {
                name: args.mdns_name.clone(),
                host: None,
            });
        }
        config.job_stages = ocr(args.ocr.as_deref())?;
        let watchdogs = Watchdogs::parse(&args.watchdog, &ids)?;
        if args.no_web {
            config.web = None;
        }
        let queue =
            crate::serve_queue::plan(args.queue.as_deref(), args.queue_max_bytes.as_deref())?;
        // SOURCE_DATE_EPOCH fixes the PDFs' creation date (reproducible documents, here as
        // from the queue's workers).
        let (created, fixed) = crate::queue::created()?;
        if fixed {
            config.encode.created = Some(created);
        }
        Ok(ServePlan {
            queue,
            watchdogs,
            ids,
            config,
            settings,
            warnings,
            self_signed,
        })
    }
}

/// The basic-auth credentials: `--user` with the password from `--password-file`, else
/// `--password` (with a warning: the process list shows it), else [`PASSWORD_ENV`].
fn auth(
    args: &ServeArgs,
    password_env: Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<BasicAuth>> {
    let Some(user) = &args.user else {
        return Ok(None);
    };
    let password = if let Some(path) = &args.password_file {
        read_password(path)?
    } else if let Some(p) = &args.password {
        warnings.push(format!(
            "warning: --password is visible to every user of this machine (ps, /proc/{}/cmdline); \
             use --password-file FILE or {PASSWORD_ENV}",
            std::process::id()
        ));
        p.clone()
    } else if let Some(p) = password_env {
        p
    } else {
        bail!(usage(format!(
            "--user {user} needs a password: --password-file FILE, the {PASSWORD_ENV} environment variable, or --password"
        )));
    };
    if user.is_empty() {
        bail!(usage("--user: the user name is empty"));
    }
    if user.contains(':') {
        bail!(usage(format!(
            "--user {user}: a user name must not contain ':' (HTTP basic auth separates user and password with it)"
        )));
    }
    if password.is_empty() {
        bail!(usage(format!("--user {user}: the password is empty")));
    }
    Ok(Some(BasicAuth {
        user: user.clone(),
        password,
    }))
}

/// A password file's first line, without its line ending.
fn read_password(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("--password-file {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string())
}

/// The TLS configuration, and the self-signed certificate's names when one was made.
#[allow(clippy::type_complexity)]
fn tls(args: &ServeArgs) -> Result<(Option<TlsConfig>, Option<Vec<String>>)> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let tls = TlsConfig::from_pem_files(cert, key).map_err(usage)?;
        return Ok((Some(tls), None));
    }
    if !args.tls_self_signed {
        return Ok((None, None));
    }
    let names = if args.tls_name.is_empty() {
        default_names(args.listen.ip())
    } else {
        args.tls_name.clone()
    };
    let tls = TlsConfig::self_signed(&names)?;
    if let Some(path) = &args.tls_save_cert {
        std::fs::write(path, tls.certificate_pem()).map_err(|e| {
            usage(format!(
                "cannot write the certificate to {}: {e}",
                path.display()
            ))
        })?;
    }
    Ok((Some(tls), Some(names)))
}

/// What clients may call this server: the listening address (unless it is a wildcard),
/// localhost and the host's names.
fn default_names(ip: std::net::IpAddr) -> Vec<String> {
    let mut names = Vec::new();
    if !ip.is_unspecified() {
        names.push(ip.to_string());
    }
    names.push("localhost".into());
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_string());
            names.push(format!("{host}.local"));
        }
    }
    names
}

/// `serve --ocr LANGS`: every PDF the server serves is searchable (an invisible text layer
/// from Tesseract), whatever client asks for it: no eSCL element lets a client choose OCR
/// (docs/processing.md). One engine per core, shared by all jobs; each job's OCR stops when
/// the job is cancelled. Tesseract or a language missing is a usage error, before serving.
pub fn ocr(langs: Option<&str>) -> Result<Option<Arc<dyn JobStages>>> {
    let Some(langs) = langs else {
        return Ok(None);
    };
    let config = OcrConfig::new(langs).map_err(|e| usage(format!("--ocr {langs}: {e}")))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = OcrPool::new(&config, cores).map_err(|e| usage(format!("--ocr {langs}: {e}")))?;
    Ok(Some(Arc::new(ServeOcr {
        pool: Arc::new(pool),
        languages: langs.split('+').map(str::to_string).collect(),
    })))
}

/// The OCR stage for every PDF job.
struct ServeOcr {
    pool: Arc<OcrPool>,
    /// As given (`eng+deu`): what the web page shows.
    languages: Vec<String>,
}

impl std::fmt::Debug for ServeOcr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServeOcr({} engines)", self.pool.workers())
    }
}

impl JobStages for ServeOcr {
    fn languages(&self) -> Vec<String> {
        self.languages.clone()
    }

    fn stages(&self, format: Format, cancel: &CancelHandle) -> Stages {
        if format != Format::Pdf {
            return Vec::new();
        }
        let flag = CancelFlag::new();
        let hook = {
            let flag = flag.clone();
            cancel.token().on_cancel(move || flag.cancel())
        };
        vec![Arc::new(JobOcr {
            stage: OcrStage::new(self.pool.clone(), flag),
            _cancel: hook,
        })]
    }
}

/// One job's OCR stage, holding the hook that stops it with the job.
struct JobOcr {
    stage: OcrStage,
    _cancel: HookGuard,
}

impl Stage for JobOcr {
    fn name(&self) -> &str {
        self.stage.name()
    }

    fn process(&self, page: PageImage) -> Result<Vec<PageImage>, StageError> {
        self.stage.process(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--set DEVICE:NAME=VALUE` for one device, checked against the served ids.
    #[test]
    fn settings_may_name_their_device() {
        let ids = vec!["virtual".to_string(), "sane:test:0".to_string()];
        let s = [
            "ppm=60",
            "sane:test:0:read-delay=yes",
            "virtual:crash-at-page=2",
            "virtual:ppm=0",
        ]
        .iter()
        .map(|t| device_setting(t, &ids).unwrap())
        .collect::<Vec<_>>();
        assert_eq!(
            s[1],
            (
                Some("sane:test:0".into()),
                "read-delay".into(),
                "yes".into()
            )
        );
        let kv = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            settings_for(&s, "virtual"),
            vec![kv("ppm", "60"), kv("crash-at-page", "2"), kv("ppm", "0")]
        );
        assert_eq!(
            settings_for(&s, "sane:test:0"),
            vec![kv("ppm", "60"), kv("read-delay", "yes")]
        );
        let e = device_setting("sane:test:1:x=1", &ids).unwrap_err();
        assert!(
            e.to_string()
                .contains("`sane:test:1` is not a served device"),
            "{e}"
        );
    }

    /// `--watchdog`: a default, per-device values (ids with ':' and '='), 0 for never, and
    /// errors naming what is allowed.
    #[test]
    fn watchdogs_parse_per_device() {
        let ids = vec!["virtual".to_string(), "escl:http://h/eSCL?a=b".to_string()];
        let w = Watchdogs::parse(&[], &ids).unwrap();
        assert_eq!(w.of("virtual"), Some(Duration::from_secs(120)));
        let w = Watchdogs::parse(
            &[
                "30".into(),
                "virtual=0".into(),
                "escl:http://h/eSCL?a=b=2.5".into(),
            ],
            &ids,
        )
        .unwrap();
        assert_eq!(w.of("virtual"), None);
        assert_eq!(
            w.of("escl:http://h/eSCL?a=b"),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(w.of("other"), Some(Duration::from_secs(30)));
        let e = Watchdogs::parse(&["sane:x=3".into()], &ids).unwrap_err();
        assert!(
            e.to_string()
                .contains("`sane:x` is not a served device; served: virtual"),
            "{e}"
        );
        let e = Watchdogs::parse(&["virtual=soon".into()], &ids).unwrap_err();
        assert!(
            e.to_string().contains("expected SECS or DEVICE=SECS"),
            "{e}"
        );
        let e = Watchdogs::parse(&["-1".into()], &ids).unwrap_err();
        assert!(e.to_string().contains(">= 0"), "{e}");
    }

    /// `serve --ocr` with a language that is not installed stops before serving, naming it.
    #[test]
    fn ocr_languages_are_checked_before_serving() {
        let e = ocr(Some("zzz")).expect_err("no such language");
        let text = e.to_string();
        assert!(text.starts_with("--ocr zzz: "), "{text}");
        assert!(text.contains("zzz"), "{text}");
        assert!(ocr(None).unwrap().is_none());
    }
}
