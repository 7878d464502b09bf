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

/// A chaincode definition on the command line.
#[derive(Args, Clone, Debug)]
pub struct DefinitionArgs {
    /// Channel.
    #[arg(long)]
    pub channel: String,
    /// Chaincode name.
    #[arg(long)]
    pub name: String,
    /// Version label.
    #[arg(long)]
    pub version: String,
    /// Sequence: 1 for the first definition, +1 per change.
    #[arg(long)]
    pub sequence: u64,
    /// Endorsement policy, e.g. `AND('HospitalAMSP.peer','InsurerMSP.peer')` (default: the channel's
    /// `/Channel/Application/Endorsement`, MAJORITY of the member orgs).
    #[arg(long = "signature-policy")]
    pub signature_policy: Option<String>,
    /// A channel policy reference instead, e.g. `/Channel/Application/Endorsement`.
    #[arg(long = "channel-config-policy", conflicts_with = "signature_policy")]
    pub channel_config_policy: Option<String>,
}

impl DefinitionArgs {
    fn json(&self) -> String {
        let policy = match (&self.signature_policy, &self.channel_config_policy) {
            (Some(p), _) => serde_json::json!({ "signature": p }),
            (None, Some(r)) => serde_json::json!({ "channel_reference": r }),
            (None, None) => serde_json::json!({ "channel_reference": "/Channel/Application/Endorsement" }),
        };
        serde_json::json!({
            "name": self.name,
            "version": self.version,
            "sequence": self.sequence,
            "endorsement_policy": policy,
        })
        .to_string()
    }
}

/// Chaincode subcommands.
#[derive(Subcommand)]
pub enum ChaincodeCommand {
    /// Approve a chaincode definition for your organization (as an org admin, through your org's peer).
    Approve {
        #[command(flatten)]
        def: DefinitionArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Commit a definition once enough organizations approved it (LifecycleEndorsement).
    Commit {
        #[command(flatten)]
        def: DefinitionArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Which organizations approved a definition, and for those that approved something else, which
    /// field differs.
    Readiness {
        #[command(flatten)]
        def: DefinitionArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Committed chaincode definitions of a channel.
    List {
        /// Channel.
        #[arg(long)]
        channel: String,
        #[command(flatten)]
        client: ClientArgs,
    },
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
    // Raw values keep an object's text as typed: contracts that compare hashes of transient JSON (the
    // private-data sample's TransferAsset) need the client's key order, which a parsed map would sort.
    let map: BTreeMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(t).context("--transient must be a JSON object")?;
    map.into_iter()
        .map(|(k, raw)| {
            let bytes = match serde_json::from_str::<String>(raw.get()) {
                Ok(s) => s.into_bytes(),
                Err(_) => raw.get().as_bytes().to_vec(),
            };
            Ok((k, bytes))
        })
        .collect()
}

const LIFECYCLE: &str = "_lifecycle";

async fn lifecycle(
    client: &ClientArgs,
    channel: &str,
    func: &str,
    arg: Option<String>,
    submit: bool,
) -> anyhow::Result<Vec<u8>> {
    let gw = GatewayClient::connect(&client.address, &client.tls()?, client.signer()?).await?;
    let mut args = vec![func.as_bytes().to_vec()];
    args.extend(arg.map(String::into_bytes));
    let none = BTreeMap::new();
    Ok(if submit {
        let c = gw.submit_transaction(channel, LIFECYCLE, &args, &none).await?;
        eprintln!("transaction {} committed VALID in block {}", c.tx_id, c.block);
        c.result
    } else {
        gw.evaluate(channel, LIFECYCLE, &args, &none).await?
    })
}

async fn run_lifecycle(cmd: ChaincodeCommand) -> anyhow::Result<()> {
    match cmd {
        ChaincodeCommand::Approve { def, client } => {
            lifecycle(
                &client,
                &def.channel,
                "ApproveChaincodeDefinitionForMyOrg",
                Some(def.json()),
                true,
            )
            .await?;
            println!(
                "approved {} sequence {} for {}",
                def.name, def.sequence, client.msp_id
            );
        }
        ChaincodeCommand::Commit { def, client } => {
            lifecycle(
                &client,
                &def.channel,
                "CommitChaincodeDefinition",
                Some(def.json()),
                true,
            )
            .await?;
            println!(
                "committed {} version {} sequence {} on {}",
                def.name, def.version, def.sequence, def.channel
            );
        }
        ChaincodeCommand::Readiness { def, client } => {
            let out = lifecycle(
                &client,
                &def.channel,
                "CheckCommitReadiness",
                Some(def.json()),
                false,
            )
            .await?;
            let r: serde_json::Value = serde_json::from_slice(&out)?;
            if let Some(approvals) = r["approvals"].as_object() {
                for (org, ok) in approvals {
                    let mut line = format!(
                        "{org}: {}",
                        if ok.as_bool() == Some(true) {
                            "approved"
                        } else {
                            "not approved"
                        }
                    );
                    if let Some(fields) = r["mismatches"][org].as_array() {
                        let f: Vec<&str> = fields.iter().filter_map(|x| x.as_str()).collect();
                        line.push_str(&format!(
                            " (approved a different definition: {} differ)",
                            f.join(", ")
                        ));
                    }
                    println!("{line}");
                }
            }
            println!("ready to commit: {}", r["ready"].as_bool() == Some(true));
        }
        ChaincodeCommand::List { channel, client } => {
            let out = lifecycle(&client, &channel, "QueryChaincodeDefinitions", None, false).await?;
            let defs: Vec<serde_json::Value> = serde_json::from_slice(&out)?;
            for d in defs {
                println!(
                    "{} version {} sequence {} policy {}",
                    d["name"].as_str().unwrap_or(""),
                    d["version"].as_str().unwrap_or(""),
                    d["sequence"],
                    d["endorsement_policy"]
                );
            }
        }
        ChaincodeCommand::Invoke { .. } | ChaincodeCommand::Query { .. } => {
            anyhow::bail!("not a lifecycle command")
        }
    }
    Ok(())
}

/// Runs a chaincode subcommand.
pub async fn run(cmd: ChaincodeCommand) -> anyhow::Result<()> {
    let (call, client, submit) = match cmd {
        ChaincodeCommand::Invoke { call, client } => (call, client, true),
        ChaincodeCommand::Query { call, client } => (call, client, false),
        other => return run_lifecycle(other).await,
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
