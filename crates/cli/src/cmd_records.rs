//! The records beside the switch: opening them with their keys, the REST API, and the
//! commands `hotline apikey …` and `hotline keys rotate`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use hotline_server::api::{self, now_ms, ApiState};
use hotline_store::{Keyring, Records, Role};

/// The records database in a data directory.
pub fn records_path(data: &Path) -> PathBuf {
    data.join("records.db")
}

/// The key file in a data directory (unless `$HOTLINE_KEYS` holds the keys).
pub fn keys_path(data: &Path) -> PathBuf {
    data.join("keys.txt")
}

/// The variable naming a PostgreSQL database for the records (`postgres://…`) instead of the
/// SQLite file in the data directory; every node of a scaled-out center names the same one.
pub const RECORDS_URL_VAR: &str = "HOTLINE_RECORDS_URL";

/// Opens the records: the PostgreSQL database of `$HOTLINE_RECORDS_URL` when it is set, else
/// `records.db` in `data`; on first use it creates the database's tables and the key file.
pub async fn open_records(data: &Path) -> Result<Records> {
    let keyring = Keyring::load_or_create(&keys_path(data)).map_err(|e| anyhow!("{e}"))?;
    open_records_with(data, keyring).await
}

/// Where the records are, for people: the SQLite file, or PostgreSQL (the URL itself may hold
/// a password and is not shown).
pub fn records_description(data: &Path) -> String {
    match std::env::var(RECORDS_URL_VAR) {
        Ok(url) if !url.is_empty() => format!("on PostgreSQL (${RECORDS_URL_VAR})"),
        _ => records_path(data).display().to_string(),
    }
}

async fn open_records_with(data: &Path, keyring: Keyring) -> Result<Records> {
    match std::env::var(RECORDS_URL_VAR) {
        Ok(url) if !url.is_empty() => Records::open_location(&url, keyring)
            .await
            .with_context(|| format!("opening the records at ${RECORDS_URL_VAR}")),
        _ => Records::open(records_path(data), keyring)
            .await
            .with_context(|| format!("opening {}", records_path(data).display())),
    }
}

/// A started API.
pub struct RunningApi {
    /// Where it listens.
    pub local: SocketAddr,
    /// The secret of the admin key made because there was none (shown once).
    pub new_admin_secret: Option<String>,
    /// Stops it.
    pub shutdown: tokio::sync::oneshot::Sender<()>,
    /// Its task.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the REST API on `listen` with `state` (records, pops, ticket rules, knowledge).
/// With no API key yet, makes an `admin` key and hands its secret back to be printed once.
pub async fn start_api(state: ApiState, listen: SocketAddr) -> Result<RunningApi> {
    let records = state.records.clone();
    let new_admin_secret = if records.api_keys().await?.is_empty() {
        let (_, secret) = records
            .create_api_key("admin", Role::Admin, now_ms(), "system")
            .await?;
        Some(secret)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the API to {listen}"))?;
    let local = listener.local_addr()?;
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(api::serve(listener, api::router(state), async move {
        let _ = stopped.await;
    }));
    Ok(RunningApi {
        local,
        new_admin_secret,
        shutdown,
        task,
    })
}

/// Arguments of `hotline apikey`.
#[derive(clap::Args, Debug)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    action: ApiKeyAction,
    /// The data directory (records in DATA/records.db).
    #[arg(long, global = true, default_value = "hotline-data")]
    data: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
enum ApiKeyAction {
    /// Makes a key and prints its secret (once: only a hash is kept).
    Create {
        /// A unique name: the actor in the audit log ("crm", "wechat", "supervisor-li").
        name: String,
        /// agent, supervisor or admin.
        #[arg(long, default_value = "agent")]
        role: String,
    },
    /// Lists the keys (names, roles, the first characters of each secret).
    List,
    /// Revokes a key at once.
    Revoke {
        /// The key's name.
        name: String,
    },
}

fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(future)
}

pub fn run_apikey(args: &ApiKeyArgs) -> Result<()> {
    block_on(async {
        let records = open_records(&args.data).await?;
        match &args.action {
            ApiKeyAction::Create { name, role } => {
                let role = Role::parse(role)
                    .ok_or_else(|| anyhow!("--role {role:?}: use agent, supervisor or admin"))?;
                let (_, secret) = records
                    .create_api_key(name, role, now_ms(), "cli")
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                println!("{secret}");
                eprintln!(
                    "hotline: API key {name:?} ({}) made; the secret above is shown only now",
                    role.as_str()
                );
            }
            ApiKeyAction::List => {
                for key in records.api_keys().await? {
                    println!(
                        "{:<24} {:<10} {}…  {}",
                        key.name,
                        key.role.as_str(),
                        key.prefix,
                        if key.revoked_ms.is_some() {
                            "revoked"
                        } else {
                            "live"
                        }
                    );
                }
            }
            ApiKeyAction::Revoke { name } => {
                if !records.revoke_api_key(name, now_ms(), "cli").await? {
                    bail!("no live API key named {name:?}");
                }
                println!("hotline: API key {name:?} revoked");
            }
        }
        records.close().await;
        Ok(())
    })
}

/// Arguments of `hotline keys`.
#[derive(clap::Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    action: KeysAction,
    /// The data directory (keys in DATA/keys.txt, records in DATA/records.db).
    #[arg(long, global = true, default_value = "hotline-data")]
    data: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
enum KeysAction {
    /// Adds a new encryption key, makes it active, and re-seals every personal value under
    /// it. The old keys stay in the file (values in backups still need them); remove them by
    /// hand once no backup needs them.
    Rotate,
}

pub fn run_keys(args: &KeysArgs) -> Result<()> {
    let KeysAction::Rotate = args.action;
    if std::env::var_os(hotline_store::crypto::KEYS_ENV).is_some() {
        bail!(
            "the keys come from ${}: rotate them there (add a key, make it active) and run \
             `hotline keys rotate` again without the variable set, or re-seal with the new \
             value set",
            hotline_store::crypto::KEYS_ENV
        );
    }
    let path = keys_path(&args.data);
    let mut keyring = Keyring::load_or_create(&path).map_err(|e| anyhow!("{e}"))?;
    let id = keyring.rotate().map_err(|e| anyhow!("{e}"))?;
    // The new key is on disk before any value is sealed with it.
    keyring.save(&path).map_err(|e| anyhow!("{e}"))?;
    block_on(async {
        let records = open_records_with(&args.data, keyring).await?;
        let report = records.reseal_all(now_ms(), "cli").await?;
        records.close().await;
        println!(
            "hotline: key {id} is active; {} values re-sealed under it ({} already were)",
            report.resealed, report.current
        );
        Ok(())
    })
}

/// Arguments of `hotline user`.
#[derive(clap::Args, Debug)]
pub struct UserArgs {
    #[command(subcommand)]
    action: UserAction,
    /// The data directory (records in DATA/records.db).
    #[arg(long, global = true, default_value = "hotline-data")]
    data: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
enum UserAction {
    /// Adds a person who logs in, with a generated password printed once (they change it
    /// through an admin, `PATCH /api/v1/users/{name}`).
    Create {
        /// The login name; an agent's is their routing agent's name.
        name: String,
        /// agent, supervisor or admin.
        #[arg(long, default_value = "agent")]
        role: String,
        /// The name shown ("张伟").
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Lists the people.
    List,
    /// Disables a person at once (their sessions end).
    Disable {
        /// The login name.
        name: String,
    },
}

pub fn run_user(args: &UserArgs) -> Result<()> {
    block_on(async {
        let records = open_records(&args.data).await?;
        match &args.action {
            UserAction::Create {
                name,
                role,
                display_name,
            } => {
                let role = Role::parse(role)
                    .ok_or_else(|| anyhow!("--role {role:?}: use agent, supervisor or admin"))?;
                let random: [u8; 12] = crate::cmd_serve::os_random()?;
                use base64::Engine as _;
                let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
                records
                    .create_user(
                        name,
                        display_name.as_deref(),
                        role,
                        &password,
                        now_ms(),
                        "cli",
                    )
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                println!("{password}");
                eprintln!(
                    "hotline: user {name:?} ({}) made; the password above is shown only now",
                    role.as_str()
                );
            }
            UserAction::List => {
                for user in records.users().await? {
                    println!(
                        "{:<24} {:<10} {}  {}",
                        user.name,
                        user.role.as_str(),
                        user.display_name.as_deref().unwrap_or("-"),
                        if user.disabled_ms.is_some() {
                            "disabled"
                        } else {
                            "active"
                        }
                    );
                }
            }
            UserAction::Disable { name } => {
                records
                    .change_user(name, None, None, Some(true), now_ms(), "cli")
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                eprintln!("hotline: user {name:?} disabled; their sessions ended");
            }
        }
        records.close().await;
        Ok(())
    })
}

/// Arguments of `hotline recording`.
#[derive(clap::Args, Debug)]
pub struct RecordingArgs {
    #[command(subcommand)]
    action: RecordingAction,
    /// The data directory (recordings in DATA/recordings, keys in DATA/keys.txt).
    #[arg(long, global = true, default_value = "hotline-data")]
    data: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
enum RecordingAction {
    /// Writes a call's recording as a playable WAV file (opened with the keys; audited as
    /// `recording.read`).
    Open {
        /// The call's contact id.
        contact: i64,
        /// The WAV file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run_recording(args: &RecordingArgs) -> Result<()> {
    let RecordingAction::Open { contact, out } = &args.action;
    let dir = args.data.join("recordings");
    let Some(path) = hotline_server::recordings::find(&dir, *contact) else {
        bail!("no recording of contact {contact} in {}", dir.display());
    };
    block_on(async {
        let records = open_records(&args.data).await?;
        records
            .audit(
                now_ms(),
                "cli",
                "recording.read",
                &format!("contact:{contact}"),
                &out.display().to_string(),
            )
            .await?;
        let keys = records.keyring().clone();
        records.close().await;
        let file =
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
        let report =
            hotline_server::recordings::open_to(&path, &keys, std::io::BufWriter::new(file))
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        println!(
            "hotline: contact {contact}'s recording, {} bytes of WAV, written to {}{}",
            report.plaintext_bytes,
            out.display(),
            if report.complete {
                ""
            } else {
                " (cut off: the call's recording was not finished)"
            }
        );
        Ok(())
    })
}
