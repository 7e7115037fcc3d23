#!/usr/bin/env bash
# start.sh [DIR]: the credential-cache tier of the lab that runs in DIR
# (default: the lab that is up, from /run/negotiate-lab.dir). It installs
# sssd-kcm and keyutils when missing, starts sssd's KCM responder without
# systemd (on the default KCM socket, as sssd_kcm alone knows no other),
# writes krb5.conf
# variants that point at it (DIR/ccache/krb5-kcm.conf: kcm_socket;
# DIR/ccache/krb5-keyring.conf: default_ccache_name = KEYRING:persistent:%{uid}),
# checks each cache type once with MIT's kinit and klist, and writes
# DIR/ccache/ccache.env for the integration suite. Must run as root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$here/../lib.sh"

[ "$(id -u)" = 0 ] || die "start.sh must run as root"
dir=${1:-}
if [ -z "$dir" ] && [ -s "$LAB_POINTER" ]; then
	dir=$(cat "$LAB_POINTER")
fi
{ [ -n "$dir" ] && [ -s "$dir/lab.env" ]; } || die "no lab in '${dir:-}': run .ci/lab/up.sh first"
dir=$(cd "$dir" && pwd -P)
c="$dir/ccache"

if [ ! -x /usr/libexec/sssd/sssd_kcm ] || ! command -v keyctl >/dev/null; then
	log "installing sssd-kcm and keyutils"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends sssd-kcm keyutils >/dev/null ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends sssd-kcm keyutils >/dev/null; }
fi
"$here/stop.sh" "$dir" >/dev/null 2>&1 || true
rm -rf "$c"
mkdir -p "$c"
# sssd_kcm run alone (without sssd's monitor) takes its settings from an
# empty confdb: it listens on the default socket, MIT's default too, and
# exits after responder_idle_timeout (300 s) without clients. A small
# supervisor starts it again; the caches live on in sssd's secrets
# database (/var/lib/sss/secrets) across restarts.
sock=/run/.heim_org.h5l.kcm-socket
for pid in $(pgrep -x sssd_kcm || true); do
	alive "$pid" && die "an sssd_kcm not started by this script is running (pid $pid); stop it first"
done
rm -f "$sock"
setsid bash -c '
	echo $$ >"$1/supervisor.pid"
	trap "kill -TERM \$kcm 2>/dev/null; wait \$kcm; exit 0" TERM
	while :; do
		/usr/libexec/sssd/sssd_kcm --uid 0 --gid 0 --logger=stderr -d 2 </dev/null >>"$1/sssd_kcm.log" 2>&1 &
		kcm=$!
		echo $kcm >"$1/sssd_kcm.pid"
		wait $kcm
		sleep 0.2
	done' supervisor "$c" </dev/null >/dev/null 2>&1 &
for ((i = 0; i < 100; i++)); do
	[ -S "$sock" ] && break
	sleep 0.1
done
if [ ! -S "$sock" ]; then
	cat "$c/sssd_kcm.log" >&2
	"$here/stop.sh" "$dir" || true
	die "sssd_kcm did not create $sock"
fi

# krb5.conf variants: the lab's, plus kcm_socket; and one whose
# default_ccache_name is a persistent keyring, as RHEL ships it.
sed "s|^\[libdefaults\]|[libdefaults]\n\tkcm_socket = $sock|" "$dir/krb5.conf" >"$c/krb5-kcm.conf"
sed "s|^\[libdefaults\]|[libdefaults]\n\tkcm_socket = $sock\n\tdefault_ccache_name = KEYRING:persistent:%{uid}|" \
	"$dir/krb5.conf" >"$c/krb5-keyring.conf"

# Self-check: MIT's kinit fills each type, MIT's klist reads it back.
check() {
	local conf=$1 name=$2
	KRB5_CONFIG=$conf KRB5CCNAME=$name kinit "$LAB_USER@$LAB_REALM" <<<"$LAB_PASSWORD" >/dev/null ||
		die "kinit into $name failed"
	KRB5_CONFIG=$conf KRB5CCNAME=$name klist >"$c/klist.out" 2>&1 || { cat "$c/klist.out" >&2; die "klist $name failed"; }
	grep -q "krbtgt/$LAB_REALM@$LAB_REALM" "$c/klist.out" || { cat "$c/klist.out" >&2; die "no TGT in $name"; }
	KRB5_CONFIG=$conf KRB5CCNAME=$name kdestroy >/dev/null 2>&1 || true
	log "kinit/klist: $name works"
}
check "$c/krb5-kcm.conf" "FILE:$c/selfcheck.cc"
check "$c/krb5-kcm.conf" "DIR:$c/selfcheck.dir"
check "$c/krb5-kcm.conf" "KEYRING:session:negotiate-selfcheck"
check "$c/krb5-kcm.conf" "KEYRING:persistent:0"
check "$c/krb5-kcm.conf" "KCM:"
rm -rf "$c/selfcheck.dir"
keyctl unlink %keyring:_krb_negotiate-selfcheck @s >/dev/null 2>&1 || true # kdestroy leaves the collection

cat >"$c/ccache.env" <<ENV
CCACHE_KCM_SOCKET=$sock
CCACHE_KRB5_KCM_CONF=$c/krb5-kcm.conf
CCACHE_KRB5_KEYRING_CONF=$c/krb5-keyring.conf
CCACHE_DIR=$c
CCACHE_VERSIONS=$(dpkg-query -W -f '${Package}=${Version},' sssd-kcm keyutils krb5-user 2>/dev/null | sed 's/,$//')
ENV
log "credential-cache tier up: sssd_kcm on $sock; environment in $c/ccache.env"
