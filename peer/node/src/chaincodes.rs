//! The contracts this peer runs. Contracts are Rust modules linked into the peer (no Docker, no
//! chaincode process); a channel can invoke a contract by its chaincode name.

use std::collections::BTreeMap;
use std::sync::Arc;

use chaincode_api::Contract;

/// Contracts by chaincode name.
#[derive(Clone)]
pub struct Chaincodes {
    by_name: BTreeMap<String, Arc<dyn Contract>>,
}

impl Chaincodes {
    /// Every contract built into carechain.
    pub fn builtin() -> Self {
        let mut c = Chaincodes {
            by_name: BTreeMap::new(),
        };
        c.add(Arc::new(chaincode_basic::BasicContract));
        c.add(Arc::new(chaincode_claims::ClaimsContract));
        c.add(Arc::new(chaincode_supply::SupplyContract));
        c.add(Arc::new(chaincode_private::PrivateContract));
        c.add(Arc::new(chaincode_records::RecordsContract));
        c
    }

    fn add(&mut self, contract: Arc<dyn Contract>) {
        self.by_name.insert(contract.name().to_string(), contract);
    }

    /// The contract named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Contract>> {
        self.by_name.get(name).cloned()
    }

    /// Names of all contracts.
    pub fn names(&self) -> Vec<String> {
        self.by_name.keys().cloned().collect()
    }
}
