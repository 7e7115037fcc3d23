// This file is constrained delegation for callers: Credentials that act for
// a user through a service's own Kerberos credentials (MS-SFU S4U2Self and
// S4U2Proxy, in internal/krb/s4u.go).

package negotiate

import "github.com/negotiate-go/negotiate/internal/mech"

// Typed refusals of constrained delegation by the KDC (see [Impersonate]).
// Each also matches ErrRejected, and the error wraps the KDC's error
// (KDC_ERR_BADOPTION).
var (
	// ErrDelegationNotAllowed: the service account may not delegate to the
	// target SPN (Active Directory: the SPN is not in its
	// msDS-AllowedToDelegateTo, "Trust this user for delegation to
	// specified services only").
	ErrDelegationNotAllowed = mech.ErrDelegationNotAllowed
	// ErrNoProtocolTransition: the service account is not trusted for
	// protocol transition ("Use any authentication protocol",
	// TRUSTED_TO_AUTH_FOR_DELEGATION), so its S4U2Self tickets are not
	// forwardable and cannot be used as evidence.
	ErrNoProtocolTransition = mech.ErrNoProtocolTransition
	// ErrUserNotDelegable: the user is "sensitive and cannot be delegated"
	// (or in Protected Users): the KDC gives no forwardable evidence
	// ticket for that user.
	ErrUserNotDelegable = mech.ErrUserNotDelegable
)

// impersonation is what Impersonate was given. The identity of such
// Credentials (which connections and tickets they may share) is the pair
// (the service's identity, user).
type impersonation struct {
	service *Credentials
	user    string
}

// Impersonate returns credentials that authenticate as user through the
// Kerberos credentials of service (a [Keytab], [Password], [CCache] or
// [DefaultCredentials] of a service account), by constrained delegation
// (MS-SFU): the KDC gives service a ticket for user to itself (S4U2Self,
// "protocol transition": user needs no password, the service vouches for
// having authenticated it somehow), then user's ticket for the server's
// SPN (S4U2Proxy). The server sees user, not the service.
//
// user is "name", "name@REALM" in the service's realm, or a user principal
// name "name@upn.suffix" that the KDC resolves. The KDC decides: the
// service account must be trusted for constrained delegation with protocol
// transition to the target SPN. Its refusals come as ErrDelegationNotAllowed,
// ErrNoProtocolTransition or ErrUserNotDelegable. Only Kerberos (Negotiate)
// can use such credentials: there is no NTLM, and the user's own TGT cannot
// be delegated further.
//
// The tickets are used like any other: mutual authentication, channel
// bindings and connection-bound authentication work as usual.
func Impersonate(service *Credentials, user string) *Credentials {
	var svc *mech.Credentials
	if service != nil {
		svc = &service.m
	}
	return &Credentials{m: mech.Impersonated(svc, user)}
}
