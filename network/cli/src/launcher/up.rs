//! `network up`, step by step. Each step checks what already exists and does only what is missing, so
//! running `up` again on a running network changes nothing, and on a stopped one restarts it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use carechain_crypto::msp::SigningIdentity;
use carechain_gateway::client::GatewayClient;
use carechain_proto::common::Block;
use carechain_transport::ClientTls;
use prost::Message;

use super::home::{self, Home};
use super::spec::{ChaincodeSpec, Kind, Node, Topology};
use super::{files, profiles};
use crate::admin::NodeAdmin;

fn step(n: usize, total: usize, what: &str) {
    println!("[{n}/{total}] {what}");
}

/// Brings the network up.
pub async fn up(t: &Topology, home: &Home) -> anyhow::Result<()> {
    const STEPS: usize = 7;
    home.create()?;
    step(1, STEPS, "crypto material");
    if home.crypto().exists() {
        println!("      already present in {}", home.crypto().display());
    } else {
        let s = carechain_crypto::cryptogen::generate(&t.spec.crypto_path(), &home.crypto(), false)?;
        println!("      generated for {} organizations", s.orgs.len());
    }
    step(2, STEPS, "channel configuration and genesis blocks");
    files::write_configtx(t, home)?;
    for ch in files::write_genesis_blocks(t, home)? {
        println!("      created genesis block of {ch}");
    }
    files::write_node_configs(t, home)?;
    step(3, STEPS, "starting nodes");
    for n in &t.nodes {
        start_node(t, home, n)?;
    }
    step(4, STEPS, "joining channels");
    join_all(t, home).await?;
    step(5, STEPS, "chaincode definitions");
    for ch in &t.spec.channels {
        for cc in &ch.chaincodes {
            deploy(t, home, &ch.name, &ch.orgs, cc).await?;
        }
    }
    step(6, STEPS, "connection profiles");
    profiles::write(t, home)?;
    println!("      {}", home.profiles().display());
    step(7, STEPS, "ready");
    print_summary(t, home);
    Ok(())
}

fn start_node(t: &Topology, home: &Home, n: &Node) -> anyhow::Result<()> {
    let addr = t.address(n);
    if let Some(pid) = home.running_pid(&n.name) {
        println!("      {:<44} running (pid {pid})", n.name);
        return Ok(());
    }
    let pid = home.spawn(n.kind.as_str(), &n.name)?;
    if !home::wait_port(&addr, Duration::from_secs(30)) {
        let log = std::fs::read_to_string(home.log(&n.name)).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        bail!(
            "{} did not start listening on {addr}; last log lines:\n{}",
            n.name,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    println!("      {:<44} started on {addr} (pid {pid})", n.name);
    Ok(())
}

/// Admin session with a node, as its org's admin.
pub async fn admin(t: &Topology, home: &Home, n: &Node) -> anyhow::Result<NodeAdmin> {
    let org = t.org_of(n);
    let crypto = home.crypto();
    let signer = Arc::new(SigningIdentity::load(
        &org.admin_msp(&crypto),
        org.msp_id.clone(),
    )?);
    NodeAdmin::connect(&t.address(n), &tls(t, home, n)?, signer).await
}

/// TLS settings to reach a node.
pub fn tls(t: &Topology, home: &Home, n: &Node) -> anyhow::Result<ClientTls> {
    let ca = t.org_of(n).tls_ca(&home.crypto());
    Ok(ClientTls {
        ca_pem: std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?,
        identity: None,
        server_name: Some(n.name.clone()),
        max_message_bytes: 100 * 1024 * 1024,
    })
}

async fn join_all(t: &Topology, home: &Home) -> anyhow::Result<()> {
    for ch in &t.spec.channels {
        let raw = std::fs::read(home.genesis(&ch.name))?;
        let genesis = Block::decode(raw.as_slice())?;
        let members: Vec<&Node> = t
            .orderers()
            .chain(
                t.nodes
                    .iter()
                    .filter(|n| n.kind == Kind::Peer && ch.orgs.contains(&t.org_of(n).name)),
            )
            .collect();
        for n in members {
            let mut a = admin(t, home, n).await?;
            if a.list().await?.contains(&ch.name) {
                continue;
            }
            a.join(genesis.clone(), None)
                .await
                .with_context(|| format!("joining {} to {}", n.name, ch.name))?;
            println!("      {:<44} joined {}", n.name, ch.name);
        }
    }
    Ok(())
}

async fn gateway(t: &Topology, home: &Home, org: &str, user: &str) -> anyhow::Result<GatewayClient> {
    let o = t.org(org).with_context(|| format!("no organization {org}"))?;
    let n = t
        .peers_of(org)
        .next()
        .with_context(|| format!("{org} has no peer"))?;
    let signer = Arc::new(SigningIdentity::load(
        &o.user_msp(&home.crypto(), user),
        o.msp_id.clone(),
    )?);
    Ok(GatewayClient::connect(&t.address(n), &tls(t, home, n)?, signer).await?)
}

async fn deploy(
    t: &Topology,
    home: &Home,
    channel: &str,
    orgs: &[String],
    cc: &ChaincodeSpec,
) -> anyhow::Result<()> {
    let none = Default::default();
    let first = gateway(t, home, &orgs[0], "Admin").await?;
    let query = vec![b"QueryChaincodeDefinition".to_vec(), cc.name.as_bytes().to_vec()];
    // Peers may still be catching up right after a join: wait for the channel to be usable.
    let current = retry(|| first.evaluate(channel, "_lifecycle", &query, &none)).await;
    if let Ok(bytes) = &current {
        let d: serde_json::Value = serde_json::from_slice(bytes)?;
        if d["sequence"].as_u64().unwrap_or(0) >= cc.sequence {
            println!(
                "      {channel}/{} already defined (sequence {})",
                cc.name, d["sequence"]
            );
            return Ok(());
        }
    }
    let def = cc.definition(&t.spec.dir)?;
    let mut approvals = Vec::new();
    for org in orgs {
        let gw = gateway(t, home, org, "Admin").await?;
        let args = vec![
            b"ApproveChaincodeDefinitionForMyOrg".to_vec(),
            def.clone().into_bytes(),
        ];
        let c = gw
            .submit_transaction(channel, "_lifecycle", &args, &none)
            .await
            .with_context(|| format!("approving {} on {channel} as {org}", cc.name))?;
        approvals.push(c.tx_id);
    }
    // The commit is endorsed by several orgs' peers: each must have committed every approval, or their
    // simulations of the commit would disagree.
    for org in orgs {
        let gw = gateway(t, home, org, "Admin").await?;
        for tx in &approvals {
            gw.commit_status(channel, tx)
                .await
                .with_context(|| format!("waiting for {org}'s peer to commit the approvals"))?;
        }
    }
    let args = vec![b"CommitChaincodeDefinition".to_vec(), def.into_bytes()];
    first
        .submit_transaction(channel, "_lifecycle", &args, &none)
        .await
        .with_context(|| format!("committing {} on {channel}", cc.name))?;
    // Every member org's peer must see the definition before clients use it.
    for org in orgs {
        let gw = gateway(t, home, org, "Admin").await?;
        retry(|| gw.evaluate(channel, "_lifecycle", &query, &none)).await?;
    }
    println!(
        "      {channel}/{} version {} committed (approved by {})",
        cc.name,
        cc.version,
        orgs.join(", ")
    );
    Ok(())
}

async fn retry<T, E, F, Fut>(mut f: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut left = 50;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if left == 0 => return Err(e),
            Err(_) => {
                left -= 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn print_summary(t: &Topology, home: &Home) {
    println!("\nNetwork {} is up. Home: {}", t.spec.name, home.root.display());
    println!("\n  {:<44} {:<8} {:<22} operations", "node", "kind", "address");
    for n in &t.nodes {
        println!(
            "  {:<44} {:<8} {:<22} http://{}:{}",
            n.name,
            n.kind.as_str(),
            t.address(n),
            t.spec.host,
            n.operations_port
        );
    }
    println!("\n  channels:");
    for ch in &t.spec.channels {
        let ccs: Vec<&str> = ch.chaincodes.iter().map(|c| c.name.as_str()).collect();
        println!(
            "    {:<10} orgs: {}; chaincodes: {}",
            ch.name,
            ch.orgs.join(", "),
            ccs.join(", ")
        );
    }
    println!(
        "\n  identities: {}/<kind>Organizations/<domain>/users/",
        home.crypto().display()
    );
    println!("  profiles:   {}", home.profiles().display());
    if let Some(org) = t.spec.channels.first().and_then(|c| c.orgs.first()) {
        let ch = &t.spec.channels[0].name;
        println!("\n  try:  source {}/{org}.env", home.profiles().display());
        println!("        carechain chaincode query --channel {ch} --name basic --fn GetAllAssets");
    }
}
