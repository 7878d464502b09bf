#!/usr/bin/env bash
# README's test command: set up a fresh machine if needed, then format check, lints and every test
# (unit, multi-process integration with TLS and RocksDB, and the Fabric SDK interoperability tests).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# Keep build artifacts outside the clone so repeated runs on one machine reuse the RocksDB build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/carechain-target}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Pure crates must stay free of async runtimes and storage (see docs/architecture.md).
for crate in chaincode-api chaincode-basic chaincode-claims chaincode-supply chaincode-private chaincode-records peer-core carechain-channel; do
  if cargo tree -p "$crate" -e normal --locked | grep -E '^.*(tokio|tonic|rocksdb) v' >/dev/null; then
    echo "error: $crate must not depend on tokio, tonic or rocksdb" >&2
    exit 1
  fi
done
cargo build --workspace --bins --locked
nextest_log="$(mktemp)"
cargo nextest run --workspace --locked --no-fail-fast "$@" 2>&1 | tee "$nextest_log"
summary="$(grep -E 'Summary .* tests run: ' "$nextest_log" | tail -1 || true)"
rm -f "$nextest_log"
# nextest does not run doctests.
cargo test --workspace --doc --locked --quiet

# README's main job on the default consortium network, as quickstart.sh runs it: up, the demo story, down.
home="$(mktemp -d)"
bin="$CARGO_TARGET_DIR/debug/carechain"
trap 'CARECHAIN_HOME="$home" "$bin" network down --clean >/dev/null 2>&1 || true; rm -rf "$home"' EXIT
CARECHAIN_HOME="$home" "$bin" network up --config network/network.yaml
CARECHAIN_HOME="$home" "$bin" demo --config network/network.yaml
CARECHAIN_HOME="$home" "$bin" network down --clean

# The test count, last, for whoever reads the end of this output.
passed="$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")"
failed="$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")"
echo "nextest: ${passed:-0} passed, ${failed:-0} failed"
