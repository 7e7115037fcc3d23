# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# lib.sh: settings and helpers shared by up.sh, down.sh and smoke.sh of the
# real-peer lab (MIT KDC, Apache mod_auth_gssapi + gss-ntlmssp, Squid) on
# 127.0.0.1. It is sourced, never run. Every port may be overridden from the
# environment before up.sh runs; down.sh and smoke.sh read DIR/lab.env.

LAB_REALM=LAB.TEST
LAB_NTLM_DOMAIN=LAB
LAB_WWW_HOST=www.lab.test
LAB_PROXY_HOST=proxy.lab.test
LAB_KDC_HOST=kdc.lab.test
LAB_USER=alice
LAB_PASSWORD=alice-Lab.pw1
LAB_USER2=bob
LAB_PASSWORD2=bob-Lab.pw2

: "${LAB_KDC_PORT:=18088}"
: "${LAB_HTTP_PORT:=18080}"
: "${LAB_HTTPS_PORT:=18443}"
: "${LAB_PROXY_PORT:=13128}"
: "${LAB_PROXY_OPEN_PORT:=13129}"

# The Debian packages the lab runs on (installed by up.sh when missing).
LAB_PACKAGES=(krb5-kdc krb5-admin-server krb5-user apache2 libapache2-mod-auth-gssapi
	gss-ntlmssp squid curl openssl iproute2)
# Services those packages' postinst scripts may start on their default ports
# (0.0.0.0:80, :3128, :88, :749, ...); up.sh stops and disables them.
LAB_SYSTEM_SERVICES=(apache2 apache-htcacheclean squid krb5-kdc krb5-admin-server)

HOSTS_BEGIN='# BEGIN negotiate-lab (.ci/lab/up.sh; removed by .ci/lab/down.sh)'
HOSTS_END='# END negotiate-lab'
# Remembers the directory of the lab that is up, so that down.sh without an
# argument, and a second up.sh, find it.
LAB_POINTER=/run/negotiate-lab.dir

log() { printf '%s lab: %s\n' "$(date +%T)" "$*" >&2; }

die() {
	log "ERROR: $*"
	exit 1
}

# hosts_remove deletes the lab's block from /etc/hosts. It rewrites the file
# in place (cat >) rather than renaming a new one over it, because in
# containers /etc/hosts is often a bind mount that cannot be replaced.
hosts_remove() {
	grep -qxF "$HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
	local tmp
	tmp=$(mktemp)
	awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" '
		$0 == b { skip = 1; next }
		skip && $0 == e { skip = 0; next }
		!skip { print }' /etc/hosts >"$tmp"
	cat "$tmp" >/etc/hosts
	rm -f "$tmp"
}

# hosts_add makes the lab's names resolve to 127.0.0.1 (idempotent).
hosts_add() {
	hosts_remove
	printf '%s\n127.0.0.1 %s %s %s\n%s\n' "$HOSTS_BEGIN" \
		"$LAB_WWW_HOST" "$LAB_PROXY_HOST" "$LAB_KDC_HOST" "$HOSTS_END" >>/etc/hosts
}

# alive PID reports whether PID is running: a zombie (state Z, not yet reaped
# because an init that does not reap adopted the daemon) counts as exited.
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# stop_pidfile PIDFILE COMM stops the process whose PID is in PIDFILE, but
# only if it is still running the program COMM (a PID may be reused), waits
# for it to exit (bounded), then removes the PID file.
stop_pidfile() {
	local pidfile=$1 comm=$2 pid i
	[ -s "$pidfile" ] || return 0
	pid=$(tr -dc '0-9' <"$pidfile")
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "$comm ($pid) ignored SIGTERM for 10 s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		log "stopped $comm ($pid)"
	fi
	rm -f "$pidfile"
}

# port_open HOST PORT reports whether a TCP connection to HOST:PORT succeeds.
port_open() {
	timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# wait_port HOST PORT SECONDS waits until HOST:PORT accepts connections.
wait_port() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		port_open "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}

# wait_listen PORT COMM SECONDS waits until program COMM listens on
# 127.0.0.1:PORT (TCP). An open port alone could belong to someone else.
wait_listen() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		if ss -H -ltnp "( sport = :$1 )" 2>/dev/null | grep -F "127.0.0.1:$1 " | grep -qF "((\"$2\","; then
			return 0
		fi
		sleep 0.1
	done
	echo "$2 is not listening on 127.0.0.1:$1 after $3 s; listeners there:"
	ss -H -ltnp "( sport = :$1 )" || true
	return 1
}
