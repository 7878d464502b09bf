//! `carechain demo`: stories driven through the gateways of a running local network, as the different
//! users of the consortium, printing each step and its result. Exits non-zero when a step misbehaves,
//! so it doubles as a smoke test of a deployment. Each contract has its own story module, run on every
//! channel where the network description deploys that contract.

mod basic;
mod claims;
mod records;
mod supply;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use carechain::launcher::home::Home;
use carechain::launcher::spec::{NetworkSpec, Topology};
use carechain_crypto::msp::SigningIdentity;
use carechain_gateway::client::GatewayClient;
use carechain_transport::ClientTls;

/// Runs steps, counting failures.
pub struct Story {
    /// Unique per run, so stories can be replayed on the same network.
    pub run_id: String,
    failures: usize,
    n: usize,
}

impl Story {
    fn new() -> Self {
        Story {
            run_id: String::new(),
            failures: 0,
            n: 0,
        }
    }

    /// Runs one step; its `Ok` text is printed as the result.
    pub async fn step<F>(&mut self, title: &str, f: F)
    where
        F: std::future::Future<Output = anyhow::Result<String>>,
    {
        self.n += 1;
        match f.await {
            Ok(detail) => println!("  {:>2}. {title}\n      ✔ {detail}", self.n),
            Err(e) => {
                self.failures += 1;
                println!("  {:>2}. {title}\n      ✘ {e:#}", self.n);
            }
        }
    }
}

/// Who acts: a user of an org, connected to that org's first peer.
pub async fn as_user(t: &Topology, home: &Home, org: &str, user: &str) -> anyhow::Result<GatewayClient> {
    let o = t
        .org(org)
        .with_context(|| format!("no organization {org} in the network"))?;
    let n = t
        .peers_of(org)
        .next()
        .with_context(|| format!("{org} has no peer"))?;
    let crypto = home.crypto();
    let signer = Arc::new(
        SigningIdentity::load(&o.user_msp(&crypto, user), o.msp_id.clone())
            .with_context(|| format!("identity {user}@{}", o.domain))?,
    );
    let tls = ClientTls {
        ca_pem: std::fs::read(o.tls_ca(&crypto))?,
        identity: None,
        server_name: Some(n.name.clone()),
        max_message_bytes: 100 * 1024 * 1024,
    };
    Ok(GatewayClient::connect(&t.address(n), &tls, signer).await?)
}

/// Arguments as bytes.
pub fn args(a: &[&str]) -> Vec<Vec<u8>> {
    a.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Channels of the network that deploy `chaincode`.
pub fn channels_with<'a>(
    t: &'a Topology,
    chaincode: &str,
) -> Vec<&'a carechain::launcher::spec::ChannelSpec> {
    t.spec
        .channels
        .iter()
        .filter(|c| c.chaincodes.iter().any(|cc| cc.name == chaincode))
        .collect()
}

/// Runs the demo against the network described by `config`.
pub async fn run(config: PathBuf) -> anyhow::Result<()> {
    let t = Topology::new(NetworkSpec::load(&config)?)?;
    let home = Home::from_env();
    let mut story = Story::new();
    story.run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    println!(
        "carechain demo on {} (home {})\n",
        t.spec.name,
        home.root.display()
    );
    basic::run(&t, &home, &mut story).await;
    records::run(&t, &home, &mut story).await;
    claims::run(&t, &home, &mut story).await;
    supply::run(&t, &home, &mut story).await;
    if story.failures > 0 {
        bail!("{} of {} demo steps failed", story.failures, story.n);
    }
    println!("all {} demo steps behaved as expected", story.n);
    Ok(())
}
