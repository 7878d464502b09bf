//! `carechain channel ...`: create a channel's genesis block from configtx.yaml, and channel
//! participation on nodes (join, list, info).

use std::path::PathBuf;

use anyhow::Context;
use carechain::admin::NodeAdmin;
use carechain::identity::ClientArgs;
use carechain_channel::configtx::ConfigTx;
use carechain_channel::genesis::{build_config, genesis_block};
use carechain_proto::common::Block;
use clap::Subcommand;
use prost::Message;

/// Channel subcommands.
#[derive(Subcommand)]
pub enum ChannelCommand {
    /// Build a channel's genesis block from a configtx.yaml profile.
    Create {
        /// Profile name in the configtx file.
        #[arg(long)]
        profile: String,
        /// The configtx.yaml.
        #[arg(long, default_value = "network/configtx.yaml")]
        config: PathBuf,
        /// Channel name (default: the profile name in lowercase).
        #[arg(long = "channel-id")]
        channel_id: Option<String>,
        /// Where to write the block.
        #[arg(long)]
        output: PathBuf,
    },
    /// Join a peer or orderer to a channel (as an admin of the node's organization).
    Join {
        /// The channel's genesis block.
        #[arg(long)]
        block: PathBuf,
        /// For an org added after the channel was created: the channel's latest config block
        /// (`carechain channel fetch --config`), which names the org.
        #[arg(long = "config-block")]
        config_block: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List the channels a node has joined.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Fetch blocks, build, sign and submit configuration updates.
    #[command(flatten)]
    Update(crate::channel_update_cmd::UpdateCommand),
    /// Height, hashes and members of a channel on a node.
    Info {
        /// Channel name.
        #[arg(long)]
        channel: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Runs a channel subcommand.
pub async fn run(cmd: ChannelCommand) -> anyhow::Result<()> {
    match cmd {
        ChannelCommand::Create {
            profile,
            config,
            channel_id,
            output,
        } => {
            let tx = ConfigTx::load(&config)?;
            let id = channel_id.unwrap_or_else(|| profile.to_lowercase());
            let cfg = build_config(&tx, &profile, &id)?;
            let block = genesis_block(&id, cfg);
            std::fs::write(&output, block.encode_to_vec())
                .with_context(|| format!("writing {}", output.display()))?;
            println!("wrote genesis block of channel {id} to {}", output.display());
        }
        ChannelCommand::Join {
            block,
            config_block,
            client,
        } => {
            let b = read_block(&block)?;
            let latest = config_block.as_deref().map(read_block).transpose()?;
            let mut admin = NodeAdmin::connect(&client.address, &client.tls()?, client.signer()?).await?;
            let (ch, height) = admin.join(b, latest).await?;
            println!("{} joined channel {ch} (height {height})", client.address);
        }
        ChannelCommand::List { client } => {
            let mut admin = NodeAdmin::connect(&client.address, &client.tls()?, client.signer()?).await?;
            for c in admin.list().await? {
                println!("{c}");
            }
        }
        ChannelCommand::Update(u) => crate::channel_update_cmd::run(u).await?,
        ChannelCommand::Info { channel, client } => {
            let mut admin = NodeAdmin::connect(&client.address, &client.tls()?, client.signer()?).await?;
            let i = admin.info(&channel).await?;
            let info = i.info.unwrap_or_default();
            println!("channel:   {}", i.channel_id);
            println!("height:    {}", info.height);
            println!("tip hash:  {}", hex::encode(&info.current_block_hash));
            println!("members:   {}", i.member_msp_ids.join(", "));
            println!("config:    sequence {}", i.config_sequence);
            println!("role:      {}", i.role);
        }
    }
    Ok(())
}

fn read_block(path: &std::path::Path) -> anyhow::Result<Block> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Block::decode(raw.as_slice()).with_context(|| format!("{} is not a serialized block", path.display()))
}
