//! What a test network is made of on disk before any process starts: the cryptogen spec of its orgs and
//! orderers, its `configtx.yaml`, each orderer's node config with its client and cluster ports, and the
//! paths of each node's MSP and TLS material. [`crate::TestNet`] builds from these and then starts the
//! processes.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use carechain_orderer::OrdererConfig;

use crate::net::{NamedUser, NetSpec, Node};

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The DNS domain of an org in the test network (`org1.test.local`).
pub(crate) fn domain(org: &str) -> String {
    format!("{}.test.local", org.to_lowercase())
}

/// Orderer `i` of the orderer org: its node (not started) and its cluster port and home directory.
pub(crate) fn orderer_node(dir: &Path, i: usize) -> anyhow::Result<(Node, u16, PathBuf)> {
    let name = format!("orderer{i}.orderer.test.local");
    let home = dir
        .join("crypto/ordererOrganizations/orderer.test.local/orderers")
        .join(&name);
    let mut cfg = OrdererConfig::for_node_home(&name, "OrdererMSP", &home, &dir.join("data").join(&name));
    cfg.listen_address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let cp = free_port()?;
    cfg.cluster_listen_address = Some(SocketAddr::from(([127, 0, 0, 1], cp)));
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, serde_yaml_ng::to_string(&cfg)?)?;
    let mut n = node(
        dir,
        &name,
        "orderer",
        cfg.listen_address,
        path,
        "OrdererMSP",
        "orderer.test.local",
        true,
    );
    n.cluster = cfg.cluster_listen_address;
    Ok((n, cp, home))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn node(
    dir: &Path,
    name: &str,
    kind: &'static str,
    address: SocketAddr,
    config: PathBuf,
    msp_id: &str,
    domain: &str,
    orderer: bool,
) -> Node {
    let orgs = if orderer {
        "ordererOrganizations"
    } else {
        "peerOrganizations"
    };
    let org_dir = dir.join("crypto").join(orgs).join(domain);
    Node {
        name: name.to_string(),
        kind,
        address,
        config,
        log: dir.join(format!("{name}.log")),
        msp_id: msp_id.to_string(),
        admin_msp: org_dir.join("users").join(format!("Admin@{domain}")).join("msp"),
        tls_ca: org_dir
            .join("msp/tlscacerts")
            .join(format!("tlsca.{domain}-cert.pem")),
        cluster: None,
        child: None,
    }
}

pub(crate) fn write_crypto_spec(dir: &Path, spec: &NetSpec) -> anyhow::Result<()> {
    let mut y = String::from(
        "OrdererOrgs:\n  - Name: Orderer\n    Domain: orderer.test.local\n    MSPID: OrdererMSP\n    Specs:\n",
    );
    for i in 0..spec.orderers + spec.extra_orderers {
        y.push_str(&format!("      - Hostname: orderer{i}\n"));
    }
    y.push_str("PeerOrgs:\n");
    for org in spec.orgs.iter().chain(&spec.extra_orgs) {
        y.push_str(&format!(
            "  - Name: {org}\n    Domain: {}\n    MSPID: {org}MSP\n    Template:\n      Count: 1\n    Users:\n      Count: 2\n",
            domain(org)
        ));
        let named: Vec<&NamedUser> = spec.users.iter().filter(|u| &u.org == org).collect();
        if !named.is_empty() {
            y.push_str("      Named:\n");
        }
        for u in named {
            let attrs: Vec<String> = u.attrs.iter().map(|(k, v)| format!("{k}: {v:?}")).collect();
            y.push_str(&format!(
                "        - Name: {}\n          OU: {}\n          Attrs: {{{}}}\n",
                u.name,
                u.ou,
                attrs.join(", ")
            ));
        }
    }
    std::fs::write(dir.join("crypto-config.yaml"), y)?;
    Ok(())
}

pub(crate) fn write_configtx(
    dir: &Path,
    spec: &NetSpec,
    orderers: &[Node],
    peers: &[Node],
    cluster: &[(u16, PathBuf)],
) -> anyhow::Result<()> {
    let mut y = String::from(
        "Organizations:\n  - Name: Orderer\n    ID: OrdererMSP\n    MSPDir: crypto/ordererOrganizations/orderer.test.local/msp\n    OrdererEndpoints:\n",
    );
    for o in orderers {
        y.push_str(&format!("      - {}\n", o.address));
    }
    for (org, p) in spec.orgs.iter().zip(peers) {
        y.push_str(&format!(
            "  - Name: {org}\n    ID: {org}MSP\n    MSPDir: crypto/peerOrganizations/{}/msp\n    AnchorPeers:\n      - Host: 127.0.0.1\n        Port: {}\n",
            domain(org),
            p.address.port()
        ));
    }
    y.push_str(&format!(
        "Profiles:\n  Test:\n    Orderer:\n      BatchTimeout: {}\n      BatchSize:\n        MaxMessageCount: {}\n        AbsoluteMaxBytes: {}\n        PreferredMaxBytes: {}\n      EtcdRaft:\n        Consenters:\n",
        spec.batch_timeout, spec.max_message_count, spec.absolute_max_bytes, spec.absolute_max_bytes
    ));
    for (port, home) in cluster {
        let cert = home.join("tls/server.crt");
        y.push_str(&format!(
            "          - Host: 127.0.0.1\n            Port: {port}\n            ClientTLSCert: {}\n            ServerTLSCert: {}\n",
            cert.display(),
            cert.display()
        ));
    }
    if !spec.raft_options.is_empty() {
        y.push_str("        Options:\n");
        for (k, v) in &spec.raft_options {
            y.push_str(&format!("          {k}: {v}\n"));
        }
    }
    y.push_str("      Organizations: [Orderer]\n    Application:\n      Organizations: [");
    y.push_str(&spec.orgs.join(", "));
    y.push_str("]\n");
    y.push_str(&spec.application_extra);
    std::fs::write(dir.join("configtx.yaml"), y)?;
    Ok(())
}
