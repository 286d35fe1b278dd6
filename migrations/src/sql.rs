//! Portable DDL: one text for both databases, with type tokens rendered per backend.
//!
//! | token   | PostgreSQL         | SQLite  |
//! |---------|--------------------|---------|
//! | `UUID`  | uuid               | BLOB (how sqlx stores a `Uuid` in SQLite) |
//! | `TSTZ`  | timestamptz        | TEXT (RFC 3339) |
//! | `JSONB` | jsonb              | TEXT    |
//! | `DATE`  | date               | TEXT    |
//! | `BOOL`  | boolean            | BOOLEAN |
//! | `I64`   | bigint             | INTEGER |
//! | `F64`   | double precision   | REAL    |

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

fn render(ddl: &str, backend: DatabaseBackend) -> String {
    let pairs: &[(&str, &str, &str)] = &[
        ("UUID", "uuid", "BLOB"),
        ("TSTZ", "timestamptz", "TEXT"),
        ("JSONB", "jsonb", "TEXT"),
        ("DATE", "date", "TEXT"),
        ("BOOL", "boolean", "BOOLEAN"),
        ("I64", "bigint", "INTEGER"),
        ("F64", "double precision", "REAL"),
    ];
    let pg = matches!(backend, DatabaseBackend::Postgres);
    ddl.split_inclusive(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .map(|piece| {
            let word_len = piece
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(piece.len());
            let (word, rest) = piece.split_at(word_len);
            match pairs.iter().find(|(t, _, _)| *t == word) {
                Some((_, p, s)) => format!("{}{rest}", if pg { p } else { s }),
                None => piece.to_owned(),
            }
        })
        .collect()
}

/// Runs each `;`-terminated statement of `ddl` on the connection's backend.
pub(crate) async fn run(manager: &SchemaManager<'_>, ddl: &str) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let backend = conn.get_database_backend();
    for stmt in render(ddl, backend).split(';') {
        let stmt = stmt.trim();
        if !stmt.is_empty() {
            conn.execute_unprepared(stmt).await?;
        }
    }
    Ok(())
}

/// A migration that is DDL text: `up` applies it, `down` undoes it.
macro_rules! ddl_migration {
    ($name:literal, $up:expr, $down:expr) => {
        pub(crate) struct Migration;

        impl sea_orm_migration::prelude::MigrationName for Migration {
            fn name(&self) -> &str {
                $name
            }
        }

        #[sea_orm_migration::prelude::async_trait::async_trait]
        impl sea_orm_migration::prelude::MigrationTrait for Migration {
            /// In one transaction on both databases: its statements and its
            /// record apply together, on one connection. (On SQLite a pool's
            /// other connection may parse DDL against a schema it cached before
            /// an earlier statement dropped a table: "index already exists".)
            fn use_transaction(&self) -> Option<bool> {
                Some(true)
            }

            async fn up(
                &self,
                manager: &sea_orm_migration::prelude::SchemaManager,
            ) -> Result<(), sea_orm_migration::prelude::DbErr> {
                crate::sql::run(manager, $up).await
            }

            async fn down(
                &self,
                manager: &sea_orm_migration::prelude::SchemaManager,
            ) -> Result<(), sea_orm_migration::prelude::DbErr> {
                crate::sql::run(manager, $down).await
            }
        }
    };
}
pub(crate) use ddl_migration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tokens_only_as_whole_words() {
        let ddl = "CREATE TABLE t (id UUID, uuid_text TEXT, at TSTZ, n I64);";
        assert_eq!(
            render(ddl, DatabaseBackend::Postgres),
            "CREATE TABLE t (id uuid, uuid_text TEXT, at timestamptz, n bigint);"
        );
        assert_eq!(
            render(ddl, DatabaseBackend::Sqlite),
            "CREATE TABLE t (id BLOB, uuid_text TEXT, at TEXT, n INTEGER);"
        );
    }
}
