//! SIP users kept in SQLite (`[sip] users_db`): reads the `users` table and merges it with `[[sip.user]]`.
//!
//! This is runtime IO: the core never opens the file. The merged list reaches the core as recorded data, in the
//! setup's configuration at start ([`super::build_setup`]) and as an
//! [`Input::SipUsersReload`](crate::events::Input::SipUsersReload) on reload, so replay needs no database.
//!
//! The table (extra columns are ignored; every column but `name` may be NULL):
//!
//! ```sql
//! CREATE TABLE users (
//!     name       TEXT PRIMARY KEY,  -- the username (user part of the address-of-record)
//!     password   TEXT,              -- plain password, or:
//!     ha1        TEXT,              -- H(name:realm:password) with MD5, 32 hex digits
//!     ha1_sha256 TEXT,              -- the same with SHA-256, 64 hex digits
//!     realm      TEXT               -- realm of the H(A1) values; NULL: [sip] realm
//! );
//! ```

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use thiserror::Error;

use crate::config::{Config, SipUser};

/// Why the users database could not be used.
#[derive(Debug, Error)]
pub enum UsersDbError {
    /// The file could not be opened or the `users` table read.
    #[error("users_db {path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A row is not a usable user.
    #[error("users_db {path}: row {row} of table users: {problem}")]
    BadRow {
        /// The file.
        path: PathBuf,
        /// The row's rowid.
        row: i64,
        /// What is wrong with it.
        problem: String,
    },
}

/// Reads every user of the `users` table at `path`, in name order, checking each like a `[[sip.user]]`.
pub fn read_users(path: &Path) -> Result<Vec<SipUser>, UsersDbError> {
    let sqlite = |source| UsersDbError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    // Read-only, and never created: a mistyped path must fail, not start with an empty user list.
    let connection =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
    let mut statement = connection
        .prepare("SELECT rowid, name, password, ha1, ha1_sha256, realm FROM users ORDER BY name")
        .map_err(sqlite)?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                SipUser {
                    name: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    password: row.get(2)?,
                    ha1: row.get(3)?,
                    ha1_sha256: row.get(4)?,
                    realm: row.get(5)?,
                },
            ))
        })
        .map_err(sqlite)?;
    let mut users = Vec::new();
    for row in rows {
        let (rowid, user) = row.map_err(sqlite)?;
        if let Some(problem) = user.problem() {
            return Err(UsersDbError::BadRow {
                path: path.to_path_buf(),
                row: rowid,
                problem,
            });
        }
        users.push(user);
    }
    Ok(users)
}

/// `[[sip.user]]` followed by the database's users whose names the configuration does not already give (the
/// configuration wins); just `[[sip.user]]` when no `users_db` is set.
pub fn merged_users(config: &Config) -> Result<Vec<SipUser>, UsersDbError> {
    let mut users = config.sip.user.clone();
    if let Some(path) = &config.sip.users_db {
        for user in read_users(path)? {
            if !users.iter().any(|u| u.name == user.name) {
                users.push(user);
            }
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(rows: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.sqlite");
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE users (name TEXT PRIMARY KEY, password TEXT, ha1 TEXT, ha1_sha256 TEXT, \
                 realm TEXT, note TEXT)",
            )
            .unwrap();
        for row in rows {
            connection
                .execute_batch(&format!("INSERT INTO users VALUES ({row})"))
                .unwrap();
        }
        (dir, path)
    }

    #[test]
    fn reads_users_in_name_order() {
        let (_dir, path) = database(&[
            "'carol', NULL, NULL, '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', \
             'other', 'x'",
            "'bob', 'secret', NULL, NULL, NULL, NULL",
        ]);
        let users = read_users(&path).unwrap();
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["bob", "carol"]);
        assert_eq!(users[0].password.as_deref(), Some("secret"));
        assert_eq!(users[0].realm, None);
        assert_eq!(users[1].realm.as_deref(), Some("other"));
        assert!(users[1].ha1_sha256.is_some() && users[1].password.is_none());
    }

    #[test]
    fn a_bad_row_is_named() {
        let (_dir, path) = database(&[
            "'bob', 'secret', NULL, NULL, NULL, NULL",
            "'dave', NULL, 'not-hex', NULL, NULL, NULL",
        ]);
        let error = read_users(&path).unwrap_err().to_string();
        assert!(error.contains("users.sqlite"), "{error}");
        assert!(error.contains("row 2"), "{error}");
        assert!(error.contains("\"dave\""), "{error}");
        let (_dir, path) = database(&["'erin', NULL, NULL, NULL, NULL, NULL"]);
        let error = read_users(&path).unwrap_err().to_string();
        assert!(error.contains("needs either password"), "{error}");
    }

    #[test]
    fn a_missing_file_or_table_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.sqlite");
        let error = read_users(&missing).unwrap_err().to_string();
        assert!(error.contains("nope.sqlite"), "{error}");
        assert!(!missing.exists(), "the loader must not create the file");
        let empty = dir.path().join("empty.sqlite");
        Connection::open(&empty).unwrap();
        let error = read_users(&empty).unwrap_err().to_string();
        assert!(error.contains("users"), "{error}");
    }

    #[test]
    fn configuration_users_win_over_rows_of_the_same_name() {
        let (_dir, path) = database(&[
            "'alice', 'from-db', NULL, NULL, NULL, NULL",
            "'bob', 'secret', NULL, NULL, NULL, NULL",
        ]);
        let mut config = Config::default();
        config.sip.user.push(SipUser {
            name: "alice".into(),
            password: Some("from-config".into()),
            ha1: None,
            ha1_sha256: None,
            realm: None,
        });
        config.sip.users_db = Some(path);
        let users = merged_users(&config).unwrap();
        let summary: Vec<(&str, Option<&str>)> = users
            .iter()
            .map(|u| (u.name.as_str(), u.password.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [("alice", Some("from-config")), ("bob", Some("secret"))]
        );
    }

    #[test]
    fn the_setup_records_the_users_and_not_the_file() {
        let (_dir, path) = database(&["'bob', 'secret', NULL, NULL, NULL, NULL"]);
        let mut config = Config::default();
        config.sip.users_db = Some(path.clone());
        let setup = super::super::build_setup(&config, 1).unwrap();
        let recorded: Config = toml::from_str(&setup.config).unwrap();
        assert_eq!(recorded.sip.users_db, None);
        assert_eq!(recorded.sip.user.len(), 1);
        assert_eq!(recorded.sip.user[0].name, "bob");
        // A bad database stops the start with the file in the message.
        std::fs::write(&path, b"not sqlite").unwrap();
        let error = super::super::build_setup(&config, 1)
            .unwrap_err()
            .to_string();
        assert!(error.contains("users.sqlite"), "{error}");
    }
}
