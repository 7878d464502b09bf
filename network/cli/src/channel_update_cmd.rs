//! `carechain channel fetch|update|sign-update|submit-update`: Fabric's channel-change ritual (fetch,
//! decode, edit, encode, compute the update, collect signatures, submit) as one command per step, with
//! the same guarantees: the update only takes effect if the admins who signed satisfy each changed
//! element's modification policy, checked by the orderers and again by every peer.

use std::path::PathBuf;

use anyhow::{Context, bail};
use carechain::channelops::{self, NodeKind};
use carechain::identity::{ClientArgs, SignerArgs};
use carechain_channel::ChannelConfig;
use carechain_channel::configtx::{HostPort, OrgSpec};
use carechain_channel::{edit, genesis, update};
use carechain_proto::common::{Config, Envelope, Status};
use carechain_proto::etcdraft;
use clap::Subcommand;
use prost::Message;

/// What to change.
#[derive(Subcommand, Debug)]
pub enum UpdateKind {
    /// Add an application organization.
    AddOrg {
        /// Group name (e.g. HospitalC).
        #[arg(long)]
        name: String,
        /// MSP id.
        #[arg(long = "msp-id-new")]
        new_msp_id: String,
        /// The new org's MSP directory (cacerts, tlscacerts, config.yaml).
        #[arg(long = "org-msp-dir")]
        org_msp_dir: PathBuf,
        /// Anchor peer `host:port` (repeatable).
        #[arg(long)]
        anchor: Vec<String>,
    },
    /// Replace an organization's CRLs (PEM files), making revocations effective on every node.
    Crl {
        /// Org group name.
        #[arg(long)]
        org: String,
        /// CRL files.
        #[arg(long, required = true)]
        crl: Vec<PathBuf>,
    },
    /// Replace an organization's anchor peers.
    Anchors {
        /// Org group name.
        #[arg(long)]
        org: String,
        /// `host:port` (repeatable).
        #[arg(long, required = true)]
        anchor: Vec<String>,
    },
    /// Change batch settings.
    Batch {
        /// MaxMessageCount.
        #[arg(long)]
        max_message_count: Option<u32>,
        /// BatchTimeout, e.g. 500ms.
        #[arg(long)]
        batch_timeout: Option<String>,
    },
    /// Add or remove a Raft consenter.
    Consenter {
        /// `add` or `remove`.
        #[arg(value_parser = ["add", "remove"])]
        action: String,
        /// Cluster host.
        #[arg(long)]
        host: String,
        /// Cluster port.
        #[arg(long)]
        port: u16,
        /// The orderer's TLS certificate (client and server).
        #[arg(long)]
        tls_cert: PathBuf,
    },
}

/// Update-flow subcommands.
#[derive(Subcommand, Debug)]
pub enum UpdateCommand {
    /// Write blocks as they are on the wire (`DIR/<number>.block`).
    Fetch {
        /// Channel.
        #[arg(long)]
        channel: String,
        /// Output directory.
        #[arg(long)]
        output: PathBuf,
        /// First block.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Last block (default: the newest).
        #[arg(long)]
        to: Option<u64>,
        /// Only the latest config block, written as `DIR/config.block`.
        #[arg(long)]
        config: bool,
        /// Whether `--address` is an orderer or a peer.
        #[arg(long, value_enum, default_value = "orderer")]
        node: NodeKind,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Build a config update from the channel's current configuration (fetched from the node at
    /// `--address`) and write it, unsigned, to `--output`.
    Update {
        /// Channel.
        #[arg(long)]
        channel: String,
        /// Output file (an update envelope).
        #[arg(long)]
        output: PathBuf,
        /// Whether `--address` is an orderer or a peer.
        #[arg(long, value_enum, default_value = "orderer")]
        node: NodeKind,
        #[command(subcommand)]
        kind: UpdateKind,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add your signature (an admin's) to an update file, in place.
    SignUpdate {
        /// The update file.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Submit a signed update to an orderer.
    SubmitUpdate {
        /// The update file.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn host_port(s: &str) -> anyhow::Result<(String, u16)> {
    let (h, p) = s
        .rsplit_once(':')
        .with_context(|| format!("{s:?} is not host:port"))?;
    Ok((
        h.to_string(),
        p.parse().with_context(|| format!("bad port in {s:?}"))?,
    ))
}

fn desired(current: &Config, kind: &UpdateKind) -> anyhow::Result<Config> {
    Ok(match kind {
        UpdateKind::AddOrg {
            name,
            new_msp_id,
            org_msp_dir,
            anchor,
        } => {
            let anchors = anchor
                .iter()
                .map(|a| host_port(a))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let spec = OrgSpec {
                name: name.clone(),
                id: new_msp_id.clone(),
                msp_dir: org_msp_dir.clone(),
                policies: Default::default(),
                anchor_peers: anchors
                    .into_iter()
                    .map(|(host, port)| HostPort { host, port })
                    .collect(),
                orderer_endpoints: vec![],
            };
            edit::add_org(current, name, genesis::application_org_group(&spec, org_msp_dir)?)?
        }
        UpdateKind::Crl { org, crl } => {
            let pems = crl
                .iter()
                .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
                .collect::<anyhow::Result<Vec<_>>>()?;
            edit::set_crls(current, org, pems)?
        }
        UpdateKind::Anchors { org, anchor } => {
            let anchors = anchor
                .iter()
                .map(|a| host_port(a))
                .collect::<anyhow::Result<Vec<_>>>()?;
            edit::set_anchor_peers(current, org, &anchors)?
        }
        UpdateKind::Batch {
            max_message_count,
            batch_timeout,
        } => edit::set_batch(current, *max_message_count, batch_timeout.as_deref())?,
        UpdateKind::Consenter {
            action,
            host,
            port,
            tls_cert,
        } => {
            let cert = std::fs::read(tls_cert).with_context(|| format!("reading {}", tls_cert.display()))?;
            let c = etcdraft::Consenter {
                host: host.clone(),
                port: u32::from(*port),
                client_tls_cert: cert.clone().into(),
                server_tls_cert: cert.into(),
            };
            edit::change_consenter(current, c, action == "add")?
        }
    })
}

/// Runs an update-flow subcommand.
pub async fn run(cmd: UpdateCommand) -> anyhow::Result<()> {
    match cmd {
        UpdateCommand::Fetch {
            channel,
            output,
            from,
            to,
            config,
            node,
            client,
        } => {
            std::fs::create_dir_all(&output)?;
            let signer = client.signer()?;
            if config {
                let b =
                    channelops::latest_config_block(&client.address, &client.tls()?, &signer, &channel, node)
                        .await?;
                let path = output.join("config.block");
                std::fs::write(&path, b.encode_to_vec())?;
                println!(
                    "wrote config block {} to {}",
                    b.header.map_or(0, |h| h.number),
                    path.display()
                );
                return Ok(());
            }
            let blocks =
                channelops::fetch_blocks(&client.address, &client.tls()?, &signer, &channel, from, to, node)
                    .await?;
            for b in &blocks {
                let n = b.header.as_ref().map_or(0, |h| h.number);
                std::fs::write(output.join(format!("{n}.block")), b.encode_to_vec())?;
            }
            println!(
                "wrote {} blocks of {channel} to {}",
                blocks.len(),
                output.display()
            );
        }
        UpdateCommand::Update {
            channel,
            output,
            node,
            kind,
            client,
        } => {
            let b = channelops::latest_config_block(
                &client.address,
                &client.tls()?,
                &*client.signer()?,
                &channel,
                node,
            )
            .await?;
            let current = ChannelConfig::from_block(&b)?;
            let want = desired(&current.config, &kind)?;
            let u = update::compute_update(&channel, &current.config, &want)?;
            for line in update::describe(&u) {
                println!("  {line}");
            }
            std::fs::write(&output, channelops::update_envelope(&u).encode_to_vec())?;
            println!(
                "wrote update to {}: collect admin signatures with `carechain channel sign-update`",
                output.display()
            );
        }
        UpdateCommand::SignUpdate { file, signer } => {
            let env = Envelope::decode(std::fs::read(&file)?.as_slice()).context("not an update file")?;
            let signed = channelops::sign_update(&env, &*signer.signer()?)?;
            let (_, n) = channelops::read_update(&signed)?;
            std::fs::write(&file, signed.encode_to_vec())?;
            println!("signed as {} ({n} signatures)", signer.msp_id);
        }
        UpdateCommand::SubmitUpdate { file, client } => {
            let env = Envelope::decode(std::fs::read(&file)?.as_slice()).context("not an update file")?;
            let r =
                channelops::submit_update(&client.address, &client.tls()?, &client.signer()?, &env).await?;
            if r.status != Status::Success as i32 {
                let name =
                    Status::try_from(r.status).map_or("UNKNOWN".into(), |s| s.as_str_name().to_string());
                bail!("orderer refused the update: {name} {}", r.info);
            }
            println!("update accepted for ordering");
        }
    }
    Ok(())
}
