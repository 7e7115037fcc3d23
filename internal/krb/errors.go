// This file maps KRB-ERROR messages (RFC 4120 §5.9.1) from a KDC or a
// server onto the gss sentinel errors, keeping the detail a caller or an
// administrator needs (error code, principal, clock skew).

package krb

import (
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// Error is a KRB-ERROR received from a KDC or a server, or a local check
// that fails in the same way (a clock skew seen in a KDC reply). Err is the
// gss sentinel the code maps to, so errors.Is(err, gss.ErrClockSkew) and
// the like work on any error wrapping an *Error.
//
// The message carries the code, its name, the principal concerned and the
// KDC's e-text; never a key, ticket or password.
type Error struct {
	Code      int32         // RFC 4120 §7.5.9 error code
	Name      string        // e.g. "KDC_ERR_S_PRINCIPAL_UNKNOWN"
	Principal string        // the SPN or client principal concerned, if known
	Skew      time.Duration // for KRB_AP_ERR_SKEW: peer's time minus ours
	Text      string        // the peer's e-text, if any
	Err       error         // the gss sentinel
}

// Error implements the error interface.
func (e *Error) Error() string {
	msg := "negotiate: kerberos error " + e.Name
	if e.Principal != "" {
		msg += " for " + e.Principal
	}
	if e.Code == errorcode.KRB_AP_ERR_SKEW && e.Skew != 0 {
		msg += fmt.Sprintf(" (clock skew %v)", e.Skew.Round(time.Second))
	}
	if e.Text != "" {
		msg += fmt.Sprintf(": %q", e.Text)
	}
	if e.Code == errorcode.KDC_ERR_ETYPE_NOSUPP {
		msg += etypeNoSuppHint
	}
	return msg
}

// etypeNoSuppHint explains KDC_ERR_ETYPE_NOSUPP, which names no enctype.
const etypeNoSuppHint = " (the KDC has no key for the principal in any encryption type we asked for; " +
	"we ask for AES (aes256/aes128-cts-hmac-sha1-96, and the RFC 8009 aes256-cts-hmac-sha384-192 and " +
	"aes128-cts-hmac-sha256-128) unless krb5.conf's default_tkt_enctypes, default_tgs_enctypes or " +
	"permitted_enctypes say otherwise, and RC4 (arcfour-hmac) only when they list it: an RC4-only " +
	"account needs arcfour-hmac listed there, or better AES keys (Active Directory: " +
	"msDS-SupportedEncryptionTypes and a password change))"

// Unwrap returns the gss sentinel.
func (e *Error) Unwrap() error { return e.Err }

// sentinelFor maps a KRB-ERROR code to a gss sentinel. Codes with no
// better fit mean the peer refused the request: gss.ErrRejected.
func sentinelFor(code int32) error {
	switch code {
	case errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN:
		return gss.ErrUnknownPrincipal
	case errorcode.KDC_ERR_PREAUTH_FAILED, errorcode.KRB_AP_ERR_BAD_INTEGRITY:
		// On an AS exchange both mean a wrong password or key
		// (RFC 4120 §3.1.3, MS-KILE §3.3.5.7.1).
		return gss.ErrRejected
	case errorcode.KRB_AP_ERR_SKEW, errorcode.KRB_AP_ERR_TKT_NYV:
		return gss.ErrClockSkew
	case errorcode.KDC_ERR_KEY_EXPIRED, errorcode.KDC_ERR_NAME_EXP,
		errorcode.KDC_ERR_SERVICE_EXP, errorcode.KRB_AP_ERR_TKT_EXPIRED,
		errorcode.KDC_ERR_CLIENT_REVOKED, errorcode.KDC_ERR_TGT_REVOKED:
		return gss.ErrCredentialsExpired
	default:
		return gss.ErrRejected
	}
}

// errorName returns the RFC 4120 §7.5.9 name of code.
func errorName(code int32) string {
	// gokrb5's Lookup returns "(N) NAME Description" for known codes.
	s := errorcode.Lookup(code)
	if strings.HasPrefix(s, "(") {
		if f := strings.Fields(s); len(f) >= 2 {
			return f[1]
		}
	}
	return fmt.Sprintf("KRB_ERROR_%d", code)
}

// newError converts a KRB-ERROR. principal names what the request was
// about (the SPN asked for, or the client); now is the local clock, for
// the skew of KRB_AP_ERR_SKEW.
func newError(ke messages.KRBError, principal string, now time.Time) *Error {
	e := &Error{
		Code:      ke.ErrorCode,
		Name:      errorName(ke.ErrorCode),
		Principal: principal,
		Text:      ke.EText,
		Err:       sentinelFor(ke.ErrorCode),
	}
	if ke.ErrorCode == errorcode.KRB_AP_ERR_SKEW && !ke.STime.IsZero() {
		stime := ke.STime.Add(time.Duration(ke.Susec) * time.Microsecond)
		e.Skew = stime.Sub(now)
	}
	return e
}
