#!/usr/bin/env bash
# smoke.sh [DIR]: checks the lab in DIR (default: the lab that is up) with
# real clients -- MIT kinit, curl's GSS-API Negotiate, requests-ntlm -- so we
# know the lab itself is right before our Go code meets it. Prints PASS/FAIL
# per check and exits non-zero if any check fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

dir=${1:-}
if [ -z "$dir" ] && [ -s "$LAB_POINTER" ]; then
	dir=$(cat "$LAB_POINTER")
fi
if [ -z "$dir" ] || [ ! -s "$dir/lab.env" ]; then
	die "no lab.env; run up.sh first (or pass its DIR)"
fi

set -a
# shellcheck source=/dev/null
. "$dir/lab.env"
set +a

work=$(mktemp -d /tmp/negotiate-lab-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
export KRB5CCNAME="FILE:$work/ccache"
curl_=(curl -sS --max-time 20 --noproxy '*')

passed=0
failed=0
# check NAME FUNC runs FUNC (in the background and waited for, so that set -e
# holds inside it) and prints PASS or FAIL with FUNC's output.
check() {
	local name=$1 rc=0
	shift
	"$@" >"$work/out" 2>&1 &
	wait "$!" || rc=$?
	if [ "$rc" = 0 ]; then
		printf 'PASS  %s\n' "$name"
		passed=$((passed + 1))
	else
		printf 'FAIL  %s\n' "$name"
		sed 's/^/      | /' "$work/out" | tail -n 30
		failed=$((failed + 1))
	fi
}

# expect WANT GOT fails with both shown unless they are equal.
expect() {
	if [ "$1" != "$2" ]; then
		printf 'got  %q\nwant %q\n' "$2" "$1"
		return 1
	fi
}

# status URL [curl args...] prints the HTTP status code.
status() {
	local url=$1
	shift
	"${curl_[@]}" -o /dev/null -w '%{http_code}' "$@" "$url"
}

kinit_password() {
	kdestroy 2>/dev/null || true
	printf '%s\n' "$LAB_PASSWORD" | kinit "$LAB_USER@$LAB_REALM"
	klist | grep -F "Default principal: $LAB_USER@$LAB_REALM"
}
kinit_password2() {
	kdestroy 2>/dev/null || true
	printf '%s\n' "$LAB_PASSWORD2" | kinit "$LAB_USER2@$LAB_REALM"
	klist | grep -F "Default principal: $LAB_USER2@$LAB_REALM"
}
kinit_keytab() {
	kdestroy 2>/dev/null || true
	kinit -k -t "$LAB_KEYTAB" "$LAB_USER@$LAB_REALM"
	klist | grep -F "Default principal: $LAB_USER@$LAB_REALM"
}
kinit_wrong_password() {
	if printf 'wrong\n' | KRB5CCNAME="FILE:$work/wrong" kinit "$LAB_USER@$LAB_REALM"; then
		echo "kinit with a wrong password succeeded"
		return 1
	fi
}
service_ticket() {
	kvno "$LAB_HTTP_SPN@$LAB_REALM" "$LAB_PROXY_SPN@$LAB_REALM"
}

open_endpoint() {
	expect 200 "$(status "$LAB_HTTP_URL/open/whoami")"
}
# unauthenticated PATH WANT-SCHEMES: a 401 offering exactly these schemes.
unauthenticated() {
	"${curl_[@]}" -o /dev/null -D "$work/h" "$LAB_HTTP_URL/$1/whoami"
	cat "$work/h"
	expect 401 "$(awk 'NR==1{print $2}' "$work/h")"
	expect "$2" "$(tr -d '\r' <"$work/h" | awk -F': ' 'tolower($1)=="www-authenticate"{print $2}' | sort | paste -sd, -)"
}
# negotiate URL WANT-USER [curl args]: curl --negotiate gets a 200 as
# WANT-USER, with a final Negotiate token (mutual authentication) on it.
negotiate() {
	local url=$1 want=$2
	shift 2
	local code
	# -w gives the final status; -D has the headers of every leg.
	code=$("${curl_[@]}" --negotiate -u : -D "$work/h" -o "$work/body" -w '%{http_code}' "$@" "$url")
	tr -d '\r' <"$work/h" | grep -vi '^www-authenticate: negotiate .' || true
	expect 200 "$code"
	expect "$want" "$(head -n 1 "$work/body")"
	expect Negotiate/krb5 "$(sed -n 2p "$work/body")"
	grep -qiE '^www-authenticate: negotiate [A-Za-z0-9+/=]+' "$work/h" ||
		{ echo "no mutual-authentication token on the 200"; return 1; }
}
negotiate_conn_bound() {
	negotiate "$LAB_HTTP_URL/krb-conn/whoami" "$LAB_USER@$LAB_REALM"
	grep -qi '^persistent-auth: true' "$work/h" || { echo "no Persistent-Auth: true"; return 1; }
}
# post_echo URL [curl args]: 1 MB of random bytes come back unchanged, sent
# with a Content-Length and chunked.
post_echo() {
	local url=$1
	shift
	head -c 1048576 /dev/urandom >"$work/post"
	local want got
	want=$(sha256sum <"$work/post")
	got=$("${curl_[@]}" --fail --negotiate -u : --data-binary "@$work/post" "$@" "$url" | sha256sum)
	expect "$want" "$got"
	got=$("${curl_[@]}" --fail --negotiate -u : -H 'Transfer-Encoding: chunked' \
		--data-binary "@$work/post" "$@" "$url" | sha256sum)
	expect "$want" "$got"
}
# https_untrusted: without the lab CA, curl must fail certificate
# verification (exit 60), not merely fail.
https_untrusted() {
	local rc=0
	"${curl_[@]}" -o /dev/null "$LAB_HTTPS_URL/open/whoami" || rc=$?
	expect 60 "$rc"
}

curl_ntlm() {
	"${curl_[@]}" --ntlm -u "$LAB_NTLM_DOMAIN\\$LAB_USER:$LAB_PASSWORD" -o "$work/body" \
		-w '%{http_code}\n' "$LAB_HTTP_URL/ntlm/whoami"
	expect "$LAB_NTLM_DOMAIN\\$LAB_USER" "$(head -n 1 "$work/body")"
}

# spnego_ntlm LOCATION WANT-STATUS: curl --negotiate with no Kerberos
# credentials but gss-ntlmssp as the initiator (installed with the lab; it
# takes its credentials from NTLM_USER_FILE and NTLMUSER) sends NTLM wrapped
# in SPNEGO.
spnego_ntlm() {
	printf '%s:%s:%s\n' "$LAB_NTLM_DOMAIN" "$LAB_USER" "$LAB_PASSWORD" >"$work/ntlm-user"
	KRB5CCNAME="FILE:$work/no-ccache" NTLM_USER_FILE="$work/ntlm-user" NTLMUSER="$LAB_USER" \
		"${curl_[@]}" --negotiate -u : -o "$work/body" -w '%{http_code}' "$LAB_HTTP_URL/$1/whoami" >"$work/code"
	expect "$2" "$(cat "$work/code")"
	if [ "$2" = 200 ]; then
		expect "$LAB_NTLM_DOMAIN\\$LAB_USER" "$(head -n 1 "$work/body")"
		expect Negotiate/NTLM "$(sed -n 2p "$work/body")"
	fi
}

# requests-ntlm (python3-requests-ntlm) is Debian's packaged NTLM client
# that gss-ntlmssp accepts. It needs MD4, which OpenSSL 3 keeps in its legacy
# provider: a private OPENSSL_CONF loads it for this process only.
ntlm_python() {
	local py=/usr/bin/python3
	if ! "$py" -c 'import requests_ntlm' 2>/dev/null; then
		[ "$(id -u)" = 0 ] || { echo "python3-requests-ntlm is not installed"; return 1; }
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			python3-requests-ntlm >"$work/apt.log" 2>&1 ||
			{
				DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
					python3-requests-ntlm
			}
	fi
	printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'providers = provider_sect' \
		'[provider_sect]' 'default = default_sect' 'legacy = legacy_sect' \
		'[default_sect]' 'activate = 1' '[legacy_sect]' 'activate = 1' >"$work/openssl.cnf"
	OPENSSL_CONF="$work/openssl.cnf" "$py" - "$@" <<'EOF'
import hashlib, os, sys

import requests
from requests_ntlm import HttpNtlmAuth

env = os.environ
dom, user, pw = env["LAB_NTLM_DOMAIN"], env["LAB_USER"], env["LAB_PASSWORD"]
want = dom + "\\" + user
failures = []


def session(u, p):
    s = requests.Session()
    s.trust_env = False
    s.auth = HttpNtlmAuth(dom + "\\" + u, p)
    return s


def whoami(s, url, want_user):
    r = s.get(url, timeout=20)
    lines = r.text.splitlines()
    print(url, r.status_code, lines, "Persistent-Auth:", r.headers.get("Persistent-Auth"))
    if r.status_code != 200 or not lines or lines[0] != want_user:
        failures.append("whoami %s: %d %r; want 200 %r" % (url, r.status_code, lines, want_user))


for base, verify in ((env["LAB_HTTP_URL"], True), (env["LAB_HTTPS_URL"], env["LAB_CA_FILE"])):
    for loc in ("ntlm", "any"):
        s = session(user, pw)
        s.verify = verify
        whoami(s, base + "/" + loc + "/whoami", want)
        body = os.urandom(300000)
        r = s.post(base + "/" + loc + "/echo", data=body, timeout=20)
        if r.status_code != 200 or hashlib.sha256(r.content).digest() != hashlib.sha256(body).digest():
            failures.append("echo %s/%s: %d, %d bytes back of %d" % (base, loc, r.status_code, len(r.content), len(body)))

# The raw NTLM scheme also works on /krb-conn/ (see README.md).
whoami(session(user, pw), env["LAB_HTTP_URL"] + "/krb-conn/whoami", want)

s = session(env["LAB_USER2"], env["LAB_PASSWORD2"])
whoami(s, env["LAB_HTTP_URL"] + "/ntlm/whoami", dom + "\\" + env["LAB_USER2"])

r = session(user, "wrong").get(env["LAB_HTTP_URL"] + "/ntlm/whoami", timeout=20)
print("wrong password:", r.status_code)
if r.status_code != 401:
    failures.append("wrong password: %d; want 401" % r.status_code)

for f in failures:
    print("FAILURE:", f)
sys.exit(1 if failures else 0)
EOF
}

proxy_required() {
	"${curl_[@]}" --noproxy '' --proxy "$LAB_PROXY_URL" -o /dev/null -D "$work/h" "$LAB_HTTP_URL/open/whoami"
	cat "$work/h"
	expect 407 "$(awk 'NR==1{print $2}' "$work/h")"
	grep -qi '^proxy-authenticate: negotiate' "$work/h"
}
# via_proxy PROXY URL: proxy auth (when PROXY is the Negotiate one) and
# server auth both by Kerberos; for HTTPS through a CONNECT tunnel.
via_proxy() {
	local proxy=$1 url=$2
	local code
	code=$("${curl_[@]}" --noproxy '' --proxy "$proxy" --proxy-negotiate -U : --negotiate -u : \
		--cacert "$LAB_CA_FILE" -o "$work/body" -D "$work/h" -w '%{http_code}' "$url")
	tr -d '\r' <"$work/h" | grep -vi '^www-authenticate: negotiate .' || true
	expect 200 "$code"
	expect "$LAB_USER@$LAB_REALM" "$(head -n 1 "$work/body")"
}

echo "lab: $LAB_DIR"
echo "versions: $LAB_VERSIONS"
check "kinit with a password ($LAB_USER2)" kinit_password2
check "kinit with a password ($LAB_USER)" kinit_password
check "kinit with a keytab ($LAB_USER)" kinit_keytab
check "kinit with a wrong password is refused" kinit_wrong_password
check "service tickets for $LAB_HTTP_SPN and $LAB_PROXY_SPN" service_ticket
check "GET /open/whoami without auth: 200" open_endpoint
check "GET /krb/ without auth: 401 Negotiate" unauthenticated krb Negotiate
# mod_auth_gssapi (1.6.4 and upstream) offers, and accepts, the raw NTLM
# scheme on every GssapiConnectionBound location, whatever GssapiAllowedMech
# says; only Negotiate (SPNEGO) honours it. See README.md.
check "GET /krb-conn/ without auth: 401 Negotiate + NTLM (quirk)" unauthenticated krb-conn NTLM,Negotiate
check "GET /ntlm/ without auth: 401 Negotiate + NTLM" unauthenticated ntlm NTLM,Negotiate
check "GET /any/ without auth: 401 Negotiate + NTLM" unauthenticated any NTLM,Negotiate
check "curl --negotiate /krb/whoami (mutual-auth token on the 200)" \
	negotiate "$LAB_HTTP_URL/krb/whoami" "$LAB_USER@$LAB_REALM"
check "curl --negotiate /krb-conn/whoami (Persistent-Auth)" negotiate_conn_bound
check "curl --negotiate /any/whoami (Kerberos)" \
	negotiate "$LAB_HTTP_URL/any/whoami" "$LAB_USER@$LAB_REALM"
check "curl --negotiate POST /krb/echo, 1 MB, length and chunked" post_echo "$LAB_HTTP_URL/krb/echo"
check "curl --negotiate POST /krb-conn/echo, 1 MB" post_echo "$LAB_HTTP_URL/krb-conn/echo"
check "HTTPS with the lab CA: /krb/whoami" \
	negotiate "$LAB_HTTPS_URL/krb/whoami" "$LAB_USER@$LAB_REALM" --cacert "$LAB_CA_FILE"
check "HTTPS with the lab CA: POST /krb/echo" post_echo "$LAB_HTTPS_URL/krb/echo" --cacert "$LAB_CA_FILE"
check "HTTPS without the lab CA is not trusted" https_untrusted

# curl 7.88 sends a 32-byte NTLM NEGOTIATE (no Version field), which
# gss-ntlmssp 1.2 rejects; report it, but do not count it as a lab failure.
rc=0
curl_ntlm >"$work/out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
	echo "PASS  curl --ntlm /ntlm/whoami"
	passed=$((passed + 1))
else
	echo "INFO  curl --ntlm /ntlm/whoami fails (known: curl $(curl -V | awk 'NR==1{print $2}') sends a 32-byte NEGOTIATE that gss-ntlmssp rejects)"
fi
check "curl --negotiate, NTLM in SPNEGO (gss-ntlmssp initiator): /ntlm/whoami" spnego_ntlm ntlm 200
check "curl --negotiate, NTLM in SPNEGO (gss-ntlmssp initiator): /any/whoami" spnego_ntlm any 200
check "curl --negotiate, NTLM in SPNEGO refused on /krb-conn/ (401)" spnego_ntlm krb-conn 401
check "requests-ntlm: /ntlm/ and /any/ whoami + POST echo over HTTP and HTTPS, raw NTLM on /krb-conn/, $LAB_USER2, wrong password refused" ntlm_python

check "Squid: no credentials gives 407 Negotiate" proxy_required
check "Squid Negotiate + server Negotiate: HTTP /krb/whoami" via_proxy "$LAB_PROXY_URL" "$LAB_HTTP_URL/krb/whoami"
check "Squid Negotiate + CONNECT + server Negotiate: HTTPS /krb/whoami" \
	via_proxy "$LAB_PROXY_URL" "$LAB_HTTPS_URL/krb/whoami"
check "open Squid port: HTTP /krb/whoami" via_proxy "$LAB_PROXY_OPEN_URL" "$LAB_HTTP_URL/krb/whoami"
check "open Squid port: HTTPS /krb/whoami" via_proxy "$LAB_PROXY_OPEN_URL" "$LAB_HTTPS_URL/krb/whoami"

printf '\n%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
