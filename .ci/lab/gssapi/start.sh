#!/usr/bin/env bash
# start.sh [DIR]: starts the channel-binding acceptor (acceptor.py: MIT
# krb5 and gss-ntlmssp through python3-gssapi, given the tls-server-end-point
# bindings of its own certificate) next to the lab that runs in DIR (default:
# the lab that is up, from /run/negotiate-lab.dir). Its certificate is made
# here and signed by the lab CA with GSSAPI_LAB_DIGEST (sha384 by default, so
# the bindings hash with SHA-384; sha256 and sha512 work too). It listens on
# 127.0.0.1:GSSAPI_LAB_PORT (18444), checks itself with curl --negotiate
# (a client that sends no bindings) and writes DIR/gssapi/gssapi.env.
# Must run as root (installs python3-gssapi if missing, reads the lab's
# service keytab and CA key). See README.md.
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
port=${GSSAPI_LAB_PORT:-18444}
digest=${GSSAPI_LAB_DIGEST:-sha384}
case "$digest" in sha256 | sha384 | sha512) ;; *) die "GSSAPI_LAB_DIGEST must be sha256, sha384 or sha512 (Go refuses SHA-1 signatures from a CA)" ;; esac
g="$dir/gssapi"

if ! /usr/bin/python3 -c 'import gssapi' 2>/dev/null; then
	log "installing python3-gssapi"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-gssapi >/dev/null ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-gssapi >/dev/null; }
fi

"$here/stop.sh" "$dir" >/dev/null 2>&1 || true
if port_open 127.0.0.1 "$port"; then
	die "port 127.0.0.1:$port is already in use; set GSSAPI_LAB_PORT"
fi
rm -rf "$g"
mkdir -p "$g/rcache"
chmod 700 "$g/rcache"

# The server's certificate, signed by the lab CA; and a "wrong" one, never
# served, whose bindings /wrongcb/ expects.
{
	openssl req -new -newkey rsa:2048 -nodes -keyout "$g/server.key" -out "$g/server.csr" -subj "/CN=$LAB_WWW_HOST"
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" "subjectAltName=DNS:$LAB_WWW_HOST,IP:127.0.0.1" >"$g/server.ext"
	openssl x509 -req -in "$g/server.csr" -CA "$dir/tls/ca.crt" -CAkey "$dir/tls/ca.key" \
		-CAserial "$g/ca.srl" -CAcreateserial "-$digest" -days 30 -extfile "$g/server.ext" -out "$g/server.crt"
	openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 1 -keyout "$g/wrong.key" -out "$g/wrong.crt" -subj "/CN=wrong"
} >"$g/openssl.log" 2>&1 || { cat "$g/openssl.log" >&2; die "making the certificate failed"; }
chmod 600 "$g/server.key" "$g/wrong.key"

env KRB5_CONFIG="$dir/krb5.conf" \
	KRB5_KTNAME="FILE:$dir/keytabs/http.keytab" \
	KRB5RCACHEDIR="$g/rcache" \
	NTLM_USER_FILE="$dir/ntlm/users" \
	setsid /usr/bin/python3 "$here/acceptor.py" --port "$port" \
	--cert "$g/server.crt" --key "$g/server.key" --wrong-cert "$g/wrong.crt" \
	</dev/null >"$g/acceptor.log" 2>&1 &
echo "$!" >"$g/acceptor.pid"
if ! wait_listen "$port" python3 10 >"$g/start.log" 2>&1; then
	cat "$g/start.log" "$g/acceptor.log" >&2
	"$here/stop.sh" "$dir" || true
	die "the acceptor did not start"
fi

url="https://$LAB_WWW_HOST:$port"
# Self-check with an independent client: curl --negotiate (MIT krb5's
# initiator, which sends no channel bindings) is accepted on /cb/ but its
# context is not channel-bound, so /require/ refuses it.
check() {
	local cc code body
	cc=$(mktemp -d)
	trap 'rm -rf "$cc"' RETURN
	export KRB5_CONFIG="$dir/krb5.conf" KRB5CCNAME="FILE:$cc/cc"
	kinit -k -t "$dir/keytabs/alice.keytab" "$LAB_USER@$LAB_REALM"
	code=$(curl -sS --max-time 10 --noproxy '*' --cacert "$dir/tls/ca.crt" -o /dev/null -w '%{http_code}' "$url/cb/whoami")
	[ "$code" = 401 ] || { echo "unauthenticated: $code; want 401"; return 1; }
	body=$(curl -sS --fail --max-time 10 --noproxy '*' --cacert "$dir/tls/ca.crt" --negotiate -u : "$url/cb/whoami")
	echo "/cb/: $body"
	case "$body" in *"\"user\": \"$LAB_USER@$LAB_REALM\""*'"channel_bound": false'*) ;; *) echo "want alice, not channel-bound"; return 1 ;; esac
	code=$(curl -sS --max-time 10 --noproxy '*' --cacert "$dir/tls/ca.crt" --negotiate -u : -o /dev/null -w '%{http_code}' "$url/require/whoami")
	[ "$code" = 403 ] || { echo "/require/ without bindings: $code; want 403"; return 1; }
}
if ! check >"$g/check.log" 2>&1; then
	cat "$g/check.log" "$g/acceptor.log" >&2
	"$here/stop.sh" "$dir" || true
	die "self-check failed"
fi

printf '%s\n' "GSSAPI_LAB_URL=$url" "GSSAPI_LAB_DIGEST=$digest" "GSSAPI_LAB_CERT=$g/server.crt" >"$g/gssapi.env"
log "acceptor up on 127.0.0.1:$port ($url, bindings hashed with $digest); env in $g/gssapi.env"
