#!/usr/bin/env bash
# start.sh [DIR]: installs (if missing) and starts the Active Directory tier
# of the lab on 127.0.0.1: a Samba AD DC (realm AD.TEST, its KDC on port 88,
# LDAP, RPC and winbindd) provisioned from scratch under DIR, and a second
# Apache with mod_auth_gssapi whose keytab is exported from the DC and whose
# NTLM (gss-ntlmssp) is verified by the DC through winbindd, and a Squid
# asking for Negotiate (Kerberos, or raw NTLMSSP), NTLM and Basic, verified by
# the DC through its exported keytab and Samba's ntlm_auth. It writes
# DIR/ad.env for the Go integration tests (AD_ENV). It does not need the
# base lab (.ci/lab/up.sh) and does not touch it: its own ports, its own
# /etc/hosts block, its own Apache. Idempotent: a tier that is up is taken
# down first. Must run as root. See README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/adlib.sh
. "$here/adlib.sh"

[ "$(id -u)" = 0 ] || die "ad/start.sh must run as root"
t0=$(date +%s)

dir=${1:-}
if [ -z "$dir" ]; then
	dir=$(mktemp -d /tmp/negotiate-ad.XXXXXX)
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
case "$dir" in
/ | /etc* | /usr* | /var | /var/lib* | /root | /home) die "refusing to use $dir as the AD tier's directory" ;;
esac

started=0
# fail prints the failed step's log and the tier's service logs, stops what
# this run started and exits 1. DIR is kept for inspection.
fail() {
	local what=$1 steplog=${2:-} f
	log "AD tier FAILED: $what"
	for f in "$steplog" "$dir/logs/samba.log" "$dir/apache/logs/error.log" \
		"$dir/squid/cache.log" "$dir/squid/stderr.log"; do
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

# step NAME SECONDS CMD... runs CMD, bounded by SECONDS, with its output in
# DIR/logs/NAME.log, and fails the run with that log if CMD fails.
step() {
	local name=$1 secs=$2
	shift 2
	local steplog="$dir/logs/$name.log" rc=0 pid dog
	# The step runs in its own process group (set -m) so that the
	# watchdog can end it with everything it started.
	set -m
	"$@" >"$steplog" 2>&1 &
	pid=$!
	set +m
	set -m
	{
		sleep "$secs"
		echo "timed out after $secs s" >>"$steplog"
		kill -TERM -- "-$pid" 2>/dev/null
	} >/dev/null 2>&1 &
	dog=$!
	set +m
	wait "$pid" || rc=$?
	# The watchdog (and its sleep) is a group of its own too.
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

# A tier that is still up (here or elsewhere) goes down first: one Samba
# may hold port 88.
if [ -s "$AD_POINTER" ]; then
	prev=$(cat "$AD_POINTER")
	if [ -d "$prev" ]; then
		log "taking down the AD tier that is up in $prev"
		"$here/stop.sh" "$prev"
	fi
fi
"$here/stop.sh" "$dir" >/dev/null 2>&1 || true
rm -rf "$dir/samba" "$dir/keytabs" "$dir/apache" "$dir/squid" "$dir/tls" "$dir/logs" \
	"$dir/ccache" "$dir/krb5.conf" "$dir/ad.env"
mkdir -p "$dir/logs"
chmod 755 "$dir"

# ---------------------------------------------------------------------------
# 1. Packages (about 15 s on a fresh Debian 12 with the base lab's packages
# installed; a machine that has them skips this). policy-rc.d keeps the
# postinst scripts from starting Samba on 0.0.0.0.
install_packages() {
	local p need=()
	for p in "${AD_PACKAGES[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || need+=("$p")
	done
	[ "${#need[@]}" -gt 0 ] || return 0
	echo "installing ${need[*]}"
	local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# temporary, from .ci/lab/ad/start.sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${need[@]}" || {
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
				-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${need[@]}"
	} || rc=$?
	if [ "$made_policy" = 1 ]; then
		rm -f "$policy"
	fi
	return "$rc"
}
step install 900 install_packages

stop_system_services() {
	local s
	for s in samba-ad-dc smbd nmbd winbind apache2 squid; do
		if [ -d /run/systemd/system ]; then
			systemctl stop "$s" 2>/dev/null || true
			systemctl disable "$s" 2>/dev/null || true
		elif [ -x "/etc/init.d/$s" ] && [ "$s" != apache2 ] && [ "$s" != squid ]; then
			timeout 30 "/etc/init.d/$s" stop >/dev/null 2>&1 || true
			update-rc.d "$s" disable >/dev/null 2>&1 || true
		fi
	done
}
step stop-system-services 60 stop_system_services

for p in 88 389 "$AD_HTTP_PORT" "$AD_HTTPS_PORT" "$AD_PROXY_PORT"; do
	if port_open 127.0.0.1 "$p"; then
		die "port 127.0.0.1:$p is already in use (another Samba or KDC?); AD_HTTP_PORT/AD_HTTPS_PORT move Apache, AD_PROXY_PORT Squid"
	fi
done

printf '%s\n' "$dir" >"$AD_POINTER"
started=1
ad_hosts_add

# ---------------------------------------------------------------------------
# 2. The domain: provisioned offline (about 5 s), then the accounts, also
# offline through sam.ldb.
sd="$dir/samba"
smbconf="$sd/etc/smb.conf"
provision() {
	samba-tool domain provision -s /dev/null --targetdir="$sd" \
		--realm="$AD_REALM" --domain="$AD_DOMAIN" --server-role=dc --dns-backend=NONE \
		--host-name=dc --host-ip=127.0.0.1 --adminpass="$AD_ADMIN_PASSWORD" \
		--option="interfaces=127.0.0.1" --option="bind interfaces only=yes" \
		--option="server services = rpc, ldap, kdc, winbindd" \
		--option="pid directory = $sd/run" \
		--option="winbindd socket directory = /run/samba/winbindd" \
		--option="log file = $dir/logs/samba.log" \
		--option="max log size = 0"
}
step provision 120 provision

accounts() {
	local u
	set -x
	samba-tool user create "$AD_USER" "$AD_PASSWORD" -s "$smbconf"
	samba-tool user create "$AD_UPN_SAM" "$AD_UPN_PASSWORD" -s "$smbconf"
	samba-tool user create "$AD_SENSITIVE_USER" "$AD_SENSITIVE_PASSWORD" -s "$smbconf"
	samba-tool user sensitive "$AD_SENSITIVE_USER" on -s "$smbconf"
	samba-tool user create httpsvc "$AD_HTTPSVC_PASSWORD" -s "$smbconf"
	samba-tool spn add "HTTP/$AD_WWW_HOST" httpsvc -s "$smbconf"
	samba-tool user create proxysvc "$AD_PROXYSVC_PASSWORD" -s "$smbconf"
	samba-tool spn add "HTTP/$AD_PROXY_HOST" proxysvc -s "$smbconf"
	samba-tool user create "$AD_SERVICE" "$AD_SERVICE_PASSWORD" -s "$smbconf"
	samba-tool spn add "HTTP/$AD_SERVICE.$AD_DNS_DOMAIN" "$AD_SERVICE" -s "$smbconf"
	# Constrained delegation with protocol transition to Apache's SPN only.
	samba-tool delegation for-any-protocol "$AD_SERVICE" on -s "$smbconf"
	samba-tool delegation add-service "$AD_SERVICE" "HTTP/$AD_WWW_HOST" -s "$smbconf"
	samba-tool user create "$AD_UNTRUSTED" "$AD_UNTRUSTED_PASSWORD" -s "$smbconf"
	samba-tool spn add "HTTP/$AD_UNTRUSTED.$AD_DNS_DOMAIN" "$AD_UNTRUSTED" -s "$smbconf"
	# carol's UPN has a suffix other than the realm, registered in the
	# forest's uPNSuffixes; and Apache's account gets AES tickets
	# (msDS-SupportedEncryptionTypes = AES128 | AES256), as AD
	# administrators set it; unset, AD issues RC4 service tickets.
	cat >"$sd/accounts.ldif" <<EOF
dn: CN=Partitions,CN=Configuration,$AD_BASE_DN
changetype: modify
add: uPNSuffixes
uPNSuffixes: $AD_UPN_SUFFIX

dn: CN=$AD_UPN_SAM,CN=Users,$AD_BASE_DN
changetype: modify
replace: userPrincipalName
userPrincipalName: $AD_UPN_SAM@$AD_UPN_SUFFIX

dn: CN=httpsvc,CN=Users,$AD_BASE_DN
changetype: modify
replace: msDS-SupportedEncryptionTypes
msDS-SupportedEncryptionTypes: 24

dn: CN=proxysvc,CN=Users,$AD_BASE_DN
changetype: modify
replace: msDS-SupportedEncryptionTypes
msDS-SupportedEncryptionTypes: 24
EOF
	/usr/bin/python3 "$here/samdb.py" "$smbconf" "$sd/accounts.ldif"
	samba-tool delegation show "$AD_SERVICE" -s "$smbconf"
	# Keytabs, exported from the DC. Apache's holds httpsvc's AES and RC4
	# keys (MIT's acceptor tries every key of its keytab) and the
	# SPN-named RC4 key that exportkeytab gives for an SPN.
	mkdir -p "$dir/keytabs"
	samba-tool domain exportkeytab "$dir/keytabs/http.keytab" --principal="HTTP/$AD_WWW_HOST" -s "$smbconf"
	samba-tool domain exportkeytab "$dir/keytabs/http.keytab" --principal=httpsvc -s "$smbconf"
	samba-tool domain exportkeytab "$dir/keytabs/proxy.keytab" --principal="HTTP/$AD_PROXY_HOST" -s "$smbconf"
	samba-tool domain exportkeytab "$dir/keytabs/proxy.keytab" --principal=proxysvc -s "$smbconf"
	for u in "$AD_USER" "$AD_SERVICE" "$AD_UNTRUSTED"; do
		samba-tool domain exportkeytab "$dir/keytabs/$u.keytab" --principal="$u" -s "$smbconf"
	done
	chown root:winbindd_priv "$dir/keytabs/http.keytab" "$dir/keytabs/proxy.keytab"
	chmod 640 "$dir/keytabs/http.keytab" "$dir/keytabs/proxy.keytab"
	chmod 644 "$dir/keytabs/$AD_USER.keytab" "$dir/keytabs/$AD_SERVICE.keytab" "$dir/keytabs/$AD_UNTRUSTED.keytab"
	chmod 755 "$dir/keytabs"
	for u in http proxy "$AD_USER" "$AD_SERVICE" "$AD_UNTRUSTED"; do
		[ -s "$dir/keytabs/$u.keytab" ]
	done
}
step accounts 180 accounts

cat >"$dir/krb5.conf" <<EOF
[libdefaults]
	default_realm = $AD_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	forwardable = true
	ticket_lifetime = 10h

[realms]
	$AD_REALM = {
		kdc = 127.0.0.1
	}

[domain_realm]
	.$AD_DNS_DOMAIN = $AD_REALM
	$AD_DNS_DOMAIN = $AD_REALM
EOF
chmod 644 "$dir/krb5.conf"
mkdir -p "$dir/ccache"
chmod 700 "$dir/ccache"

# ---------------------------------------------------------------------------
# 3. Samba, without systemd. winbindd's client socket directory is compiled
# into libwbclient (/run/samba/winbindd); its privileged pipe, which
# gss-ntlmssp needs to have NTLM responses checked, is in a directory that
# must belong to root with mode 0750: group winbindd_priv lets Apache in.
start_samba() {
	mkdir -p /run/samba/winbindd "$sd/run" "$sd/state/winbindd_privileged"
	chown root:winbindd_priv "$sd/state/winbindd_privileged"
	chmod 750 "$sd/state/winbindd_privileged"
	samba -s "$smbconf" -D
	# Samba's tasks name themselves "kdc[master]", "kdc(0)"...: wait for
	# the ports, then check the KDC with a real exchange below.
	wait_port 127.0.0.1 88 30
	wait_port 127.0.0.1 389 30
	local i
	for ((i = 0; i < 300; i++)); do
		wbinfo -p >/dev/null 2>&1 && break
		sleep 0.1
	done
	wbinfo -p
	# A real AS and TGS exchange with MIT's tools, and the S4U exchanges
	# the tests rely on: the trusted service gets alice's ticket for
	# Apache; the untrusted one is refused.
	local cc="FILE:$dir/ccache/start-check"
	export KRB5_CONFIG="$dir/krb5.conf"
	echo "$AD_PASSWORD" | KRB5CCNAME=$cc kinit "$AD_USER@$AD_REALM"
	KRB5CCNAME=$cc kvno "HTTP/$AD_WWW_HOST@$AD_REALM"
	echo "$AD_UPN_PASSWORD" | KRB5CCNAME=$cc kinit -E "$AD_UPN_SAM@$AD_UPN_SUFFIX"
	KRB5CCNAME=$cc kinit -k -t "$dir/keytabs/$AD_SERVICE.keytab" "$AD_SERVICE@$AD_REALM"
	KRB5CCNAME=$cc kvno -U "$AD_USER" -P "HTTP/$AD_WWW_HOST@$AD_REALM"
	KRB5CCNAME=$cc klist -ef
	KRB5CCNAME=$cc kdestroy
}
step samba-start 60 start_samba
ad_check_pidfile "$sd/run/samba.pid" || fail "no samba PID file" ""
log "Samba AD DC up: realm $AD_REALM, KDC 127.0.0.1:88"

# ---------------------------------------------------------------------------
# 4. TLS for Apache's HTTPS port: a CA of the tier's own.
make_tls() {
	local t="$dir/tls"
	mkdir -p "$t"
	openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 30 \
		-keyout "$t/ca.key" -out "$t/ca.crt" -subj "/CN=Negotiate AD Lab CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
	openssl req -new -newkey rsa:2048 -nodes -sha256 \
		-keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=$AD_WWW_HOST"
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" "subjectAltName=DNS:$AD_WWW_HOST,IP:127.0.0.1" >"$t/server.ext"
	openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
		-sha256 -days 30 -extfile "$t/server.ext" -out "$t/server.crt"
	chmod 600 "$t/ca.key" "$t/server.key"
	chmod 644 "$t/ca.crt" "$t/server.crt"
}
step tls 60 make_tls

# ---------------------------------------------------------------------------
# 5. Apache: a second instance with its own ServerRoot, ports and PID file.
# The keytab comes through KRB5_KTNAME (GssapiCredStore breaks the
# gss-ntlmssp acceptor); without NTLM_USER_FILE gss-ntlmssp asks winbindd.
a="$dir/apache"
mkdir -p "$a/logs" "$a/run" "$a/cgi-bin" "$a/rcache"
chown www-data:winbindd_priv "$a/rcache"
chmod 700 "$a/rcache"
cat >"$a/cgi-bin/whoami" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\n'
printf '%s\n%s\n' "${REMOTE_USER:-}" "${GSS_MECH:-}"
EOF
chmod 755 "$a/cgi-bin/whoami"
m=/usr/lib/apache2/modules
cat >"$a/apache2.conf" <<EOF
# Generated by .ci/lab/ad/start.sh; everything lives under $a.
ServerRoot "$a"
ServerName $AD_WWW_HOST
PidFile $a/run/apache2.pid
DefaultRuntimeDir $a/run
Mutex file:$a/run default
ScriptSock $a/run/cgid.sock
User www-data
Group winbindd_priv
ErrorLog $a/logs/error.log
LogLevel info auth_gssapi:debug
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

StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
KeepAlive On
KeepAliveTimeout 15
Timeout 30

Listen 127.0.0.1:$AD_HTTP_PORT
Listen 127.0.0.1:$AD_HTTPS_PORT

<Directory />
	AllowOverride None
	Require all denied
</Directory>
DocumentRoot $a/cgi-bin
ScriptAlias /open/ $a/cgi-bin/
ScriptAlias /krb/ $a/cgi-bin/
ScriptAlias /ntlm/ $a/cgi-bin/
ScriptAlias /any/ $a/cgi-bin/
<Directory $a/cgi-bin>
	Options +ExecCGI
	Require all granted
</Directory>
<Location /krb/>
	AuthType GSSAPI
	AuthName "ad krb"
	GssapiAllowedMech krb5
	GssapiPublishMech On
	Require valid-user
</Location>
<Location /ntlm/>
	AuthType GSSAPI
	AuthName "ad ntlm"
	GssapiAllowedMech ntlmssp
	GssapiConnectionBound On
	GssapiSignalPersistentAuth On
	GssapiPublishMech On
	Require valid-user
</Location>
<Location /any/>
	AuthType GSSAPI
	AuthName "ad any"
	GssapiAllowedMech krb5
	GssapiAllowedMech ntlmssp
	GssapiConnectionBound On
	GssapiSignalPersistentAuth On
	GssapiPublishMech On
	Require valid-user
</Location>

SSLSessionCache shmcb:$a/run/ssl_scache(512000)
<VirtualHost 127.0.0.1:$AD_HTTPS_PORT>
	ServerName $AD_WWW_HOST
	SSLEngine on
	SSLCertificateFile $dir/tls/server.crt
	SSLCertificateKeyFile $dir/tls/server.key
	SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1
</VirtualHost>
EOF

start_apache() {
	env -u NTLM_USER_FILE KRB5_CONFIG="$dir/krb5.conf" \
		KRB5_KTNAME="FILE:$dir/keytabs/http.keytab" \
		KRB5RCACHEDIR="$a/rcache" \
		apache2 -f "$a/apache2.conf" -k start
	wait_listen "$AD_HTTP_PORT" apache2 15
	wait_listen "$AD_HTTPS_PORT" apache2 15
	ad_wait_pidfile "$a/run/apache2.pid"
	local url="http://$AD_WWW_HOST:$AD_HTTP_PORT" cc="FILE:$dir/ccache/apache-check" body
	curl -sS --fail --max-time 10 --noproxy '*' -o /dev/null "$url/open/whoami"
	# Kerberos with an independent client (curl + MIT krb5): REMOTE_USER
	# is alice, with the AP-REP token on the 200.
	export KRB5_CONFIG="$dir/krb5.conf"
	echo "$AD_PASSWORD" | KRB5CCNAME=$cc kinit "$AD_USER@$AD_REALM"
	body=$(KRB5CCNAME=$cc curl -sS --fail --max-time 10 --noproxy '*' --negotiate -u : "$url/krb/whoami")
	echo "/krb/: $body"
	[ "$(printf '%s\n' "$body" | head -n 1)" = "$AD_USER@$AD_REALM" ]
	KRB5CCNAME=$cc kdestroy
}
step apache-config 30 apache2 -f "$a/apache2.conf" -t
step apache 60 start_apache
log "Apache (AD tier) up on 127.0.0.1:$AD_HTTP_PORT (http) and :$AD_HTTPS_PORT (https)"

# ---------------------------------------------------------------------------
# 6. Squid: one port asking for Negotiate, NTLM and Basic, in that order,
# each verified by the DC, towards the tier's Apache only, no cache (a cache
# hit would skip authentication). Negotiate: negotiate_wrapper_auth gives
# Kerberos tokens (SPNEGO) to negotiate_kerberos_auth with the keytab
# exported for HTTP/proxy.ad.test, and raw NTLMSSP to Samba's ntlm_auth (NTLM
# wrapped in SPNEGO it does not take). NTLM and Basic: ntlm_auth, which asks
# winbindd through its privileged pipe, hence the group winbindd_priv.
s="$dir/squid"
mkdir -p "$s/rcache"
ntlm_auth_cmd="/usr/bin/ntlm_auth --configfile=$smbconf"
cat >"$s/squid.conf" <<EOF
# Generated by .ci/lab/ad/start.sh; everything lives under $s.
http_port 127.0.0.1:$AD_PROXY_PORT
visible_hostname $AD_PROXY_HOST
pid_filename $s/squid.pid
cache_effective_user proxy
cache_effective_group winbindd_priv
access_log stdio:$s/access.log
cache_log $s/cache.log
cache_store_log none
coredump_dir $s
netdb_filename none
pinger_enable off
shutdown_lifetime 1 seconds
cache deny all
dns_nameservers 127.0.0.1
udp_incoming_address 127.0.0.1
udp_outgoing_address 127.0.0.1
hosts_file /etc/hosts

auth_param negotiate program /usr/lib/squid/negotiate_wrapper_auth --ntlm $ntlm_auth_cmd --helper-protocol=squid-2.5-ntlmssp --kerberos /usr/lib/squid/negotiate_kerberos_auth -k $dir/keytabs/proxy.keytab -s HTTP/$AD_PROXY_HOST@$AD_REALM
auth_param negotiate children 4 startup=1 idle=1
auth_param negotiate keep_alive on
auth_param ntlm program $ntlm_auth_cmd --helper-protocol=squid-2.5-ntlmssp
auth_param ntlm children 4 startup=1 idle=1
auth_param ntlm keep_alive on
auth_param basic program $ntlm_auth_cmd --helper-protocol=squid-2.5-basic
auth_param basic children 2 startup=1 idle=1
auth_param basic realm $AD_REALM proxy
auth_param basic credentialsttl 1 minute

acl ad_dst dstdomain $AD_WWW_HOST
acl ad_ports port $AD_HTTP_PORT $AD_HTTPS_PORT
acl tls_ports port $AD_HTTPS_PORT
acl CONNECT method CONNECT
acl authed proxy_auth REQUIRED

http_access deny !ad_dst
http_access deny !ad_ports
http_access deny CONNECT !tls_ports
http_access allow authed
http_access deny all
EOF
chown -R proxy:winbindd_priv "$s"
chmod 700 "$s/rcache"

start_squid() {
	env KRB5_CONFIG="$dir/krb5.conf" \
		KRB5_KTNAME="FILE:$dir/keytabs/proxy.keytab" \
		KRB5RCACHEDIR="$s/rcache" \
		squid -f "$s/squid.conf" 2>"$s/stderr.log"
	wait_listen "$AD_PROXY_PORT" squid 20
	ad_wait_pidfile "$s/squid.pid"
	local url="http://$AD_WWW_HOST:$AD_HTTP_PORT/open/whoami" proxy="http://$AD_PROXY_HOST:$AD_PROXY_PORT"
	local cc="FILE:$dir/ccache/squid-check" headers
	# It offers the three schemes...
	headers=$(curl -sS --max-time 10 -o /dev/null -D - --proxy "$proxy" "$url")
	printf '%s\n' "$headers"
	printf '%s\n' "$headers" | grep -q '^HTTP/1.1 407'
	printf '%s\n' "$headers" | grep -qi '^Proxy-Authenticate: Negotiate'
	printf '%s\n' "$headers" | grep -qi '^Proxy-Authenticate: NTLM'
	printf '%s\n' "$headers" | grep -qi '^Proxy-Authenticate: Basic'
	# ...and each lets alice through, checked with independent clients:
	# curl with MIT krb5 (Kerberos), curl's own NTLM and Basic.
	export KRB5_CONFIG="$dir/krb5.conf"
	echo "$AD_PASSWORD" | KRB5CCNAME=$cc kinit "$AD_USER@$AD_REALM"
	KRB5CCNAME=$cc curl -sS --fail --max-time 10 -o /dev/null --proxy "$proxy" --proxy-negotiate -U : "$url"
	KRB5CCNAME=$cc kdestroy
	curl -sS --fail --max-time 10 -o /dev/null --proxy "$proxy" --proxy-ntlm -U "$AD_DOMAIN\\$AD_USER:$AD_PASSWORD" "$url"
	curl -sS --fail --max-time 10 -o /dev/null --proxy "$proxy" --proxy-basic -U "$AD_DOMAIN\\$AD_USER:$AD_PASSWORD" "$url"
	cat "$s/access.log"
}
step squid-config 30 squid -k parse -f "$s/squid.conf"
step squid 60 start_squid
log "Squid (AD tier) up on 127.0.0.1:$AD_PROXY_PORT (Negotiate, NTLM, Basic)"

# ---------------------------------------------------------------------------
# 7. Nothing the tier runs may listen beyond 127.0.0.1.
check_listeners() {
	local bad
	bad=$(ss -H -ltnup 2>/dev/null | grep -E '"(samba|kdc|ldap|rpc|winbindd|apache2|squid)' |
		awk '{print $5}' | grep -vE '^127\.0\.0\.1:' || true)
	if [ -n "$bad" ]; then
		echo "AD tier programs listening beyond 127.0.0.1: $bad"
		return 1
	fi
}
step listeners 30 check_listeners

versions=$(dpkg-query -W -f='${Package}=${Version},' samba winbind krb5-user apache2 \
	libapache2-mod-auth-gssapi gss-ntlmssp squid | sed 's/,$//')
cat >"$dir/ad.env" <<EOF
AD_DIR=$dir
KRB5_CONFIG=$dir/krb5.conf
AD_REALM=$AD_REALM
AD_NTLM_DOMAIN=$AD_DOMAIN
AD_KDC=127.0.0.1:88
AD_USER=$AD_USER
AD_PASSWORD=$AD_PASSWORD
AD_KEYTAB=$dir/keytabs/$AD_USER.keytab
AD_UPN=$AD_UPN_SAM@$AD_UPN_SUFFIX
AD_UPN_SAM=$AD_UPN_SAM
AD_UPN_PASSWORD=$AD_UPN_PASSWORD
AD_SENSITIVE_USER=$AD_SENSITIVE_USER
AD_SENSITIVE_PASSWORD=$AD_SENSITIVE_PASSWORD
AD_SERVICE=$AD_SERVICE
AD_SERVICE_PASSWORD=$AD_SERVICE_PASSWORD
AD_SERVICE_KEYTAB=$dir/keytabs/$AD_SERVICE.keytab
AD_SERVICE_SPN=HTTP/$AD_SERVICE.$AD_DNS_DOMAIN
AD_UNTRUSTED=$AD_UNTRUSTED
AD_UNTRUSTED_PASSWORD=$AD_UNTRUSTED_PASSWORD
AD_UNTRUSTED_KEYTAB=$dir/keytabs/$AD_UNTRUSTED.keytab
AD_UNTRUSTED_SPN=HTTP/$AD_UNTRUSTED.$AD_DNS_DOMAIN
AD_HTTP_HOST=$AD_WWW_HOST
AD_HTTP_SPN=HTTP/$AD_WWW_HOST
AD_HTTP_URL=http://$AD_WWW_HOST:$AD_HTTP_PORT
AD_HTTPS_URL=https://$AD_WWW_HOST:$AD_HTTPS_PORT
AD_CA_FILE=$dir/tls/ca.crt
AD_PROXY_HOST=$AD_PROXY_HOST
AD_PROXY_SPN=HTTP/$AD_PROXY_HOST
AD_PROXY_URL=http://$AD_PROXY_HOST:$AD_PROXY_PORT
AD_VERSIONS=$versions
EOF
chmod 644 "$dir/ad.env"
log "AD tier is up in $(($(date +%s) - t0)) s; environment in $dir/ad.env"
printf '%s\n' "$dir/ad.env"
