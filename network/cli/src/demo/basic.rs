//! The basic asset contract on every channel that deploys it: create, read through another org's peer,
//! transfer, history.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use carechain::launcher::home::Home;
use carechain::launcher::spec::Topology;

use super::{Story, args, as_user, channels_with};

/// Runs the basic story on each channel with `basic` and at least two orgs.
pub async fn run(t: &Topology, home: &Home, story: &mut Story) {
    let none = BTreeMap::new();
    let run_id = story.run_id.clone();
    for ch in channels_with(t, "basic")
        .into_iter()
        .filter(|c| c.orgs.len() >= 2)
    {
        let (a, b) = (&ch.orgs[0], &ch.orgs[1]);
        let asset = format!("demo-{}-{run_id}", ch.name);
        println!("channel {}: the basic asset contract", ch.name);
        let last = parking_lot::Mutex::new(None::<String>);
        story
            .step(&format!("{a} User1 creates {asset}"), async {
                let gw = as_user(t, home, a, "User1").await?;
                let c = gw
                    .submit_transaction(
                        &ch.name,
                        "basic",
                        &args(&["CreateAsset", &asset, "blue", "5", "Synthetic Owner A", "300"]),
                        &none,
                    )
                    .await?;
                *last.lock() = Some(c.tx_id.clone());
                Ok(format!(
                    "committed VALID in block {} (tx {}…)",
                    c.block,
                    &c.tx_id[..12]
                ))
            })
            .await;
        story
            .step(&format!("{b} User1 reads it through its own peer"), async {
                let gw = as_user(t, home, b, "User1").await?;
                // Its peer may be a block behind the creator's: wait until it has committed the write.
                let tx = last.lock().clone().context("the asset was not created")?;
                gw.commit_status(&ch.name, &tx).await?;
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
                let gw = as_user(t, home, b, "User1").await?;
                let c = gw
                    .submit_transaction(
                        &ch.name,
                        "basic",
                        &args(&["TransferAsset", &asset, "Synthetic Owner B"]),
                        &none,
                    )
                    .await?;
                *last.lock() = Some(c.tx_id.clone());
                Ok(format!(
                    "previous owner {}, committed in block {}",
                    String::from_utf8_lossy(&c.result),
                    c.block
                ))
            })
            .await;
        story
            .step("its history shows both versions", async {
                let gw = as_user(t, home, a, "User1").await?;
                let tx = last.lock().clone().context("nothing was submitted")?;
                gw.commit_status(&ch.name, &tx).await?;
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
}
