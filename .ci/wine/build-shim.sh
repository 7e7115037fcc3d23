#!/usr/bin/env bash
# Builds bcryptprimitives.dll (see bcryptprimitives.def) with
# binutils-mingw-w64-x86-64 into the directory given as $1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-shim.sh OUTDIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
x86_64-w64-mingw32-as -o "$tmp/dllmain.o" "$here/dllmain.s"
x86_64-w64-mingw32-dlltool --def "$here/bcryptprimitives.def" \
	--dllname bcryptprimitives.dll --output-exp "$tmp/bcp.exp"
x86_64-w64-mingw32-ld -shared --entry DllMain --subsystem windows \
	-o "$out/bcryptprimitives.dll" "$tmp/bcp.exp" "$tmp/dllmain.o"
