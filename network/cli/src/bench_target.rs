//! Where `carechain bench` sends its load: a peer of the local network (as an org's `User1`), or the
//! first peer of a Fabric connection profile with a given identity, for like-for-like comparisons
//! against Fabric.

use std::sync::Arc;

use anyhow::Context;
use carechain::launcher::home::Home;
use carechain::launcher::spec::{NetworkSpec, Topology};
use carechain_crypto::msp::SigningIdentity;
use carechain_gateway::client::GatewayClient;
use carechain_transport::ClientTls;

use crate::bench::BenchArgs;

/// `connections` gateway clients to the target.
pub async fn connect(args: &BenchArgs) -> anyhow::Result<Vec<GatewayClient>> {
    let (address, tls, signer) = match &args.profile {
        Some(p) => from_profile(p, args)?,
        None => from_network(args)?,
    };
    let mut out = Vec::new();
    for _ in 0..args.connections.max(1) {
        let ch = carechain_transport::connect(&address, &tls)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        out.push(GatewayClient::from_channel(
            ch,
            signer.clone(),
            tls.max_message_bytes,
        ));
    }
    Ok(out)
}

type Target = (String, ClientTls, Arc<SigningIdentity>);

fn from_network(args: &BenchArgs) -> anyhow::Result<Target> {
    let t = Topology::new(NetworkSpec::load(&args.network_config())?)?;
    let org_name = load_org(args)?;
    local_target(&t, &org_name, &org_name, &args.user())
}

/// The org whose peer's gateway the load goes through.
pub fn load_org(args: &BenchArgs) -> anyhow::Result<String> {
    let config = args.network_config();
    let t = Topology::new(NetworkSpec::load(&config)?)?;
    let channel = t
        .spec
        .channels
        .iter()
        .find(|c| c.name == args.channel)
        .with_context(|| format!("no channel {} in {}", args.channel, config.display()))?;
    Ok(args.org.clone().unwrap_or_else(|| channel.orgs[0].clone()))
}

/// The gateway of `peer_org`'s first peer on the local network, as `user` of `org_name`.
fn local_target(t: &Topology, peer_org: &str, org_name: &str, user: &str) -> anyhow::Result<Target> {
    let home = Home::from_env();
    let org = t
        .org(org_name)
        .with_context(|| format!("no organization {org_name}"))?;
    let gateway_org = t
        .org(peer_org)
        .with_context(|| format!("no organization {peer_org}"))?;
    let peer = t
        .peers_of(peer_org)
        .next()
        .with_context(|| format!("{peer_org} has no peer"))?;
    let crypto = home.crypto();
    let signer = Arc::new(
        SigningIdentity::load(&org.user_msp(&crypto, user), org.msp_id.clone())
            .with_context(|| format!("loading {user}@{org_name}"))?,
    );
    let tls = ClientTls {
        ca_pem: std::fs::read(gateway_org.tls_ca(&crypto))?,
        identity: None,
        server_name: Some(peer.name.clone()),
        max_message_bytes: 100 * 1024 * 1024,
    };
    Ok((t.address(peer), tls, signer))
}

/// A gateway client of `peer_org`'s peer acting as `user` of `org` (for a workload's set-up: through
/// the load's own gateway, its commit status means that peer has the data).
pub async fn connect_as(
    args: &BenchArgs,
    peer_org: &str,
    org: &str,
    user: &str,
) -> anyhow::Result<GatewayClient> {
    let t = Topology::new(NetworkSpec::load(&args.network_config())?)?;
    let (address, tls, signer) = local_target(&t, peer_org, org, user)?;
    let ch = carechain_transport::connect(&address, &tls)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    Ok(GatewayClient::from_channel(ch, signer, tls.max_message_bytes))
}

fn from_profile(path: &std::path::Path, args: &BenchArgs) -> anyhow::Result<Target> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let p: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_yaml_ng::from_str(&text))
        .context("the profile is neither JSON nor YAML")?;
    let org = p["client"]["organization"]
        .as_str()
        .context("profile has no client.organization")?;
    let peer = p["organizations"][org]["peers"][0]
        .as_str()
        .context("the client's organization lists no peer")?;
    let entry = &p["peers"][peer];
    let url = entry["url"].as_str().context("peer has no url")?;
    let address = url
        .trim_start_matches("grpcs://")
        .trim_start_matches("grpc://")
        .to_string();
    let ca = match (
        entry["tlsCACerts"]["pem"].as_str(),
        entry["tlsCACerts"]["path"].as_str(),
    ) {
        (Some(pem), _) => pem.as_bytes().to_vec(),
        (None, Some(file)) => std::fs::read(file).with_context(|| format!("reading {file}"))?,
        _ => anyhow::bail!("peer {peer} has no tlsCACerts"),
    };
    let name = entry["grpcOptions"]["ssl-target-name-override"]
        .as_str()
        .unwrap_or(peer)
        .to_string();
    let msp_dir = args.msp_dir.clone().context("--profile needs --msp-dir")?;
    let msp_id = args.msp_id.clone().context("--profile needs --msp-id")?;
    let signer = Arc::new(SigningIdentity::load(&msp_dir, msp_id)?);
    let tls = ClientTls {
        ca_pem: ca,
        identity: None,
        server_name: Some(name),
        max_message_bytes: 100 * 1024 * 1024,
    };
    Ok((address, tls, signer))
}
