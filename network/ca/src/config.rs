//! `carechain ca start`: the CA server's configuration (a YAML file and/or flags) and start-up: key
//! material (the org's CA from crypto-config, a reused or fresh root, or a fresh intermediate signed
//! by the org root), the TLS identity, the registry with its bootstrap admin, and the listener.
//!
//! Each organization runs its own CA, as with fabric-ca; the identities it issues then sign proposals,
//! endorsements and transactions in endorse → order → validate.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use carechain_crypto::{CertificateAuthority, LeafRequest, Subject, Validity};
use carechain_transport::TlsIdentity;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::audit::AuditLog;
use crate::authority::{Ca, Settings};
use crate::error::CaError;
use crate::expiry::{parse_duration, scan_registry};
use crate::material::CaMaterial;
use crate::server::{RunningCa, serve};

/// Everything `carechain ca start` needs. Relative paths are taken as given (from the working
/// directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaServerConfig {
    /// The CA's home: `registry.json`, `audit.log`, `crl.pem`, `msp/` (the MSP its identities belong
    /// to), generated keys and certificates.
    pub home: PathBuf,
    /// `host:port` to listen on.
    pub listen: String,
    /// The organization's MSP id.
    pub msp_id: String,
    /// The org's MSP directory (cacerts, intermediatecerts, tlscacerts, config.yaml), copied into
    /// every enrolled MSP directory.
    pub org_msp_dir: Option<PathBuf>,
    /// The CA certificate to issue with (e.g. crypto-config's `ca/ca.<domain>-cert.pem`).
    pub ca_cert: Option<PathBuf>,
    /// Its key (`ca/priv_sk`).
    pub ca_key: Option<PathBuf>,
    /// Parent certificates of `ca_cert` up to the root, when not in the org MSP directory.
    pub ca_chain: Option<PathBuf>,
    /// Generate (once) an intermediate CA signed by `parent_cert` / `parent_key`.
    pub intermediate: bool,
    /// The parent of a generated intermediate (the org root).
    pub parent_cert: Option<PathBuf>,
    /// The parent's key.
    pub parent_key: Option<PathBuf>,
    /// CN of a generated CA (default `ca.<organization>` or `ica.<organization>`).
    pub ca_name: Option<String>,
    /// O of a generated root (the org domain).
    pub organization: Option<String>,
    /// TLS certificate (chain) of the server; default: one the CA issues for itself.
    pub tls_cert: Option<PathBuf>,
    /// TLS key.
    pub tls_key: Option<PathBuf>,
    /// SANs of a generated TLS certificate.
    pub tls_hosts: Vec<String>,
    /// `name:secret` of the bootstrap admin, registered on first start.
    pub bootstrap_admin: Option<String>,
    /// CA-wide maximum enrollments per identity: -1 unlimited, 0 disabled.
    pub max_enrollments: i32,
    /// Lifetime of issued certificates (`365d`).
    pub validity: String,
    /// Lifetime of generated CRLs (`24h`).
    pub crl_validity: String,
    /// Audit log file (default `<home>/audit.log`).
    pub audit_log: Option<PathBuf>,
    /// PBKDF2 iterations for secrets (default 100000).
    pub secret_iterations: Option<u32>,
}

impl Default for CaServerConfig {
    fn default() -> Self {
        Self {
            home: PathBuf::from("ca-home"),
            listen: "127.0.0.1:7054".into(),
            msp_id: String::new(),
            org_msp_dir: None,
            ca_cert: None,
            ca_key: None,
            ca_chain: None,
            intermediate: false,
            parent_cert: None,
            parent_key: None,
            ca_name: None,
            organization: None,
            tls_cert: None,
            tls_key: None,
            tls_hosts: Vec::new(),
            bootstrap_admin: None,
            max_enrollments: -1,
            validity: "365d".into(),
            crl_validity: "24h".into(),
            audit_log: None,
            secret_iterations: None,
        }
    }
}

impl CaServerConfig {
    /// Reads a YAML configuration file.
    pub fn load(path: &Path) -> Result<Self, CaError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| CaError::Setup(format!("{}: {e}", path.display())))?;
        serde_yaml_ng::from_str(&text).map_err(|e| CaError::Setup(format!("{}: {e}", path.display())))
    }
}

fn setup(what: impl std::fmt::Display) -> CaError {
    CaError::Setup(what.to_string())
}

fn read_pems(path: &Path) -> Result<Vec<String>, CaError> {
    let data = std::fs::read(path).map_err(|e| setup(format!("{}: {e}", path.display())))?;
    let certs =
        carechain_crypto::pem::certificates(&data).map_err(|e| setup(format!("{}: {e}", path.display())))?;
    Ok(certs
        .iter()
        .map(|d| carechain_crypto::pem::encode_certificate(d))
        .collect())
}

fn load_ca(cert: &Path, key: &Path) -> Result<CertificateAuthority, CaError> {
    CertificateAuthority::load(cert, key).map_err(|e| setup(format!("CA {}: {e}", cert.display())))
}

/// Candidate parents: the org MSP's CAs, `ca_chain`, and a chain saved in the home.
fn parent_candidates(cfg: &CaServerConfig) -> Result<Vec<String>, CaError> {
    let mut out = Vec::new();
    if let Some(dir) = &cfg.org_msp_dir {
        let msp = carechain_crypto::msp::load_msp_config(dir, &cfg.msp_id).map_err(setup)?;
        for c in msp.root_certs.iter().chain(&msp.intermediate_certs) {
            out.push(String::from_utf8_lossy(c).to_string());
        }
    }
    for file in [cfg.ca_chain.clone(), Some(cfg.home.join("ca-chain.pem"))]
        .into_iter()
        .flatten()
    {
        if file.exists() {
            out.extend(read_pems(&file)?);
        }
    }
    Ok(out)
}

/// The issuing CA: given files, then a CA saved in the home, then a fresh intermediate or root.
pub fn load_material(cfg: &CaServerConfig) -> Result<CaMaterial, CaError> {
    let parents = parent_candidates(cfg)?;
    if let (Some(cert), Some(key)) = (&cfg.ca_cert, &cfg.ca_key) {
        return CaMaterial::new(load_ca(cert, key)?, &parents);
    }
    if cfg.ca_cert.is_some() || cfg.ca_key.is_some() {
        return Err(setup("--ca-cert and --ca-key go together"));
    }
    let (home_cert, home_key) = (cfg.home.join("ca-cert.pem"), cfg.home.join("ca-key.pem"));
    if home_cert.exists() {
        return CaMaterial::new(load_ca(&home_cert, &home_key)?, &parents);
    }
    let material = if cfg.intermediate {
        let (Some(pc), Some(pk)) = (&cfg.parent_cert, &cfg.parent_key) else {
            return Err(setup(
                "--intermediate needs --parent-cert and --parent-key (the org root CA)",
            ));
        };
        let parent = CaMaterial::new(load_ca(pc, pk)?, &parents)?;
        let org = parent.subject.organization.clone();
        let subject = Subject {
            common_name: cfg.ca_name.clone().unwrap_or_else(|| format!("ica.{org}")),
            organization: org,
            organizational_unit: None,
            country: parent.subject.country.clone(),
            province: parent.subject.province.clone(),
            locality: parent.subject.locality.clone(),
        };
        let now = OffsetDateTime::now_utc();
        let until = (now + Duration::days(5 * 365)).min(parent.not_after);
        let ica = parent
            .issuer
            .new_intermediate(&subject, Validity::between(now - Duration::minutes(5), until))
            .map_err(setup)?;
        let mut chain = parent.chain.clone();
        chain.extend(parents);
        CaMaterial::new(ica, &chain)?
    } else {
        let Some(org) = &cfg.organization else {
            return Err(setup(
                "no CA key: give --ca-cert/--ca-key (e.g. crypto-config's ca/), --intermediate with the org root, or --org to create a fresh root",
            ));
        };
        let subject = Subject::new(cfg.ca_name.clone().unwrap_or_else(|| format!("ca.{org}")), org);
        let root = CertificateAuthority::new_root(&subject, Validity::years_from_now(15)).map_err(setup)?;
        CaMaterial::new(root, &[])?
    };
    std::fs::create_dir_all(&cfg.home).map_err(|e| setup(format!("{}: {e}", cfg.home.display())))?;
    material.save(&cfg.home)?;
    tracing::info!(ca = %material.issuer.name(), home = %cfg.home.display(), intermediate = material.is_intermediate(), "created a new CA key and certificate");
    Ok(material)
}

/// The server's TLS identity: given files, a pair saved in the home, or a fresh certificate the CA
/// issues for itself (clients then trust the CA's root, written to `<home>/tls-ca.pem`).
pub fn tls_identity(cfg: &CaServerConfig, material: &CaMaterial) -> Result<TlsIdentity, CaError> {
    if let (Some(c), Some(k)) = (&cfg.tls_cert, &cfg.tls_key) {
        return TlsIdentity::from_files(c, k).map_err(setup);
    }
    let (cert, key) = (cfg.home.join("tls-cert.pem"), cfg.home.join("tls-key.pem"));
    if !cert.exists() {
        let hosts = if cfg.tls_hosts.is_empty() {
            vec!["localhost".to_string(), "127.0.0.1".to_string()]
        } else {
            cfg.tls_hosts.clone()
        };
        let now = OffsetDateTime::now_utc();
        let mut req = LeafRequest::tls(
            Subject::new(hosts[0].clone(), material.subject.organization.clone()),
            hosts,
        );
        req.validity = Validity::between(
            now - Duration::minutes(5),
            (now + Duration::days(365)).min(material.not_after),
        );
        let (issued, k) = material.issuer.issue_leaf(&req).map_err(setup)?;
        let chain = std::iter::once(issued.pem)
            .chain(material.chain[..material.chain.len() - 1].iter().cloned())
            .collect::<String>();
        std::fs::write(&cert, chain).map_err(|e| setup(format!("{}: {e}", cert.display())))?;
        k.save(&key).map_err(setup)?;
        std::fs::write(cfg.home.join("tls-ca.pem"), material.root())
            .map_err(|e| setup(format!("{}: {e}", cfg.home.display())))?;
    }
    TlsIdentity::from_files(&cert, &key).map_err(setup)
}

fn settings(cfg: &CaServerConfig) -> Result<Settings, CaError> {
    if cfg.msp_id.is_empty() {
        return Err(setup("the organization's MSP id is required (--msp-id)"));
    }
    if cfg.max_enrollments < -1 {
        return Err(setup(
            "max enrollments must be -1 (unlimited), 0 (disabled) or positive",
        ));
    }
    let positive = |what: &str, s: &str| -> Result<Duration, CaError> {
        let d = parse_duration(s).map_err(|e| setup(format!("{what}: {e}")))?;
        if d <= Duration::ZERO {
            return Err(setup(format!("{what} must be positive")));
        }
        Ok(d)
    };
    let mut s = Settings::new(cfg.msp_id.clone());
    s.max_enrollments = cfg.max_enrollments;
    s.validity = positive("validity", &cfg.validity)?;
    s.crl_validity = positive("CRL validity", &cfg.crl_validity)?;
    if let Some(n) = cfg.secret_iterations {
        s.secret_iterations = n.max(1);
    }
    Ok(s)
}

/// Opens the CA described by `cfg` (creating its key material and registry on first start).
pub fn open(cfg: &CaServerConfig) -> Result<Ca, CaError> {
    let settings = settings(cfg)?;
    std::fs::create_dir_all(&cfg.home).map_err(|e| setup(format!("{}: {e}", cfg.home.display())))?;
    let material = load_material(cfg)?;
    let org_msp = match &cfg.org_msp_dir {
        Some(dir) => Some(carechain_crypto::msp::load_msp_config(dir, &cfg.msp_id).map_err(setup)?),
        None => None,
    };
    let audit_path = cfg
        .audit_log
        .clone()
        .unwrap_or_else(|| cfg.home.join("audit.log"));
    let ca = Ca::open(
        settings,
        material,
        org_msp,
        &cfg.home,
        AuditLog::new(Some(&audit_path)),
    )?;
    // The MSP this CA's identities belong to, as an org would publish it in channel configuration.
    if let Some(msp) = &ca.info().msp_config {
        let dir = cfg.home.join("msp");
        let _ = std::fs::remove_dir_all(&dir);
        carechain_crypto::msp::write_msp_dir(msp, &dir).map_err(setup)?;
    }
    if let Some(spec) = &cfg.bootstrap_admin {
        let (name, secret) = spec
            .split_once(':')
            .ok_or_else(|| setup("--bootstrap-admin must be name:secret"))?;
        ca.bootstrap(name, secret)?;
    }
    if ca.registry().identities.is_empty() {
        return Err(setup(
            "the registry is empty: give --bootstrap-admin name:secret so someone can register identities",
        ));
    }
    Ok(ca)
}

/// Opens the CA and serves it until `shutdown` completes.
pub async fn start(
    cfg: &CaServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(Arc<Ca>, RunningCa), CaError> {
    let ca = Arc::new(open(cfg)?);
    let tls = tls_identity(cfg, ca.material())?;
    let listen: SocketAddr = cfg
        .listen
        .parse()
        .map_err(|e| setup(format!("listen address {:?}: {e}", cfg.listen)))?;
    let running = serve(ca.clone(), listen, &tls, shutdown).await.map_err(setup)?;
    warn_expiring(&ca);
    ca.audit().record(
        "start",
        "(ca start)",
        ca.material().issuer.name(),
        Ok(format!("listening on {}", running.address)),
    );
    Ok((ca, running))
}

/// Logs what will expire soon: the CA chain within 90 days, issued certificates within 30.
fn warn_expiring(ca: &Ca) {
    let now = OffsetDateTime::now_utc();
    let chain_left = ca.material().not_after - now;
    if chain_left < Duration::days(90) {
        tracing::warn!(ca = %ca.material().issuer.name(), not_after = %ca.material().not_after, days_left = chain_left.whole_days(), "the CA chain expires soon; every certificate it issued expires with it");
    }
    for e in scan_registry(&ca.registry(), Duration::days(30), now) {
        tracing::warn!(certificate = %e.subject, serial = %e.serial, not_after = %e.not_after, days_left = e.days_left, "issued certificate expires within 30 days; re-enroll it");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "config_tests.rs"]
mod tests;
