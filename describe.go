// This file gives the detail of a Kerberos failure a person can act on: the
// clock skew, the principal the KDC did not know. (Package authscheme
// describes tokens.)

package negotiate

import (
	"time"

	"github.com/negotiate-go/negotiate/internal/mech"
)

// ClockSkew reports the difference between the clock of the KDC or server
// and the local clock (theirs minus ours) when err, or an error it wraps,
// is a Kerberos clock-skew failure whose size is known: a KRB_AP_ERR_SKEW
// carrying the peer's time, or a KDC reply whose time is too far from the
// local clock. It returns 0, false otherwise. errors.Is(err, ErrClockSkew)
// tells a skew failure whatever its size is known.
func ClockSkew(err error) (time.Duration, bool) { return mech.ClockSkew(err) }

// UnknownPrincipal returns the Kerberos principal that the KDC reported
// unknown in err, or an error it wraps, and ok true; "", false for any
// other error. It is a client (user@REALM) or a service principal with its
// realm (HTTP/host@REALM): for a service, the SPN that was asked for,
// usually a wrong one (see SPNPolicy). The realm is absent when the KDC's
// error did not name it.
func UnknownPrincipal(err error) (principal string, ok bool) { return mech.UnknownPrincipal(err) }
