package negotiate

import (
	"fmt"
	"net"
)

// SPNPolicy decides the service principal name (SPN) a Kerberos ticket is
// asked for. The zero value gives "HTTP/<host>", the host lower-cased and
// without port, as browsers, curl and .NET do. The request's Host header is
// never changed, whatever the SPN.
type SPNPolicy struct {
	// Hosts maps a host name (lower-case, without port) to the SPN to use
	// for it, for services registered under another name (a load
	// balancer's, say). An entry for an IP literal makes it usable.
	Hosts map[string]string
	// Service is the service class; "" means "HTTP".
	Service string
	// IncludePort appends ":port" when the URL names a port other than the
	// scheme's default (HTTP/host:8443), as some services register.
	IncludePort bool
	// Canonicalize follows DNS CNAME records to the canonical host name
	// before forming the SPN, as MIT Kerberos's dns_canonicalize_hostname
	// does. Results are cached for the life of the Transport.
	Canonicalize bool
	// Resolver looks up CNAME records; nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// MutualAuth is the policy for Kerberos mutual authentication: the server
// proving its identity with the AP-REP in its final Negotiate token (RFC
// 4559 §5, RFC 4120 §3.2.5).
type MutualAuth int

const (
	// MutualRequired, the zero value: ask the server to prove its identity,
	// and when it does not (no final token, a bad one, or an incomplete
	// context) do not hand its response to the caller: close it and fail
	// with ErrMutualAuth.
	MutualRequired MutualAuth = iota
	// MutualOptional: ask, verify a final token when the server sends one
	// (a bad one still fails), accept a response without one.
	MutualOptional
	// MutualDisabled: do not ask.
	MutualDisabled
)

func (m MutualAuth) String() string {
	switch m {
	case MutualRequired:
		return "required"
	case MutualOptional:
		return "optional"
	case MutualDisabled:
		return "disabled"
	}
	return fmt.Sprintf("MutualAuth(%d)", int(m))
}
