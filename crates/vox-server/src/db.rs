//! Opening the database: backend choice, durability checks, migrations, the board head
//! row and the operator key.
//!
//! One `AnyPool` serves both backends: every query uses `$n` placeholders in ascending
//! order of first appearance, integers are `i64` (BIGINT on PostgreSQL) and bytes are
//! `Vec<u8>` (BLOB / BYTEA). Migrations are embedded, one folder per backend.

use std::time::Duration;

use ed25519_dalek::SigningKey;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::error::ServerError;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (WAL, synchronous=FULL).
    Sqlite,
    /// PostgreSQL (shared by several server processes).
    Postgres,
}

/// The pool and its backend.
#[derive(Clone, Debug)]
pub struct Db {
    /// Connections.
    pub pool: AnyPool,
    /// Engine.
    pub backend: Backend,
}

/// What the SQLite URL asked for, beyond what sqlx understands.
#[derive(Debug, PartialEq, Eq)]
struct SqliteSettings {
    url: String,
    /// The database file's path as given (relative to the working directory).
    path: String,
    /// Whether SQLite may create the file (`mode=rwc`, the default).
    creates: bool,
    synchronous: String,
    journal_mode: String,
}

/// Split our own parameters (`synchronous`, `journal_mode`) off a SQLite URL, add
/// `mode=rwc` so the file is created on first run, and refuse in-memory databases.
fn parse_sqlite_url(url: &str) -> Result<SqliteSettings, ServerError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let path = base
        .strip_prefix("sqlite://")
        .or_else(|| base.strip_prefix("sqlite:"))
        .unwrap_or(base);
    if path.is_empty() || path.contains(":memory:") {
        return Err(ServerError::Durability(
            "an in-memory SQLite database loses every acknowledged write at exit".into(),
        ));
    }
    let mut synchronous = String::from("FULL");
    let mut journal_mode = String::from("WAL");
    let mut kept = Vec::new();
    let mut has_mode = false;
    let mut creates = true;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "synchronous" => synchronous = v.to_ascii_uppercase(),
            "journal_mode" => journal_mode = v.to_ascii_uppercase(),
            "mode" => {
                if v == "memory" {
                    return Err(ServerError::Durability(
                        "an in-memory SQLite database loses every acknowledged write at exit"
                            .into(),
                    ));
                }
                has_mode = true;
                creates = v == "rwc";
                kept.push(pair.to_owned());
            }
            _ => kept.push(pair.to_owned()),
        }
    }
    if !has_mode {
        kept.push("mode=rwc".into());
    }
    let ok_word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !ok_word(&synchronous) || !ok_word(&journal_mode) {
        return Err(ServerError::Config(
            "synchronous and journal_mode must be plain words".into(),
        ));
    }
    Ok(SqliteSettings {
        url: format!("sqlite://{path}?{}", kept.join("&")),
        path: path.to_owned(),
        creates,
        synchronous,
        journal_mode,
    })
}

/// Connect, check durability, migrate.
pub async fn connect(url: Option<&str>, max_connections: u32) -> Result<Db, ServerError> {
    sqlx::any::install_default_drivers();
    let url = url.unwrap_or("sqlite://vox.db");
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        check_postgres(&pool).await?;
        migrate(&POSTGRES_MIGRATOR, &pool).await?;
        Ok(Db {
            pool,
            backend: Backend::Postgres,
        })
    } else if url.starts_with("sqlite:") {
        let s = parse_sqlite_url(url)?;
        private_sqlite_file(&s)?;
        let pragmas = [
            "PRAGMA busy_timeout = 30000".to_owned(),
            format!("PRAGMA journal_mode = {}", s.journal_mode),
            format!("PRAGMA synchronous = {}", s.synchronous),
            "PRAGMA foreign_keys = ON".to_owned(),
        ];
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                let pragmas = pragmas.clone();
                Box::pin(async move {
                    for p in &pragmas {
                        conn.execute(p.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect(&s.url)
            .await?;
        check_sqlite(&pool).await?;
        migrate(&SQLITE_MIGRATOR, &pool).await?;
        Ok(Db {
            pool,
            backend: Backend::Sqlite,
        })
    } else {
        Err(ServerError::Config(format!(
            "unsupported database URL {url:?}: use sqlite://PATH or postgres://…"
        )))
    }
}

/// The database holds every ballot, signature and act of the board, and the server's
/// own state: only its owner may read it. A new database file is created empty with
/// mode 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm` files the
/// database file's mode); an existing one (or its `-wal`/`-shm`) that the group or
/// others can read or write is refused, with the `chmod` that fixes it.
fn private_sqlite_file(s: &SqliteSettings) -> Result<(), ServerError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let path = std::path::Path::new(&s.path);
        if s.creates {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                // Let SQLite report a missing directory or a read-only place itself.
                Err(_) => return Ok(()),
            }
        }
        let mut exposed = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", s.path);
            if let Ok(m) = std::fs::metadata(&file) {
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    exposed.push((file, mode));
                }
            }
        }
        if !exposed.is_empty() {
            let list: Vec<String> = exposed
                .iter()
                .map(|(f, m)| format!("{f} (mode {m:o})"))
                .collect();
            let names: Vec<&str> = exposed.iter().map(|(f, _)| f.as_str()).collect();
            return Err(ServerError::Config(format!(
                "the database can be read or written by other users: {}; refusing to start. \
                 Run `chmod 600 {}` and start again",
                list.join(", "),
                names.join(" ")
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = s;
    Ok(())
}

/// Run the migrations. Several processes may start at once on a new database: on
/// PostgreSQL the migrator takes an advisory lock, on SQLite it does not, and the loser
/// of the race fails inserting a migration the winner recorded (its transaction is rolled
/// back). It then tries again, and finds the migrations applied.
async fn migrate(m: &sqlx::migrate::Migrator, pool: &AnyPool) -> Result<(), ServerError> {
    let mut attempt = 0u64;
    loop {
        match m.run(pool).await {
            Ok(()) => return Ok(()),
            Err(
                e @ (sqlx::migrate::MigrateError::Execute(_)
                | sqlx::migrate::MigrateError::ExecuteMigration(..)),
            ) if attempt < 5 => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "migration raced another process; retrying");
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// SQLite must run in WAL mode with synchronous=FULL (or EXTRA): with NORMAL a power
/// loss can undo transactions that were acknowledged.
async fn check_sqlite(pool: &AnyPool) -> Result<(), ServerError> {
    let mut conn = pool.acquire().await?;
    let sync: i64 = sqlx::query("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if sync < 2 {
        return Err(ServerError::Durability(format!(
            "SQLite synchronous={} could lose acknowledged writes; use FULL",
            match sync {
                0 => "OFF",
                _ => "NORMAL",
            }
        )));
    }
    let journal: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(ServerError::Durability(format!(
            "SQLite journal_mode={journal}; vox requires WAL"
        )));
    }
    Ok(())
}

/// PostgreSQL must flush commits: fsync on, synchronous_commit not off, full-page writes.
async fn check_postgres(pool: &AnyPool) -> Result<(), ServerError> {
    let mut conn = pool.acquire().await?;
    for (setting, bad) in [
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
    ] {
        let row: AnyRow = sqlx::query(&format!("SHOW {setting}"))
            .fetch_one(&mut *conn)
            .await?;
        let value: String = row.try_get(0)?;
        if value.eq_ignore_ascii_case(bad) {
            return Err(ServerError::Durability(format!(
                "PostgreSQL {setting}={value} could lose acknowledged writes"
            )));
        }
    }
    Ok(())
}

/// Create the board head row if there is none (first start; concurrent first starts
/// agree: the insert does nothing on conflict).
pub async fn ensure_head_row(db: &Db) -> Result<(), ServerError> {
    sqlx::query(
        "INSERT INTO board_head (id, size, last_timestamp_ms, root_hash) VALUES (1, 0, 0, $1) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(vox_protocol::merkle::EMPTY_ROOT.0.to_vec())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Name of the `server_keys` row where servers before protocol v2 kept the board key.
const LEGACY_KEY_ROW: &str = "board_signing_key";

/// The operator's signing key: `given` (from a key file; never written to the database)
/// or, without it, the key an earlier version stored in the database. A stored key that
/// differs from `given` is refused: the board would change keys under its readers.
pub async fn operator_key(db: &Db, given: Option<&SigningKey>) -> Result<SigningKey, ServerError> {
    let stored: Option<Vec<u8>> = sqlx::query("SELECT value FROM server_keys WHERE name = $1")
        .bind(LEGACY_KEY_ROW)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    let stored = stored
        .map(|b| {
            <[u8; 32]>::try_from(b.as_slice())
                .map(|k| SigningKey::from_bytes(&k))
                .map_err(|_| {
                    ServerError::Corrupt("the stored board signing key is not 32 bytes".into())
                })
        })
        .transpose()?;
    match (given, stored) {
        (Some(g), Some(s)) if g.verifying_key() != s.verifying_key() => {
            Err(ServerError::Config(format!(
                "the operator key given ({}) is not the board key stored in this database ({}); \
                 a board cannot change its key (start a new log whose genesis names this one as \
                 predecessor)",
                hex::encode(g.verifying_key().as_bytes()),
                hex::encode(s.verifying_key().as_bytes()),
            )))
        }
        (Some(g), _) => Ok(g.clone()),
        (None, Some(s)) => Ok(s),
        (None, None) => Err(ServerError::Config(
            "no operator key: give the server the board operator's key file (`vox serve \
             --operator-key FILE`, made with `vox keys new --role operator`), the key the \
             log's genesis names as operator"
                .into(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_parameters() {
        let s = parse_sqlite_url("sqlite:///tmp/x/vox.db").unwrap();
        assert_eq!(s.url, "sqlite:///tmp/x/vox.db?mode=rwc");
        assert_eq!(
            (s.synchronous.as_str(), s.journal_mode.as_str()),
            ("FULL", "WAL")
        );
        let s = parse_sqlite_url("sqlite://vox.db?synchronous=normal&mode=rw").unwrap();
        assert_eq!(s.url, "sqlite://vox.db?mode=rw");
        assert_eq!(s.synchronous, "NORMAL");
        assert!(matches!(
            parse_sqlite_url("sqlite::memory:"),
            Err(ServerError::Durability(_))
        ));
        assert!(matches!(
            parse_sqlite_url("sqlite://x.db?mode=memory"),
            Err(ServerError::Durability(_))
        ));
        assert!(parse_sqlite_url("sqlite://x.db?synchronous=full;DROP").is_err());
        assert!(parse_sqlite_url("sqlite://x.db").unwrap().creates);
        assert!(!parse_sqlite_url("sqlite://x.db?mode=rw").unwrap().creates);
        assert_eq!(
            parse_sqlite_url("sqlite:///a/x.db").unwrap().path,
            "/a/x.db"
        );
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("vox.db");
        let url = format!("sqlite://{}", db.display());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let d = connect(Some(&url), 2).await.unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER)")
                .execute(&d.pool)
                .await
                .unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let f = dir.path().join(format!("vox.db{suffix}"));
                assert_eq!(mode(&f), 0o600, "{}", f.display());
            }
            d.pool.close().await;
        });
        // Readable by others: refused, with the fix.
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = rt.block_on(connect(Some(&url), 2)).unwrap_err().to_string();
        assert!(e.contains(&format!("chmod 600 {}", db.display())), "{e}");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
        rt.block_on(connect(Some(&url), 2)).unwrap();
    }
}
