package gss

import "errors"

// Sentinel errors. Package negotiate re-exports each one under the same name,
// so mechanisms wrap these (with %w) and callers test them with errors.Is.
// None of their messages, nor any error that wraps them, may contain a token,
// a password, a key or a ticket.
var (
	// ErrMalformedToken: a token from the server could not be decoded.
	ErrMalformedToken = errors.New("negotiate: malformed token")
	// ErrNoCredentials: no credentials fit the mechanism (none configured,
	// no ticket cache, no keytab).
	ErrNoCredentials = errors.New("negotiate: no credentials")
	// ErrRejected: the server or the KDC rejected the credentials.
	ErrRejected = errors.New("negotiate: credentials rejected")
	// ErrMutualAuth: the server did not prove its identity as mutual
	// authentication requires.
	ErrMutualAuth = errors.New("negotiate: mutual authentication failed")
	// ErrClockSkew: the clocks of client and KDC or server differ by more
	// than the allowed skew.
	ErrClockSkew = errors.New("negotiate: clock skew too great")
	// ErrUnknownPrincipal: the KDC does not know the client or service
	// principal (for a service, usually a wrong SPN).
	ErrUnknownPrincipal = errors.New("negotiate: principal unknown to the KDC")
	// ErrCredentialsExpired: the password, ticket or ticket cache has expired
	// and cannot be renewed.
	ErrCredentialsExpired = errors.New("negotiate: credentials expired")
	// ErrKDCUnreachable: no KDC of the realm answered.
	ErrKDCUnreachable = errors.New("negotiate: KDC unreachable")
	// ErrNoSPN: no service principal name fits the target (an IP-literal
	// host, say) and none was configured.
	ErrNoSPN = errors.New("negotiate: no service principal name fits the host")
	// ErrUnsupportedMech: the server offered no mechanism we can use.
	ErrUnsupportedMech = errors.New("negotiate: no common mechanism")
)
