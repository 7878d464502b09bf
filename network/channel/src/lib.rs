//! Channels: what makes a set of nodes a consortium. This crate holds the block format (hash chain,
//! orderer signatures), the channel configuration (built from `configtx.yaml`, carried in config
//! blocks, parsed into [`ChannelConfig`]) and policy evaluation. It is pure: orderers use it at
//! Broadcast and when cutting config blocks, peers use it to check blocks and transactions, and both
//! test it without a network or a database.

pub mod admin;
pub mod block;
pub mod config;
pub mod configtx;
pub mod dsl;
pub mod edit;
pub mod genesis;
pub mod keys;
pub mod policy;
pub mod update;

use std::time::Duration;

pub use config::{ChannelConfig, OrgInfo, PolicyNode};
pub use policy::{PolicyError, SignaturePolicy, Subject};

/// Configuration problems, each naming the file, path or value at fault.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {0}")]
    Io(String),
    /// YAML does not parse or does not match the schema.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// The configuration is structurally wrong.
    #[error("invalid channel configuration: {0}")]
    Invalid(String),
    /// A policy is malformed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A configuration update is well formed but its signatures do not authorize it: a signature
    /// does not verify, or the signers do not satisfy a changed element's modification policy. The
    /// message names the element, the policy and who signed.
    #[error("{0}")]
    Forbidden(String),
}

/// Checks a channel name against Fabric's rule: lowercase letters, digits, `.` and `-`, starting with a
/// letter, under 250 characters.
pub fn check_channel_id(id: &str) -> Result<(), ConfigError> {
    let ok = !id.is_empty()
        && id.len() < 250
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "channel name {id:?} must start with a lowercase letter and contain only a-z, 0-9, '.' and '-'"
        )))
    }
}

/// Parses a Go-style duration: `500ms`, `2s`, `1m`, `1.5s`, `100us`.
pub fn parse_duration(s: &str) -> Result<Duration, ConfigError> {
    let t = s.trim();
    let bad = || ConfigError::Invalid(format!("{s:?} is not a duration like 500ms or 2s"));
    let split = t.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The current time as a protobuf timestamp.
pub fn now_timestamp() -> prost_types::Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_names() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
        assert!(check_channel_id("care").is_ok());
        assert!(check_channel_id("Care").is_err());
        assert!(check_channel_id("").is_err());
    }
}
