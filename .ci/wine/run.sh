#!/usr/bin/env bash
# The Wine tier: the package's Windows SSPI mechanism (internal/sspi,
# internal/mech/sspi_windows.go) cross-compiled and run under Wine 8 against the
# real-peer lab (.ci/lab). Debian 12, as root.
#
#   bash .ci/wine/run.sh            # uses the running lab, else brings one up
#   LAB_ENV=/path/lab.env bash .ci/wine/run.sh
#
# Steps: install wine, wine64, winbind (Wine's NTLM calls Samba's
# ntlm_auth) and binutils-mingw-w64-x86-64 when missing; make a scratch
# Wine prefix; put the ProcessPrng shim in it (build-shim.sh: Go 1.22+
# binaries need bcryptprimitives.dll, which Wine 8.0 lacks); build the root
# package's test binary with the "wine" tag; run its TestWine* tests twice:
# once with a ccache made by kinit (default credentials), once with an
# empty scratch ccache (explicit credentials: Wine kinit's into the default
# ccache, replacing it). Prints how long each step took.
#
# Without root or apt-get, and Wine not installed, it skips (exit 0) and
# says so.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

t0=$(date +%s)
lap() {
	local now
	now=$(date +%s)
	printf '=== wine: %s (%ds)\n' "$1" "$((now - t0))"
	t0=$now
}

pkgs=(wine wine64 winbind binutils-mingw-w64-x86-64)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "SKIP: the Wine tier needs ${missing[*]} (and root to install them with apt-get)"
		exit 0
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	lap "installed ${missing[*]}"
fi

work=$(mktemp -d /tmp/negotiate-wine.XXXXXX)
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
unset DISPLAY WAYLAND_DISPLAY
labdown=
cleanup() {
	wineserver -k 2>/dev/null || true
	if [ -n "$labdown" ]; then bash "$repo/.ci/lab/down.sh" "$labdown" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# The lab: the one given, the one running, or our own.
if [ -z "${LAB_ENV:-}" ] && [ -r /run/negotiate-lab.dir ]; then
	dir=$(cat /run/negotiate-lab.dir)
	if [ -r "$dir/lab.env" ]; then LAB_ENV="$dir/lab.env"; fi
fi
if [ -z "${LAB_ENV:-}" ]; then
	labdown=$(mktemp -d /tmp/negotiate-lab.XXXXXX)
	bash "$repo/.ci/lab/up.sh" "$labdown" >"$work/lab-up.log" 2>&1 || { cat "$work/lab-up.log"; exit 1; }
	LAB_ENV="$labdown/lab.env"
	lap "lab up"
fi
export LAB_ENV
set -a
# shellcheck disable=SC1090
. "$LAB_ENV"
set +a

wineboot -i >"$work/wineboot.log" 2>&1 || { cat "$work/wineboot.log"; exit 1; }
wineserver -w
lap "Wine prefix ($(wine --version))"

bash "$repo/.ci/wine/build-shim.sh" "$WINEPREFIX/drive_c/windows/system32"
GOOS=windows GOARCH=amd64 go vet -tags wine . ./internal/sspi
GOOS=windows GOARCH=amd64 go test -c -tags wine -o "$work/negotiate.test.exe" .
GOOS=windows GOARCH=amd64 go build -o "$work/negcurl.exe" ./examples/negcurl
lap "shim DLL, test binary and negcurl.exe"

kinitcc="FILE:$work/kinit.cc"
printf '%s\n' "$LAB_PASSWORD" | kinit -c "$kinitcc" "$LAB_USER@$LAB_REALM" >/dev/null
cd "$work"
KRB5CCNAME="$kinitcc" WINE_KINIT_CCACHE=1 \
	wine "$work/negotiate.test.exe" -test.run '^TestWine' -test.v -test.count=1 -test.timeout=5m
lap "default credentials (ccache from kinit)"
# negcurl -u : on Windows authenticates as the logged-on user through SSPI.
# Wine's Negotiate package sends raw Kerberos, never SPNEGO (FIELD-NOTES),
# which is how the -v output tells SSPI from the pure-Go path.
KRB5CCNAME="$kinitcc" wine "$work/negcurl.exe" -u : --negotiate -v "$LAB_HTTP_URL/krb/whoami" >"$work/negcurl.out" 2>"$work/negcurl.err" ||
	{ cat "$work/negcurl.err"; echo "negcurl.exe -u : failed"; exit 1; }
cat "$work/negcurl.err"
head -n 1 "$work/negcurl.out" | grep -qx "$LAB_USER@$LAB_REALM" || { cat "$work/negcurl.out"; echo "negcurl.exe -u : did not authenticate as $LAB_USER@$LAB_REALM"; exit 1; }
grep -q 'bare Kerberos token (no SPNEGO wrapper)' "$work/negcurl.err" || { echo "negcurl.exe -u : did not send Wine SSPI's bare Kerberos token: the pure-Go path answered"; exit 1; }
lap "negcurl.exe -u : (SSPI, logged-on user)"
KRB5CCNAME="FILE:$work/scratch.cc" \
	wine "$work/negotiate.test.exe" -test.run '^TestWine' -test.v -test.count=1 -test.timeout=5m
lap "explicit credentials"
echo "wine tier passed"
