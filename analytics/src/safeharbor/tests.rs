#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

const TOKEN: &str = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";

fn run(v: serde_json::Value) -> Result<Sanitized, Rejected> {
    sanitize(v.to_string().as_bytes(), &RestrictedZip3::hhs())
}

#[test]
fn the_records_contract_event_passes_unchanged() {
    let s = run(
        json!({"category": "laboratory", "year": 2024, "ageBand": "35-39", "sex": "female",
        "zip3": "100", "researchToken": TOKEN}),
    )
    .unwrap();
    assert_eq!(s.token, TOKEN);
    assert_eq!(
        s.row,
        DeidRow {
            category: "laboratory".into(),
            year: 2024,
            age_band: "35-39".into(),
            birth_year: None,
            sex: "female".into(),
            zip3: "100".into(),
        }
    );
    assert!(s.dropped.is_empty());
}

#[test]
fn age_95_becomes_90_plus_and_its_birth_year_is_suppressed() {
    let s = run(
        json!({"category": "laboratory", "researchToken": TOKEN, "age": 95, "year": 2024,
        "birthYear": 1929}),
    )
    .unwrap();
    assert_eq!(s.row.age_band, "90+");
    assert_eq!(s.row.birth_year, None);
    // A band sent as "95-99" (a contract that forgot the rule) is aggregated too.
    let s = run(json!({"category": "laboratory", "researchToken": TOKEN, "year": 2024, "ageBand": "95-99"}))
        .unwrap();
    assert_eq!(s.row.age_band, "90+");
}

#[test]
fn a_full_birth_date_and_a_full_clinical_date_keep_only_years() {
    let s = run(json!({"category": "vital-signs", "researchToken": TOKEN,
        "birthDate": "1961-07-15", "effectiveDateTime": "2024-03-01T09:30:00Z", "gender": "Male"}))
    .unwrap();
    assert_eq!(s.row.year, 2024);
    // 62 on 2024-03-01 (the birthday in July is still to come).
    assert_eq!(s.row.age_band, "60-64");
    assert_eq!(s.row.birth_year, Some(1961));
    assert_eq!(s.row.sex, "male");
    // A birth date that makes the person 90 on the clinical date: band 90+, birth year withheld.
    let s = run(json!({"category": "laboratory", "researchToken": TOKEN,
        "birthDate": "1929-03-14", "date": "2024-03-15"}))
    .unwrap();
    assert_eq!((s.row.age_band.as_str(), s.row.birth_year), ("90+", None));
    // 89 on the clinical date, but the birth year (2024 - 1934 = 90) could indicate 90: withheld.
    let s = run(json!({"category": "laboratory", "researchToken": TOKEN,
        "birthDate": "1934-12-31", "date": "2024-03-15"}))
    .unwrap();
    assert_eq!((s.row.age_band.as_str(), s.row.birth_year), ("85-89", None));
}

#[test]
fn zip_codes_keep_three_digits_and_restricted_prefixes_become_000() {
    let table = RestrictedZip3::hhs();
    assert_eq!(zip3(Some("03601"), &table), "000", "036 is restricted");
    assert_eq!(zip3(Some("10001"), &table), "100");
    assert_eq!(zip3(Some("94105-1234"), &table), "941");
    assert_eq!(zip3(Some("89301-1234"), &table), "000");
    for other in [
        None,
        Some("SW1A 1AA"),
        Some("1000"),
        Some("100011"),
        Some("1000a"),
        Some("10001-12"),
    ] {
        assert_eq!(zip3(other, &table), "000", "{other:?}");
    }
    // Whatever the chaincode sent as zip3 is checked again.
    let s =
        run(json!({"category": "laboratory", "researchToken": TOKEN, "year": 2024, "zip3": "036"})).unwrap();
    assert_eq!(s.row.zip3, "000");
    let s =
        run(json!({"category": "laboratory", "researchToken": TOKEN, "year": 2024, "zip": "03601"})).unwrap();
    assert_eq!(s.row.zip3, "000");
    let s =
        run(json!({"category": "laboratory", "researchToken": TOKEN, "year": 2024, "zip3": "1000"})).unwrap();
    assert_eq!(s.row.zip3, "000", "not three digits");
}

#[test]
fn the_restricted_table_is_configurable() {
    let custom = RestrictedZip3::parse("# test table\n100\n\n941  # San Francisco, for the test\n").unwrap();
    assert_eq!(custom.prefixes().collect::<Vec<_>>(), ["100", "941"]);
    assert_eq!(zip3(Some("10001"), &custom), "000");
    assert_eq!(
        zip3(Some("03601"), &custom),
        "036",
        "not restricted by this table"
    );
    assert_eq!(RestrictedZip3::parse("12a\n"), Err(TableError("12a".into())));
    assert_eq!(RestrictedZip3::hhs().prefixes().count(), 17);
}

#[test]
fn unknown_fields_are_dropped_by_name() {
    let s = run(
        json!({"category": "laboratory", "researchToken": TOKEN, "year": 2024,
        "note": "Synthetic free text about Synthetic Patient 0001", "name": "Synthetic Patient 0001"}),
    )
    .unwrap();
    assert_eq!(s.dropped, ["name", "note"]);
    assert!(!format!("{s:?}").contains("Synthetic Patient"));
}

#[test]
fn events_without_token_code_or_year_are_rejected() {
    let base = json!({"category": "laboratory", "researchToken": TOKEN, "year": 2024});
    let without = |k: &str| {
        let mut v = base.clone();
        v.as_object_mut().unwrap().remove(k);
        v
    };
    assert_eq!(run(without("researchToken")), Err(Rejected::Token));
    assert_eq!(run(without("category")), Err(Rejected::Category));
    assert_eq!(run(without("year")), Err(Rejected::Year));
    let mut free = base.clone();
    free["category"] = json!("Synthetic free text category");
    assert_eq!(run(free), Err(Rejected::Category));
    let mut short = base.clone();
    short["researchToken"] = json!("abc");
    assert_eq!(run(short), Err(Rejected::Token));
    let mut year = base.clone();
    year["year"] = json!(12024);
    assert_eq!(run(year), Err(Rejected::Year));
    assert_eq!(
        sanitize(b"[1]", &RestrictedZip3::hhs()),
        Err(Rejected::NotAnObject)
    );
    assert_eq!(
        sanitize(b"not json", &RestrictedZip3::hhs()),
        Err(Rejected::NotAnObject)
    );
}

#[test]
fn bands_follow_the_five_year_rule() {
    for (age, band) in [
        (0, "0-4"),
        (4, "0-4"),
        (37, "35-39"),
        (89, "85-89"),
        (90, "90+"),
        (120, "90+"),
    ] {
        assert_eq!(age_band(age), band);
    }
    assert_eq!(age_band(-1), "unknown");
    assert_eq!(normalize_band("37-39"), "35-39");
    assert_eq!(normalize_band("90+"), "90+");
    assert_eq!(normalize_band("unknown"), "unknown");
    assert_eq!(normalize_band("old"), "unknown");
}

#[test]
fn sex_outside_the_value_set_is_unknown() {
    let s = run(
        json!({"category": "laboratory", "researchToken": TOKEN, "year": 2024,
        "sex": "Synthetic free text"}),
    )
    .unwrap();
    assert_eq!(s.row.sex, "unknown");
}
