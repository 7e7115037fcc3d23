#!/usr/bin/env bash
# stop.sh [DIR]: stops what ad/start.sh started for the AD tier in DIR
# (default: the tier that is up), by its PID files: Squid, Apache, then Samba (whose
# root process ends its tasks and winbindd). Removes the tier's /etc/hosts
# block; keeps DIR (logs). Idempotent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/adlib.sh
. "$here/adlib.sh"

[ "$(id -u)" = 0 ] || die "ad/stop.sh must run as root"

dir=${1:-}
if [ -z "$dir" ] && [ -s "$AD_POINTER" ]; then
	dir=$(cat "$AD_POINTER")
fi

if [ -n "$dir" ] && [ -d "$dir" ]; then
	dir=$(cd "$dir" && pwd -P)
	stop_pidfile "$dir/squid/squid.pid" squid
	stop_pidfile "$dir/apache/run/apache2.pid" apache2
	stop_pidfile "$dir/samba/run/samba.pid" samba
	# winbindd normally leaves with Samba; if not, stop it too.
	stop_pidfile "$dir/samba/run/winbindd.pid" winbindd
	if [ -s "$AD_POINTER" ] && [ "$(cat "$AD_POINTER")" = "$dir" ]; then
		rm -f "$AD_POINTER"
	fi
	log "AD tier in $dir is down (files kept)"
fi
ad_hosts_remove
