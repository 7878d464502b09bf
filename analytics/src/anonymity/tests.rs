#![allow(clippy::unwrap_used)]

use super::*;

fn row(category: &str, band: &str, sex: &str, zip3: &str) -> DeidRow {
    DeidRow {
        category: category.into(),
        year: 2024,
        age_band: band.into(),
        birth_year: None,
        sex: sex.into(),
        zip3: zip3.into(),
    }
}

/// Six synthetic patients: three women 30-34 in 100 (four rows, three categories), two men 90+ in 000
/// (three laboratory rows), one woman 60-64 in 941.
fn table() -> Vec<(&'static str, DeidRow)> {
    vec![
        ("s1", row("laboratory", "30-34", "female", "100")),
        ("s1", row("vital-signs", "30-34", "female", "100")),
        ("s2", row("laboratory", "30-34", "female", "100")),
        ("s3", row("imaging", "30-34", "female", "100")),
        ("s4", row("laboratory", "90+", "male", "000")),
        ("s4", row("laboratory", "90+", "male", "000")),
        ("s5", row("laboratory", "90+", "male", "000")),
        ("s6", row("vital-signs", "60-64", "female", "941")),
    ]
}

fn qi() -> Vec<Column> {
    Column::parse_list("age_band,sex,zip3").unwrap()
}

#[test]
fn k_counts_patients_and_l_counts_distinct_sensitive_values() {
    let t = table();
    let r = report(t.iter().map(|(s, r)| (*s, r)), &qi(), Column::Category);
    assert_eq!((r.rows, r.patients), (8, 6));
    assert_eq!(r.k, Some(1));
    assert_eq!(r.l, Some(1));
    let summary: Vec<(Vec<String>, usize, usize, usize)> = r
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.patients, g.rows, g.l()))
        .collect();
    let key = |a: &str, s: &str, z: &str| vec![a.to_string(), s.to_string(), z.to_string()];
    assert_eq!(
        summary,
        vec![
            (key("60-64", "female", "941"), 1, 1, 1),
            (key("90+", "male", "000"), 2, 3, 1),
            (key("30-34", "female", "100"), 3, 4, 3),
        ]
    );
    // Entropy l of the 30-34 class: p = 1/2, 1/4, 1/4, so e^H = 2^1.5.
    let women = &r.groups[2];
    assert!((women.entropy_l() - 2f64.powf(1.5)).abs() < 1e-9);
    assert_eq!(r.entropy_l, Some(1.0));
}

#[test]
fn classes_below_a_threshold_are_named() {
    let t = table();
    let r = report(t.iter().map(|(s, r)| (*s, r)), &qi(), Column::Category);
    let below: Vec<String> = r
        .below_k(3)
        .iter()
        .map(|g| g.describe(&r.quasi_identifiers))
        .collect();
    assert_eq!(
        below,
        [
            "age_band=60-64, sex=female, zip3=941",
            "age_band=90+, sex=male, zip3=000"
        ]
    );
    assert!(r.below_k(1).is_empty());
    assert_eq!(r.below_l(2).len(), 2);
}

#[test]
fn fewer_quasi_identifiers_give_larger_classes() {
    let t = table();
    let r = report(t.iter().map(|(s, r)| (*s, r)), &[Column::Sex], Column::Category);
    assert_eq!(r.k, Some(2), "two men, four women");
    assert_eq!(r.l, Some(1), "the men have laboratory rows only");
    let r = report(t.iter().map(|(s, r)| (*s, r)), &[], Column::Category);
    assert_eq!((r.k, r.l), (Some(6), Some(3)), "one class: everyone");
}

#[test]
fn a_suppressed_birth_year_is_its_own_value() {
    let mut known = row("laboratory", "60-64", "female", "941");
    known.birth_year = Some(1961);
    let unknown = row("laboratory", "60-64", "female", "941");
    let rows = [("a", known), ("b", unknown)];
    let r = report(
        rows.iter().map(|(s, r)| (*s, r)),
        &[Column::BirthYear],
        Column::Category,
    );
    assert_eq!(r.groups.len(), 2);
    assert_eq!(
        r.groups[0].describe(&r.quasi_identifiers),
        "birth_year=(suppressed)"
    );
}

#[test]
fn an_empty_dataset_has_no_k() {
    let r = report(std::iter::empty(), &qi(), Column::Category);
    assert_eq!((r.k, r.l, r.rows), (None, None, 0));
}

#[test]
fn column_lists_parse_and_reject_unknown_names() {
    assert_eq!(
        Column::parse_list("sex, zip3,sex").unwrap(),
        [Column::Sex, Column::Zip3]
    );
    assert_eq!(Column::parse_list("sex,name"), Err(UnknownColumn("name".into())));
}
