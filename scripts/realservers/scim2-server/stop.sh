#!/usr/bin/env bash
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
rs_init scim2-server "${RS_PORT_SCIM2_SERVER:-18080}"
rs_stop
