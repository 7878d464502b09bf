//! Exports of the de-identified dataset, after the k-anonymity check: CSV or Parquet (uncompressed, one
//! row group, so the `parquet` crate is built without codecs or Arrow). Columns: `entry` and `subject`
//! (random tokens), `category`, `year`, `age_band`, `birth_year` (empty / null when suppressed), `sex`,
//! `zip3`. Rows come in the order of their random tokens: no order that could be lined up with the chain.

use std::io::Write;
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, Int32Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::anonymity::{Column, Report};
use crate::store::StoredRow;

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// The column names of an export, in order.
pub const COLUMNS: [&str; 8] = [
    "entry",
    "subject",
    "category",
    "year",
    "age_band",
    "birth_year",
    "sex",
    "zip3",
];

/// Why an export was not written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Some equivalence classes are smaller than the k threshold.
    #[error(
        "export refused: k-anonymity over ({}) is {} (threshold {threshold}); {} classes have fewer than {threshold} patients:\n{}",
        qi_names(.qi), .k, .groups.len(), .groups.join("\n")
    )]
    BelowK {
        /// The quasi-identifiers.
        qi: Vec<Column>,
        /// The dataset's k.
        k: usize,
        /// The threshold.
        threshold: usize,
        /// Each offending class, described.
        groups: Vec<String>,
    },
    /// Some classes have fewer distinct sensitive values than the l threshold.
    #[error(
        "export refused: l-diversity of {sensitive} is {l} (threshold {threshold}); {} classes:\n{}",
        .groups.len(), .groups.join("\n")
    )]
    BelowL {
        /// The sensitive attribute.
        sensitive: Column,
        /// The dataset's l.
        l: usize,
        /// The threshold.
        threshold: usize,
        /// Each offending class, described.
        groups: Vec<String>,
    },
    /// Writing failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// The Parquet writer failed.
    #[error("writing parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

fn qi_names(qi: &[Column]) -> String {
    qi.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

/// Refuses a dataset whose k is below `k` or whose l is below `l`, naming the offending classes.
pub fn check(report: &Report, k: usize, l: usize) -> Result<(), ExportError> {
    let describe = |g: &crate::anonymity::Group| {
        format!(
            "  {}: {} patients, {} rows, {} distinct {}",
            g.describe(&report.quasi_identifiers),
            g.patients,
            g.rows,
            g.l(),
            report.sensitive
        )
    };
    let small = report.below_k(k);
    if let (false, Some(dataset_k)) = (small.is_empty(), report.k) {
        return Err(ExportError::BelowK {
            qi: report.quasi_identifiers.clone(),
            k: dataset_k,
            threshold: k,
            groups: small.into_iter().map(describe).collect(),
        });
    }
    let uniform = report.below_l(l);
    if let (false, Some(dataset_l)) = (uniform.is_empty(), report.l) {
        return Err(ExportError::BelowL {
            sensitive: report.sensitive,
            l: dataset_l,
            threshold: l,
            groups: uniform.into_iter().map(describe).collect(),
        });
    }
    Ok(())
}

/// Writes `rows` in `format`.
pub fn write<W: Write + Send>(rows: &[StoredRow], format: Format, out: W) -> Result<(), ExportError> {
    match format {
        Format::Csv => write_csv(rows, out),
        Format::Parquet => write_parquet(rows, out),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv<W: Write>(rows: &[StoredRow], mut out: W) -> Result<(), ExportError> {
    writeln!(out, "{}", COLUMNS.join(","))?;
    for r in rows {
        let d = &r.row;
        let fields = [
            r.entry.clone(),
            r.subject.clone(),
            d.category.clone(),
            d.year.to_string(),
            d.age_band.clone(),
            d.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            d.sex.clone(),
            d.zip3.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()?;
    Ok(())
}

const PARQUET_SCHEMA: &str = "message deidentified_entry {
    REQUIRED BYTE_ARRAY entry (UTF8);
    REQUIRED BYTE_ARRAY subject (UTF8);
    REQUIRED BYTE_ARRAY category (UTF8);
    REQUIRED INT32 year;
    REQUIRED BYTE_ARRAY age_band (UTF8);
    OPTIONAL INT32 birth_year;
    REQUIRED BYTE_ARRAY sex (UTF8);
    REQUIRED BYTE_ARRAY zip3 (UTF8);
}";

fn write_parquet<W: Write + Send>(rows: &[StoredRow], out: W) -> Result<(), ExportError> {
    let schema = Arc::new(parse_message_type(PARQUET_SCHEMA)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_created_by("carechain analytics".into())
            .build(),
    );
    let mut writer = SerializedFileWriter::new(out, schema, props)?;
    let mut group = writer.next_row_group()?;
    let text = |f: fn(&StoredRow) -> &str| -> Vec<ByteArray> {
        rows.iter()
            .map(|r| ByteArray::from(f(r).as_bytes().to_vec()))
            .collect()
    };
    let columns: [Vec<ByteArray>; 3] = [
        text(|r| &r.entry),
        text(|r| &r.subject),
        text(|r| &r.row.category),
    ];
    for values in &columns {
        let mut col = group.next_column()?.ok_or_else(missing_column)?;
        col.typed::<ByteArrayType>().write_batch(values, None, None)?;
        col.close()?;
    }
    let years: Vec<i32> = rows.iter().map(|r| r.row.year).collect();
    let mut col = group.next_column()?.ok_or_else(missing_column)?;
    col.typed::<Int32Type>().write_batch(&years, None, None)?;
    col.close()?;
    let mut col = group.next_column()?.ok_or_else(missing_column)?;
    col.typed::<ByteArrayType>()
        .write_batch(&text(|r| &r.row.age_band), None, None)?;
    col.close()?;
    let births: Vec<i32> = rows.iter().filter_map(|r| r.row.birth_year).collect();
    let defined: Vec<i16> = rows
        .iter()
        .map(|r| i16::from(r.row.birth_year.is_some()))
        .collect();
    let mut col = group.next_column()?.ok_or_else(missing_column)?;
    col.typed::<Int32Type>()
        .write_batch(&births, Some(&defined), None)?;
    col.close()?;
    for f in [
        (|r: &StoredRow| r.row.sex.as_str()) as fn(&StoredRow) -> &str,
        |r| &r.row.zip3,
    ] {
        let mut col = group.next_column()?.ok_or_else(missing_column)?;
        col.typed::<ByteArrayType>().write_batch(&text(f), None, None)?;
        col.close()?;
    }
    group.close()?;
    writer.close()?;
    Ok(())
}

fn missing_column() -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::General("schema and writer disagree on the column count".into())
}

#[cfg(test)]
mod tests;
