//! `hotline import customers FILE.csv` and `hotline export customers FILE.csv`: the CRM's
//! customers in and out of the records, as CSV with a header row.
//!
//! Columns (only `external_id` is required; the order is free):
//!
//! | column | meaning |
//! |---|---|
//! | `external_id` | the CRM's id; a customer with it is updated, otherwise created |
//! | `name` | the name |
//! | `phones` | numbers in any usual form, separated by `;` or `\|` (`138 0013 8000;010-6552 9988转8001`) |
//! | `level` | membership level (`standard` when empty) |
//! | `value_score` | a whole number |
//! | `tags` | need tags, separated by `;` or `\|` |
//! | `language`, `dedicated_agent`, `time_zone`, `style` | preferences |
//! | `prefer_human`, `consent`, `do_not_call` | `true`/`false`, `1`/`0`, `yes`/`no`, `是`/`否` |
//!
//! Rows go in batches of [`IMPORT_BATCH`], one transaction each. A bad row is reported with
//! its line number and field; `--on-error skip` (the default) goes on without it, `--on-error
//! stop` stops there, after importing the rows before it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use hotline_phone::{normalize, NumberContext};
use hotline_store::{CustomerFields, FieldError, Phone, Preferences, Records};

/// Rows per transaction.
pub const IMPORT_BATCH: usize = 2_000;
/// The most bad rows reported one by one (the rest are counted).
pub const MAX_REPORTED_ERRORS: usize = 100;
/// Customers read per page when exporting.
const EXPORT_PAGE: u32 = 100;

/// The columns an import understands, in the order an export writes them.
pub const COLUMNS: [&str; 14] = [
    "external_id",
    "name",
    "phones",
    "level",
    "value_score",
    "tags",
    "language",
    "prefer_human",
    "dedicated_agent",
    "time_zone",
    "style",
    "consent",
    "do_not_call",
    "contact_hours",
];

/// Arguments of `hotline import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// What to import: `customers`.
    pub what: String,
    /// The CSV file (UTF-8, header row).
    pub file: PathBuf,
    /// The data directory (records in DATA/records.db).
    #[arg(long, default_value = "hotline-data")]
    pub data: PathBuf,
    /// On a bad row: `skip` it and go on, or `stop` there.
    #[arg(long, default_value = "skip", value_parser = ["skip", "stop"])]
    pub on_error: String,
    /// No progress bar (for scripts).
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `hotline export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// What to export: `customers`.
    pub what: String,
    /// The CSV file to write (full phone numbers: handle as personal data).
    pub file: PathBuf,
    /// The data directory (records in DATA/records.db).
    #[arg(long, default_value = "hotline-data")]
    pub data: PathBuf,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Customers created.
    pub created: u64,
    /// Customers updated.
    pub updated: u64,
    /// Bad rows left out.
    pub skipped: u64,
    /// The bad rows, `line N: field: problem` (at most [`MAX_REPORTED_ERRORS`]).
    pub errors: Vec<String>,
    /// The import stopped at a bad row (`--on-error stop`).
    pub stopped: bool,
}

pub fn run_import(args: &ImportArgs) -> Result<()> {
    if args.what != "customers" {
        bail!("import {:?}: only `customers` can be imported", args.what);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let records = crate::cmd_records::open_records(&args.data).await?;
        let started = Instant::now();
        let report =
            import_customers(&records, &args.file, args.on_error == "stop", !args.quiet).await?;
        records.close().await;
        for error in &report.errors {
            eprintln!("hotline: {error}");
        }
        let seconds = started.elapsed().as_secs_f64();
        let rows = report.created + report.updated;
        println!(
            "hotline: imported {rows} customers ({} created, {} updated), {} bad rows left out, \
             in {seconds:.1} s ({:.0} rows/s)",
            report.created,
            report.updated,
            report.skipped,
            rows as f64 / seconds.max(1e-9)
        );
        if report.stopped {
            bail!("stopped at the first bad row (--on-error stop); the rows before it are in");
        }
        Ok(())
    })
}

/// Imports the customers of a CSV file into `records`.
pub async fn import_customers(
    records: &Records,
    file: &Path,
    stop_on_error: bool,
    progress: bool,
) -> Result<ImportReport> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("{}: reading the header row", file.display()))?
        .clone();
    let columns = Columns::new(&header)?;
    let bar = if progress {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {per_sec} {msg} (eta {eta})",
            )
            .expect("a valid template"),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let context = NumberContext::default();
    let now = hotline_server::api::now_ms();
    let mut report = ImportReport::default();
    let mut batch: Vec<CustomerFields> = Vec::with_capacity(IMPORT_BATCH);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => match columns.fields(&record, &context) {
                Ok(fields) => batch.push(fields),
                Err(error) => {
                    if bad_row(
                        &mut report,
                        format!("line {line}: {}: {}", error.field, error.problem),
                        stop_on_error,
                    ) {
                        break;
                    }
                }
            },
            Err(error) => {
                let line = error.position().map_or(line, |p| p.line());
                if bad_row(&mut report, format!("line {line}: {error}"), stop_on_error) {
                    break;
                }
            }
        }
        if batch.len() >= IMPORT_BATCH {
            flush(records, &mut batch, now, &mut report).await?;
            bar.set_position(reader.position().byte());
            bar.set_message(format!("{} rows", report.created + report.updated));
        }
    }
    flush(records, &mut batch, now, &mut report).await?;
    bar.finish_and_clear();
    Ok(report)
}

/// Records a bad row; answers whether to stop.
fn bad_row(report: &mut ImportReport, message: String, stop: bool) -> bool {
    report.skipped += 1;
    if report.errors.len() < MAX_REPORTED_ERRORS {
        report.errors.push(message);
    }
    report.stopped = stop;
    stop
}

async fn flush(
    records: &Records,
    batch: &mut Vec<CustomerFields>,
    now: i64,
    report: &mut ImportReport,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let (created, updated) = records
        .import_customers(batch, now, "import")
        .await
        .context("writing a batch")?;
    report.created += created;
    report.updated += updated;
    batch.clear();
    Ok(())
}

/// Where each known column is in the file.
struct Columns {
    index: HashMap<&'static str, usize>,
}

impl Columns {
    fn new(header: &csv::StringRecord) -> Result<Columns> {
        let mut index = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}');
            let Some(known) = COLUMNS.iter().find(|c| **c == name) else {
                bail!(
                    "header column {} is {name:?}, which is not one of {}",
                    i + 1,
                    COLUMNS.join(", ")
                );
            };
            if index.insert(*known, i).is_some() {
                bail!("header names column {name:?} twice");
            }
        }
        if !index.contains_key("external_id") {
            bail!("the header has no external_id column (an import updates customers by it)");
        }
        Ok(Columns { index })
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        self.index
            .get(column)
            .and_then(|&i| record.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    fn flag(&self, record: &csv::StringRecord, column: &str) -> Result<bool, FieldError> {
        match self.get(record, column) {
            None => Ok(false),
            Some(v) => match v.to_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "是" => Ok(true),
                "false" | "0" | "no" | "n" | "否" => Ok(false),
                _ => Err(FieldError::new(
                    column,
                    format!("{v:?} is not true or false"),
                )),
            },
        }
    }

    fn fields(
        &self,
        record: &csv::StringRecord,
        context: &NumberContext,
    ) -> Result<CustomerFields, FieldError> {
        let list = |column: &str| -> Vec<String> {
            self.get(record, column)
                .map(|v| {
                    v.split([';', '|', '；'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut phones = Vec::new();
        for (i, text) in list("phones").iter().enumerate() {
            let number = normalize(text, context)
                .map_err(|e| FieldError::new(format!("phones[{i}]"), format!("{text:?}: {e}")))?;
            phones.push(Phone {
                number,
                label: None,
            });
        }
        let value_score = match self.get(record, "value_score") {
            None => 0,
            Some(v) => v.parse().map_err(|_| {
                FieldError::new("value_score", format!("{v:?} is not a whole number"))
            })?,
        };
        let contact_hours = match self.get(record, "contact_hours") {
            None => None,
            Some(v) => Some(serde_json::from_str(v).map_err(|e| {
                FieldError::new(
                    "contact_hours",
                    format!("expected JSON such as {{\"mon\": \"19:00-21:00\"}}: {e}"),
                )
            })?),
        };
        let fields = CustomerFields {
            external_id: self.get(record, "external_id").map(str::to_owned),
            name: self.get(record, "name").map(str::to_owned),
            phones,
            level: self
                .get(record, "level")
                .unwrap_or(hotline_store::records::DEFAULT_LEVEL)
                .to_owned(),
            value_score,
            tags: list("tags"),
            preferences: Preferences {
                language: self.get(record, "language").map(str::to_owned),
                prefer_human: self.flag(record, "prefer_human")?,
                dedicated_agent: self.get(record, "dedicated_agent").map(str::to_owned),
                time_zone: self.get(record, "time_zone").map(str::to_owned),
                contact_hours,
                style: self.get(record, "style").map(str::to_owned),
            },
            consent: self.flag(record, "consent")?,
            do_not_call: self.flag(record, "do_not_call")?,
        };
        if fields.external_id.is_none() {
            return Err(FieldError::new("external_id", "must not be empty"));
        }
        fields.validate()?;
        Ok(fields)
    }
}

pub fn run_export(args: &ExportArgs) -> Result<()> {
    if args.what != "customers" {
        bail!("export {:?}: only `customers` can be exported", args.what);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let records = crate::cmd_records::open_records(&args.data).await?;
        let count = export_customers(&records, &args.file).await?;
        records.close().await;
        println!(
            "hotline: exported {count} customers to {}",
            args.file.display()
        );
        Ok(())
    })
}

/// Writes every customer to a CSV file in the import's columns; the export is audited.
pub async fn export_customers(records: &Records, file: &Path) -> Result<u64> {
    let mut writer =
        csv::Writer::from_path(file).with_context(|| format!("creating {}", file.display()))?;
    writer.write_record(COLUMNS)?;
    let mut after = None;
    let mut count = 0u64;
    loop {
        let page = records.customers(after, EXPORT_PAGE).await?;
        for customer in &page {
            let f = &customer.fields;
            let p = &f.preferences;
            let join = |items: Vec<String>| items.join(";");
            let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
            writer.write_record([
                f.external_id.clone().unwrap_or_default(),
                f.name.clone().unwrap_or_default(),
                // E.164 and 转 for an extension: the `;ext=` of the URI form would split the
                // list on re-import.
                join(
                    f.phones
                        .iter()
                        .map(|ph| match ph.number.extension() {
                            Some(ext) => format!("{}转{ext}", ph.number.e164()),
                            None => ph.number.e164().to_string(),
                        })
                        .collect(),
                ),
                f.level.clone(),
                f.value_score.to_string(),
                join(f.tags.clone()),
                p.language.clone().unwrap_or_default(),
                flag(p.prefer_human),
                p.dedicated_agent.clone().unwrap_or_default(),
                p.time_zone.clone().unwrap_or_default(),
                p.style.clone().unwrap_or_default(),
                flag(f.consent),
                flag(f.do_not_call),
                p.contact_hours
                    .as_ref()
                    .map(|h| serde_json::to_string(h).unwrap_or_default())
                    .unwrap_or_default(),
            ])?;
            count += 1;
        }
        if (page.len() as u32) < EXPORT_PAGE {
            break;
        }
        after = page.last().map(|c| c.id);
    }
    writer.flush()?;
    records
        .audit(
            hotline_server::api::now_ms(),
            "export",
            "customer.export",
            "customers",
            &format!("{count} customers to {}", file.display()),
        )
        .await?;
    Ok(count)
}
