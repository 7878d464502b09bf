//! The chaincode API: all a contract author needs, and all the peer needs to run a contract.
//!
//! carechain runs contracts as Rust code linked into the peer (no Docker, no chaincode process). In the
//! endorse → order → validate flow a contract runs only in the **endorse** step: the endorser's simulator
//! calls [`Contract::invoke`] with a [`Context`] over a snapshot of committed state, records what the contract
//! read and wrote, and signs the result. The writes reach the ledger only after the transaction has been
//! ordered and validated (MVCC and phantom checks on the recorded reads), so a contract never commits anything
//! itself and must be **deterministic**: no clocks (use `ctx.tx().timestamp`), no randomness, no I/O.
//!
//! This crate is pure (serde and thiserror only) so contract crates and the simulator depend on it without
//! pulling in the network stack.
//!
//! # Layout
//! * [`Contract`] (here): the trait a chaincode implements; one `invoke` that dispatches on the function name.
//! * [`Call`] (`call`): the parsed invocation — function name and argument accessors with uniform errors.
//! * [`Context`] (`context`): the 11 methods a contract may call on the ledger, and the rules (a transaction
//!   does **not** read its own writes). [`ContextExt`] (`ext`): JSON state, existence checks, composite keys.
//! * [`Caller`], [`Role`] (`identity`), [`KeyEndorsement`] (`endorsement`), [`Timestamp`] (`time`).
//! * [`ContractError`] (`error`): the error enum and its response status.
//! * [`testing::MockContext`]: an in-memory ledger with the simulator's semantics, for contract tests.
//!
//! # Example
//! ```
//! use chaincode_api::testing::MockContext;
//! use chaincode_api::{Call, Context, ContextExt, Contract, ContractError};
//!
//! /// Counts visits per clinic (synthetic example).
//! struct Visits;
//!
//! impl Contract for Visits {
//!     fn name(&self) -> &str {
//!         "visits"
//!     }
//!     fn functions(&self) -> &[&'static str] {
//!         &["Record", "Count"]
//!     }
//!     fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
//!         match call.function {
//!             "Record" => {
//!                 call.expect_args(1)?;
//!                 let clinic = call.str_arg(0)?;
//!                 let count: i64 = ctx.get_json(clinic)?.unwrap_or(0);
//!                 ctx.put_json(clinic, &(count + 1))?;
//!                 ctx.set_event("VisitRecorded", clinic.as_bytes())?;
//!                 Ok(Vec::new())
//!             }
//!             "Count" => ctx.must_get(call.str_arg(0)?),
//!             other => Err(chaincode_api::unknown_function(self, other)),
//!         }
//!     }
//! }
//!
//! let mut ctx = MockContext::new();
//! ctx.submit(&Visits, &["Record", "Synthetic Clinic 01"]).unwrap();
//! ctx.submit(&Visits, &["Record", "Synthetic Clinic 01"]).unwrap();
//! assert_eq!(ctx.evaluate(&Visits, &["Count", "Synthetic Clinic 01"]).unwrap(), b"2");
//! assert_eq!(ctx.submit(&Visits, &["Delete"]).unwrap_err().status(), 400);
//! ```

mod call;
mod context;
mod endorsement;
mod error;
mod ext;
mod identity;
pub mod testing;
mod time;

pub use call::Call;
pub use context::{Context, KeyModification, Page, TxInfo, checks};
pub use endorsement::KeyEndorsement;
pub use error::{ContractError, STATUS_ERROR_THRESHOLD, STATUS_OK};
pub use ext::{
    COMPOSITE_KEY_NAMESPACE, ContextExt, SIMPLE_KEYS_START, create_composite_key, split_composite_key,
};
pub use identity::{Caller, Role};
pub use time::Timestamp;

/// A chaincode. Registered in the peer under its chaincode name (e.g. "basic").
///
/// One value serves every invocation, from many endorsement threads at once, so it holds no per-call state:
/// everything a call needs comes from `ctx` and `call`.
pub trait Contract: Send + Sync {
    /// Chaincode name used in proposals (`ChaincodeID.name`), e.g. "basic".
    fn name(&self) -> &str;

    /// Runs one invocation. `call.function` is Fabric's `args[0]` with any "ContractName:" prefix already split
    /// into `call.contract`; `call.args` are `args[1..]` as raw bytes. The returned bytes become the chaincode
    /// response payload (status 200). An error becomes a response with [`ContractError::status`] (≥ 400),
    /// which the endorser does not endorse, so its writes are dropped.
    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError>;

    /// Function names this contract serves (for metadata, error messages and the CLI's help).
    fn functions(&self) -> &[&'static str] {
        &[]
    }

    /// Functions that may only be **evaluated**, never submitted: typically queries that return data which
    /// must not reach the ledger (PHI, secrets). A contract cannot tell an evaluate from a submit, and
    /// whatever a submitted transaction returns is written into the block, so the platform enforces this
    /// list: the gateway's Endorse refuses such a proposal (FailedPrecondition, "use Evaluate"), and a
    /// peer's endorser answers it with the chaincode response but **without an endorsement signature**, so
    /// no client can assemble a valid transaction from it. Evaluate works as usual.
    fn evaluate_only(&self) -> &[&'static str] {
        &[]
    }
}

/// The `BadRequest` for a function `contract` does not serve, naming it and listing the ones it does
/// (Fabric's "Function X not found in contract Y", plus the list).
pub fn unknown_function<C: Contract + ?Sized>(contract: &C, function: &str) -> ContractError {
    let served = contract.functions();
    let list = if served.is_empty() {
        String::from("(none listed)")
    } else {
        served.join(", ")
    };
    ContractError::BadRequest(format!(
        "Function {function} not found in contract {}; available functions: {list}",
        contract.name()
    ))
}
