#!/usr/bin/env bash
# down.sh [DIR]: stops exactly what up.sh started for the lab in DIR (default:
# the lab that is up, as recorded by up.sh), by its PID files, and removes the
# lab's lines from /etc/hosts. DIR itself is kept (logs). Idempotent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || die "down.sh must run as root"

dir=${1:-}
if [ -z "$dir" ] && [ -s "$LAB_POINTER" ]; then
	dir=$(cat "$LAB_POINTER")
fi

if [ -n "$dir" ] && [ -d "$dir" ]; then
	dir=$(cd "$dir" && pwd -P)
	stop_pidfile "$dir/squid/squid.pid" squid
	stop_pidfile "$dir/apache/run/apache2.pid" apache2
	stop_pidfile "$dir/kdc/krb5kdc.pid" krb5kdc
	if [ -s "$LAB_POINTER" ] && [ "$(cat "$LAB_POINTER")" = "$dir" ]; then
		rm -f "$LAB_POINTER"
	fi
	log "lab in $dir is down (files kept)"
fi
hosts_remove
