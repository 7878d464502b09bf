#!/usr/bin/env bash
# README's main command: on a fresh machine, install what is missing, build carechain, bring up the
# local consortium network (3 Raft orderers, the peers of seven organizations, channels `care` and
# `supply`) and run the demo story through the gateways. State goes to $CARECHAIN_HOME (default
# ./.carechain); stop everything with `carechain network down` (add --clean to delete the data).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/carechain-target}"
cargo build --bin carechain --locked
bin="$CARGO_TARGET_DIR/debug/carechain"
"$bin" network up --config network/network.yaml
"$bin" demo --config network/network.yaml
echo
echo "The network keeps running. Status: $bin network status; stop: $bin network down"
