# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# adlib.sh: settings shared by start.sh and stop.sh of the Active Directory
# tier (Samba AD DC + Apache + Squid). Sourced after ../lib.sh, never run.

AD_REALM=AD.TEST
AD_DOMAIN=ADTEST
AD_DNS_DOMAIN=ad.test
AD_BASE_DN=DC=ad,DC=test
AD_WWW_HOST=www.ad.test
AD_DC_HOST=dc.ad.test
AD_ADMIN_PASSWORD=Admin-AD.pw1
# alice: a normal user. carol: a user whose UPN suffix is not the realm.
# dave: "sensitive and cannot be delegated". websvc: a service account
# trusted for constrained delegation, with protocol transition, to Apache's
# SPN. plainsvc: a service account trusted for nothing.
AD_USER=alice
AD_PASSWORD=Alice-AD.pw1
AD_UPN_SAM=carol
AD_UPN_SUFFIX=upn.example
AD_UPN_PASSWORD=Carol-AD.pw1
AD_SENSITIVE_USER=dave
AD_SENSITIVE_PASSWORD=Dave-AD.pw1
AD_SERVICE=websvc
AD_SERVICE_PASSWORD=Websvc-AD.pw1
AD_UNTRUSTED=plainsvc
AD_UNTRUSTED_PASSWORD=Plainsvc-AD.pw1
AD_HTTPSVC_PASSWORD=Httpsvc-AD.pw1
# proxysvc: Squid's account, holding HTTP/proxy.ad.test.
AD_PROXY_HOST=proxy.ad.test
AD_PROXYSVC_PASSWORD=Proxysvc-AD.pw1

: "${AD_HTTP_PORT:=18180}"
: "${AD_HTTPS_PORT:=18543}"
: "${AD_PROXY_PORT:=13228}"

AD_PACKAGES=(samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind krb5-user
	apache2 libapache2-mod-auth-gssapi gss-ntlmssp squid curl openssl iproute2)

AD_HOSTS_BEGIN='# BEGIN negotiate-lab-ad (.ci/lab/ad/start.sh; removed by .ci/lab/ad/stop.sh)'
AD_HOSTS_END='# END negotiate-lab-ad'
AD_POINTER=/run/negotiate-lab-ad.dir

ad_hosts_remove() {
	grep -qxF "$AD_HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
	local tmp
	tmp=$(mktemp)
	awk -v b="$AD_HOSTS_BEGIN" -v e="$AD_HOSTS_END" '
		$0 == b { skip = 1; next }
		skip && $0 == e { skip = 0; next }
		!skip { print }' /etc/hosts >"$tmp"
	cat "$tmp" >/etc/hosts
	rm -f "$tmp"
}

ad_hosts_add() {
	ad_hosts_remove
	printf '%s\n127.0.0.1 %s %s %s %s %s\n%s\n' "$AD_HOSTS_BEGIN" \
		"$AD_WWW_HOST" "$AD_PROXY_HOST" "$AD_DC_HOST" "$AD_SERVICE.$AD_DNS_DOMAIN" "$AD_UNTRUSTED.$AD_DNS_DOMAIN" \
		"$AD_HOSTS_END" >>/etc/hosts
}

# ad_wait_pidfile waits, at most 5 s, for a daemon's PID file.
ad_wait_pidfile() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "no PID file at $1" >&2
	return 1
}

ad_check_pidfile() { ad_wait_pidfile "$1" 2>/dev/null; }
