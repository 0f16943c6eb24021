//! Records for tests, on the database the test run asks for.
//!
//! With `HOTLINE_TEST_RECORDS=postgres`, each call makes a fresh database on the PostgreSQL
//! server at `HOTLINE_TEST_POSTGRES_URL` (the README's test command starts a throwaway one and
//! runs the records' tests a second time this way); otherwise each call is a new SQLite
//! database in memory. Asking for PostgreSQL without a server is an error, never a silent
//! fall-back to SQLite.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AnyConnection, Connection, Executor};

use crate::crypto::Keyring;
use crate::error::StoreError;
use crate::records_db::{install_drivers, Records};

/// The variable that picks the database of [`records`]: `postgres`, or unset for SQLite.
pub const RECORDS_VAR: &str = "HOTLINE_TEST_RECORDS";
/// The variable holding the URL of the PostgreSQL server tests may make databases on.
pub const POSTGRES_URL_VAR: &str = "HOTLINE_TEST_POSTGRES_URL";

/// Fresh, empty records on the database this test run is for (see the module).
pub async fn records(keyring: Keyring) -> Result<Records, StoreError> {
    match std::env::var(RECORDS_VAR).as_deref() {
        Ok("postgres") => {
            let url = std::env::var(POSTGRES_URL_VAR).map_err(|_| {
                StoreError::InvalidConfig(
                    "HOTLINE_TEST_RECORDS=postgres needs HOTLINE_TEST_POSTGRES_URL",
                )
            })?;
            let url = fresh_postgres_database(&url).await?;
            Records::connect_postgres(&url, keyring).await
        }
        Ok("sqlite") | Err(_) => Records::open_in_memory(keyring).await,
        Ok(_) => Err(StoreError::InvalidConfig(
            "HOTLINE_TEST_RECORDS is postgres or sqlite",
        )),
    }
}

/// Makes a new database on the server of `server_url` and answers its URL.
pub async fn fresh_postgres_database(server_url: &str) -> Result<String, StoreError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    install_drivers();
    let name = format!(
        "hotline_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        random_u32()?
    );
    let mut admin = AnyConnection::connect(server_url).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    admin.close().await?;
    let (base, params) = match server_url.split_once('?') {
        Some((base, params)) => (base, Some(params)),
        None => (server_url, None),
    };
    let server = base
        .rsplit_once('/')
        .filter(|(host, _)| host.contains("//") && !host.ends_with('/'))
        .map_or(base, |(host, _)| host);
    Ok(match params {
        Some(params) => format!("{server}/{name}?{params}"),
        None => format!("{server}/{name}"),
    })
}

fn random_u32() -> Result<u32, StoreError> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Invariant(format!("no random numbers: {e}")))?;
    Ok(u32::from_le_bytes(bytes))
}
