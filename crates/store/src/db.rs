//! The database handle: connection, migrations, and the SQLite writer lock.

use std::sync::Arc;
use std::time::Duration;

use anjian_migrations::{Migrator, MigratorTrait};
use anyhow::Context;
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection};
use tokio::sync::Mutex;

use crate::write::{Actor, WriteTx};
use crate::{Error, Result};

/// A connection pool plus what the write path needs to stay correct on both databases.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    /// SQLite has one writer at a time; a transaction that reads and then writes
    /// fails with SQLITE_BUSY when another connection got the write lock first.
    /// Taking this lock before `BEGIN` makes write transactions queue instead.
    write_lock: Option<Arc<Mutex<()>>>,
}

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5));
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            opts.max_connections(8).min_connections(1);
            opts.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
            });
        } else {
            opts.max_connections(16).min_connections(1);
        }
        let conn = Database::connect(opts)
            .await
            .with_context(|| format!("connecting to {}", redact(url)))?;
        Ok(Db {
            conn,
            write_lock: sqlite.then(|| Arc::new(Mutex::new(()))),
        })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.conn, None)
            .await
            .context("running migrations")
    }

    /// The pool, for reads.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// Begins a write transaction on behalf of `actor`, at the wall clock's time.
    pub async fn write(&self, actor: Actor) -> Result<WriteTx> {
        self.write_at(actor, &anjian_domain::SystemClock).await
    }

    /// Begins a write transaction on behalf of `actor`; what it writes is
    /// stamped with `clock`'s time as the transaction begins.
    pub async fn write_at(
        &self,
        actor: Actor,
        clock: &dyn anjian_domain::Clock,
    ) -> Result<WriteTx> {
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        WriteTx::begin(&self.conn, actor, clock.now(), guard).await
    }

    /// Closes every pooled connection.
    pub async fn close(self) -> anyhow::Result<()> {
        self.conn.close().await.context("closing the pool")
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        self.conn.ping().await.map_err(Error::internal)
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Maps a database error: unique violations become `conflict`, the rest `internal`.
pub fn db_err(e: sea_orm::DbErr) -> Error {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict("unique".into()),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => Error::NotFound,
        _ => Error::internal(e),
    }
}

/// Whether an error is the database refusing what one statement gave it (a
/// value it can't store, a constraint, a size limit) rather than failing: the
/// fault of one mutation's content, never an outage to retry.
pub fn refused_content(e: &Error) -> bool {
    let Error::Internal(cause) = e else {
        return false;
    };
    let Some(db) = cause.downcast_ref::<sea_orm::DbErr>() else {
        return false;
    };
    let (sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(x))
    | sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(x))) = db
    else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(d) = x.as_ref() else {
        return false;
    };
    let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
    refused_content_code(&code)
}

/// The database error codes that mean "refused for its content": PostgreSQL
/// SQLSTATE classes 22 (data exception), 23 (integrity constraint) and 54
/// (program limit exceeded); SQLite's TOOBIG, CONSTRAINT, MISMATCH and RANGE
/// (extended codes included).
fn refused_content_code(code: &str) -> bool {
    // SQLSTATEs have five characters; SQLite's codes are numbers of at most four digits.
    if code.len() == 5 {
        return ["22", "23", "54"].contains(&&code[..2]);
    }
    match code.parse::<u32>() {
        Ok(n) => matches!(n & 0xff, 18 | 19 | 20 | 25),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_refusals_are_told_from_outages() {
        use super::refused_content_code as r;
        // PostgreSQL: NUL in text (22021), not-null (23502), too large (54000).
        assert!(r("22021") && r("23502") && r("54000"));
        // Connection failure, serialization failure, shutdown, syntax.
        assert!(!r("08006") && !r("40001") && !r("57P01") && !r("42601"));
        // SQLite: CONSTRAINT_NOTNULL 1299, TOOBIG 18; BUSY 5, IOERR 10, FULL 13.
        assert!(r("1299") && r("18") && r("2067"));
        assert!(!r("5") && !r("10") && !r("13") && !r("517"));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
