#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for building and testing carechain. Idempotent: it only
# installs what is missing, so the test and quickstart commands call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# RocksDB's Rust bindings run bindgen, which needs libclang.so.
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The analytics store's PostgreSQL tests start a throwaway server from the Debian package.
dpkg -s postgresql >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Node packages for the Fabric interoperability tests (official Fabric client libraries).
for dir in tests/interop/protos tests/interop/gateway; do
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "setup: npm ci in $dir" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
