//! `carechain demo`: a story driven through the gateways of a running local network, as the different
//! users of the consortium, printing each step and its result. Exits non-zero when a step misbehaves,
//! so it doubles as a smoke test of a deployment. It grows as the healthcare features land.

use std::collections::BTreeMap;
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
    failures: usize,
    n: usize,
}

impl Story {
    fn new() -> Self {
        Story { failures: 0, n: 0 }
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

fn args(a: &[&str]) -> Vec<Vec<u8>> {
    a.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Runs the demo against the network described by `config`.
pub async fn run(config: PathBuf) -> anyhow::Result<()> {
    let t = Topology::new(NetworkSpec::load(&config)?)?;
    let home = Home::from_env();
    let mut story = Story::new();
    let none = BTreeMap::new();
    let run_id = format!(
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
    for ch in &t.spec.channels {
        if !ch.chaincodes.iter().any(|c| c.name == "basic") || ch.orgs.len() < 2 {
            continue;
        }
        let (a, b) = (&ch.orgs[0], &ch.orgs[1]);
        let asset = format!("demo-{}-{run_id}", ch.name);
        println!("channel {}: the basic asset contract", ch.name);
        story
            .step(&format!("{a} User1 creates {asset}"), async {
                let gw = as_user(&t, &home, a, "User1").await?;
                let c = gw
                    .submit_transaction(
                        &ch.name,
                        "basic",
                        &args(&["CreateAsset", &asset, "blue", "5", "Synthetic Owner A", "300"]),
                        &none,
                    )
                    .await?;
                Ok(format!(
                    "committed VALID in block {} (tx {}…)",
                    c.block,
                    &c.tx_id[..12]
                ))
            })
            .await;
        story
            .step(&format!("{b} User1 reads it through its own peer"), async {
                let gw = as_user(&t, &home, b, "User1").await?;
                let v = gw
                    .evaluate(&ch.name, "basic", &args(&["ReadAsset", &asset]), &none)
                    .await?;
                let s = String::from_utf8(v)?;
                if !s.contains("Synthetic Owner A") {
                    bail!("unexpected asset {s}");
                }
                Ok(s)
            })
            .await;
        story
            .step(&format!("{b} User1 transfers it"), async {
                let gw = as_user(&t, &home, b, "User1").await?;
                let c = gw
                    .submit_transaction(
                        &ch.name,
                        "basic",
                        &args(&["TransferAsset", &asset, "Synthetic Owner B"]),
                        &none,
                    )
                    .await?;
                Ok(format!(
                    "previous owner {}, committed in block {}",
                    String::from_utf8_lossy(&c.result),
                    c.block
                ))
            })
            .await;
        story
            .step("its history shows both versions", async {
                let gw = as_user(&t, &home, a, "User1").await?;
                let v = gw
                    .evaluate(&ch.name, "basic", &args(&["GetAssetHistory", &asset]), &none)
                    .await?;
                let h: Vec<serde_json::Value> = serde_json::from_slice(&v)?;
                if h.len() != 2 {
                    bail!("expected 2 versions, got {}", h.len());
                }
                Ok(format!(
                    "{} versions, newest owner {}",
                    h.len(),
                    h[0]["record"]["Owner"]
                ))
            })
            .await;
        println!();
    }
    if story.failures > 0 {
        bail!("{} of {} demo steps failed", story.failures, story.n);
    }
    println!("all {} demo steps behaved as expected", story.n);
    Ok(())
}
