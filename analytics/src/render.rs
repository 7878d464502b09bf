//! Text the analyst commands print: query results as an aligned table, CSV or JSON lines, and the privacy
//! report. Pure (apart from [`now_rfc3339`]).

use crate::anonymity::Report;
use crate::store::QueryResult;

/// Now, as RFC 3339 (for access log lines).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Query output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Aligned columns, NULL shown as `NULL`.
    Table,
    /// CSV with a header line, NULL as an empty field.
    Csv,
    /// One JSON object per row.
    Json,
}

/// Renders a query result.
pub fn query(result: &QueryResult, format: TableFormat) -> String {
    match format {
        TableFormat::Table => {
            let cells: Vec<Vec<String>> = result
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
                        .collect()
                })
                .collect();
            let mut out = table(&result.columns, &cells);
            out.push_str(&format!("({} rows)\n", result.rows.len()));
            out
        }
        TableFormat::Csv => {
            let mut out = format!("{}\n", result.columns.join(","));
            for r in &result.rows {
                let line: Vec<String> = r.iter().map(|v| csv(v.as_deref().unwrap_or(""))).collect();
                out.push_str(&line.join(","));
                out.push('\n');
            }
            out
        }
        TableFormat::Json => result
            .rows
            .iter()
            .map(|r| {
                let obj: serde_json::Map<String, serde_json::Value> = result
                    .columns
                    .iter()
                    .zip(r)
                    .map(|(c, v)| (c.clone(), v.clone().map_or(serde_json::Value::Null, Into::into)))
                    .collect();
                format!("{}\n", serde_json::Value::Object(obj))
            })
            .collect(),
    }
}

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Aligned columns with a header and a rule.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    let mut out = line(header);
    out.push_str(&line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

/// The privacy report as text, with the classes below `k` marked.
pub fn report(r: &Report, k: usize) -> String {
    let qi: Vec<&str> = r.quasi_identifiers.iter().map(|c| c.name()).collect();
    let mut out = format!(
        "rows: {}, patients: {}\nquasi-identifiers: {}\nsensitive attribute: {}\n",
        r.rows,
        r.patients,
        if qi.is_empty() {
            "(none)".to_string()
        } else {
            qi.join(", ")
        },
        r.sensitive
    );
    let below = r.below_k(k).len();
    match (r.k, r.l, r.entropy_l) {
        (Some(dk), Some(l), Some(el)) => out.push_str(&format!(
            "k-anonymity: {dk} ({} threshold {k}: {below} of {} classes below)\n\
             l-diversity: {l} distinct {} (entropy l-diversity {el:.2})\n",
            if dk >= k { "meets" } else { "BELOW" },
            r.groups.len(),
            r.sensitive
        )),
        _ => out.push_str("k-anonymity: - (no rows)\nl-diversity: - (no rows)\n"),
    }
    let mut header: Vec<String> = ["patients", "rows", "l"].map(String::from).to_vec();
    header.extend(qi.iter().map(|q| q.to_string()));
    header.push("below k".into());
    let rows: Vec<Vec<String>> = r
        .groups
        .iter()
        .map(|g| {
            let mut row = vec![g.patients.to_string(), g.rows.to_string(), g.l().to_string()];
            row.extend(
                g.key
                    .iter()
                    .map(|v| if v.is_empty() { "-".into() } else { v.clone() }),
            );
            row.push(if g.patients < k {
                "yes".into()
            } else {
                String::new()
            });
            row
        })
        .collect();
    if !rows.is_empty() {
        out.push_str("\nequivalence classes, smallest first:\n");
        out.push_str(&table(&header, &rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymity::{Column, report as build};
    use crate::safeharbor::DeidRow;

    #[test]
    fn query_results_render_in_three_formats() {
        let q = QueryResult {
            columns: vec!["category".into(), "n".into()],
            rows: vec![
                vec![Some("laboratory".into()), Some("3".into())],
                vec![Some("a,b".into()), None],
            ],
        };
        assert_eq!(
            query(&q, TableFormat::Table),
            "category    n\n----------  ----\nlaboratory  3\na,b         NULL\n(2 rows)\n"
        );
        assert_eq!(
            query(&q, TableFormat::Csv),
            "category,n\nlaboratory,3\n\"a,b\",\n"
        );
        assert_eq!(
            query(&q, TableFormat::Json),
            "{\"category\":\"laboratory\",\"n\":\"3\"}\n{\"category\":\"a,b\",\"n\":null}\n"
        );
    }

    #[test]
    fn the_report_names_k_l_and_the_small_classes() {
        let row = |sex: &str, cat: &str| DeidRow {
            category: cat.into(),
            year: 2024,
            age_band: "90+".into(),
            birth_year: None,
            sex: sex.into(),
            zip3: "000".into(),
        };
        let rows = [
            ("a", row("female", "laboratory")),
            ("b", row("female", "imaging")),
            ("c", row("male", "laboratory")),
        ];
        let r = build(
            rows.iter().map(|(s, r)| (*s, r)),
            &[Column::Sex],
            Column::Category,
        );
        let text = report(&r, 2);
        assert!(text.contains("rows: 3, patients: 3"), "{text}");
        assert!(
            text.contains("k-anonymity: 1 (BELOW threshold 2: 1 of 2 classes below)"),
            "{text}"
        );
        assert!(text.contains("l-diversity: 1 distinct category"), "{text}");
        assert!(text.contains("1         1     1  male    yes"), "{text}");
    }
}
