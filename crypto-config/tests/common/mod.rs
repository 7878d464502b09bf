//! Fixtures shared by the integration tests: synthetic organizations built in memory.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

use carechain_crypto::issue::{CertificateAuthority, LeafRequest, Subject, Validity};
use carechain_crypto::msp::{Msp, NodeOu, SigningIdentity};
use carechain_proto::msp::{FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};

/// A synthetic organization: its CAs and the MSP configuration a channel would carry.
pub struct TestOrg {
    pub msp_id: String,
    pub domain: String,
    pub root: CertificateAuthority,
    pub ica: Option<CertificateAuthority>,
    pub config: FabricMspConfig,
}

fn node_ous(ca_pem: &str) -> FabricNodeOUs {
    let ou = |o: NodeOu| {
        Some(FabricOuIdentifier {
            certificate: ca_pem.to_string().into(),
            organizational_unit_identifier: o.as_str().into(),
        })
    };
    FabricNodeOUs {
        enable: true,
        client_ou_identifier: ou(NodeOu::Client),
        peer_ou_identifier: ou(NodeOu::Peer),
        admin_ou_identifier: ou(NodeOu::Admin),
        orderer_ou_identifier: ou(NodeOu::Orderer),
    }
}

impl TestOrg {
    /// An org with a root CA and NodeOUs enabled.
    pub fn new(name: &str) -> Self {
        Self::build(name, true, false)
    }

    /// An org whose leaves are issued by an intermediate CA.
    pub fn with_intermediate(name: &str) -> Self {
        Self::build(name, true, true)
    }

    /// An org without NodeOUs (admins by admincerts).
    pub fn without_node_ous(name: &str) -> Self {
        Self::build(name, false, false)
    }

    fn build(name: &str, enable_node_ous: bool, intermediate: bool) -> Self {
        let domain = format!("{}.carechain.test", name.to_lowercase());
        let root = CertificateAuthority::new_root(
            &Subject::new(format!("ca.{domain}"), &domain),
            Validity::default(),
        )
        .unwrap();
        let ica = intermediate.then(|| {
            root.new_intermediate(
                &Subject::new(format!("ica.{domain}"), &domain),
                Validity::default(),
            )
            .unwrap()
        });
        let issuer_pem = ica.as_ref().unwrap_or(&root).cert_pem().to_string();
        let config = FabricMspConfig {
            name: format!("{name}MSP"),
            root_certs: vec![root.cert_pem().to_string().into()],
            intermediate_certs: ica.iter().map(|c| c.cert_pem().to_string().into()).collect(),
            fabric_node_ous: enable_node_ous.then(|| node_ous(&issuer_pem)),
            ..Default::default()
        };
        Self {
            msp_id: format!("{name}MSP"),
            domain,
            root,
            ica,
            config,
        }
    }

    /// The CA that issues leaves.
    pub fn issuer(&self) -> &CertificateAuthority {
        self.ica.as_ref().unwrap_or(&self.root)
    }

    pub fn msp(&self) -> Msp {
        Msp::from_config(&self.config).unwrap()
    }

    /// A leaf request for `name@domain` with an optional NodeOU.
    pub fn request(&self, name: &str, ou: Option<NodeOu>) -> LeafRequest {
        let mut subject = Subject::new(format!("{name}@{}", self.domain), &self.domain);
        if let Some(ou) = ou {
            subject = subject.with_ou(ou.as_str());
        }
        LeafRequest::signing(subject)
    }

    /// Issues and returns a signing identity for `req`.
    pub fn identity_for(&self, req: &LeafRequest) -> SigningIdentity {
        let (cert, key) = self.issuer().issue_leaf(req).unwrap();
        SigningIdentity::new(&self.msp_id, cert.pem.as_bytes(), key).unwrap()
    }

    /// A signing identity with a NodeOU and attributes.
    pub fn user(&self, name: &str, ou: NodeOu, attrs: &[(&str, &str)]) -> SigningIdentity {
        let mut req = self.request(name, Some(ou));
        req.attributes = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>();
        self.identity_for(&req)
    }
}
