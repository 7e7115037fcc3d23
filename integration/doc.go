// Package integration holds the real-peer test suite: negotiate.Transport,
// through its public API only, against the lab of .ci/lab (an MIT KDC,
// Apache with mod_auth_gssapi and gss-ntlmssp, and Squid on 127.0.0.1).
//
// The tests build only with the "integration" tag and read the lab's
// environment from the file that LAB_ENV names:
//
//	bash .ci/lab/up.sh /tmp/lab
//	LAB_ENV=/tmp/lab/lab.env go test -count=1 -tags integration -v ./integration/...
//
// See README.md in this directory.
package integration
