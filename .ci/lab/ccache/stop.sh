#!/usr/bin/env bash
# stop.sh [DIR]: stops the sssd_kcm (and its supervisor) that start.sh
# started for the lab in DIR (default: the lab that is up). Keeps DIR/ccache
# (logs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$here/../lib.sh"

dir=${1:-}
if [ -z "$dir" ] && [ -s "$LAB_POINTER" ]; then
	dir=$(cat "$LAB_POINTER")
fi
[ -n "$dir" ] || die "no lab directory given and none is up"
c="$dir/ccache"
stop_pidfile "$c/supervisor.pid" bash
stop_pidfile "$c/sssd_kcm.pid" sssd_kcm
rm -f /run/.heim_org.h5l.kcm-socket
