//! The end-to-end harness: the real server (what `anjian serve` runs) on
//! 127.0.0.1:0 with a fresh database per test — a copy of a migrated and seeded
//! SQLite file, or on PostgreSQL a database cloned from a migrated and seeded
//! template — and an HTTP client.
//!
//! The backend is SQLite unless `ANJIAN_TEST_DATABASE_URL` names a PostgreSQL
//! server (an admin connection, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::path::PathBuf;

use anjian::{Config, Running, StartOptions};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

pub mod corpus;
pub mod field;
pub mod process;
pub mod proxy;
pub mod smtp;
pub mod web;
pub mod webhook;

/// The password of the admin every test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// The signing key of every test server.
pub const SECRET_KEY: &str = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";

/// Which database the suite runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

impl Backend {
    pub fn current() -> Backend {
        match std::env::var("ANJIAN_TEST_DATABASE_URL") {
            Ok(u) if u.starts_with("postgres") => Backend::Postgres { admin_url: u },
            Ok(u) if !u.is_empty() => {
                panic!("ANJIAN_TEST_DATABASE_URL must be a postgres:// URL, got {u}")
            }
            _ => Backend::Sqlite,
        }
    }
}

/// Every file under `dir`, recursively.
fn source_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            source_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn fingerprint() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // Every migration, and the code that seeds (how rows and their audit
    // entries are written), as it is on disk: a change makes a new template.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "migrations/src",
        "crates/store/src",
        "crates/domain/src",
        "crates/usecases/src",
        "crates/anjian/src",
    ] {
        source_files(&root.join(dir), &mut files);
    }
    files.sort();
    for f in files {
        f.strip_prefix(&root).unwrap_or(&f).hash(&mut h);
        std::fs::read(&f).unwrap().hash(&mut h);
    }
    let f = anjian::seeds::files();
    (
        f.villages_yaml,
        f.enterprises_csv,
        f.campaigns_yaml,
        f.templates_yaml,
    )
        .hash(&mut h);
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

fn base_config(dir: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        admin_password: Some(anjian::config::Secret(ADMIN_PASSWORD.into())),
        secret_key: Some(anjian::config::Secret(SECRET_KEY.into())),
        ..Config::default()
    }
}

static SQLITE_TEMPLATE: OnceCell<(tempfile::TempDir, PathBuf)> = OnceCell::const_new();

async fn sqlite_template() -> PathBuf {
    let (_, path) = SQLITE_TEMPLATE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().unwrap();
            let build = dir.path().join("build");
            std::fs::create_dir_all(&build).unwrap();
            let db = anjian::app::prepare(&base_config(&build)).await.unwrap();
            let target = dir.path().join("template.db");
            db.conn()
                .execute_unprepared(&format!("VACUUM INTO '{}'", target.display()))
                .await
                .unwrap();
            db.close().await.unwrap();
            (dir, target)
        })
        .await;
    path.clone()
}

async fn pg_exec(url: &str, sql: &str) -> Result<(), sea_orm::DbErr> {
    let mut opts = sea_orm::ConnectOptions::new(url.to_owned());
    opts.max_connections(1).sqlx_logging(false);
    let c = Database::connect(opts).await?;
    let r = c.execute_unprepared(sql).await.map(|_| ());
    let _ = c.close().await;
    r
}

fn with_db(admin_url: &str, db: &str) -> String {
    match admin_url.rfind('/') {
        Some(i) if admin_url[..i].contains("://") && i > admin_url.find("://").unwrap() + 2 => {
            let query = admin_url[i..]
                .find('?')
                .map(|q| &admin_url[i + q..])
                .unwrap_or("");
            format!("{}/{db}{query}", &admin_url[..i])
        }
        _ => format!("{}/{db}", admin_url.trim_end_matches('/')),
    }
}

static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The template database, built once per fingerprint of migrations and seeds.
async fn pg_template(admin_url: &str) -> String {
    PG_TEMPLATE
        .get_or_init(|| async {
            let name = format!("anjian_tpl_{}", fingerprint());
            // One connection, so the session-level advisory lock and unlock meet.
            let mut opts = sea_orm::ConnectOptions::new(admin_url.to_owned());
            opts.max_connections(1).sqlx_logging(false);
            let admin = Database::connect(opts)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is unreachable: {e}"));
            // Serialise template builds across concurrently running test processes.
            admin
                .execute_unprepared("SELECT pg_advisory_lock(740521)")
                .await
                .unwrap();
            let exists = admin
                .query_one_raw(Statement::from_string(
                    admin.get_database_backend(),
                    format!("SELECT 1 AS x FROM pg_database WHERE datname = '{name}'"),
                ))
                .await
                .unwrap()
                .is_some();
            if !exists {
                let tmp = format!("{name}_build");
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {tmp} WITH (FORCE)"))
                    .await
                    .unwrap();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {tmp}"))
                    .await
                    .unwrap();
                let dir = tempfile::tempdir().unwrap();
                let mut cfg = base_config(dir.path());
                cfg.database_url = Some(anjian::config::Secret(with_db(admin_url, &tmp)));
                let db = anjian::app::prepare(&cfg).await.unwrap();
                db.close().await.unwrap();
                admin
                    .execute_unprepared(&format!("ALTER DATABASE {tmp} RENAME TO {name}"))
                    .await
                    .unwrap();
            }
            admin
                .execute_unprepared("SELECT pg_advisory_unlock(740521)")
                .await
                .unwrap();
            let _ = admin.close().await;
            name
        })
        .await
        .clone()
}

/// An S3 server of its own on a loopback port (the embedded implementation,
/// served alone), standing for an external store.
pub struct ExternalStore {
    pub addr: std::net::SocketAddr,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl ExternalStore {
    pub const BUCKET: &str = "evidence";
    const KEY_ID: &str = "AKIDEXTERNAL";
    const SECRET: &str = "external-secret-key-0123456789";

    pub async fn start() -> ExternalStore {
        let dir = tempfile::tempdir().unwrap();
        let key = anjian_evidence::embedded::KeyPair {
            id: Self::KEY_ID,
            secret: Self::SECRET,
        };
        let store = anjian_evidence::Embedded::open(dir.path(), Self::BUCKET, key, key).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = anjian::photos::serve_store(store, Self::BUCKET, listener);
        ExternalStore {
            addr,
            task,
            _dir: dir,
        }
    }

    /// The configuration that points a server at this store.
    pub fn config(&self, public_endpoint: Option<String>) -> anjian::config::S3Config {
        anjian::config::S3Config {
            endpoint: format!("http://{}", self.addr),
            public_endpoint,
            bucket: Self::BUCKET.into(),
            region: "cn-north-1".into(),
            access_key_id: anjian::config::Secret(Self::KEY_ID.into()),
            secret_access_key: anjian::config::Secret(Self::SECRET.into()),
        }
    }
}

/// A running server with its own database.
pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub running: Option<Running>,
    /// Before `dir`: fields drop in order, and the check reads the database in it.
    teardown: Teardown,
    pub dir: tempfile::TempDir,
}

/// A data directory and a fresh copy of the seeded database, with the
/// configuration of a server on them.
pub struct Provisioned {
    pub backend: Backend,
    pub cfg: Config,
    /// Before `dir`: fields drop in order, and the check reads the database in it.
    pub teardown: Teardown,
    pub dir: tempfile::TempDir,
}

impl Provisioned {
    /// Copies the template (SQLite file or PostgreSQL database) for one
    /// server; `adjust` changes the configuration first.
    pub async fn new(adjust: impl FnOnce(&mut Config)) -> Provisioned {
        let backend = Backend::current();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = base_config(dir.path());
        adjust(&mut cfg);
        let mut pg_db = None;
        match &backend {
            Backend::Sqlite => {
                let template = sqlite_template().await;
                std::fs::copy(template, dir.path().join("anjian.db")).unwrap();
            }
            Backend::Postgres { admin_url } => {
                let template = pg_template(admin_url).await;
                let name = format!("anjian_t_{}", uuid::Uuid::now_v7().simple());
                pg_exec(
                    admin_url,
                    &format!("CREATE DATABASE {name} TEMPLATE {template}"),
                )
                .await
                .unwrap();
                cfg.database_url = Some(anjian::config::Secret(with_db(admin_url, &name)));
                pg_db = Some((admin_url.clone(), name));
            }
        }
        let db_url = cfg.database_url();
        Provisioned {
            backend,
            dir,
            cfg,
            teardown: Teardown { pg_db, db_url },
        }
    }
}

/// What is checked and removed when a test's server goes: the write path's
/// promise on its database, then the database itself (PostgreSQL).
pub struct Teardown {
    pg_db: Option<(String, String)>,
    /// Where the database is, for the checks at teardown.
    db_url: String,
}

impl Teardown {
    pub fn db_url(&self) -> &str {
        &self.db_url
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let url = self.db_url.clone();
            let checked = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(check_write_path(&url))
            })
            .join()
            .unwrap();
            if let Err(e) = checked {
                panic!("the write path's promise is broken: {e}");
            }
        }
        if let Some((admin, name)) = self.pg_db.take() {
            // Best effort: a test that fails leaves its database for inspection
            // only until the next `.ci/run`, which drops them all.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    pg_exec(
                        &admin,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    )
                    .await
                })
            })
            .join();
        }
    }
}

impl TestApp {
    /// A server on a fresh copy of the seeded database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(StartOptions::default()).await
    }

    /// A server with the demo accounts as well.
    pub async fn spawn_demo() -> TestApp {
        Self::spawn_with(StartOptions {
            demo: true,
            ..StartOptions::default()
        })
        .await
    }

    pub async fn spawn_with(opts: StartOptions) -> TestApp {
        Self::spawn_configured(opts, |_| {}).await
    }

    /// A server whose configuration `adjust` changes first (e.g. an external S3).
    pub async fn spawn_configured(opts: StartOptions, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let Provisioned {
            backend,
            dir,
            cfg,
            teardown,
        } = Provisioned::new(adjust).await;
        let running = anjian::start(&cfg, opts).await.unwrap();
        TestApp {
            url: format!("http://{}", running.addr),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            backend,
            running: Some(running),
            dir,
            teardown,
        }
    }

    /// The URL of this server's database.
    pub fn db_url(&self) -> &str {
        self.teardown.db_url()
    }

    /// Stops the server and starts it again on the same data directory and
    /// database, with `opts`.
    pub async fn restart(&mut self, opts: StartOptions) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
        let mut cfg = base_config(self.dir.path());
        if matches!(self.backend, Backend::Postgres { .. }) {
            cfg.database_url = Some(anjian::config::Secret(self.db_url().to_owned()));
        }
        let running = anjian::start(&cfg, opts).await.unwrap();
        self.url = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    /// The database of this server.
    pub fn db(&self) -> &anjian_store::Db {
        &self.running.as_ref().unwrap().db
    }

    /// A request to `path` (relative to the server root), with a bearer token.
    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut r = self.client.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    /// Sends and returns status and JSON body (`Value::Null` when not JSON).
    pub async fn send(&self, r: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(self.req(Method::GET, path, Some(token))).await
    }

    /// The photo's metadata once its variants exist: the queue makes them
    /// after the completion's answer.
    pub async fn processed_photo(&self, token: &str, id: uuid::Uuid) -> Value {
        // A minute: a failed attempt is retried after 2, 4 and 8 s.
        for _ in 0..1200 {
            let (s, b) = self.get(&format!("/api/v1/photos/{id}"), token).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            if b["status"] == "processed" {
                return b;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("photo {id} was not processed within a minute");
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.req(Method::POST, path, Some(token)).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.req(Method::PATCH, path, Some(token)).json(&body))
            .await
    }

    /// Logs in and returns the whole answer.
    pub async fn login_full(&self, username: &str, password: &str) -> (StatusCode, Value) {
        self.send(
            self.req(Method::POST, "/api/v1/auth/login", None)
                .json(&json!({ "username": username, "password": password })),
        )
        .await
    }

    /// Logs in and returns the access token (panics on failure).
    pub async fn login(&self, username: &str, password: &str) -> String {
        let (s, b) = self.login_full(username, password).await;
        assert_eq!(s, StatusCode::OK, "login {username}: {b}");
        b["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Every item of a collection, following `next_cursor`.
    pub async fn all(&self, path: &str, token: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let p = match &cursor {
                Some(c) => format!("{path}{sep}limit=500&cursor={c}"),
                None => format!("{path}{sep}limit=500"),
            };
            let (s, b) = self.get(&p, token).await;
            assert_eq!(s, StatusCode::OK, "{p}: {b}");
            out.extend(b["items"].as_array().unwrap().iter().cloned());
            match b["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// Declares, uploads (through the API) and completes a photo of `bytes`
    /// as `token`'s user; its id. The photo is `verified` at least.
    pub async fn upload_photo(&self, token: &str, bytes: &[u8]) -> uuid::Uuid {
        let id = uuid::Uuid::now_v7();
        let (s, b) = self
            .post(
                "/api/v1/photos",
                token,
                json!({"id": id, "sha256": corpus::sha(bytes), "size": bytes.len(), "content_type": "image/jpeg"}),
            )
            .await;
        assert!(s.is_success(), "declare: {b}");
        if b["status"] == "pending_upload" {
            let put = self
                .req(
                    Method::PUT,
                    &format!("/api/v1/photos/{id}/content"),
                    Some(token),
                )
                .header("content-type", "application/octet-stream")
                .body(bytes.to_vec());
            let (s, b) = self.send(put).await;
            assert_eq!(s, StatusCode::NO_CONTENT, "upload: {b}");
            let (s, b) = self
                .send(self.req(
                    Method::POST,
                    &format!("/api/v1/photos/{id}/complete"),
                    Some(token),
                ))
                .await;
            assert_eq!(s, StatusCode::OK, "complete: {b}");
        }
        id
    }

    /// Creates a user through the admin API and returns its id.
    pub async fn create_user(&self, admin: &str, body: Value) -> String {
        let (s, b) = self.post("/api/v1/users", admin, body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_str().unwrap().to_owned()
    }

    /// Counts rows of a table, straight from the database.
    pub async fn count(&self, table: &str) -> i64 {
        let db = self.db();
        let row = db
            .conn()
            .query_one_raw(Statement::from_string(
                db.backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

/// What tells apart the child rows of one record, as its audit entry has it.
fn child_key(entity_type: &str, row: &Value) -> Option<String> {
    let field = match entity_type {
        "hazard_event" => "id",
        "inspection_result" => "item_code",
        "checklist_item" => "code",
        "user_village" => "village_id",
        "stored_object" => "sha256",
        _ => return None,
    };
    row[field].as_str().map(str::to_owned)
}

/// A child row as the teardown check sees it.
struct ChildRow {
    entity_type: &'static str,
    audit_id: uuid::Uuid,
    parent: Option<(&'static str, uuid::Uuid)>,
    key: String,
}

impl ChildRow {
    fn of<M: anjian_store::Child>(m: &M) -> ChildRow {
        ChildRow {
            entity_type: M::ENTITY_TYPE,
            audit_id: m.audit_id(),
            parent: m.parent(),
            key: m.key(),
        }
    }
}

/// Every child row in the database.
async fn child_rows(db: &sea_orm::DatabaseConnection) -> Result<Vec<ChildRow>, String> {
    use anjian_store::entity::{
        checklist_item, hazard_event, inspection_result, stored_object, user_village,
    };
    async fn rows<E>(db: &sea_orm::DatabaseConnection) -> Result<Vec<ChildRow>, String>
    where
        E: sea_orm::EntityTrait,
        E::Model: anjian_store::Child,
    {
        let all = E::find().all(db).await.map_err(|e| e.to_string())?;
        Ok(all.iter().map(ChildRow::of).collect())
    }
    let mut out = rows::<hazard_event::Entity>(db).await?;
    out.extend(rows::<inspection_result::Entity>(db).await?);
    out.extend(rows::<checklist_item::Entity>(db).await?);
    out.extend(rows::<user_village::Entity>(db).await?);
    out.extend(rows::<stored_object::Entity>(db).await?);
    Ok(out)
}

/// What the write path promises, checked on a test's database after the test
/// (conventions.md "Tests"): every change-feed entry has the audit entry of
/// that version of its record, no record's versions skip, and every
/// child row (history, results, checklist items, villages, stored objects) has
/// its audit entry.
pub async fn check_write_path(url: &str) -> Result<(), String> {
    use anjian_store::entity::{audit_log, change_feed};
    use sea_orm::{EntityTrait, QuerySelect};
    let mut opts = sea_orm::ConnectOptions::new(url.to_owned());
    opts.max_connections(1).sqlx_logging(false);
    let db = Database::connect(opts).await.map_err(|e| e.to_string())?;
    let audit: Vec<(String, uuid::Uuid, Option<Value>, Option<Value>)> = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::EntityType)
        .column(audit_log::Column::EntityId)
        .column(audit_log::Column::Before)
        .column(audit_log::Column::After)
        .into_tuple()
        .all(&db)
        .await
        .map_err(|e| e.to_string())?;
    let feed: Vec<(String, uuid::Uuid, i64)> = change_feed::Entity::find()
        .select_only()
        .column(change_feed::Column::EntityType)
        .column(change_feed::Column::EntityId)
        .column(change_feed::Column::Version)
        .into_tuple()
        .all(&db)
        .await
        .map_err(|e| e.to_string())?;
    let children = child_rows(&db).await?;
    let _ = db.close().await;
    // A child row is audited by an entry of its own (the whole row), or named
    // by its key in the entry of its record's change (`after.children`).
    let mut own: std::collections::HashSet<(String, uuid::Uuid, String)> =
        std::collections::HashSet::new();
    let mut folded: std::collections::HashSet<(String, String, uuid::Uuid, String)> =
        std::collections::HashSet::new();
    for (t, id, before, after) in &audit {
        let Some(row) = after.as_ref().or(before.as_ref()) else {
            continue;
        };
        if let Some(key) = child_key(t, row) {
            own.insert((t.clone(), *id, key));
        }
        for (ct, keys) in row
            .get("children")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for k in keys
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                folded.insert((t.clone(), ct.clone(), *id, k.to_owned()));
            }
        }
    }
    for c in &children {
        let by_own = own.contains(&(c.entity_type.to_owned(), c.audit_id, c.key.clone()));
        let by_parent = c.parent.is_some_and(|(pt, pid)| {
            folded.contains(&(pt.to_owned(), c.entity_type.to_owned(), pid, c.key.clone()))
        });
        if !by_own && !by_parent {
            return Err(format!(
                "{} row {} of {} has no audit entry",
                c.entity_type, c.key, c.audit_id
            ));
        }
    }
    let version = |v: &Option<Value>| v.as_ref().and_then(|v| v["version"].as_i64());
    let mut audited: std::collections::HashMap<(String, uuid::Uuid), Vec<i64>> =
        std::collections::HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for (t, id, before, after) in &audit {
        if let Some(v) = version(after) {
            audited.entry((t.clone(), *id)).or_default().push(v);
        }
        for v in [version(before), version(after)].into_iter().flatten() {
            seen.insert((t.clone(), *id, v));
        }
    }
    for (t, id, v) in &feed {
        if !seen.contains(&(t.clone(), *id, *v)) {
            return Err(format!("feed entry {t} {id} v{v} has no audit entry"));
        }
    }
    for ((t, id), mut versions) in audited {
        versions.sort_unstable();
        versions.dedup();
        if versions
            .iter()
            .zip(versions[0]..)
            .any(|(v, want)| *v != want)
            || versions[0] != 1
        {
            return Err(format!("versions of {t} {id} skip: {versions:?}"));
        }
    }
    Ok(())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The server stops before its database is checked and removed.
        drop(self.running.take());
    }
}

/// Asserts the error envelope of api.md and returns its code.
pub fn envelope_code(body: &Value) -> String {
    let e = &body["error"];
    assert!(e.is_object(), "not an envelope: {body}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        e["request_id"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    e["code"].as_str().unwrap().to_owned()
}

/// Asserts a 422 `validation_failed` envelope; when `field` is given, that
/// its `details.fields` names it with exactly `reasons`.
#[track_caller]
pub fn assert_invalid(s: StatusCode, body: &Value, field: Option<(&str, &[&str])>) {
    assert_eq!(
        (s, envelope_code(body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed".to_owned()
        ),
        "{body}"
    );
    if let Some((name, reasons)) = field {
        assert_eq!(
            body["error"]["details"]["fields"][name],
            json!(reasons),
            "{body}"
        );
    }
}

/// A field device for sync tests: its id, its user's token, and its next `seq`.
pub struct Device {
    pub id: uuid::Uuid,
    pub token: String,
    pub next_seq: i64,
}

impl Device {
    pub fn new(token: String) -> Device {
        Device {
            id: uuid::Uuid::now_v7(),
            token,
            next_seq: 1,
        }
    }

    /// A mutation with the next `seq`.
    pub fn mutation(&mut self, kind: &str, base_version: Option<i64>, payload: Value) -> Value {
        let m = json!({"seq": self.next_seq, "type": kind, "base_version": base_version,
            "client_time": chrono::Utc::now(), "payload": payload});
        self.next_seq += 1;
        m
    }
}

impl TestApp {
    /// Pushes mutations from a device.
    pub async fn push(&self, d: &Device, mutations: Vec<Value>) -> (StatusCode, Value) {
        self.post(
            "/api/v1/sync/push",
            &d.token,
            json!({"device_id": d.id, "protocol": 1, "mutations": mutations}),
        )
        .await
    }

    /// Pulls pages of 400 until `has_more` is false; returns the changes and the last answer.
    pub async fn pull_all(&self, d: &Device, cursor: Option<&str>) -> (Vec<Value>, Value) {
        self.pull_pages(d, cursor, 400).await
    }

    /// Pulls pages of `limit` until `has_more` is false.
    pub async fn pull_pages(
        &self,
        d: &Device,
        cursor: Option<&str>,
        limit: usize,
    ) -> (Vec<Value>, Value) {
        let mut changes = Vec::new();
        let mut cursor = cursor.map(str::to_owned);
        loop {
            let path = match &cursor {
                Some(c) => format!(
                    "/api/v1/sync/pull?device_id={}&cursor={c}&limit={limit}",
                    d.id
                ),
                None => format!("/api/v1/sync/pull?device_id={}&limit={limit}", d.id),
            };
            let (s, b) = self.get(&path, &d.token).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            changes.extend(b["changes"].as_array().unwrap().iter().cloned());
            cursor = Some(b["cursor"].as_str().unwrap().to_owned());
            if !b["has_more"].as_bool().unwrap() {
                return (changes, b);
            }
        }
    }
}

impl TestApp {
    /// Pushes one new mutation from `d`.
    pub async fn push_one(
        &self,
        d: &mut Device,
        kind: &str,
        base_version: Option<i64>,
        payload: Value,
    ) -> (StatusCode, Value) {
        let m = d.mutation(kind, base_version, payload);
        self.push(d, vec![m]).await
    }
}
