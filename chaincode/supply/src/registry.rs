//! Who is a manufacturer, and of what: GS1 company prefixes and the products registered under them.
//!
//! This is the ledger-side rule behind "only the manufacturer that owns a GTIN's company prefix may
//! commission serials for it". An org's admin claims a prefix once (`RegisterCompanyPrefix`); the first
//! claim wins and no org (the owner included) can claim it, a longer prefix inside it, or a shorter prefix
//! containing it again, so every GTIN has at most one owner for the life of the channel. Products are
//! registered by that owner only, and commissioning is allowed only to the product's owner. Everything here
//! runs in the endorse step; the point reads it records make a concurrent claim of an overlapping prefix
//! fail MVCC validation.

use chaincode_api::{Context, ContractError, Role, create_composite_key};

use crate::action::ProductSpec;
use crate::epcis::Stamp;
use crate::gs1::{self, Gtin};
use crate::state::{self, CompanyPrefix, PREFIX, Product};

/// Claims `prefix` for the caller's org. Caller: an admin (NodeOU `admin`) of any org. Writes the prefix
/// record. `Conflict` if it overlaps a registered prefix.
pub fn register_prefix(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    prefix: &str,
    company: &str,
) -> Result<Vec<u8>, ContractError> {
    ctx.caller().require_role(Role::Admin)?;
    if let Some(existing) = overlapping_prefix(ctx, prefix)? {
        let how = if existing.prefix == prefix {
            "is already registered".to_string()
        } else {
            format!("overlaps registered prefix {}", existing.prefix)
        };
        return Err(ContractError::Conflict(format!(
            "GS1 company prefix {prefix} {how} to {} ({}); a prefix is registered once and never changes owner",
            existing.owner, existing.company_name
        )));
    }
    let record = CompanyPrefix {
        prefix: prefix.to_string(),
        owner: stamp.org.clone(),
        company_name: company.to_string(),
        registered_by: ctx.caller().subject.clone(),
        registered_at: stamp.time.clone(),
        tx_id: stamp.tx_id.clone(),
    };
    let json = state::to_json(&record)?;
    ctx.put_state(&state::prefix_key(prefix)?, &json)?;
    ctx.set_event("CompanyPrefixRegistered", &json)?;
    Ok(json)
}

/// A registered prefix equal to `prefix`, a proper prefix of it, or an extension of it.
fn overlapping_prefix(ctx: &mut dyn Context, prefix: &str) -> Result<Option<CompanyPrefix>, ContractError> {
    for len in *gs1::PREFIX_LENGTHS.start()..prefix.len() {
        if let Some(found) = state::load(ctx, &state::prefix_key(&prefix[..len])?)? {
            return Ok(Some(found));
        }
    }
    // The exact key and every longer prefix starting with these digits sort in [start, start + U+10FFFF).
    let mut start = create_composite_key(PREFIX, &[])?;
    start.push_str(prefix);
    let end = format!("{start}\u{10FFFF}");
    let page = ctx.get_state_by_range(&start, &end, 1, "")?;
    match page.items.first() {
        Some((key, bytes)) => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| ContractError::Internal(format!("stored value of key {key:?} does not parse: {e}"))),
        None => Ok(None),
    }
}

/// The registered owner of `gtin`'s company prefix, if any (at most one, since prefixes never overlap).
pub fn gtin_owner(ctx: &mut dyn Context, gtin: &Gtin) -> Result<Option<CompanyPrefix>, ContractError> {
    for prefix in gtin.prefix_candidates() {
        if let Some(found) = state::load::<CompanyPrefix>(ctx, &state::prefix_key(prefix)?)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Registers a product. Caller: any member of the org owning the GTIN's company prefix. Writes the product
/// record; `Conflict` if the GTIN is already registered (products are immutable).
pub fn register_product(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    spec: ProductSpec,
) -> Result<Vec<u8>, ContractError> {
    let gtin = spec.gtin.as_str().to_string();
    let owner = gtin_owner(ctx, &spec.gtin)?.ok_or_else(|| {
        ContractError::Forbidden(format!(
            "access denied: GTIN {gtin} has no registered GS1 company prefix; its manufacturer must \
             RegisterCompanyPrefix first"
        ))
    })?;
    require_owner(ctx, &owner, &gtin, "register products")?;
    let key = state::product_key(&gtin)?;
    if let Some(existing) = state::load::<Product>(ctx, &key)? {
        return Err(ContractError::Conflict(format!(
            "GTIN {gtin} is already registered as {:?}",
            existing.name
        )));
    }
    let product = Product {
        gtin,
        name: spec.name,
        owner: owner.owner,
        company_prefix: owner.prefix,
        min_temp_c: spec.min_temp_c,
        max_temp_c: spec.max_temp_c,
        shelf_life_days: spec.shelf_life_days,
        registered_at: stamp.time.clone(),
    };
    let json = state::to_json(&product)?;
    ctx.put_state(&key, &json)?;
    ctx.set_event("ProductRegistered", &json)?;
    Ok(json)
}

/// `Forbidden` unless the caller belongs to the org owning `prefix`; `what` names the refused operation.
pub fn require_owner(
    ctx: &dyn Context,
    prefix: &CompanyPrefix,
    gtin: &str,
    what: &str,
) -> Result<(), ContractError> {
    let caller = ctx.caller();
    if caller.msp_id == prefix.owner {
        return Ok(());
    }
    Err(ContractError::Forbidden(format!(
        "access denied: caller {caller} may not {what} for GTIN {gtin}: its GS1 company prefix {} belongs to {}",
        prefix.prefix, prefix.owner
    )))
}

/// The product JSON.
pub fn read_product(ctx: &mut dyn Context, gtin: &Gtin) -> Result<Vec<u8>, ContractError> {
    state::to_json(&state::must_product(ctx, gtin.as_str())?)
}
