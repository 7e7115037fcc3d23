# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# realmslib.sh: settings shared by start.sh and stop.sh of the MIT realms
# tier (three realms on one KDC, cross-realm trust, AES-SHA2 service).
# Sourced after ../lib.sh, never run.

: "${REALMS_KDC_PORT:=18388}"
: "${REALMS_HTTP_PORT:=18380}"
REALMS_USER=alice
REALMS_PASSWORD=alice-East.pw1
REALMS_SHA2_HOST=sha2.east.test
REALMS_WEST_HOST=www.west.test
REALMS_NORTH_HOST=www.north.test
REALMS_SOUTH_HOST=www.south.test
REALMS_POINTER=/run/negotiate-lab-realms.dir
REALMS_HOSTS_BEGIN='# BEGIN negotiate-lab-realms (.ci/lab/realms/start.sh; removed by .ci/lab/realms/stop.sh)'
REALMS_HOSTS_END='# END negotiate-lab-realms'

realms_hosts_remove() {
	grep -qxF "$REALMS_HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
	local tmp
	tmp=$(mktemp)
	awk -v b="$REALMS_HOSTS_BEGIN" -v e="$REALMS_HOSTS_END" '
		$0 == b { skip = 1; next }
		skip && $0 == e { skip = 0; next }
		!skip { print }' /etc/hosts >"$tmp"
	cat "$tmp" >/etc/hosts
	rm -f "$tmp"
}

realms_hosts_add() {
	realms_hosts_remove
	printf '%s\n127.0.0.1 %s %s %s %s\n%s\n' "$REALMS_HOSTS_BEGIN" \
		"$REALMS_SHA2_HOST" "$REALMS_WEST_HOST" "$REALMS_SOUTH_HOST" "$REALMS_NORTH_HOST" "$REALMS_HOSTS_END" >>/etc/hosts
}

# realms_wait_pidfile waits, at most 5 s, for a daemon's PID file.
realms_wait_pidfile() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "no PID file at $1" >&2
	return 1
}
