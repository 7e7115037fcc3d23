#!/usr/bin/env bash
# up.sh [DIR]: installs (if missing) and starts the real-peer lab on
# 127.0.0.1 -- an MIT KDC, Apache with mod_auth_gssapi (Kerberos and, through
# gss-ntlmssp, NTLM) over HTTP and HTTPS, and Squid with Negotiate proxy
# authentication -- keeping every config and state file under DIR (default: a
# new mktemp directory), and writes DIR/lab.env for smoke.sh and the Go
# integration tests. Must run as root. See README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || die "up.sh must run as root"

started=0
dir=

# fail prints the log of the failed step and of every lab service, stops what
# this run started and exits non-zero. DIR is kept for inspection.
fail() {
	local what=$1 steplog=${2:-}
	log "FAILED: $what"
	local f
	for f in "$steplog" "$dir/kdc/kdc.log" "$dir/apache/logs/error.log" \
		"$dir/squid/cache.log" "$dir/squid/stderr.log"; do
		if [ -n "$f" ] && [ -s "$f" ]; then
			printf '\n----- %s (last 40 lines) -----\n' "$f" >&2
			tail -n 40 "$f" >&2
		fi
	done
	if [ "$started" = 1 ]; then
		"$here/down.sh" "$dir" || true
	fi
	exit 1
}

# step NAME CMD... runs CMD with its output in DIR/logs/NAME.log and fails
# the run with that log if CMD fails.
step() {
	local name=$1
	shift
	local steplog="$dir/logs/$name.log" rc=0
	# Run in the background and wait: in an "if" or "||" context bash would
	# ignore set -e inside the step's functions.
	"$@" >"$steplog" 2>&1 &
	wait "$!" || rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name (exit $rc)" "$steplog"
	fi
}

# ---------------------------------------------------------------------------
# 1. Packages. Installing is the only slow part (10-30 s); a machine that has
# them skips it. policy-rc.d keeps postinst scripts from starting the
# services at all; we still stop and disable them below in case they run.
install_packages() {
	local p need=()
	for p in "${LAB_PACKAGES[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || need+=("$p")
	done
	[ "${#need[@]}" -gt 0 ] || return 0
	log "installing ${need[*]}"
	local policy=/usr/sbin/policy-rc.d made_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# temporary, from .ci/lab/up.sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	local rc=0
	{
		DEBIAN_FRONTEND=noninteractive apt-get update -q &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${need[@]}"
	} || rc=$?
	if [ "$made_policy" = 1 ]; then
		rm -f "$policy"
	fi
	return "$rc"
}

stop_system_services() {
	local s
	for s in "${LAB_SYSTEM_SERVICES[@]}"; do
		if [ -d /run/systemd/system ]; then
			systemctl stop "$s" 2>/dev/null || true
			systemctl disable "$s" 2>/dev/null || true
		elif [ -x "/etc/init.d/$s" ]; then
			timeout 30 "/etc/init.d/$s" stop >/dev/null 2>&1 || true
			update-rc.d "$s" disable >/dev/null 2>&1 || true
		fi
	done
}

# ---------------------------------------------------------------------------
# 2. The lab directory.
dir=${1:-}
if [ -z "$dir" ]; then
	dir=$(mktemp -d /tmp/negotiate-lab.XXXXXX)
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
case "$dir" in
/ | /etc* | /usr* | /var | /root | /home) die "refusing to use $dir as the lab directory" ;;
esac

# A lab that is still up (here or elsewhere) is taken down first, so up.sh
# can be run again and again.
if [ -s "$LAB_POINTER" ]; then
	prev=$(cat "$LAB_POINTER")
	if [ -d "$prev" ]; then
		log "taking down the lab that is up in $prev"
		"$here/down.sh" "$prev"
	fi
fi
"$here/down.sh" "$dir" >/dev/null 2>&1 || true
rm -rf "$dir/kdc" "$dir/keytabs" "$dir/apache" "$dir/squid" "$dir/tls" \
	"$dir/ntlm" "$dir/logs" "$dir/ccache" "$dir/krb5.conf" "$dir/kdc.conf" "$dir/lab.env"
mkdir -p "$dir/logs"
# The services' unprivileged users (www-data, proxy) must traverse DIR.
chmod 755 "$dir"

step install install_packages
step stop-system-services stop_system_services

ports=("$LAB_KDC_PORT" "$LAB_HTTP_PORT" "$LAB_HTTPS_PORT" "$LAB_PROXY_PORT" "$LAB_PROXY_OPEN_PORT")
if [ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" != "${#ports[@]}" ]; then
	die "the lab's ports must differ: ${ports[*]}"
fi
for p in "${ports[@]}"; do
	if port_open 127.0.0.1 "$p"; then
		die "port 127.0.0.1:$p is already in use; set LAB_*_PORT (see README.md)"
	fi
done

printf '%s\n' "$dir" >"$LAB_POINTER"
started=1
hosts_add

# ---------------------------------------------------------------------------
# 3. Kerberos: one krb5.conf for clients and tools, a kdc.conf for the KDC.
# rdns and dns_canonicalize_hostname are off so that HTTP@www.lab.test stays
# HTTP/www.lab.test (a reverse lookup of 127.0.0.1 would give "localhost").
mkdir -p "$dir/kdc" "$dir/keytabs" "$dir/ccache"
chmod 700 "$dir/kdc" "$dir/ccache"
cat >"$dir/krb5.conf" <<EOF
[libdefaults]
	default_realm = $LAB_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	ignore_acceptor_hostname = false
	forwardable = true
	ticket_lifetime = 10h

[realms]
	$LAB_REALM = {
		kdc = 127.0.0.1:$LAB_KDC_PORT
	}

[domain_realm]
	.lab.test = $LAB_REALM
	lab.test = $LAB_REALM
EOF
cat >"$dir/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$LAB_KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$LAB_KDC_PORT

[realms]
	$LAB_REALM = {
		database_name = $dir/kdc/principal
		key_stash_file = $dir/kdc/stash
		acl_file = $dir/kdc/kadm5.acl
		kdc_listen = 127.0.0.1:$LAB_KDC_PORT
		kdc_tcp_listen = 127.0.0.1:$LAB_KDC_PORT
		max_life = 10h
		max_renewable_life = 7d
		# Like Active Directory: the first AS-REQ gets PREAUTH_REQUIRED.
		default_principal_flags = +preauth
	}

[logging]
	kdc = FILE:$dir/kdc/kdc.log
	admin_server = FILE:$dir/kdc/kadmin.log
	default = FILE:$dir/kdc/krb5lib.log
EOF
: >"$dir/kdc/kadm5.acl"
chmod 644 "$dir/krb5.conf"

export KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf"

make_realm() {
	local master
	master=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	kdb5_util -r "$LAB_REALM" create -s -P "$master"
	kadmin.local -r "$LAB_REALM" -q "addprinc -pw $LAB_PASSWORD $LAB_USER"
	kadmin.local -r "$LAB_REALM" -q "addprinc -pw $LAB_PASSWORD2 $LAB_USER2"
	kadmin.local -r "$LAB_REALM" -q "addprinc -randkey HTTP/$LAB_WWW_HOST"
	kadmin.local -r "$LAB_REALM" -q "addprinc -randkey HTTP/$LAB_PROXY_HOST"
	kadmin.local -r "$LAB_REALM" -q "ktadd -k $dir/keytabs/http.keytab HTTP/$LAB_WWW_HOST"
	kadmin.local -r "$LAB_REALM" -q "ktadd -k $dir/keytabs/proxy.keytab HTTP/$LAB_PROXY_HOST"
	# -norandkey keeps alice's password valid next to her keytab.
	kadmin.local -r "$LAB_REALM" -q "ktadd -norandkey -k $dir/keytabs/alice.keytab $LAB_USER"
	kadmin.local -r "$LAB_REALM" -q "ktadd -norandkey -k $dir/keytabs/bob.keytab $LAB_USER2"
	# The service keytabs are readable by the service's user only; the
	# client keytabs by anyone (they are lab credentials, like lab.env).
	chown root:www-data "$dir/keytabs/http.keytab"
	chown root:proxy "$dir/keytabs/proxy.keytab"
	chmod 640 "$dir/keytabs/http.keytab" "$dir/keytabs/proxy.keytab"
	chmod 644 "$dir/keytabs/alice.keytab" "$dir/keytabs/bob.keytab"
	chmod 755 "$dir/keytabs"
	# kadmin.local -q may exit 0 after a failed query: check the results.
	local k
	for k in http proxy alice bob; do
		[ -s "$dir/keytabs/$k.keytab" ]
	done
}

start_kdc() {
	krb5kdc -r "$LAB_REALM" -P "$dir/kdc/krb5kdc.pid"
	wait_listen "$LAB_KDC_PORT" krb5kdc 10
	# A real AS exchange (with preauthentication), not just an open port.
	KRB5CCNAME="FILE:$dir/ccache/up-check" kinit -k -t "$dir/keytabs/alice.keytab" "$LAB_USER@$LAB_REALM"
	KRB5CCNAME="FILE:$dir/ccache/up-check" kvno "HTTP/$LAB_WWW_HOST@$LAB_REALM"
	KRB5CCNAME="FILE:$dir/ccache/up-check" kdestroy
}

log "creating realm $LAB_REALM in $dir/kdc"
step realm make_realm
step kdc start_kdc
log "KDC up on 127.0.0.1:$LAB_KDC_PORT (udp+tcp)"

# ---------------------------------------------------------------------------
# 4. TLS: a lab CA and a server certificate for the lab's names (RSA with
# SHA-256, so tls-server-end-point hashes with SHA-256, RFC 5929 sec. 4.1).
make_tls() {
	local t="$dir/tls"
	mkdir -p "$t"
	openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 30 \
		-keyout "$t/ca.key" -out "$t/ca.crt" -subj "/CN=Negotiate Lab CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
	openssl req -new -newkey rsa:2048 -nodes -sha256 \
		-keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=$LAB_WWW_HOST"
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" \
		"subjectAltName=DNS:$LAB_WWW_HOST,DNS:$LAB_PROXY_HOST,IP:127.0.0.1" >"$t/server.ext"
	openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
		-sha256 -days 30 -extfile "$t/server.ext" -out "$t/server.crt"
	chmod 600 "$t/ca.key" "$t/server.key"
	chmod 644 "$t/ca.crt" "$t/server.crt"
}
step tls make_tls

# ---------------------------------------------------------------------------
# 5. Apache with mod_auth_gssapi. The acceptor keytab comes from KRB5_KTNAME
# and the NTLM users from NTLM_USER_FILE in Apache's environment: the
# GssapiCredStore directive breaks the gss-ntlmssp acceptor ("Not a server
# credential type").
a="$dir/apache"
mkdir -p "$a/logs" "$a/run" "$a/cgi-bin" "$a/rcache" "$dir/ntlm"
chown www-data:www-data "$a/rcache"
chmod 700 "$a/rcache"
printf '%s:%s:%s\n' "$LAB_NTLM_DOMAIN" "$LAB_USER" "$LAB_PASSWORD" \
	"$LAB_NTLM_DOMAIN" "$LAB_USER2" "$LAB_PASSWORD2" >"$dir/ntlm/users"
chown root:www-data "$dir/ntlm/users"
chmod 640 "$dir/ntlm/users"

# whoami: line 1 the authenticated user (REMOTE_USER), line 2 what
# mod_auth_gssapi used ("Negotiate/krb5", "NTLM/...", from GssapiPublishMech).
cat >"$a/cgi-bin/whoami" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\n'
printf '%s\n%s\n' "${REMOTE_USER:-}" "${GSS_MECH:-}"
EOF
# echo: returns the request body byte for byte. It reads the whole body
# before writing anything: mod_cgid writes all of the body before it reads
# the script's output, so a script that streams deadlocks on large bodies.
cat >"$a/cgi-bin/echo" <<'EOF'
#!/bin/sh
set -e
body=$(mktemp)
trap 'rm -f "$body"' EXIT
if [ -n "${CONTENT_LENGTH:-}" ]; then
	head -c "$CONTENT_LENGTH" >"$body"
else
	cat >"$body"
fi
printf 'Content-Type: application/octet-stream\r\nCache-Control: no-store\r\n\r\n'
cat "$body"
EOF
# slow: records the request's X-Request-Id, reads the body, takes 1.5 s to
# answer (for at-most-once tests with a short ResponseHeaderTimeout).
# runs?ID: how many times slow ran for ID.
mkdir -p "$a/runs"
chown www-data:www-data "$a/runs"
cat >"$a/cgi-bin/slow" <<EOF
#!/bin/sh
printf '%s\n' "\${HTTP_X_REQUEST_ID:-none}" >>"$a/runs/log"
cat >/dev/null
sleep 1.5
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\nslow\n'
EOF
cat >"$a/cgi-bin/runs" <<EOF
#!/bin/sh
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\n'
grep -cxF -- "\${QUERY_STRING:-none}" "$a/runs/log" 2>/dev/null || true
EOF
chmod 755 "$a/cgi-bin/whoami" "$a/cgi-bin/echo" "$a/cgi-bin/slow" "$a/cgi-bin/runs"

m=/usr/lib/apache2/modules
cat >"$a/locations.conf" <<EOF
# /open/: no authentication. /krb/: Kerberos only, stateless (the AP-REP
# comes on the 200). /krb-conn/: Kerberos bound to the connection.
# /ntlm/: NTLM (gss-ntlmssp) only. /any/: Kerberos and NTLM.
# Each has whoami (REMOTE_USER) and echo (POST body back).
ScriptAlias /open/ $a/cgi-bin/
ScriptAlias /krb/ $a/cgi-bin/
ScriptAlias /krb-conn/ $a/cgi-bin/
ScriptAlias /ntlm/ $a/cgi-bin/
ScriptAlias /any/ $a/cgi-bin/
<Directory $a/cgi-bin>
	Options +ExecCGI
	Require all granted
</Directory>
<Location /krb/>
	AuthType GSSAPI
	AuthName "lab krb"
	GssapiAllowedMech krb5
	GssapiPublishMech On
	Require valid-user
</Location>
<Location /krb-conn/>
	AuthType GSSAPI
	AuthName "lab krb-conn"
	GssapiAllowedMech krb5
	GssapiConnectionBound On
	GssapiSignalPersistentAuth On
	GssapiPublishMech On
	Require valid-user
</Location>
<Location /ntlm/>
	AuthType GSSAPI
	AuthName "lab ntlm"
	GssapiAllowedMech ntlmssp
	GssapiConnectionBound On
	GssapiSignalPersistentAuth On
	GssapiPublishMech On
	Require valid-user
</Location>
<Location /any/>
	AuthType GSSAPI
	AuthName "lab any"
	GssapiAllowedMech krb5
	GssapiAllowedMech ntlmssp
	GssapiConnectionBound On
	GssapiSignalPersistentAuth On
	GssapiPublishMech On
	Require valid-user
</Location>
EOF
cat >"$a/apache2.conf" <<EOF
# Generated by .ci/lab/up.sh; everything lives under $a.
ServerRoot "$a"
ServerName $LAB_WWW_HOST
PidFile $a/run/apache2.pid
DefaultRuntimeDir $a/run
Mutex file:$a/run default
ScriptSock $a/run/cgid.sock
User www-data
Group www-data
ErrorLog $a/logs/error.log
LogLevel info auth_gssapi:debug
# No request headers are logged: they would carry tokens.
LogFormat "%h:%{remote}p %u %t \"%r\" %>s %b keepalive=%k" lab
CustomLog $a/logs/access.log lab

LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authn_core_module $m/mod_authn_core.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule authz_user_module $m/mod_authz_user.so
LoadModule auth_gssapi_module $m/mod_auth_gssapi.so
LoadModule alias_module $m/mod_alias.so
LoadModule cgid_module $m/mod_cgid.so
LoadModule socache_shmcb_module $m/mod_socache_shmcb.so
LoadModule ssl_module $m/mod_ssl.so

StartServers 2
ServerLimit 4
ThreadsPerChild 32
MaxRequestWorkers 128
KeepAlive On
KeepAliveTimeout 15
MaxKeepAliveRequests 1000
Timeout 30

Listen 127.0.0.1:$LAB_HTTP_PORT
Listen 127.0.0.1:$LAB_HTTPS_PORT

<Directory />
	AllowOverride None
	Require all denied
</Directory>
DocumentRoot $a/cgi-bin

Include $a/locations.conf

SSLSessionCache shmcb:$a/run/ssl_scache(512000)
<VirtualHost 127.0.0.1:$LAB_HTTPS_PORT>
	ServerName $LAB_WWW_HOST
	SSLEngine on
	SSLCertificateFile $dir/tls/server.crt
	SSLCertificateKeyFile $dir/tls/server.key
	SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1
</VirtualHost>
EOF

# wait_pidfile waits, at most 5 s, for a daemon's PID file to be written.
wait_pidfile() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "no PID file at $1" >&2
	return 1
}

start_apache() {
	env KRB5_CONFIG="$dir/krb5.conf" \
		KRB5_KTNAME="FILE:$dir/keytabs/http.keytab" \
		KRB5RCACHEDIR="$a/rcache" \
		NTLM_USER_FILE="$dir/ntlm/users" \
		apache2 -f "$a/apache2.conf" -k start
	wait_listen "$LAB_HTTP_PORT" apache2 15
	wait_listen "$LAB_HTTPS_PORT" apache2 15
	# The PID file too: down.sh needs it.
	wait_pidfile "$a/run/apache2.pid"
	# It serves: the unauthenticated endpoint over HTTP and HTTPS.
	curl -sS --fail --max-time 10 --noproxy '*' -o /dev/null \
		--resolve "$LAB_WWW_HOST:$LAB_HTTP_PORT:127.0.0.1" "http://$LAB_WWW_HOST:$LAB_HTTP_PORT/open/whoami"
	curl -sS --fail --max-time 10 --noproxy '*' -o /dev/null --cacert "$dir/tls/ca.crt" \
		--resolve "$LAB_WWW_HOST:$LAB_HTTPS_PORT:127.0.0.1" "https://$LAB_WWW_HOST:$LAB_HTTPS_PORT/open/whoami"
}
step apache-config apache2 -f "$a/apache2.conf" -t
step apache start_apache
log "Apache up on 127.0.0.1:$LAB_HTTP_PORT (http) and :$LAB_HTTPS_PORT (https)"

# ---------------------------------------------------------------------------
# 6. Squid: Negotiate (Kerberos) on one port, no proxy auth on the other,
# only towards the lab's web server, no cache (a cache hit would skip auth).
s="$dir/squid"
mkdir -p "$s/rcache"
cat >"$s/squid.conf" <<EOF
# Generated by .ci/lab/up.sh; everything lives under $s.
http_port 127.0.0.1:$LAB_PROXY_PORT name=negotiate
http_port 127.0.0.1:$LAB_PROXY_OPEN_PORT name=open
visible_hostname $LAB_PROXY_HOST
pid_filename $s/squid.pid
cache_effective_user proxy
cache_effective_group proxy
access_log stdio:$s/access.log
cache_log $s/cache.log
cache_store_log none
coredump_dir $s
netdb_filename none
pinger_enable off
shutdown_lifetime 1 seconds
cache deny all
# The lab's names come from /etc/hosts; DNS sockets stay on loopback.
dns_nameservers 127.0.0.1
udp_incoming_address 127.0.0.1
udp_outgoing_address 127.0.0.1
hosts_file /etc/hosts

auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth -k $dir/keytabs/proxy.keytab -s HTTP/$LAB_PROXY_HOST@$LAB_REALM
auth_param negotiate children 4 startup=1 idle=1
auth_param negotiate keep_alive on

acl lab_dst dstdomain $LAB_WWW_HOST
acl lab_ports port $LAB_HTTP_PORT $LAB_HTTPS_PORT
acl tls_ports port $LAB_HTTPS_PORT
acl CONNECT method CONNECT
acl open_port myportname open
acl authed proxy_auth REQUIRED

http_access deny !lab_dst
http_access deny !lab_ports
http_access deny CONNECT !tls_ports
http_access allow open_port
http_access allow authed
http_access deny all
EOF
chown -R proxy:proxy "$s"
chmod 700 "$s/rcache"

start_squid() {
	env KRB5_CONFIG="$dir/krb5.conf" \
		KRB5_KTNAME="FILE:$dir/keytabs/proxy.keytab" \
		KRB5RCACHEDIR="$s/rcache" \
		squid -f "$s/squid.conf" 2>"$s/stderr.log"
	wait_listen "$LAB_PROXY_PORT" squid 20
	wait_listen "$LAB_PROXY_OPEN_PORT" squid 20
	wait_pidfile "$s/squid.pid"
	# It forwards (open port), and asks for Negotiate (the other one).
	curl -sS --fail --max-time 10 -o /dev/null --proxy "http://127.0.0.1:$LAB_PROXY_OPEN_PORT" \
		"http://$LAB_WWW_HOST:$LAB_HTTP_PORT/open/whoami"
	local code
	code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
		--proxy "http://127.0.0.1:$LAB_PROXY_PORT" "http://$LAB_WWW_HOST:$LAB_HTTP_PORT/open/whoami")
	[ "$code" = 407 ] || { echo "Squid answered $code without credentials; want 407"; return 1; }
}
step squid-config squid -k parse -f "$s/squid.conf"
step squid start_squid
log "Squid up on 127.0.0.1:$LAB_PROXY_PORT (Negotiate) and :$LAB_PROXY_OPEN_PORT (open)"

# ---------------------------------------------------------------------------
# 7. Nothing the lab runs may listen anywhere but 127.0.0.1.
check_listeners() {
	local bad
	bad=$(ss -H -ltnup 2>/dev/null |
		grep -E '"(apache2|squid|krb5kdc|kadmind)"' |
		awk '{print $5}' | grep -vE '^127\.0\.0\.1:' || true)
	if [ -n "$bad" ]; then
		echo "lab programs listening beyond 127.0.0.1:"
		ss -H -ltnup | grep -E '"(apache2|squid|krb5kdc|kadmind)"'
		return 1
	fi
}
step listeners check_listeners

# ---------------------------------------------------------------------------
# 8. lab.env: KEY=value lines, never quoted and without spaces, so both
# ". lab.env" and a split at the first "=" read them.
versions=$(dpkg-query -W -f='${Package}=${Version},' krb5-kdc apache2 \
	libapache2-mod-auth-gssapi gss-ntlmssp squid | sed 's/,$//')
cat >"$dir/lab.env" <<EOF
LAB_DIR=$dir
KRB5_CONFIG=$dir/krb5.conf
LAB_REALM=$LAB_REALM
LAB_KDC=127.0.0.1:$LAB_KDC_PORT
LAB_USER=$LAB_USER
LAB_PASSWORD=$LAB_PASSWORD
LAB_USER2=$LAB_USER2
LAB_PASSWORD2=$LAB_PASSWORD2
LAB_NTLM_DOMAIN=$LAB_NTLM_DOMAIN
LAB_KEYTAB=$dir/keytabs/alice.keytab
LAB_KEYTAB2=$dir/keytabs/bob.keytab
LAB_HTTP_HOST=$LAB_WWW_HOST
LAB_HTTP_SPN=HTTP/$LAB_WWW_HOST
LAB_HTTP_KEYTAB=$dir/keytabs/http.keytab
LAB_HTTP_URL=http://$LAB_WWW_HOST:$LAB_HTTP_PORT
LAB_HTTPS_URL=https://$LAB_WWW_HOST:$LAB_HTTPS_PORT
LAB_CA_FILE=$dir/tls/ca.crt
LAB_PROXY_URL=http://$LAB_PROXY_HOST:$LAB_PROXY_PORT
LAB_PROXY_OPEN_URL=http://$LAB_PROXY_HOST:$LAB_PROXY_OPEN_PORT
LAB_PROXY_SPN_HOST=$LAB_PROXY_HOST
LAB_PROXY_SPN=HTTP/$LAB_PROXY_HOST
LAB_PROXY_KEYTAB=$dir/keytabs/proxy.keytab
LAB_VERSIONS=$versions
EOF
chmod 644 "$dir/lab.env"

log "lab is up; environment in $dir/lab.env"
printf '%s\n' "$dir/lab.env"
