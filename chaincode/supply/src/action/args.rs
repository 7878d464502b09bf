//! Argument helpers for `action`: arity, optional trailing arguments, free text, numbers, MSP ids and trade
//! references, each failing with a `BadRequest` that names the function, the position or the value. They run
//! before the contract reads state (endorse step), like the rest of `action`.

use chaincode_api::{Call, ContractError};

use super::MAX_BATCH;
use crate::gs1::{Gln, ObjectId, Sscc};

const MAX_TEXT: usize = 200;

pub(super) fn bad(message: String) -> ContractError {
    ContractError::BadRequest(message)
}

pub(super) fn arity(call: &Call<'_>, min: usize, max: usize) -> Result<(), ContractError> {
    let n = call.args.len();
    if (min..=max).contains(&n) {
        return Ok(());
    }
    Err(bad(format!(
        "Incorrect number of arguments for {}. Expecting {min} to {max}, received {n}",
        call.function
    )))
}

pub(super) fn batch_size(call: &Call<'_>, n: usize) -> Result<(), ContractError> {
    if (1..=MAX_BATCH).contains(&n) {
        return Ok(());
    }
    Err(bad(format!(
        "{}: {n} packs listed; a batch holds 1 to {MAX_BATCH}",
        call.function
    )))
}

pub(super) fn object(call: &Call<'_>, i: usize) -> Result<ObjectId, ContractError> {
    ObjectId::parse(call.str_arg(i)?)
}

pub(super) fn sscc(call: &Call<'_>, i: usize) -> Result<Sscc, ContractError> {
    let text = call.str_arg(i)?;
    Sscc::parse(text.strip_prefix("(00)").unwrap_or(text))
}

pub(super) fn opt_gln(call: &Call<'_>, i: usize) -> Result<Option<Gln>, ContractError> {
    match call.args.get(i) {
        Some(raw) if !raw.is_empty() => Gln::parse(call.str_arg(i)?).map(Some),
        _ => Ok(None),
    }
}

/// Required free text: not blank, at most [`MAX_TEXT`] characters, no control characters.
pub(super) fn text(call: &Call<'_>, i: usize, what: &str) -> Result<String, ContractError> {
    opt_text(call, i, what)?.ok_or_else(|| {
        bad(format!(
            "{}: {what} (argument {}) must not be empty",
            call.function,
            i + 1
        ))
    })
}

pub(super) fn opt_text(call: &Call<'_>, i: usize, what: &str) -> Result<Option<String>, ContractError> {
    let Some(raw) = call.args.get(i) else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(None);
    }
    let value = call.str_arg(i)?.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(bad(format!(
            "{}: {what} must be at most {MAX_TEXT} characters without control characters",
            call.function
        )));
    }
    Ok(Some(value.to_string()))
}

pub(super) fn number(call: &Call<'_>, i: usize, what: &str) -> Result<f64, ContractError> {
    let raw = call.str_arg(i)?;
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| bad(format!("{}: {what} {raw:?} is not a number", call.function)))
}

/// An MSP id as used in collection names: 1–64 characters A–Z, a–z, 0–9, `-`, `.`.
pub(super) fn msp_id(text: &str) -> Result<String, ContractError> {
    let ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.');
    if text.is_empty() || text.len() > 64 || !text.bytes().all(ok) {
        return Err(bad(format!(
            "org {text:?} must be an MSP id of 1-64 characters A-Z, a-z, 0-9, '-', '.'"
        )));
    }
    Ok(text.to_string())
}

/// A trade document reference: 1–64 characters A–Z, a–z, 0–9, `-`, `.`, `_`, `:` (no `/`: it delimits
/// private keys).
pub(super) fn trade_ref(text: &str) -> Result<String, ContractError> {
    let ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b':');
    if text.is_empty() || text.len() > 64 || !text.bytes().all(ok) {
        return Err(bad(format!(
            "trade document reference {text:?} must be 1-64 characters A-Z, a-z, 0-9, '-', '.', '_', ':'"
        )));
    }
    Ok(text.to_string())
}
