//! The one typed configuration: defaults, then `anjian.toml`, then the
//! environment. Loaded once in `main`; nothing else reads the environment.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// A value that must not appear in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// An external S3-compatible store (unset: the embedded one).
#[derive(Debug, Clone)]
pub struct S3Config {
    /// What the server connects to.
    pub endpoint: String,
    /// What presigned URLs for phones point at, when it differs (e.g. an
    /// internal `http://minio:9000` behind a public `https://files.example.cn`).
    pub public_endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
}

/// Everything the binary can be told.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None`: SQLite in the data dir.
    pub database_url: Option<Secret>,
    pub s3: Option<S3Config>,
    /// `None`: `http://<listen>`.
    pub public_url: Option<String>,
    pub timezone: chrono_tz::Tz,
    pub admin_password: Option<Secret>,
    pub smtp_url: Option<Secret>,
    pub report_recipients: Vec<String>,
    /// The sender of mail (`ANJIAN_MAIL_FROM`).
    pub mail_from: String,
    /// Where notifications are POSTed for SMS/WeChat gateways
    /// (`ANJIAN_WEBHOOK_URL`), signed with `ANJIAN_WEBHOOK_SECRET`.
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<Secret>,
    /// Days overdue past which any hazard is escalated to the office's
    /// 挂牌督办 list (`ANJIAN_LONG_OVERDUE_DAYS`; major ones are at once).
    pub long_overdue_days: u32,
    /// `None`: generated once and kept in the data dir.
    pub secret_key: Option<Secret>,
    pub log_format: LogFormat,
    /// `tracing` filter directives (`ANJIAN_LOG`).
    pub log_filter: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`ANJIAN_TRUSTED_PROXIES`).
    pub trusted_proxies: anjian_api::client_addr::TrustedProxies,
    /// Listener timeouts and connection cap (`ANJIAN_MAX_CONNECTIONS`; the
    /// timeouts are fixed but for tests).
    pub limits: anjian_api::server::Limits,
    /// Photos one user may have declared and not yet uploaded
    /// (`ANJIAN_MAX_PENDING_PHOTOS`): enough for a long offline week.
    pub max_pending_photos: i64,
    /// Workers making photo variants after verification
    /// (`ANJIAN_PHOTO_WORKERS`); by default two per core; 0 leaves the queue
    /// to other replicas.
    pub photo_workers: usize,
    /// Seconds a variant worker holds a queued photo; one that dies is
    /// replaced when its hold runs out (`ANJIAN_PHOTO_LEASE_SECS`).
    pub photo_lease_secs: u64,
    /// Seconds a scheduled job's run is held without renewal; a replica that
    /// dies mid-run is replaced when it runs out (`ANJIAN_JOB_LEASE_SECS`).
    pub job_lease_secs: u64,
}

/// Default of [`Config::mail_from`].
pub const DEFAULT_MAIL_FROM: &str = "anjian@localhost";

/// Default of [`Config::job_lease_secs`].
pub const DEFAULT_JOB_LEASE_SECS: u64 = 120;

/// Default of [`Config::photo_lease_secs`].
pub const DEFAULT_PHOTO_LEASE_SECS: u64 = 30;

/// Default of [`Config::photo_workers`]: two per core, so that one makes
/// variants while the other waits on the disk or the database (the decode
/// memory budget still bounds what runs at once).
pub fn default_photo_workers() -> usize {
    2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Default of [`Config::max_pending_photos`].
pub const DEFAULT_MAX_PENDING_PHOTOS: i64 = 2000;

/// The default log filter: our info, the libraries' warnings.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn,tokio_cron_scheduler=warn";

impl Config {
    /// Where messages go: the SMTP relay and the webhook, where configured.
    pub fn outlets(&self, public_url: &str) -> anyhow::Result<anjian_usecases::outbox::Outlets> {
        use anjian_usecases::outbox::{Mailer, Webhook};
        Ok(anjian_usecases::outbox::Outlets {
            mail: match &self.smtp_url {
                Some(url) => Some(Mailer::new(&url.0, &self.mail_from)?),
                None => None,
            },
            webhook: match (&self.webhook_url, &self.webhook_secret) {
                (Some(url), Some(secret)) => Some(Webhook::new(url, &secret.0)?),
                _ => None,
            },
            public_url: public_url.to_owned(),
        })
    }

    /// The office's deadline rules in its time zone.
    pub fn policy(&self) -> anjian_domain::DeadlinePolicy {
        anjian_domain::DeadlinePolicy {
            tz: self.timezone,
            ..Default::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            s3: None,
            public_url: None,
            timezone: chrono_tz::Asia::Shanghai,
            admin_password: None,
            smtp_url: None,
            report_recipients: Vec::new(),
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            webhook_url: None,
            webhook_secret: None,
            long_overdue_days: anjian_domain::notice::DEFAULT_LONG_OVERDUE_DAYS,
            secret_key: None,
            log_format: LogFormat::Pretty,
            log_filter: DEFAULT_LOG_FILTER.to_owned(),
            trusted_proxies: Default::default(),
            limits: Default::default(),
            max_pending_photos: DEFAULT_MAX_PENDING_PHOTOS,
            photo_workers: default_photo_workers(),
            photo_lease_secs: DEFAULT_PHOTO_LEASE_SECS,
            job_lease_secs: DEFAULT_JOB_LEASE_SECS,
        }
    }
}

/// The keys, as environment variables; in `anjian.toml` the same names in lower
/// case without the `ANJIAN_` prefix (`listen`, `database_url`, `s3_bucket`, …).
pub const KEYS: &[&str] = &[
    "ANJIAN_LISTEN",
    "ANJIAN_DATA_DIR",
    "DATABASE_URL",
    "ANJIAN_S3_ENDPOINT",
    "ANJIAN_S3_BUCKET",
    "ANJIAN_S3_REGION",
    "ANJIAN_S3_PUBLIC_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "ANJIAN_PUBLIC_URL",
    "ANJIAN_TIMEZONE",
    "ANJIAN_ADMIN_PASSWORD",
    "ANJIAN_SMTP_URL",
    "ANJIAN_REPORT_RECIPIENTS",
    "ANJIAN_SECRET_KEY",
    "ANJIAN_LOG_FORMAT",
    "ANJIAN_LOG",
    "ANJIAN_TRUSTED_PROXIES",
    "ANJIAN_MAX_CONNECTIONS",
    "ANJIAN_MAX_PENDING_PHOTOS",
    "ANJIAN_PHOTO_WORKERS",
    "ANJIAN_PHOTO_LEASE_SECS",
    "ANJIAN_JOB_LEASE_SECS",
    "ANJIAN_MAIL_FROM",
    "ANJIAN_LONG_OVERDUE_DAYS",
    "ANJIAN_WEBHOOK_URL",
    "ANJIAN_WEBHOOK_SECRET",
];

fn file_key(env_key: &str) -> String {
    env_key.trim_start_matches("ANJIAN_").to_ascii_lowercase()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TomlValue {
    Str(String),
    List(Vec<String>),
    Int(i64),
}

impl Config {
    /// Loads from `anjian.toml` (path in `ANJIAN_CONFIG`, else `./anjian.toml` if
    /// present) and the environment given by `env`.
    pub fn load(env: &HashMap<String, String>) -> anyhow::Result<Config> {
        let mut values: HashMap<String, String> = HashMap::new();
        let path = env.get("ANJIAN_CONFIG").map(PathBuf::from);
        let file = match &path {
            Some(p) => Some(p.clone()),
            None => Path::new("anjian.toml")
                .exists()
                .then(|| PathBuf::from("anjian.toml")),
        };
        if let Some(p) = file {
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            let table: HashMap<String, TomlValue> =
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
            for (k, v) in table {
                let Some(env_key) = KEYS.iter().find(|e| file_key(e) == k) else {
                    bail!("{}: unknown key `{k}`", p.display());
                };
                let v = match v {
                    TomlValue::Str(s) => s,
                    TomlValue::List(l) => l.join(","),
                    TomlValue::Int(i) => i.to_string(),
                };
                values.insert((*env_key).to_owned(), v);
            }
        }
        for k in KEYS {
            if let Some(v) = env.get(*k).filter(|v| !v.is_empty()) {
                values.insert((*k).to_owned(), v.clone());
            }
        }
        Config::from_values(&values)
    }

    fn from_values(v: &HashMap<String, String>) -> anyhow::Result<Config> {
        let mut c = Config::default();
        let get = |k: &str| v.get(k).map(String::as_str);
        if let Some(s) = get("ANJIAN_LISTEN") {
            c.listen = s
                .parse()
                .with_context(|| format!("ANJIAN_LISTEN `{s}` is not host:port"))?;
        }
        if let Some(s) = get("ANJIAN_DATA_DIR") {
            c.data_dir = PathBuf::from(s);
        }
        if let Some(s) = get("DATABASE_URL") {
            if !(s.starts_with("postgres://")
                || s.starts_with("postgresql://")
                || s.starts_with("sqlite:"))
            {
                bail!("DATABASE_URL must start with postgres:// or sqlite:");
            }
            c.database_url = Some(Secret(s.to_owned()));
        }
        let s3_keys = [
            "ANJIAN_S3_ENDPOINT",
            "ANJIAN_S3_BUCKET",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ];
        let s3_set: Vec<&str> = s3_keys
            .iter()
            .copied()
            .filter(|k| get(k).is_some())
            .collect();
        if get("ANJIAN_S3_BUCKET").is_some() || get("ANJIAN_S3_ENDPOINT").is_some() {
            if s3_set.len() != s3_keys.len() {
                let missing: Vec<&str> = s3_keys
                    .iter()
                    .copied()
                    .filter(|k| get(k).is_none())
                    .collect();
                bail!("an external S3 store needs {} as well", missing.join(", "));
            }
            let public_endpoint = get("ANJIAN_S3_PUBLIC_ENDPOINT").map(str::to_owned);
            for (key, url) in [
                ("ANJIAN_S3_ENDPOINT", get("ANJIAN_S3_ENDPOINT")),
                ("ANJIAN_S3_PUBLIC_ENDPOINT", public_endpoint.as_deref()),
            ] {
                if let Some(u) = url
                    && !(u.starts_with("http://") || u.starts_with("https://"))
                {
                    bail!("{key} must be an http(s) URL");
                }
            }
            c.s3 = Some(S3Config {
                public_endpoint,
                endpoint: get("ANJIAN_S3_ENDPOINT").unwrap_or_default().to_owned(),
                bucket: get("ANJIAN_S3_BUCKET").unwrap_or_default().to_owned(),
                region: get("ANJIAN_S3_REGION").unwrap_or("us-east-1").to_owned(),
                access_key_id: Secret(get("AWS_ACCESS_KEY_ID").unwrap_or_default().to_owned()),
                secret_access_key: Secret(
                    get("AWS_SECRET_ACCESS_KEY").unwrap_or_default().to_owned(),
                ),
            });
        }
        if let Some(s) = get("ANJIAN_PUBLIC_URL") {
            if !(s.starts_with("http://") || s.starts_with("https://")) {
                bail!("ANJIAN_PUBLIC_URL must be an http(s) URL");
            }
            c.public_url = Some(s.trim_end_matches('/').to_owned());
        }
        if let Some(s) = get("ANJIAN_TIMEZONE") {
            c.timezone = s
                .parse()
                .map_err(|_| anyhow::anyhow!("ANJIAN_TIMEZONE `{s}` is not an IANA time zone"))?;
        }
        c.admin_password = get("ANJIAN_ADMIN_PASSWORD").map(|s| Secret(s.to_owned()));
        if let Some(Err(reason)) = c
            .admin_password
            .as_ref()
            .map(|p| anjian_domain::password::check(&p.0))
        {
            bail!(
                "ANJIAN_ADMIN_PASSWORD is refused ({reason}): at least 10 characters, not one repeated character, not a plain sequence, not a common password"
            );
        }
        c.smtp_url = get("ANJIAN_SMTP_URL").map(|s| Secret(s.to_owned()));
        if let Some(s) = get("ANJIAN_LONG_OVERDUE_DAYS") {
            c.long_overdue_days = s.parse().ok().filter(|n| *n >= 1).with_context(|| {
                format!("ANJIAN_LONG_OVERDUE_DAYS `{s}` is not a positive number")
            })?;
        }
        if let Some(s) = get("ANJIAN_MAIL_FROM") {
            c.mail_from = s.to_owned();
        }
        if let Some(url) = &c.smtp_url {
            anjian_usecases::outbox::Mailer::new(&url.0, &c.mail_from)
                .context("ANJIAN_SMTP_URL / ANJIAN_MAIL_FROM")?;
        }
        c.webhook_url = get("ANJIAN_WEBHOOK_URL").map(str::to_owned);
        c.webhook_secret = get("ANJIAN_WEBHOOK_SECRET").map(|s| Secret(s.to_owned()));
        match (&c.webhook_url, &c.webhook_secret) {
            (Some(url), Some(secret)) => {
                anjian_usecases::outbox::Webhook::new(url, &secret.0)
                    .context("ANJIAN_WEBHOOK_URL / ANJIAN_WEBHOOK_SECRET")?;
            }
            (Some(_), None) => bail!("ANJIAN_WEBHOOK_URL needs ANJIAN_WEBHOOK_SECRET to sign with"),
            (None, Some(_)) => bail!("ANJIAN_WEBHOOK_SECRET is set without ANJIAN_WEBHOOK_URL"),
            (None, None) => {}
        }
        if let Some(s) = get("ANJIAN_REPORT_RECIPIENTS") {
            c.report_recipients = s
                .split([',', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(bad) = c.report_recipients.iter().find(|r| !r.contains('@')) {
                bail!("ANJIAN_REPORT_RECIPIENTS: `{bad}` is not an e-mail address");
            }
        }
        c.secret_key = get("ANJIAN_SECRET_KEY").map(|s| Secret(s.to_owned()));
        if c.secret_key.as_ref().is_some_and(|k| k.0.len() < 32) {
            bail!("ANJIAN_SECRET_KEY must have at least 32 characters");
        }
        if let Some(s) = get("ANJIAN_LOG_FORMAT") {
            c.log_format = match s {
                "pretty" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                _ => bail!("ANJIAN_LOG_FORMAT must be `pretty` or `json`"),
            };
        }
        if let Some(s) = get("ANJIAN_LOG") {
            c.log_filter = s.to_owned();
        }
        if let Some(s) = get("ANJIAN_MAX_CONNECTIONS") {
            c.limits.max_connections = s.parse().ok().filter(|n| *n >= 1).with_context(|| {
                format!("ANJIAN_MAX_CONNECTIONS `{s}` is not a positive number")
            })?;
        }
        if let Some(s) = get("ANJIAN_MAX_PENDING_PHOTOS") {
            c.max_pending_photos = s.parse().ok().filter(|n| *n >= 1).with_context(|| {
                format!("ANJIAN_MAX_PENDING_PHOTOS `{s}` is not a positive number")
            })?;
        }
        if let Some(s) = get("ANJIAN_PHOTO_WORKERS") {
            c.photo_workers = s
                .parse()
                .ok()
                .with_context(|| format!("ANJIAN_PHOTO_WORKERS `{s}` is not a number"))?;
        }
        if let Some(s) = get("ANJIAN_PHOTO_LEASE_SECS") {
            c.photo_lease_secs = s.parse().ok().filter(|n| *n >= 1).with_context(|| {
                format!("ANJIAN_PHOTO_LEASE_SECS `{s}` is not a positive number")
            })?;
        }
        if let Some(s) = get("ANJIAN_JOB_LEASE_SECS") {
            c.job_lease_secs =
                s.parse().ok().filter(|n| *n >= 1).with_context(|| {
                    format!("ANJIAN_JOB_LEASE_SECS `{s}` is not a positive number")
                })?;
        }
        if let Some(s) = get("ANJIAN_TRUSTED_PROXIES") {
            c.trusted_proxies = s
                .parse()
                .map_err(|e| anyhow::anyhow!("ANJIAN_TRUSTED_PROXIES: {e}"))?;
        }
        Ok(c)
    }

    /// The database URL, SQLite in the data dir by default.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.0.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("anjian.db").display()
            ),
        }
    }

    /// Base of links handed to clients.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }

    /// The signing key: configured, or generated once and kept in the data dir.
    pub fn secret_key(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(k) = &self.secret_key {
            return Ok(k.0.as_bytes().to_vec());
        }
        let path = self.data_dir.join("secret.key");
        if let Ok(hex_key) = std::fs::read_to_string(&path) {
            return hex::decode(hex_key.trim())
                .with_context(|| format!("{} is corrupt", path.display()));
        }
        let key: [u8; 32] = rand::random();
        write_private(&path, hex::encode(key).as_bytes())?;
        Ok(key.to_vec())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = Config::load(&env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url().starts_with("sqlite://./data/anjian.db"));
        assert!(c.s3.is_none());
        assert_eq!(c.timezone, chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn environment_overrides_and_is_checked() {
        let c = Config::load(&env(&[
            ("ANJIAN_LISTEN", "0.0.0.0:9000"),
            ("ANJIAN_LOG_FORMAT", "json"),
        ]))
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(Config::load(&env(&[("ANJIAN_LISTEN", "nope")])).is_err());
        assert!(Config::load(&env(&[("ANJIAN_TIMEZONE", "Mars/Base")])).is_err());
        assert!(Config::load(&env(&[("ANJIAN_S3_BUCKET", "b")])).is_err());
        assert!(Config::load(&env(&[("ANJIAN_ADMIN_PASSWORD", "short")])).is_err());
        assert!(Config::load(&env(&[("ANJIAN_TRUSTED_PROXIES", "10.0.0.0/8,::1")])).is_ok());
        assert!(Config::load(&env(&[("ANJIAN_TRUSTED_PROXIES", "lb.local")])).is_err());
    }

    #[test]
    fn an_external_store_may_have_a_public_address_of_its_own() {
        let s3 = [
            ("ANJIAN_S3_ENDPOINT", "http://minio:9000"),
            ("ANJIAN_S3_BUCKET", "evidence"),
            ("AWS_ACCESS_KEY_ID", "ak"),
            ("AWS_SECRET_ACCESS_KEY", "sk"),
        ];
        let c = Config::load(&env(&s3)).unwrap().s3.unwrap();
        assert_eq!(
            (c.endpoint.as_str(), c.public_endpoint),
            ("http://minio:9000", None)
        );
        let mut with_public = s3.to_vec();
        with_public.push(("ANJIAN_S3_PUBLIC_ENDPOINT", "https://files.example.cn"));
        let c = Config::load(&env(&with_public)).unwrap().s3.unwrap();
        assert_eq!(
            c.public_endpoint.as_deref(),
            Some("https://files.example.cn")
        );
        let mut bad = s3.to_vec();
        bad.push(("ANJIAN_S3_PUBLIC_ENDPOINT", "files.example.cn"));
        assert!(Config::load(&env(&bad)).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::load(&env(&[("DATABASE_URL", "postgres://u:pw@h/db")])).unwrap();
        assert!(!format!("{c:?}").contains("pw@"));
    }

    #[test]
    fn toml_file_sets_the_same_keys() {
        let dir = std::env::temp_dir().join(format!("anjian-cfg-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("anjian.toml");
        std::fs::write(
            &p,
            "listen = \"127.0.0.1:9100\"\nreport_recipients = [\"a@x.cn\", \"b@x.cn\"]\n",
        )
        .unwrap();
        let c = Config::load(&env(&[("ANJIAN_CONFIG", p.to_str().unwrap())])).unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.report_recipients.len(), 2);
        let c = Config::load(&env(&[
            ("ANJIAN_CONFIG", p.to_str().unwrap()),
            ("ANJIAN_LISTEN", "127.0.0.1:9200"),
        ]))
        .unwrap();
        assert_eq!(c.listen.port(), 9200);
        std::fs::write(&p, "bogus = 1\n").unwrap();
        assert!(Config::load(&env(&[("ANJIAN_CONFIG", p.to_str().unwrap())])).is_err());
    }
}
