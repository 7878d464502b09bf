//! `carechain chaincode invoke|query`: act as an application through a peer's gateway, like Fabric's
//! `peer chaincode invoke|query`, with arguments as JSON.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use carechain::identity::ClientArgs;
use carechain_gateway::client::{ClientError, GatewayClient};
use clap::{Args, Subcommand};

/// What to call.
#[derive(Args, Clone, Debug)]
pub struct CallArgs {
    /// Channel.
    #[arg(long)]
    pub channel: String,
    /// Chaincode name.
    #[arg(long)]
    pub name: String,
    /// Function (may be prefixed `Contract:`).
    #[arg(long = "fn")]
    pub function: String,
    /// Arguments: JSON arrays (`'["asset1","blue"]'`) or single JSON values; strings are passed as UTF-8,
    /// other JSON values as their JSON text. Repeatable.
    #[arg(long, num_args = 1..)]
    pub args: Vec<String>,
    /// Transient data as a JSON object; string values are passed as UTF-8, others as JSON text.
    #[arg(long)]
    pub transient: Option<String>,
}

/// Chaincode subcommands.
#[derive(Subcommand)]
pub enum ChaincodeCommand {
    /// Endorse, order and commit a transaction; prints the result once it is committed VALID.
    Invoke {
        #[command(flatten)]
        call: CallArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Evaluate a query on the peer; nothing is ordered.
    Query {
        #[command(flatten)]
        call: CallArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn json_to_bytes(v: &serde_json::Value) -> Vec<u8> {
    match v {
        serde_json::Value::String(s) => s.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    }
}

/// `[function, args...]` as bytes.
pub fn build_args(call: &CallArgs) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = vec![call.function.as_bytes().to_vec()];
    for a in &call.args {
        match serde_json::from_str::<serde_json::Value>(a) {
            Ok(serde_json::Value::Array(items)) => out.extend(items.iter().map(json_to_bytes)),
            Ok(v) => out.push(json_to_bytes(&v)),
            // A bare word is taken as a string, so `--args asset1` works too.
            Err(_) => out.push(a.as_bytes().to_vec()),
        }
    }
    Ok(out)
}

/// The transient map.
pub fn build_transient(call: &CallArgs) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let Some(t) = &call.transient else {
        return Ok(BTreeMap::new());
    };
    let v: serde_json::Value = serde_json::from_str(t).context("--transient must be a JSON object")?;
    let serde_json::Value::Object(map) = v else {
        bail!("--transient must be a JSON object");
    };
    Ok(map.iter().map(|(k, v)| (k.clone(), json_to_bytes(v))).collect())
}

/// Runs a chaincode subcommand.
pub async fn run(cmd: ChaincodeCommand) -> anyhow::Result<()> {
    let (call, client, submit) = match cmd {
        ChaincodeCommand::Invoke { call, client } => (call, client, true),
        ChaincodeCommand::Query { call, client } => (call, client, false),
    };
    let args = build_args(&call)?;
    let transient = build_transient(&call)?;
    let gw = GatewayClient::connect(&client.address, &client.tls()?, client.signer()?).await?;
    let result = if submit {
        match gw
            .submit_transaction(&call.channel, &call.name, &args, &transient)
            .await
        {
            Ok(c) => {
                eprintln!("transaction {} committed VALID in block {}", c.tx_id, c.block);
                c.result
            }
            Err(e @ ClientError::Commit { .. }) => bail!("{e}"),
            Err(e) => return Err(e.into()),
        }
    } else {
        gw.evaluate(&call.channel, &call.name, &args, &transient).await?
    };
    println!("{}", String::from_utf8_lossy(&result));
    Ok(())
}
