#!/usr/bin/env bash
# stop.sh [DIR]: stops what realms/start.sh started in DIR (default: the
# tier that is up) by its PID files, and removes its /etc/hosts block.
# Keeps DIR (logs). Idempotent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/realmslib.sh
. "$here/realmslib.sh"

[ "$(id -u)" = 0 ] || die "realms/stop.sh must run as root"
dir=${1:-}
if [ -z "$dir" ] && [ -s "$REALMS_POINTER" ]; then
	dir=$(cat "$REALMS_POINTER")
fi
if [ -n "$dir" ] && [ -d "$dir" ]; then
	dir=$(cd "$dir" && pwd -P)
	stop_pidfile "$dir/apache/run/apache2.pid" apache2
	stop_pidfile "$dir/kdc/krb5kdc.pid" krb5kdc
	if [ -s "$REALMS_POINTER" ] && [ "$(cat "$REALMS_POINTER")" = "$dir" ]; then
		rm -f "$REALMS_POINTER"
	fi
	log "realms tier in $dir is down (files kept)"
fi
realms_hosts_remove
