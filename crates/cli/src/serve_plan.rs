//! `serve`'s raw arguments to a server configuration, checked before any device is opened:
//! limits, encoder effort, credentials, TLS, mDNS, and `--set` split into names and values
//! (their values are checked against each device once it is open, in `serve.rs`). Every
//! error here is one the user can fix: exit status 2.

use crate::args::ServeArgs;
use crate::exit::usage;
use crate::plan::split_setting;
use anyhow::{bail, Result};
use scanwire_codecs::{DeflateEffort, Format};
use scanwire_core::transfer::{CancelHandle, HookGuard};
use scanwire_ocr::{CancelFlag, OcrConfig, OcrPool, OcrStage};
use scanwire_server::{
    BasicAuth, JobStages, MdnsConfig, PageImage, ServerConfig, Stage, StageError, Stages, TlsConfig,
};
use std::path::Path;
use std::sync::Arc;

/// The environment variable `serve --user` takes its password from (unlike `--password`,
/// other local users cannot read it in the process list).
pub const PASSWORD_ENV: &str = "SCANWIRE_PASSWORD";

/// What `scanwire serve` will do, before its devices are opened.
pub struct ServePlan {
    /// The devices to share, in order (the first is also `/eSCL`).
    pub ids: Vec<String>,
    /// The server's configuration, without the device options (see `settings`).
    pub config: ServerConfig,
    /// `--set` as (name, value), in order, for every device.
    pub settings: Vec<(String, String)>,
    /// Things the user should hear about before the server starts.
    pub warnings: Vec<String>,
    /// The self-signed certificate's names, to say so when one was made.
    pub self_signed: Option<Vec<String>>,
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
            .map(|s| split_setting(s))
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
        if args.no_web {
            config.web = None;
        }
        Ok(ServePlan {
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
