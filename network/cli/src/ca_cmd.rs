//! `carechain ca start|register|enroll|reenroll|revoke|gencrl|list|expiring`: the organization's
//! certificate authority (`carechain-ca`) and its client, in fabric-ca's style. Enrolling writes a
//! Fabric MSP directory (key generated here, never sent); `gencrl` writes the CRL that
//! `carechain channel update ... crl` puts into channel configuration; `expiring` finds certificates
//! about to expire in a crypto tree or a CA registry and exits non-zero, for cron and CI.

use std::path::PathBuf;

use anyhow::{Context, bail};
use carechain_ca::client::{CaClient, EnrollOptions, Enrollment, attribute_from_spec};
use carechain_ca::config::CaServerConfig;
use carechain_ca::expiry;
use carechain_ca::model::Profile;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::carechain::ca::{AttributeRequest, RegisterRequest, RevokeRequest};
use carechain_transport::ClientTls;
use clap::{Args, Subcommand};

/// How to reach the CA.
#[derive(Args, Debug, Clone)]
pub struct CaConn {
    /// CA address (`host:port`).
    #[arg(long, env = "CARECHAIN_CA_URL")]
    url: String,
    /// CA certificate(s) the CA's TLS certificate chains to (`<ca home>/tls-ca.pem`, or the org's
    /// TLS CA).
    #[arg(long, env = "CARECHAIN_CA_TLS_CA")]
    tls_ca: PathBuf,
    /// Name to verify in the CA's TLS certificate (default: the host of --url).
    #[arg(long)]
    server_name: Option<String>,
}

impl CaConn {
    async fn client(&self) -> anyhow::Result<CaClient> {
        let ca_pem =
            std::fs::read(&self.tls_ca).with_context(|| format!("reading {}", self.tls_ca.display()))?;
        let host = self.url.rsplit_once(':').map_or(self.url.as_str(), |(h, _)| h);
        let tls = ClientTls {
            ca_pem,
            identity: None,
            server_name: Some(self.server_name.clone().unwrap_or_else(|| host.to_string())),
            max_message_bytes: carechain_ca::server::MAX_MESSAGE_BYTES,
        };
        CaClient::connect(&self.url, &tls)
            .await
            .with_context(|| format!("connecting to the CA at {}", self.url))
    }
}

/// The identity signing a registrar request (an MSP directory this CA enrolled).
#[derive(Args, Debug, Clone)]
pub struct CaCaller {
    /// MSP directory of the caller (signcerts + keystore).
    #[arg(long, env = "CARECHAIN_MSP_DIR")]
    msp_dir: PathBuf,
    /// Its MSP id (default: the CA's).
    #[arg(long, env = "CARECHAIN_MSP_ID")]
    msp_id: Option<String>,
}

impl CaCaller {
    async fn signer(&self, client: &mut CaClient) -> anyhow::Result<SigningIdentity> {
        let msp_id = match &self.msp_id {
            Some(id) => id.clone(),
            None => client.info().await?.msp_id,
        };
        SigningIdentity::load(&self.msp_dir, msp_id)
            .with_context(|| format!("loading identity from {}", self.msp_dir.display()))
    }
}

/// What an enrollment asks for.
#[derive(Args, Debug, Clone)]
pub struct CertArgs {
    /// `signing` (an MSP directory) or `tls` (server.crt, server.key, ca.crt).
    #[arg(long, default_value = "signing", value_parser = ["signing", "tls"])]
    profile: String,
    /// SANs of a TLS certificate (repeatable).
    #[arg(long = "host")]
    hosts: Vec<String>,
    /// Attributes to include, `name` or `name:opt` (repeatable; default: every ecert attribute).
    #[arg(long = "attr-req")]
    attr_reqs: Vec<String>,
}

impl CertArgs {
    fn options(&self) -> anyhow::Result<EnrollOptions> {
        Ok(EnrollOptions {
            profile: Profile::parse(&self.profile).map_err(anyhow::Error::msg)?,
            hosts: self.hosts.clone(),
            attr_reqs: self
                .attr_reqs
                .iter()
                .map(|r| match r.strip_suffix(":opt") {
                    Some(name) => AttributeRequest {
                        name: name.into(),
                        optional: true,
                    },
                    None => AttributeRequest {
                        name: r.clone(),
                        optional: false,
                    },
                })
                .collect(),
        })
    }
}

/// CA subcommands.
#[derive(Subcommand, Debug)]
pub enum CaCommand {
    /// Run the organization's CA until interrupted.
    Start(Box<StartArgs>),
    /// Register an identity (as a registrar); prints its enrollment secret.
    Register {
        #[command(flatten)]
        conn: CaConn,
        #[command(flatten)]
        caller: CaCaller,
        /// Enrollment id (becomes the certificate CN).
        #[arg(long)]
        id: String,
        /// Enrollment secret (default: generated and printed).
        #[arg(long)]
        secret: Option<String>,
        /// client, peer, admin or orderer.
        #[arg(long = "type", default_value = "client")]
        id_type: String,
        /// Affiliation, e.g. hospitala.cardiology (default: the registrar's).
        #[arg(long, default_value = "")]
        affiliation: String,
        /// `name=value`, optionally `:ecert` / `:noecert` (default ecert, except hf.* privileges).
        #[arg(long = "attr")]
        attrs: Vec<String>,
        /// Maximum enrollments: -1 unlimited, 0 the CA's limit.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        max_enrollments: i32,
    },
    /// Enroll with an enrollment secret and write an MSP (or TLS) directory.
    Enroll {
        #[command(flatten)]
        conn: CaConn,
        /// Enrollment id.
        #[arg(long)]
        id: String,
        /// Enrollment secret.
        #[arg(long, env = "CARECHAIN_CA_SECRET")]
        secret: String,
        /// Directory to write (replaced if it exists).
        #[arg(long)]
        output: PathBuf,
        #[command(flatten)]
        cert: CertArgs,
    },
    /// Get a new certificate for an enrolled identity, before it expires.
    Reenroll {
        #[command(flatten)]
        conn: CaConn,
        #[command(flatten)]
        caller: CaCaller,
        /// Directory to write (default: --msp-dir, replaced).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Keep the current key instead of generating a new one.
        #[arg(long)]
        reuse_key: bool,
        #[command(flatten)]
        cert: CertArgs,
    },
    /// Revoke an identity (every certificate) or one certificate.
    Revoke {
        #[command(flatten)]
        conn: CaConn,
        #[command(flatten)]
        caller: CaCaller,
        /// Enrollment id to revoke.
        #[arg(long, required_unless_present = "serial")]
        id: Option<String>,
        /// Serial (hex) of one certificate to revoke.
        #[arg(long)]
        serial: Option<String>,
        /// keycompromise, superseded, cessationofoperation, privilegewithdrawn, ...
        #[arg(long, default_value = "unspecified")]
        reason: String,
        /// Also write a fresh CRL to this file.
        #[arg(long)]
        crl_output: Option<PathBuf>,
    },
    /// Generate a CRL of every revoked certificate (feed it to `carechain channel update ... crl`).
    Gencrl {
        #[command(flatten)]
        conn: CaConn,
        #[command(flatten)]
        caller: CaCaller,
        /// Where to write the CRL (PEM).
        #[arg(long)]
        output: PathBuf,
    },
    /// List identities and their certificates.
    List {
        #[command(flatten)]
        conn: CaConn,
        #[command(flatten)]
        caller: CaCaller,
        /// Only this enrollment id.
        #[arg(long)]
        id: Option<String>,
    },
    /// Certificates expiring within a window; exits non-zero if there are any.
    Expiring {
        /// Window, e.g. 30d, 2w, 12h.
        #[arg(long, default_value = "30d")]
        within: String,
        /// Crypto trees to scan for *.pem / *.crt (repeatable).
        #[arg(long = "msp-tree")]
        trees: Vec<PathBuf>,
        /// CA homes whose registry to scan (repeatable).
        #[arg(long = "ca-home")]
        ca_homes: Vec<PathBuf>,
    },
}

/// `carechain ca start` flags (override the config file).
#[derive(Args, Debug)]
pub struct StartArgs {
    /// YAML configuration (same keys as these flags, in snake_case).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The CA's home directory.
    #[arg(long)]
    home: Option<PathBuf>,
    /// `host:port` to listen on.
    #[arg(long)]
    listen: Option<String>,
    /// The organization's MSP id.
    #[arg(long)]
    msp_id: Option<String>,
    /// The organization's MSP directory (copied into enrolled MSP directories).
    #[arg(long)]
    org_msp_dir: Option<PathBuf>,
    /// CA certificate to issue with (e.g. crypto/.../ca/ca.<domain>-cert.pem).
    #[arg(long, requires = "ca_key")]
    ca_cert: Option<PathBuf>,
    /// Its key (ca/priv_sk).
    #[arg(long, requires = "ca_cert")]
    ca_key: Option<PathBuf>,
    /// Parent certificates of --ca-cert up to the root.
    #[arg(long)]
    ca_chain: Option<PathBuf>,
    /// Create an intermediate CA signed by --parent-cert/--parent-key.
    #[arg(long, requires_all = ["parent_cert", "parent_key"])]
    intermediate: bool,
    /// The org root CA certificate (for --intermediate).
    #[arg(long)]
    parent_cert: Option<PathBuf>,
    /// The org root CA key.
    #[arg(long)]
    parent_key: Option<PathBuf>,
    /// CN of a generated CA.
    #[arg(long)]
    ca_name: Option<String>,
    /// Organization (domain) of a fresh root CA.
    #[arg(long = "org")]
    organization: Option<String>,
    /// TLS certificate of the server (default: issued by the CA itself).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS key.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// SANs of a generated TLS certificate (repeatable).
    #[arg(long = "tls-host")]
    tls_hosts: Vec<String>,
    /// `name:secret` of the bootstrap admin (registered on first start).
    #[arg(long, env = "CARECHAIN_CA_BOOTSTRAP_ADMIN")]
    bootstrap_admin: Option<String>,
    /// CA-wide maximum enrollments per identity (-1 unlimited, 0 disabled).
    #[arg(long, allow_negative_numbers = true)]
    max_enrollments: Option<i32>,
    /// Lifetime of issued certificates, e.g. 365d.
    #[arg(long)]
    validity: Option<String>,
    /// Lifetime of generated CRLs, e.g. 24h.
    #[arg(long)]
    crl_validity: Option<String>,
    /// Audit log file (default <home>/audit.log).
    #[arg(long)]
    audit_log: Option<PathBuf>,
}

impl StartArgs {
    fn config(self) -> anyhow::Result<CaServerConfig> {
        let mut c = match &self.config {
            Some(p) => CaServerConfig::load(p)?,
            None => CaServerConfig::default(),
        };
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { c.$f = v; })* };
        }
        macro_rules! set_opt {
            ($($f:ident),*) => { $(if self.$f.is_some() { c.$f = self.$f; })* };
        }
        set!(home, listen, msp_id, max_enrollments, validity, crl_validity);
        set_opt!(
            org_msp_dir,
            ca_cert,
            ca_key,
            ca_chain,
            parent_cert,
            parent_key,
            ca_name,
            organization,
            tls_cert,
            tls_key,
            bootstrap_admin,
            audit_log
        );
        c.intermediate |= self.intermediate;
        if !self.tls_hosts.is_empty() {
            c.tls_hosts = self.tls_hosts;
        }
        Ok(c)
    }
}

/// Runs a CA subcommand.
pub async fn run(cmd: CaCommand) -> anyhow::Result<()> {
    match cmd {
        CaCommand::Start(args) => start(*args).await,
        CaCommand::Register {
            conn,
            caller,
            id,
            secret,
            id_type,
            affiliation,
            attrs,
            max_enrollments,
        } => {
            let mut client = conn.client().await?;
            let signer = caller.signer(&mut client).await?;
            let req = RegisterRequest {
                enrollment_id: id.clone(),
                secret: secret.unwrap_or_default(),
                r#type: id_type.clone(),
                affiliation,
                attributes: attrs
                    .iter()
                    .map(|a| attribute_from_spec(a).map_err(anyhow::Error::msg))
                    .collect::<anyhow::Result<_>>()?,
                max_enrollments,
            };
            let r = client.register(&signer, req).await?;
            println!("registered {id} (type {id_type})");
            println!("secret: {}", r.secret);
            Ok(())
        }
        CaCommand::Enroll {
            conn,
            id,
            secret,
            output,
            cert,
        } => {
            let mut client = conn.client().await?;
            let opts = cert.options()?;
            let e = client.enroll(&id, &secret, &opts).await?;
            write_enrollment(&e, &output, opts.profile)
        }
        CaCommand::Reenroll {
            conn,
            caller,
            output,
            reuse_key,
            cert,
        } => {
            let mut client = conn.client().await?;
            let signer = caller.signer(&mut client).await?;
            let opts = cert.options()?;
            let e = client.reenroll(&signer, &opts, reuse_key).await?;
            write_enrollment(&e, output.as_ref().unwrap_or(&caller.msp_dir), opts.profile)
        }
        CaCommand::Revoke {
            conn,
            caller,
            id,
            serial,
            reason,
            crl_output,
        } => {
            let mut client = conn.client().await?;
            let signer = caller.signer(&mut client).await?;
            let req = RevokeRequest {
                enrollment_id: id.unwrap_or_default(),
                serial: serial.unwrap_or_default(),
                reason,
                gen_crl: crl_output.is_some(),
            };
            let r = client.revoke(&signer, req).await?;
            println!("revoked certificate(s): {}", r.revoked_serials.join(", "));
            if let Some(path) = crl_output {
                std::fs::write(&path, &r.crl_pem).with_context(|| format!("writing {}", path.display()))?;
                println!("CRL written to {}", path.display());
            }
            Ok(())
        }
        CaCommand::Gencrl { conn, caller, output } => {
            let mut client = conn.client().await?;
            let signer = caller.signer(&mut client).await?;
            let r = client.gen_crl(&signer).await?;
            std::fs::write(&output, &r.crl_pem).with_context(|| format!("writing {}", output.display()))?;
            println!(
                "CRL number {} listing {} revoked certificate(s) written to {}",
                r.crl_number,
                r.revoked,
                output.display()
            );
            println!(
                "make it effective: carechain channel update ... crl --org <Org> --crl {}",
                output.display()
            );
            Ok(())
        }
        CaCommand::List { conn, caller, id } => {
            let mut client = conn.client().await?;
            let signer = caller.signer(&mut client).await?;
            let r = client.list(&signer, id.as_deref().unwrap_or("")).await?;
            for line in carechain_ca::client::describe_identities(&r.identities) {
                println!("{line}");
            }
            Ok(())
        }
        CaCommand::Expiring {
            within,
            trees,
            ca_homes,
        } => expiring(&within, &trees, &ca_homes),
    }
}

async fn start(args: StartArgs) -> anyhow::Result<()> {
    if std::env::var_os("CARECHAIN_LOG").is_none() && std::env::var_os("RUST_LOG").is_none() {
        // A CA is a server: its operation log belongs on stderr like a peer's.
        let _ = crate::logging::set_filter("info");
    }
    let cfg = args.config()?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupted; stopping the CA");
    };
    let (ca, running) = carechain_ca::config::start(&cfg, shutdown).await?;
    println!(
        "CA {} of {} listening on {}",
        ca.material().issuer.name(),
        ca.settings().msp_id,
        running.address
    );
    let tls_ca = cfg.home.join("tls-ca.pem");
    if cfg.tls_cert.is_none() && tls_ca.exists() {
        println!(
            "clients verify its TLS certificate with --tls-ca {}",
            tls_ca.display()
        );
    }
    running.task.await??;
    Ok(())
}

fn write_enrollment(e: &Enrollment, output: &std::path::Path, profile: Profile) -> anyhow::Result<()> {
    match profile {
        Profile::Signing => e.write_msp_dir(output)?,
        Profile::Tls => e.write_tls_dir(output)?,
    }
    println!(
        "enrolled with {} of {}: certificate serial {}, valid until {} ({} days); written to {}",
        e.ca.ca_name,
        e.ca.msp_id,
        e.serial,
        expiry::format_unix(e.not_after),
        expiry::days_until(e.not_after),
        output.display()
    );
    Ok(())
}

fn expiring(within: &str, trees: &[PathBuf], ca_homes: &[PathBuf]) -> anyhow::Result<()> {
    let window = expiry::parse_duration(within).map_err(anyhow::Error::msg)?;
    if trees.is_empty() && ca_homes.is_empty() {
        bail!("give at least one --msp-tree or --ca-home");
    }
    let (found, scanned) = expiry::scan_all(trees, ca_homes, window, expiry::now())?;
    for e in &found {
        println!("{}", e.describe());
    }
    if found.is_empty() {
        println!("no certificate expires within {within} ({scanned} examined)");
        return Ok(());
    }
    bail!(
        "{} of {scanned} certificate(s) expire within {within}",
        found.len()
    )
}
