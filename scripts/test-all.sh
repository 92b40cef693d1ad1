#!/usr/bin/env bash
# Runs every test of the workspace, including the ones that need a third-party SCIM
# server: it installs and starts those servers on 127.0.0.1 first (PyPI/npm packages,
# pinned), points the tests at them, and stops them at the end.
#
# Usage: scripts/test-all.sh [extra cargo test args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

servers=(scim2-server scim2-flask scimmy better-auth-scim)
started=()
cleanup() {
  for s in "${started[@]}"; do
    "$root/scripts/realservers/$s/stop.sh" >/dev/null || true
  done
}
trap cleanup EXIT

for s in "${servers[@]}"; do
  "$root/scripts/realservers/$s/start.sh"
  started+=("$s")
done

export SCIM_TEST_TOKEN=s3cr3t
export SCIM_TEST_SCIM2_SERVER_URL=http://127.0.0.1:${RS_PORT_SCIM2_SERVER:-18080}/v2
export SCIM_TEST_SCIM2_FLASK_URL=http://127.0.0.1:18086/scim/v2
export SCIM_TEST_SCIMMY_URL=http://127.0.0.1:18084/scim/v2
export SCIM_TEST_BETTER_AUTH_SCIM_URL=http://127.0.0.1:18085/api/auth/scim/v2
export PROPTEST_CASES=${PROPTEST_CASES:-10000}

cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
