#!/usr/bin/env bash
# stop.sh [DIR]: stops the channel-binding acceptor that start.sh started
# for the lab in DIR (default: the lab that is up). Keeps DIR/gssapi (logs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$here/../lib.sh"

dir=${1:-}
if [ -z "$dir" ] && [ -s "$LAB_POINTER" ]; then
	dir=$(cat "$LAB_POINTER")
fi
[ -n "$dir" ] || die "no lab directory given and none is up"
stop_pidfile "$dir/gssapi/acceptor.pid" python3
