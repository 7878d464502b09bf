#![allow(clippy::unwrap_used)]

use parquet::file::reader::{FileReader, SerializedFileReader};

use super::*;
use crate::anonymity::report;
use crate::safeharbor::DeidRow;

fn stored(entry: &str, subject: &str, category: &str, birth_year: Option<i32>) -> StoredRow {
    StoredRow {
        entry: entry.into(),
        subject: subject.into(),
        row: DeidRow {
            category: category.into(),
            year: 2024,
            age_band: "60-64".into(),
            birth_year,
            sex: "female".into(),
            zip3: "941".into(),
        },
    }
}

fn rows() -> Vec<StoredRow> {
    vec![
        stored("e1", "s1", "laboratory", Some(1961)),
        stored("e2", "s2", "vital-signs", None),
    ]
}

#[test]
fn csv_has_a_header_and_empty_suppressed_birth_years() {
    let mut out = Vec::new();
    write(&rows(), Format::Csv, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "entry,subject,category,year,age_band,birth_year,sex,zip3\n\
         e1,s1,laboratory,2024,60-64,1961,female,941\n\
         e2,s2,vital-signs,2024,60-64,,female,941\n"
    );
    assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
}

#[test]
fn parquet_reads_back_with_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.parquet");
    write(&rows(), Format::Parquet, std::fs::File::create(&path).unwrap()).unwrap();
    let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.file_metadata().num_rows(), 2);
    let names: Vec<String> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(names, COLUMNS);
    let rows: Vec<String> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap().to_string())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("entry: \"e1\""), "{}", rows[0]);
    assert!(rows[0].contains("birth_year: 1961"), "{}", rows[0]);
    assert!(rows[1].contains("birth_year: null"), "{}", rows[1]);
    assert!(rows[1].contains("category: \"vital-signs\""), "{}", rows[1]);
}

#[test]
fn a_dataset_below_k_is_refused_with_its_classes() {
    let data = rows();
    let r = report(
        data.iter().map(|s| (s.subject.as_str(), &s.row)),
        &[Column::AgeBand, Column::Sex, Column::Zip3],
        Column::Category,
    );
    assert_eq!(r.k, Some(2));
    check(&r, 2, 1).unwrap();
    let err = check(&r, 5, 1).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            ExportError::BelowK {
                k: 2,
                threshold: 5,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("age_band=60-64, sex=female, zip3=941: 2 patients, 2 rows, 2 distinct category"),
        "{text}"
    );
    let err = check(&r, 2, 3).unwrap_err();
    assert!(
        matches!(
            err,
            ExportError::BelowL {
                l: 2,
                threshold: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_empty_dataset_passes_the_check() {
    let r = report(std::iter::empty(), &[Column::Sex], Column::Category);
    check(&r, 5, 2).unwrap();
}
