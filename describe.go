// This file gives the details of a Kerberos failure a person can act on:
// the clock skew, the principal the KDC did not know. (Tokens are described
// by package authscheme.)

package negotiate

import (
	"errors"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb"
)

// ClockSkew reports the difference between the clock of the KDC or server
// and the local clock (theirs minus ours) when err, or an error it wraps,
// is a Kerberos clock-skew failure whose size is known: a KRB_AP_ERR_SKEW
// carrying the peer's time, or a KDC reply whose time is too far from the
// local clock. It returns 0, false otherwise. errors.Is(err, ErrClockSkew)
// tells a skew failure whatever its size is known.
func ClockSkew(err error) (time.Duration, bool) {
	var ke *krb.Error
	if !errors.As(err, &ke) || ke.Code != errorcode.KRB_AP_ERR_SKEW || ke.Skew == 0 {
		return 0, false
	}
	return ke.Skew, true
}

// UnknownPrincipal returns the Kerberos principal that the KDC reported
// unknown in err, or an error it wraps, and ok true; "", false for any
// other error. It is a client (user@REALM) or a service principal with its
// realm (HTTP/host@REALM): for a service, the SPN that was asked for,
// usually a wrong one (see SPNPolicy). The realm is absent when the KDC's
// error did not name it.
func UnknownPrincipal(err error) (principal string, ok bool) {
	var ke *krb.Error
	if !errors.As(err, &ke) || !errors.Is(ke.Err, gss.ErrUnknownPrincipal) {
		return "", false
	}
	return ke.Principal, true
}
