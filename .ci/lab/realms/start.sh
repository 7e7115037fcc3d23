#!/usr/bin/env bash
# start.sh [DIR]: the MIT "realms" tier of the lab, on 127.0.0.1: one MIT
# KDC serving three realms and an Apache (mod_auth_gssapi) that accepts
# tickets of all three.
#   EAST.TEST  - alice's realm; HTTP/sha2.east.test is keyed ONLY with the
#                AES-SHA2 enctypes of RFC 8009 (aes256-cts-hmac-sha384-192,
#                aes128-cts-hmac-sha256-128).
#   WEST.TEST  - trusts EAST (krbtgt/WEST.TEST@EAST.TEST, one shared key):
#                HTTP/www.west.test is reachable from EAST.
#   SOUTH.TEST - trusts WEST only (krbtgt/SOUTH.TEST@WEST.TEST): EAST
#                reaches HTTP/www.south.test through WEST by [capaths].
#   NORTH.TEST - no trust with EAST: HTTP/www.north.test is not reachable.
# Independent of the base lab: its own directory (default: a new mktemp
# one), ports (KDC REALMS_KDC_PORT 18388, Apache REALMS_HTTP_PORT 18380),
# /etc/hosts block and PID files. Idempotent; every step bounded; on
# failure it prints the logs, stops what it started and exits 1. Writes
# DIR/realms.env (REALMS_ENV for the integration tests). Must run as root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/realmslib.sh
. "$here/realmslib.sh"

[ "$(id -u)" = 0 ] || die "realms/start.sh must run as root"
t0=$(date +%s)
dir=${1:-}
if [ -z "$dir" ]; then
	dir=$(mktemp -d /tmp/negotiate-realms.XXXXXX)
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
case "$dir" in
/ | /etc* | /usr* | /var | /var/lib* | /root | /home) die "refusing to use $dir" ;;
esac

started=0
fail() {
	local what=$1 steplog=${2:-} f
	log "realms tier FAILED: $what"
	for f in "$steplog" "$dir/kdc/kdc.log" "$dir/apache/logs/error.log"; do
		if [ -n "$f" ] && [ -s "$f" ]; then
			printf '\n----- %s (last 40 lines) -----\n' "$f" >&2
			tail -n 40 "$f" >&2
		fi
	done
	if [ "$started" = 1 ]; then
		"$here/stop.sh" "$dir" || true
	fi
	exit 1
}

# step NAME SECONDS CMD...: CMD in its own process group, output in
# DIR/logs/NAME.log, ended by a watchdog after SECONDS.
step() {
	local name=$1 secs=$2
	shift 2
	local steplog="$dir/logs/$name.log" rc=0 pid dog
	set -m
	"$@" >"$steplog" 2>&1 &
	pid=$!
	{
		sleep "$secs"
		echo "timed out after $secs s" >>"$steplog"
		kill -TERM -- "-$pid" 2>/dev/null
	} >/dev/null 2>&1 &
	dog=$!
	set +m
	wait "$pid" || rc=$?
	if kill -- "-$dog" 2>/dev/null; then
		wait "$dog" 2>/dev/null || true
	else
		rc=124
	fi
	if [ "$rc" = 124 ]; then
		fail "$name timed out after $secs s" "$steplog"
	elif [ "$rc" != 0 ]; then
		fail "$name (exit $rc)" "$steplog"
	fi
}

if [ -s "$REALMS_POINTER" ]; then
	prev=$(cat "$REALMS_POINTER")
	if [ -d "$prev" ]; then
		log "taking down the realms tier that is up in $prev"
		"$here/stop.sh" "$prev"
	fi
fi
"$here/stop.sh" "$dir" >/dev/null 2>&1 || true
rm -rf "$dir/kdc" "$dir/keytabs" "$dir/apache" "$dir/logs" "$dir/krb5.conf" "$dir/kdc.conf" "$dir/realms.env"
mkdir -p "$dir/logs" "$dir/kdc" "$dir/keytabs"
chmod 755 "$dir"
chmod 700 "$dir/kdc"

install_packages() {
	local p need=()
	for p in krb5-kdc krb5-admin-server krb5-user apache2 libapache2-mod-auth-gssapi curl iproute2; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || need+=("$p")
	done
	[ "${#need[@]}" -gt 0 ] || return 0
	local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${need[@]}" || rc=$?
	[ "$made_policy" = 0 ] || rm -f "$policy"
	return "$rc"
}
step install 900 install_packages

for p in "$REALMS_KDC_PORT" "$REALMS_HTTP_PORT"; do
	port_open 127.0.0.1 "$p" && die "port 127.0.0.1:$p is in use; set REALMS_KDC_PORT / REALMS_HTTP_PORT"
done
printf '%s\n' "$dir" >"$REALMS_POINTER"
started=1
realms_hosts_add

# ---------------------------------------------------------------------------
# Kerberos. The client configuration knows all three KDCs (the same
# krb5kdc), maps each host to its realm, and permits the AES-SHA2 enctypes.
cat >"$dir/krb5.conf" <<EOF
[libdefaults]
	default_realm = EAST.TEST
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	forwardable = true
	udp_preference_limit = 1

[realms]
	EAST.TEST = {
		kdc = 127.0.0.1:$REALMS_KDC_PORT
	}
	WEST.TEST = {
		kdc = 127.0.0.1:$REALMS_KDC_PORT
	}
	NORTH.TEST = {
		kdc = 127.0.0.1:$REALMS_KDC_PORT
	}
	SOUTH.TEST = {
		kdc = 127.0.0.1:$REALMS_KDC_PORT
	}

[domain_realm]
	.east.test = EAST.TEST
	.west.test = WEST.TEST
	.north.test = NORTH.TEST
	.south.test = SOUTH.TEST

# EAST reaches SOUTH through WEST (both ways, for the KDCs' transit checks).
[capaths]
	EAST.TEST = {
		SOUTH.TEST = WEST.TEST
	}
	SOUTH.TEST = {
		EAST.TEST = WEST.TEST
	}
EOF
chmod 644 "$dir/krb5.conf"
{
	printf '[kdcdefaults]\n\tkdc_listen = 127.0.0.1:%s\n\tkdc_tcp_listen = 127.0.0.1:%s\n\n[realms]\n' "$REALMS_KDC_PORT" "$REALMS_KDC_PORT"
	for r in EAST WEST NORTH SOUTH; do
		printf '\t%s.TEST = {\n\t\tdatabase_name = %s/kdc/%s\n\t\tkey_stash_file = %s/kdc/%s.stash\n\t\tacl_file = %s/kdc/kadm5.acl\n\t\tdefault_principal_flags = +preauth\n\t\tsupported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal\n\t}\n' \
			"$r" "$dir" "$r" "$dir" "$r" "$dir"
	done
	printf '\n[logging]\n\tkdc = FILE:%s/kdc/kdc.log\n\tdefault = FILE:%s/kdc/krb5lib.log\n' "$dir" "$dir"
} >"$dir/kdc.conf"
: >"$dir/kdc/kadm5.acl"
export KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf"

make_realms() {
	local r master trust
	set -x
	for r in EAST.TEST WEST.TEST NORTH.TEST SOUTH.TEST; do
		master=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
		kdb5_util -r "$r" create -s -P "$master"
	done
	kadmin.local -r EAST.TEST -q "addprinc -pw $REALMS_PASSWORD $REALMS_USER"
	kadmin.local -r EAST.TEST -q "ktadd -norandkey -k $dir/keytabs/alice.keytab $REALMS_USER"
	# A service keyed only with the RFC 8009 enctypes.
	kadmin.local -r EAST.TEST -q "addprinc -randkey -e aes256-cts-hmac-sha384-192:normal,aes128-cts-hmac-sha256-128:normal HTTP/$REALMS_SHA2_HOST"
	kadmin.local -r EAST.TEST -q "ktadd -k $dir/keytabs/http.keytab -e aes256-cts-hmac-sha384-192:normal,aes128-cts-hmac-sha256-128:normal HTTP/$REALMS_SHA2_HOST"
	# Its session keys too (MIT picks the client's first choice otherwise),
	# so that authenticators, AP-REPs and MICs use RFC 8009 as well.
	kadmin.local -r EAST.TEST -q "setstr HTTP/$REALMS_SHA2_HOST session_enctypes aes256-cts-hmac-sha384-192,aes128-cts-hmac-sha256-128"
	kadmin.local -r EAST.TEST -q "getstrs HTTP/$REALMS_SHA2_HOST" | grep -q session_enctypes
	# A service account for S4U2Self (protocol transition allowed), to
	# check PA-S4U-X509-USER against MIT's KDC; MIT's DB2 back end has no
	# constrained delegation, so S4U2Proxy is tested against Samba only.
	kadmin.local -r EAST.TEST -q "addprinc -randkey +ok_to_auth_as_delegate websvc"
	kadmin.local -r EAST.TEST -q "ktadd -k $dir/keytabs/websvc.keytab websvc"
	chmod 644 "$dir/keytabs/websvc.keytab"
	# EAST -> WEST trust: the same password (so the same keys and kvno) in
	# both databases.
	trust=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	kadmin.local -r EAST.TEST -q "addprinc -pw $trust krbtgt/WEST.TEST@EAST.TEST"
	kadmin.local -r WEST.TEST -q "addprinc -pw $trust krbtgt/WEST.TEST@EAST.TEST"
	kadmin.local -r WEST.TEST -q "addprinc -randkey HTTP/$REALMS_WEST_HOST"
	kadmin.local -r WEST.TEST -q "ktadd -k $dir/keytabs/http.keytab HTTP/$REALMS_WEST_HOST"
	# WEST -> SOUTH trust.
	trust=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	kadmin.local -r WEST.TEST -q "addprinc -pw $trust krbtgt/SOUTH.TEST@WEST.TEST"
	kadmin.local -r SOUTH.TEST -q "addprinc -pw $trust krbtgt/SOUTH.TEST@WEST.TEST"
	kadmin.local -r SOUTH.TEST -q "addprinc -randkey HTTP/$REALMS_SOUTH_HOST"
	kadmin.local -r SOUTH.TEST -q "ktadd -k $dir/keytabs/http.keytab HTTP/$REALMS_SOUTH_HOST"
	kadmin.local -r NORTH.TEST -q "addprinc -randkey HTTP/$REALMS_NORTH_HOST"
	kadmin.local -r NORTH.TEST -q "ktadd -k $dir/keytabs/http.keytab HTTP/$REALMS_NORTH_HOST"
	chown root:www-data "$dir/keytabs/http.keytab"
	chmod 640 "$dir/keytabs/http.keytab"
	chmod 644 "$dir/keytabs/alice.keytab"
	chmod 755 "$dir/keytabs"
	klist -ke "$dir/keytabs/http.keytab"
	[ -s "$dir/keytabs/alice.keytab" ]
}
step realms 120 make_realms

start_kdc() {
	krb5kdc -r EAST.TEST -r WEST.TEST -r NORTH.TEST -r SOUTH.TEST -P "$dir/kdc/krb5kdc.pid"
	wait_listen "$REALMS_KDC_PORT" krb5kdc 10
	realms_wait_pidfile "$dir/kdc/krb5kdc.pid"
	local cc="FILE:$dir/kdc/check-cc"
	echo "$REALMS_PASSWORD" | KRB5CCNAME=$cc kinit "$REALMS_USER@EAST.TEST"
	KRB5CCNAME=$cc kvno "HTTP/$REALMS_SHA2_HOST@EAST.TEST" "HTTP/$REALMS_WEST_HOST@WEST.TEST" "HTTP/$REALMS_SOUTH_HOST@SOUTH.TEST"
	KRB5CCNAME=$cc klist -e
	if KRB5CCNAME=$cc kvno "HTTP/$REALMS_NORTH_HOST@NORTH.TEST"; then
		echo "NORTH.TEST is reachable from EAST.TEST; it must not be"
		return 1
	fi
	KRB5CCNAME=$cc kdestroy
}
step kdc 60 start_kdc
log "MIT KDC up on 127.0.0.1:$REALMS_KDC_PORT for EAST.TEST, WEST.TEST, SOUTH.TEST, NORTH.TEST"

a="$dir/apache"
mkdir -p "$a/logs" "$a/run" "$a/cgi-bin" "$a/rcache"
chown www-data:www-data "$a/rcache"
chmod 700 "$a/rcache"
cat >"$a/cgi-bin/whoami" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\n'
printf '%s\n%s\n' "${REMOTE_USER:-}" "${GSS_MECH:-}"
EOF
chmod 755 "$a/cgi-bin/whoami"
m=/usr/lib/apache2/modules
cat >"$a/apache2.conf" <<EOF
# Generated by .ci/lab/realms/start.sh; everything lives under $a.
ServerRoot "$a"
ServerName $REALMS_SHA2_HOST
PidFile $a/run/apache2.pid
DefaultRuntimeDir $a/run
Mutex file:$a/run default
ScriptSock $a/run/cgid.sock
User www-data
Group www-data
ErrorLog $a/logs/error.log
LogLevel info auth_gssapi:debug
LogFormat "%h:%{remote}p %v %u %t \"%r\" %>s %b" lab
CustomLog $a/logs/access.log lab
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authn_core_module $m/mod_authn_core.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule authz_user_module $m/mod_authz_user.so
LoadModule auth_gssapi_module $m/mod_auth_gssapi.so
LoadModule alias_module $m/mod_alias.so
LoadModule cgid_module $m/mod_cgid.so
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
KeepAlive On
Timeout 30
Listen 127.0.0.1:$REALMS_HTTP_PORT
<Directory />
	AllowOverride None
	Require all denied
</Directory>
DocumentRoot $a/cgi-bin
ScriptAlias /open/ $a/cgi-bin/
ScriptAlias /krb/ $a/cgi-bin/
<Directory $a/cgi-bin>
	Options +ExecCGI
	Require all granted
</Directory>
<Location /krb/>
	AuthType GSSAPI
	AuthName "realms krb"
	GssapiAllowedMech krb5
	GssapiPublishMech On
	Require valid-user
</Location>
EOF

start_apache() {
	env KRB5_CONFIG="$dir/krb5.conf" KRB5_KTNAME="FILE:$dir/keytabs/http.keytab" KRB5RCACHEDIR="$a/rcache" \
		apache2 -f "$a/apache2.conf" -k start
	wait_listen "$REALMS_HTTP_PORT" apache2 15
	realms_wait_pidfile "$a/run/apache2.pid"
	local cc="FILE:$dir/kdc/check-cc" body h
	echo "$REALMS_PASSWORD" | KRB5CCNAME=$cc kinit "$REALMS_USER@EAST.TEST"
	for h in "$REALMS_SHA2_HOST" "$REALMS_WEST_HOST" "$REALMS_SOUTH_HOST"; do
		body=$(KRB5CCNAME=$cc curl -sS --fail --max-time 10 --noproxy '*' --negotiate -u : "http://$h:$REALMS_HTTP_PORT/krb/whoami")
		echo "$h: $body"
		[ "$(printf '%s\n' "$body" | head -n 1)" = "$REALMS_USER@EAST.TEST" ]
	done
	KRB5CCNAME=$cc klist -e
	KRB5CCNAME=$cc kdestroy
}
step apache-config 30 apache2 -f "$a/apache2.conf" -t
step apache 60 start_apache
log "Apache (realms tier) up on 127.0.0.1:$REALMS_HTTP_PORT"

cat >"$dir/realms.env" <<EOF
REALMS_DIR=$dir
KRB5_CONFIG=$dir/krb5.conf
REALMS_REALM=EAST.TEST
REALMS_USER=$REALMS_USER
REALMS_PASSWORD=$REALMS_PASSWORD
REALMS_KEYTAB=$dir/keytabs/alice.keytab
REALMS_SERVICE=websvc
REALMS_SERVICE_KEYTAB=$dir/keytabs/websvc.keytab
REALMS_SHA2_URL=http://$REALMS_SHA2_HOST:$REALMS_HTTP_PORT
REALMS_SHA2_SPN=HTTP/$REALMS_SHA2_HOST
REALMS_WEST_URL=http://$REALMS_WEST_HOST:$REALMS_HTTP_PORT
REALMS_WEST_SPN=HTTP/$REALMS_WEST_HOST@WEST.TEST
REALMS_NORTH_URL=http://$REALMS_NORTH_HOST:$REALMS_HTTP_PORT
REALMS_SOUTH_URL=http://$REALMS_SOUTH_HOST:$REALMS_HTTP_PORT
REALMS_VERSIONS=$(dpkg-query -W -f='${Package}=${Version},' krb5-kdc apache2 libapache2-mod-auth-gssapi | sed 's/,$//')
EOF
chmod 644 "$dir/realms.env"
log "realms tier is up in $(($(date +%s) - t0)) s; environment in $dir/realms.env"
printf '%s\n' "$dir/realms.env"
