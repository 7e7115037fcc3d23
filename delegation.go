package negotiate

import "fmt"

// Delegation says when Kerberos delegates the client's credentials (a
// forwarded TGT, RFC 4121 §4.1.1.1) to the service, so that it can act as
// the user towards other services, as curl's --delegation and
// requests-kerberos's delegate=True do. NTLM cannot delegate and ignores it.
// Through Windows' SSPI, DelegatePolicy and DelegateAlways both ask for
// delegation, and Windows grants it only where the KDC allows it.
type Delegation int

const (
	// DelegateNone, the zero value: never delegate.
	DelegateNone Delegation = iota
	// DelegatePolicy: delegate only to services the KDC marks as trusted
	// for delegation (the ok-as-delegate ticket flag), as Windows does.
	DelegatePolicy
	// DelegateAlways: always delegate. A ticket-granting ticket that is not
	// forwardable then fails the request with ErrNotForwardable rather
	// than falling back to NTLM, which could not delegate.
	DelegateAlways
)

func (d Delegation) String() string {
	switch d {
	case DelegateNone:
		return "none"
	case DelegatePolicy:
		return "policy"
	case DelegateAlways:
		return "always"
	}
	return fmt.Sprintf("Delegation(%d)", int(d))
}
