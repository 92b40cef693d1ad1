#!/usr/bin/env bash
# scim2-server (PyPI, python-scim project): in-memory store, on 127.0.0.1:18080.
# Base URL http://127.0.0.1:18080/v2, bearer token $SCIM_TOKEN (default s3cr3t).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
VERSION=0.8.3
TOKEN=${SCIM_TOKEN:-s3cr3t}
rs_init scim2-server "${RS_PORT_SCIM2_SERVER:-18080}"
if rs_running; then
  echo "scim2-server already running, pid $(cat "$RS_PIDFILE")"
  exit 0
fi
# requirements.txt pins scim2-server $VERSION and its whole dependency tree.
rs_venv_locked "$(dirname "$0")/requirements.txt"
"$RS_ROOT/venv/bin/pip" freeze --disable-pip-version-check >"$RS_ROOT/versions.txt"
rs_launch "$RS_ROOT/venv/bin/scim2-server" --hostname 127.0.0.1 --port "$RS_PORT" --bearer-token "$TOKEN"
rs_wait "http://127.0.0.1:$RS_PORT/v2/ServiceProviderConfig" -H "Authorization: Bearer $TOKEN"
