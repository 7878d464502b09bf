//! Node configuration files: YAML read through the `config` crate, overridable by environment variables
//! (`CARECHAIN_PEER_LISTEN=...`, nested keys with `__`: `CARECHAIN_PEER_TLS__CERT=...`). Relative paths
//! in a file are relative to that file, so a network directory can be moved as a whole.

use std::path::{Path, PathBuf};

use anyhow::Context;
use carechain_peer::PeerConfig;

fn load<T: serde::de::DeserializeOwned>(path: &Path, env_prefix: &str) -> anyhow::Result<T> {
    let cfg = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Yaml))
        .add_source(
            config::Environment::with_prefix(env_prefix)
                .separator("__")
                .prefix_separator("_")
                .try_parsing(true),
        )
        .build()
        .with_context(|| format!("reading {}", path.display()))?;
    cfg.try_deserialize()
        .with_context(|| format!("invalid configuration in {}", path.display()))
}

fn resolve(base: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        *p = base.join(&*p);
    }
}

/// Reads a peer configuration file.
pub fn load_peer(path: &Path) -> anyhow::Result<PeerConfig> {
    let mut c: PeerConfig = load(path, "CARECHAIN_PEER")?;
    let base = path.parent().unwrap_or(Path::new("."));
    for p in [
        &mut c.msp_dir,
        &mut c.tls.cert,
        &mut c.tls.key,
        &mut c.tls.ca,
        &mut c.data_dir,
    ] {
        resolve(base, p);
    }
    Ok(c)
}

/// Reads an orderer configuration file.
pub fn load_orderer(path: &Path) -> anyhow::Result<carechain_orderer::OrdererConfig> {
    let mut c: carechain_orderer::OrdererConfig = load(path, "CARECHAIN_ORDERER")?;
    let base = path.parent().unwrap_or(Path::new("."));
    for p in [
        &mut c.msp_dir,
        &mut c.tls.cert,
        &mut c.tls.key,
        &mut c.tls.ca,
        &mut c.data_dir,
    ] {
        resolve(base, p);
    }
    Ok(c)
}
