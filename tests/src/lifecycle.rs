//! Deploying contracts on a test network the way operators do: every org's admin approves a chaincode
//! definition through its own peer, then one admin commits it (the channel's LifecycleEndorsement).
//! [`TestNet::start`] deploys `basic` this way; tests of the lifecycle itself call [`TestNet::deploy`].

use std::time::Duration;

use anyhow::Context;

use crate::TestNet;

impl TestNet {
    /// Approves (as every org's admin, through its own peer) and commits a chaincode definition with
    /// `policy` (a signature policy; `None`: the channel's default MAJORITY Endorsement).
    pub async fn deploy(&self, name: &str, sequence: u64, policy: Option<&str>) -> anyhow::Result<()> {
        self.deploy_with_collections(name, sequence, policy, serde_json::json!([]))
            .await
    }

    /// [`TestNet::deploy`] with private data collections: `collections` is a Fabric
    /// `collections_config.json` array (e.g. `chaincode/private/collections_config.json`, parsed).
    pub async fn deploy_with_collections(
        &self,
        name: &str,
        sequence: u64,
        policy: Option<&str>,
        collections: serde_json::Value,
    ) -> anyhow::Result<()> {
        let def = serde_json::json!({
            "name": name,
            "version": format!("{sequence}.0"),
            "sequence": sequence,
            "endorsement_policy": match policy {
                Some(p) => serde_json::json!({"signature": p}),
                None => serde_json::json!({"channel_reference": "/Channel/Application/Endorsement"}),
            },
            "collections": collections,
        })
        .to_string();
        let none = std::collections::BTreeMap::new();
        for i in 0..self.peers.len() {
            let gw = self.gateway(i, "Admin").await?;
            let args = vec![
                b"ApproveChaincodeDefinitionForMyOrg".to_vec(),
                def.clone().into_bytes(),
            ];
            let approved = gw
                .submit_transaction(&self.spec.channel, "_lifecycle", &args, &none)
                .await
                .with_context(|| format!("approving {name} as org {i}"))?;
            // The commit is endorsed on every org's peer: each must have seen every approval.
            self.wait_height(approved.block + 1, Duration::from_secs(30))
                .await?;
        }
        let gw = self.gateway(0, "Admin").await?;
        let args = vec![b"CommitChaincodeDefinition".to_vec(), def.into_bytes()];
        gw.submit_transaction(&self.spec.channel, "_lifecycle", &args, &none)
            .await
            .with_context(|| format!("committing {name}"))?;
        // Every peer must have committed the definition before clients use it.
        let height = self.height(0).await?;
        self.wait_height(height, Duration::from_secs(20)).await
    }
}
