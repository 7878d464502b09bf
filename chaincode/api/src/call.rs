//! One invocation's function name and arguments, parsed from Fabric's `ChaincodeInput.args`.
//!
//! The endorser receives a proposal whose `ChaincodeInput.args[0]` names the function ("CreateAsset", or
//! "SmartContract:CreateAsset" when the client picks a contract inside the chaincode) and `args[1..]` carry raw
//! argument bytes. `Call` is that input parsed once, at the edge of the contract, so contract code deals with
//! `&str`/`i64`/typed JSON and every malformed argument fails the same way: a `BadRequest` naming the function
//! and the argument's position. Nothing here touches state, so it is checked before the simulation reads
//! anything.

use serde::de::DeserializeOwned;

use crate::ContractError;

/// Longest argument excerpt quoted back in an error message, so huge inputs do not produce huge errors.
const PREVIEW_CHARS: usize = 48;

/// A parsed invocation: which contract and function, and the arguments after the function name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call<'a> {
    /// The "ContractName" of an `args[0]` written as "ContractName:function", split at the last ':' as Fabric's
    /// contract API does; `None` when `args[0]` has no ':' (the chaincode's default contract).
    pub contract: Option<&'a str>,
    /// The function name, never empty.
    pub function: &'a str,
    /// Fabric's `args[1..]`, as raw bytes.
    pub args: &'a [Vec<u8>],
}

impl<'a> Call<'a> {
    /// A call of `function` on the default contract; handy in tests and in the simulator.
    pub fn new(function: &'a str, args: &'a [Vec<u8>]) -> Call<'a> {
        Call {
            contract: None,
            function,
            args,
        }
    }

    /// Parses Fabric's convention: `args[0]` = "function" or "ContractName:function", the rest are arguments.
    ///
    /// Fails with `BadRequest` when `args` is empty, `args[0]` is not UTF-8, or the function name is blank.
    pub fn parse(args: &'a [Vec<u8>]) -> Result<Call<'a>, ContractError> {
        let Some((first, rest)) = args.split_first() else {
            return Err(ContractError::BadRequest(
                "no function name: args[0] must be \"Function\" or \"Contract:Function\"".into(),
            ));
        };
        let name = std::str::from_utf8(first).map_err(|_| {
            ContractError::BadRequest(format!(
                "function name (args[0]) is not valid UTF-8: {}",
                preview(&String::from_utf8_lossy(first))
            ))
        })?;
        let (contract, function) = match name.rfind(':') {
            Some(i) => (Some(&name[..i]), &name[i + 1..]),
            None => (None, name),
        };
        if function.is_empty() {
            return Err(ContractError::BadRequest(format!(
                "blank function name passed (args[0] = {})",
                preview(name)
            )));
        }
        Ok(Call {
            contract,
            function,
            args: rest,
        })
    }

    /// Raw argument `i` (0-based index into `args`). Error messages count positions from 1, as people do.
    pub fn arg(&self, i: usize) -> Result<&'a [u8], ContractError> {
        self.args.get(i).map(Vec::as_slice).ok_or_else(|| {
            ContractError::BadRequest(format!(
                "{}: argument {} is missing (received {} arguments)",
                self.function,
                i + 1,
                self.args.len()
            ))
        })
    }

    /// Argument `i` as UTF-8 text; `BadRequest` naming the function and position when missing or not UTF-8.
    pub fn str_arg(&self, i: usize) -> Result<&'a str, ContractError> {
        let raw = self.arg(i)?;
        std::str::from_utf8(raw).map_err(|_| {
            ContractError::BadRequest(format!(
                "{}: argument {} is not valid UTF-8",
                self.function,
                i + 1
            ))
        })
    }

    /// Argument `i` as a decimal `i64` (optional sign, no spaces); same errors as [`Call::str_arg`], plus one
    /// that quotes the offending text.
    pub fn int_arg(&self, i: usize) -> Result<i64, ContractError> {
        let text = self.str_arg(i)?;
        text.parse::<i64>().map_err(|_| {
            ContractError::BadRequest(format!(
                "{}: argument {} must be an integer, got {}",
                self.function,
                i + 1,
                preview(text)
            ))
        })
    }

    /// Argument `i` parsed as JSON into `T`; the error carries serde's reason (missing field, wrong type).
    pub fn json_arg<T: DeserializeOwned>(&self, i: usize) -> Result<T, ContractError> {
        let raw = self.arg(i)?;
        serde_json::from_slice(raw).map_err(|e| {
            ContractError::BadRequest(format!(
                "{}: argument {} is not the expected JSON: {e}",
                self.function,
                i + 1
            ))
        })
    }

    /// Requires exactly `n` arguments after the function name.
    pub fn expect_args(&self, n: usize) -> Result<(), ContractError> {
        if self.args.len() == n {
            return Ok(());
        }
        Err(ContractError::BadRequest(format!(
            "Incorrect number of arguments for {}. Expecting {n}, received {}",
            self.function,
            self.args.len()
        )))
    }
}

/// Quotes `text` for an error message, cut to [`PREVIEW_CHARS`] characters.
pub(crate) fn preview(text: &str) -> String {
    if text.chars().count() <= PREVIEW_CHARS {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(PREVIEW_CHARS).collect();
    format!("{cut:?}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn parse_splits_contract_prefix_at_the_last_colon() {
        let args = input(&["org.example:Asset:Create", "a1"]);
        let call = Call::parse(&args).expect("valid input");
        assert_eq!(call.contract, Some("org.example:Asset"));
        assert_eq!(call.function, "Create");
        assert_eq!(call.args, &args[1..]);

        let args = input(&["ReadAsset", "a1"]);
        let call = Call::parse(&args).expect("valid input");
        assert_eq!((call.contract, call.function), (None, "ReadAsset"));
    }

    #[test]
    fn parse_rejects_empty_non_utf8_and_blank_names() {
        let err = Call::parse(&[]).expect_err("no args");
        assert!(matches!(err, ContractError::BadRequest(_)), "{err:?}");

        let args = vec![vec![0xff, 0xfe]];
        let err = Call::parse(&args).expect_err("not UTF-8");
        assert!(err.message().contains("not valid UTF-8"), "{err}");

        for blank in ["", "Contract:"] {
            let args = input(&[blank]);
            let err = Call::parse(&args).expect_err("blank function");
            assert!(err.message().contains("blank function name"), "{err}");
        }
    }

    #[test]
    fn argument_errors_name_function_and_position() {
        let args = vec![b"Create".to_vec(), b"a1".to_vec(), vec![0xc3], b"12x".to_vec()];
        let call = Call::parse(&args).expect("valid input");
        assert_eq!(call.str_arg(0).expect("present"), "a1");
        assert_eq!(
            call.str_arg(5).expect_err("missing").message(),
            "Create: argument 6 is missing (received 3 arguments)"
        );
        assert_eq!(
            call.str_arg(1).expect_err("bad utf8").message(),
            "Create: argument 2 is not valid UTF-8"
        );
        assert_eq!(
            call.int_arg(2).expect_err("not int").message(),
            "Create: argument 3 must be an integer, got \"12x\""
        );
    }

    #[test]
    fn int_and_json_arguments_parse() {
        let args = input(&["F", "-42", "+7", r#"{"a":[1,2]}"#, "9223372036854775808"]);
        let call = Call::parse(&args).expect("valid input");
        assert_eq!(call.int_arg(0).expect("int"), -42);
        assert_eq!(call.int_arg(1).expect("int"), 7);
        let value: serde_json::Value = call.json_arg(2).expect("json");
        assert_eq!(value["a"][1], 2);
        assert!(call.int_arg(3).is_err(), "i64 overflow must be rejected");
        let err = call.json_arg::<Vec<u8>>(0).expect_err("wrong JSON type");
        assert!(
            err.message()
                .starts_with("F: argument 1 is not the expected JSON"),
            "{err}"
        );
    }

    #[test]
    fn expect_args_is_exact() {
        let args = input(&["Transfer", "a1"]);
        let call = Call::parse(&args).expect("valid input");
        assert!(call.expect_args(1).is_ok());
        assert_eq!(
            call.expect_args(2).expect_err("too few").message(),
            "Incorrect number of arguments for Transfer. Expecting 2, received 1"
        );
        assert!(call.expect_args(0).is_err());
    }

    #[test]
    fn long_arguments_are_cut_in_messages() {
        let long = "9".repeat(500) + "x";
        let args = input(&["F", &long]);
        let err = Call::parse(&args)
            .expect("valid")
            .int_arg(0)
            .expect_err("not int");
        assert!(err.message().len() < 120, "{}", err.message());
        assert!(err.message().ends_with('…'));
    }
}
