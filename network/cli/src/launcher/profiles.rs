//! Connection profiles in Fabric's format (`profiles/connection-<org>.json` and `.yaml`), which the Fabric
//! SDKs and Caliper read, plus `profiles/<org>.env` with the `CARECHAIN_*` variables that make the
//! `carechain chaincode` commands act as that org's `User1`.

use anyhow::Context;

use super::home::Home;
use super::spec::{Kind, Topology};

/// Writes the profiles of every peer organization.
pub fn write(t: &Topology, home: &Home) -> anyhow::Result<()> {
    let crypto = home.crypto();
    for org in t.orgs.iter().filter(|o| o.kind == Kind::Peer) {
        let ca = std::fs::read_to_string(org.tls_ca(&crypto))
            .with_context(|| format!("reading the TLS CA of {}", org.name))?;
        let mut peers = serde_json::Map::new();
        let mut names = Vec::new();
        for n in t.peers_of(&org.name) {
            names.push(n.name.clone());
            peers.insert(
                n.name.clone(),
                serde_json::json!({
                    "url": format!("grpcs://{}", t.address(n)),
                    "tlsCACerts": { "pem": ca },
                    "grpcOptions": {
                        "ssl-target-name-override": n.name,
                        "hostnameOverride": n.name,
                    },
                }),
            );
        }
        let profile = serde_json::json!({
            "name": format!("{}-{}", t.spec.name, org.name.to_lowercase()),
            "version": "1.0.0",
            "client": {
                "organization": org.name,
                "connection": { "timeout": { "peer": { "endorser": "300" } } },
            },
            "organizations": {
                org.name.clone(): { "mspid": org.msp_id, "peers": names },
            },
            "peers": peers,
        });
        let base = home
            .profiles()
            .join(format!("connection-{}", org.name.to_lowercase()));
        std::fs::write(
            base.with_extension("json"),
            serde_json::to_string_pretty(&profile)?,
        )?;
        std::fs::write(base.with_extension("yaml"), serde_yaml_ng::to_string(&profile)?)?;
        if let Some(first) = t.peers_of(&org.name).next() {
            let env = format!(
                "# source this file to act as User1 of {org} with the carechain CLI\nexport CARECHAIN_ADDRESS={addr}\nexport CARECHAIN_MSP_ID={msp}\nexport CARECHAIN_MSP_DIR={dir}\nexport CARECHAIN_TLS_CA={ca}\nexport CARECHAIN_SERVER_NAME={name}\n",
                org = org.name,
                addr = t.address(first),
                msp = org.msp_id,
                dir = org.user_msp(&crypto, "User1").display(),
                ca = org.tls_ca(&crypto).display(),
                name = first.name,
            );
            std::fs::write(home.profiles().join(format!("{}.env", org.name)), env)?;
        }
    }
    Ok(())
}
