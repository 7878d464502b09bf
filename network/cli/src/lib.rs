//! The library half of the `carechain` operator binary: pieces the binary's subcommands and the
//! black-box integration tests share (admin client, client identity settings, node configuration files).

pub mod admin;
pub mod channelops;
pub mod identity;
pub mod launcher;
pub mod nodeconfig;
