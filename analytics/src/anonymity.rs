//! k-anonymity and l-diversity of the de-identified dataset, the numbers a privacy officer signs an export
//! off on.
//!
//! Rows are grouped into equivalence classes by the chosen quasi-identifiers (default: age band, birth
//! year, sex, ZIP3). **k** is the size of the smallest class counted in *patients* (distinct subjects), not
//! rows, since one patient with many records is still one person to re-identify. **l** (distinct
//! l-diversity) is the smallest number of distinct values of the sensitive attribute (default: category)
//! in a class; the entropy variant is reported too. An export below the k threshold is refused with the
//! offending classes named. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::safeharbor::DeidRow;

/// A column of the dataset that can be a quasi-identifier or the sensitive attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    /// Record category.
    Category,
    /// Year of the clinical date.
    Year,
    /// Age band.
    AgeBand,
    /// Birth year (empty when suppressed).
    BirthYear,
    /// Sex.
    Sex,
    /// ZIP3.
    Zip3,
}

impl Column {
    /// Every column, in dataset order.
    pub const ALL: [Column; 6] = [
        Column::Category,
        Column::Year,
        Column::AgeBand,
        Column::BirthYear,
        Column::Sex,
        Column::Zip3,
    ];

    /// The default quasi-identifiers: the demographics.
    pub const DEFAULT_QI: [Column; 4] = [Column::AgeBand, Column::BirthYear, Column::Sex, Column::Zip3];

    /// The column name in the store and in exports.
    pub fn name(self) -> &'static str {
        match self {
            Column::Category => "category",
            Column::Year => "year",
            Column::AgeBand => "age_band",
            Column::BirthYear => "birth_year",
            Column::Sex => "sex",
            Column::Zip3 => "zip3",
        }
    }

    /// The value of this column in `row`, as text (`""` for a suppressed birth year).
    pub fn value(self, row: &DeidRow) -> String {
        match self {
            Column::Category => row.category.clone(),
            Column::Year => row.year.to_string(),
            Column::AgeBand => row.age_band.clone(),
            Column::BirthYear => row.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            Column::Sex => row.sex.clone(),
            Column::Zip3 => row.zip3.clone(),
        }
    }

    /// Parses a comma-separated list (`age_band,sex,zip3`), without duplicates.
    pub fn parse_list(list: &str) -> Result<Vec<Column>, UnknownColumn> {
        let mut out = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let c = name.parse()?;
            if !out.contains(&c) {
                out.push(c);
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Column {
    type Err = UnknownColumn;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Column::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| UnknownColumn(s.to_string()))
    }
}

/// A column name that is not in the dataset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown column {0:?} (columns: category, year, age_band, birth_year, sex, zip3)")]
pub struct UnknownColumn(pub String);

/// One equivalence class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Quasi-identifier values, in the order of [`Report::quasi_identifiers`].
    pub key: Vec<String>,
    /// Distinct patients in the class (its k).
    pub patients: usize,
    /// Rows in the class.
    pub rows: usize,
    /// Rows per sensitive value.
    pub sensitive: BTreeMap<String, usize>,
}

impl Group {
    /// Distinct sensitive values (its l).
    pub fn l(&self) -> usize {
        self.sensitive.len()
    }

    /// Entropy l: e raised to the entropy of the sensitive values.
    pub fn entropy_l(&self) -> f64 {
        let n = self.rows as f64;
        let h: f64 = self
            .sensitive
            .values()
            .map(|&c| {
                let p = c as f64 / n;
                -p * p.ln()
            })
            .sum();
        h.exp()
    }

    /// `age_band=90+, sex=female, ...` for messages.
    pub fn describe(&self, qi: &[Column]) -> String {
        qi.iter()
            .zip(&self.key)
            .map(|(c, v)| format!("{c}={}", if v.is_empty() { "(suppressed)" } else { v }))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The privacy report of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Quasi-identifiers.
    pub quasi_identifiers: Vec<Column>,
    /// Sensitive attribute.
    pub sensitive: Column,
    /// Rows.
    pub rows: usize,
    /// Distinct patients.
    pub patients: usize,
    /// Smallest class in patients (`None` for an empty dataset).
    pub k: Option<usize>,
    /// Smallest number of distinct sensitive values in a class.
    pub l: Option<usize>,
    /// Smallest entropy l of a class.
    pub entropy_l: Option<f64>,
    /// Every class, smallest k first.
    pub groups: Vec<Group>,
}

impl Report {
    /// Classes with fewer than `k` patients.
    pub fn below_k(&self, k: usize) -> Vec<&Group> {
        self.groups.iter().filter(|g| g.patients < k).collect()
    }

    /// Classes with fewer than `l` distinct sensitive values.
    pub fn below_l(&self, l: usize) -> Vec<&Group> {
        self.groups.iter().filter(|g| g.l() < l).collect()
    }
}

/// The report over `rows` (each with its patient's subject token).
pub fn report<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a DeidRow)>,
    qi: &[Column],
    sensitive: Column,
) -> Report {
    struct Acc<'a> {
        subjects: BTreeSet<&'a str>,
        rows: usize,
        sensitive: BTreeMap<String, usize>,
    }
    let mut classes: BTreeMap<Vec<String>, Acc<'a>> = BTreeMap::new();
    let mut all = BTreeSet::new();
    let mut total = 0;
    for (subject, row) in rows {
        total += 1;
        all.insert(subject);
        let key = qi.iter().map(|c| c.value(row)).collect();
        let acc = classes.entry(key).or_insert_with(|| Acc {
            subjects: BTreeSet::new(),
            rows: 0,
            sensitive: BTreeMap::new(),
        });
        acc.subjects.insert(subject);
        acc.rows += 1;
        *acc.sensitive.entry(sensitive.value(row)).or_default() += 1;
    }
    let mut groups: Vec<Group> = classes
        .into_iter()
        .map(|(key, a)| Group {
            key,
            patients: a.subjects.len(),
            rows: a.rows,
            sensitive: a.sensitive,
        })
        .collect();
    groups.sort_by(|a, b| a.patients.cmp(&b.patients).then_with(|| a.key.cmp(&b.key)));
    Report {
        quasi_identifiers: qi.to_vec(),
        sensitive,
        rows: total,
        patients: all.len(),
        k: groups.iter().map(|g| g.patients).min(),
        l: groups.iter().map(Group::l).min(),
        entropy_l: groups.iter().map(Group::entropy_l).reduce(f64::min),
        groups,
    }
}

#[cfg(test)]
mod tests;
