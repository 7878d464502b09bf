//! The store's operations, written once for both backends.

use crate::events::{BlockEffects, Op};
use crate::link::{LinkKey, random_token};
use crate::safeharbor::{DeidRow, HHS_RESTRICTED_ZIP3, RestrictedZip3, SUPPRESSED_ZIP3, Sanitized};

use super::schema::{DDL, VERSION};
use super::{Store, StoreError, Tx, Val};

/// Where the store is in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Channel followed.
    pub channel: String,
    /// Chaincode whose events are kept.
    pub chaincode: String,
    /// Last applied block (`None` before block 0).
    pub last_block: Option<u64>,
    /// Its header hash.
    pub last_hash: Option<[u8; 32]>,
    /// Number of the latest config block applied.
    pub config_number: Option<u64>,
    /// Peer height last observed by the sync, and when (RFC 3339).
    pub peer_height: Option<(u64, String)>,
    /// When the last block was applied (RFC 3339).
    pub updated_at: Option<String>,
}

impl Checkpoint {
    /// The next block the store needs.
    pub fn next_block(&self) -> u64 {
        self.last_block.map_or(0, |b| b + 1)
    }

    /// Blocks behind the last observed peer height.
    pub fn lag(&self) -> Option<u64> {
        self.peer_height
            .as_ref()
            .map(|(h, _)| h.saturating_sub(self.next_block()))
    }
}

/// What one [`Store::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// Blocks applied (skipped replays not counted).
    pub blocks: usize,
    /// Rows added.
    pub entries: usize,
    /// Rows removed by revocations.
    pub removed: usize,
    /// Patients removed by revocations.
    pub revoked: usize,
}

/// Size of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Rows.
    pub entries: u64,
    /// Patients with at least one row.
    pub patients: u64,
}

/// A row with its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The row's random token.
    pub entry: String,
    /// The patient's random token.
    pub subject: String,
    /// The values.
    pub row: DeidRow,
}

const META: &str = "SELECT channel, chaincode, last_block, last_hash, config_number, peer_height, observed_at, \
                    updated_at, link_check, schema_version FROM analytics_meta WHERE id = 1";

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn as_u64(v: &Val) -> Option<u64> {
    v.int().and_then(|i| u64::try_from(i).ok())
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("block number {n} out of range")))
}

fn checkpoint_of(row: &[Val]) -> Result<Checkpoint, StoreError> {
    let text = |i: usize| row.get(i).and_then(Val::text).map(str::to_string);
    let hash = match text(3) {
        Some(h) => Some(
            hex::decode(&h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| StoreError::Corrupt("last_hash is not 32 bytes of hex".into()))?,
        ),
        None => None,
    };
    Ok(Checkpoint {
        channel: text(0).unwrap_or_default(),
        chaincode: text(1).unwrap_or_default(),
        last_block: row.get(2).and_then(as_u64),
        last_hash: hash,
        config_number: row.get(4).and_then(as_u64),
        peer_height: row
            .get(5)
            .and_then(as_u64)
            .map(|h| (h, text(6).unwrap_or_default())),
        updated_at: text(7),
    })
}

impl Store {
    /// Creates the schema when missing and binds a new store to `channel`, `chaincode` and the linking
    /// key; an existing store must already follow them with the same key.
    pub fn init(&mut self, channel: &str, chaincode: &str, key: &LinkKey) -> Result<Checkpoint, StoreError> {
        let check = key.check();
        let mut out = None;
        self.backend.write(&mut |tx| {
            for ddl in DDL {
                tx.exec(ddl, &[])?;
            }
            let rows = tx.rows(META, &[])?;
            let Some(row) = rows.first() else {
                tx.exec(
                    "INSERT INTO analytics_meta (id, schema_version, channel, chaincode, link_check) \
                     VALUES (1, $1, $2, $3, $4)",
                    &[
                        Val::Int(VERSION),
                        Val::Text(channel.into()),
                        Val::Text(chaincode.into()),
                        Val::Text(check.clone()),
                    ],
                )?;
                for p in HHS_RESTRICTED_ZIP3 {
                    tx.exec(
                        "INSERT INTO restricted_zip3 (prefix) VALUES ($1)",
                        &[Val::Text(p.into())],
                    )?;
                }
                out = Some(checkpoint_of(&tx.rows(META, &[])?[0])?);
                return Ok(());
            };
            let cp = checkpoint_of(row)?;
            if let Some(v) = row.get(9).and_then(Val::int).filter(|v| *v > VERSION) {
                return Err(StoreError::Schema(v));
            }
            if cp.channel != channel || cp.chaincode != chaincode {
                return Err(StoreError::OtherChannel {
                    have: format!("channel {} chaincode {}", cp.channel, cp.chaincode),
                    want: format!("channel {channel} chaincode {chaincode}"),
                });
            }
            if row.get(8).and_then(Val::text) != Some(check.as_str()) {
                return Err(StoreError::OtherKey);
            }
            out = Some(cp);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError::Corrupt("no checkpoint".into()))
    }

    /// Where the store is (`Missing` if the sync never initialized it).
    pub fn checkpoint(&mut self) -> Result<Checkpoint, StoreError> {
        let mut out = None;
        self.backend.read(&mut |tx| {
            out = tx
                .rows(META, &[])?
                .first()
                .map(|r| checkpoint_of(r))
                .transpose()?;
            Ok(())
        })?;
        out.ok_or_else(|| StoreError::Missing(self.location.to_string()))
    }

    /// Applies a run of consecutive blocks in one transaction (see the module docs).
    pub fn apply(&mut self, blocks: &[BlockEffects], key: &LinkKey) -> Result<Applied, StoreError> {
        // Two syncs on one PostgreSQL database serialize on the meta row; the second skips what the first
        // applied.
        let meta = format!("{META}{{FOR_UPDATE}}");
        let delay = self.commit_delay;
        let mut total = Applied::default();
        self.backend.write(&mut |tx| {
            total = Applied::default();
            let row = tx.rows(&meta, &[])?;
            let cp = checkpoint_of(
                row.first()
                    .ok_or_else(|| StoreError::Corrupt("no meta row".into()))?,
            )?;
            let (mut last, mut hash) = (cp.last_block, cp.last_hash);
            for fx in blocks {
                let expected = last.map_or(0, |b| b + 1);
                if fx.number < expected {
                    continue;
                }
                if fx.number > expected {
                    return Err(StoreError::Gap {
                        expected,
                        got: fx.number,
                    });
                }
                if let Some(h) = hash
                    && fx.previous_hash != h
                {
                    return Err(StoreError::Fork {
                        number: fx.number,
                        got: hex::encode(&fx.previous_hash),
                        want: hex::encode(h),
                    });
                }
                apply_block(tx, fx, key, &mut total)?;
                (last, hash) = (Some(fx.number), Some(fx.hash));
            }
            if let (Some(b), Some(h)) = (last, hash)
                && last != cp.last_block
            {
                tx.exec(
                    "UPDATE analytics_meta SET last_block = $1, last_hash = $2, updated_at = $3 WHERE id = 1",
                    &[Val::Int(to_i64(b)?), Val::Text(hex::encode(h)), Val::Text(now())],
                )?;
            }
            if let Some(d) = delay {
                std::thread::sleep(d);
            }
            Ok(())
        })?;
        Ok(total)
    }

    /// Records the peer height the sync last saw (for `status` and the lag).
    pub fn observe_height(&mut self, height: u64) -> Result<(), StoreError> {
        let h = to_i64(height)?;
        self.backend.write(&mut |tx| {
            tx.exec(
                "UPDATE analytics_meta SET peer_height = $1, observed_at = $2 WHERE id = 1",
                &[Val::Int(h), Val::Text(now())],
            )?;
            Ok(())
        })
    }

    /// The restricted-prefix table in force.
    pub fn restricted_zip3(&mut self) -> Result<RestrictedZip3, StoreError> {
        let mut prefixes = Vec::new();
        self.backend.read(&mut |tx| {
            prefixes = tx
                .rows("SELECT prefix FROM restricted_zip3", &[])?
                .iter()
                .filter_map(|r| r.first().and_then(Val::text).map(str::to_string))
                .collect();
            Ok(())
        })?;
        Ok(RestrictedZip3::new(prefixes)?)
    }

    /// Replaces the restricted-prefix table and publishes the rows of newly restricted areas as `000`, in
    /// one transaction. Returns the rows changed. (Rows already published as `000` stay so: Safe Harbor
    /// cannot be undone.)
    pub fn set_restricted_zip3(&mut self, table: &RestrictedZip3) -> Result<u64, StoreError> {
        let mut changed = 0;
        self.backend.write(&mut |tx| {
            tx.exec("DELETE FROM restricted_zip3", &[])?;
            for p in table.prefixes() {
                tx.exec(
                    "INSERT INTO restricted_zip3 (prefix) VALUES ($1)",
                    &[Val::Text(p.into())],
                )?;
            }
            changed = tx.exec(
                "UPDATE deid_entry SET zip3 = $1 WHERE zip3 IN (SELECT prefix FROM restricted_zip3)",
                &[Val::Text(SUPPRESSED_ZIP3.into())],
            )?;
            Ok(())
        })?;
        Ok(changed)
    }

    /// The latest config block applied (for the analyst check).
    pub fn config_block(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let mut out = None;
        self.backend.read(&mut |tx| {
            out = tx
                .rows("SELECT config_block FROM analytics_meta WHERE id = 1", &[])?
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next())
                .and_then(|v| match v {
                    Val::Bytes(b) => Some(b),
                    _ => None,
                });
            Ok(())
        })?;
        Ok(out)
    }

    /// Every row, ordered by its random token (so in no meaningful order).
    pub fn rows(&mut self) -> Result<Vec<StoredRow>, StoreError> {
        let mut out = Vec::new();
        self.backend.read(&mut |tx| {
            out = tx
                .rows(
                    "SELECT entry, subject, category, year, age_band, birth_year, sex, zip3 \
                     FROM deid_entry ORDER BY entry",
                    &[],
                )?
                .iter()
                .map(|r| stored_row(r))
                .collect::<Result<_, _>>()?;
            Ok(())
        })?;
        Ok(out)
    }

    /// Rows and patients.
    pub fn stats(&mut self) -> Result<Stats, StoreError> {
        let mut out = Stats {
            entries: 0,
            patients: 0,
        };
        self.backend.read(&mut |tx| {
            let count = |tx: &mut dyn Tx, sql: &str| -> Result<u64, StoreError> {
                Ok(tx
                    .rows(sql, &[])?
                    .first()
                    .and_then(|r| r.first())
                    .and_then(as_u64)
                    .unwrap_or(0))
            };
            out.entries = count(tx, "SELECT COUNT(*) FROM deid_entry")?;
            out.patients = count(tx, "SELECT COUNT(DISTINCT subject) FROM deid_entry")?;
            Ok(())
        })?;
        Ok(out)
    }
}

fn apply_block(
    tx: &mut dyn Tx,
    fx: &BlockEffects,
    key: &LinkKey,
    total: &mut Applied,
) -> Result<(), StoreError> {
    for op in &fx.ops {
        match op {
            Op::Entry(entry) => {
                insert_entry(tx, entry, key)?;
                total.entries += 1;
            }
            Op::Revoke { token } => {
                let k = Val::Text(key.token_key(token));
                let subject = subject_of(tx, &k)?;
                if let Some(s) = subject {
                    total.removed +=
                        tx.exec("DELETE FROM deid_entry WHERE subject = $1", &[Val::Text(s)])? as usize;
                    tx.exec("DELETE FROM subject_link WHERE token_key = $1", &[k])?;
                    total.revoked += 1;
                }
            }
        }
    }
    if let Some(config) = &fx.config {
        tx.exec(
            "UPDATE analytics_meta SET config_block = $1, config_number = $2 WHERE id = 1",
            &[Val::Bytes(config.clone()), Val::Int(to_i64(fx.number)?)],
        )?;
    }
    total.blocks += 1;
    Ok(())
}

fn subject_of(tx: &mut dyn Tx, token_key: &Val) -> Result<Option<String>, StoreError> {
    Ok(tx
        .rows(
            "SELECT subject FROM subject_link WHERE token_key = $1",
            std::slice::from_ref(token_key),
        )?
        .first()
        .and_then(|r| r.first())
        .and_then(Val::text)
        .map(str::to_string))
}

fn insert_entry(tx: &mut dyn Tx, entry: &Sanitized, key: &LinkKey) -> Result<(), StoreError> {
    let k = Val::Text(key.token_key(&entry.token));
    let subject = match subject_of(tx, &k)? {
        Some(s) => s,
        None => {
            let s = random_token()?;
            tx.exec(
                "INSERT INTO subject_link (token_key, subject) VALUES ($1, $2)",
                &[k, Val::Text(s.clone())],
            )?;
            s
        }
    };
    let r = &entry.row;
    tx.exec(
        "INSERT INTO deid_entry (entry, subject, category, year, age_band, birth_year, sex, zip3) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            Val::Text(random_token()?),
            Val::Text(subject),
            Val::Text(r.category.clone()),
            Val::Int(i64::from(r.year)),
            Val::Text(r.age_band.clone()),
            Val::OptInt(r.birth_year.map(i64::from)),
            Val::Text(r.sex.clone()),
            Val::Text(r.zip3.clone()),
        ],
    )?;
    Ok(())
}

fn stored_row(r: &[Val]) -> Result<StoredRow, StoreError> {
    let text = |i: usize| {
        r.get(i)
            .and_then(Val::text)
            .map(str::to_string)
            .ok_or_else(|| StoreError::Corrupt(format!("deid_entry column {i} is not text")))
    };
    let year = r
        .get(3)
        .and_then(Val::int)
        .and_then(|y| i32::try_from(y).ok())
        .ok_or_else(|| StoreError::Corrupt("deid_entry.year is not an integer".into()))?;
    Ok(StoredRow {
        entry: text(0)?,
        subject: text(1)?,
        row: DeidRow {
            category: text(2)?,
            year,
            age_band: text(4)?,
            birth_year: r.get(5).and_then(Val::int).and_then(|y| i32::try_from(y).ok()),
            sex: text(6)?,
            zip3: text(7)?,
        },
    })
}
