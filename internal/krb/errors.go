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
// The message says the cause in plain words ("KDC rejected the password
// for alice@EXAMPLE.COM") with the code's name after it; the code itself,
// the principal and the peer's e-text stay in the fields. Never a key,
// ticket or password.
type Error struct {
	Code      int32         // RFC 4120 §7.5.9 error code
	Name      string        // e.g. "KDC_ERR_S_PRINCIPAL_UNKNOWN"
	Principal string        // the SPN or client principal concerned, if known
	Skew      time.Duration // for KRB_AP_ERR_SKEW: peer's time minus ours
	Text      string        // the peer's e-text, if any
	Err       error         // the gss sentinel
	// Login reports that the error ended a login (an AS exchange), so that
	// a failed integrity check means a wrong password or key; Keytab, that
	// the key came from a keytab rather than a password.
	Login, Keytab bool
}

// Error implements the error interface.
func (e *Error) Error() string {
	if cause := e.cause(); cause != "" {
		msg := "negotiate: " + cause + " (" + e.Name + ")"
		if e.Code == errorcode.KDC_ERR_ETYPE_NOSUPP {
			msg += etypeNoSuppHint
		}
		return msg
	}
	msg := "negotiate: kerberos error " + e.Name
	if e.Principal != "" {
		msg += " for " + e.Principal
	}
	if e.Text != "" {
		msg += fmt.Sprintf(": %q", e.Text)
	}
	if e.Code == errorcode.KDC_ERR_ETYPE_NOSUPP {
		msg += etypeNoSuppHint
	}
	return msg
}

// cause says what the error means in plain words, "" for codes without a
// plain meaning (the name and e-text then say it).
func (e *Error) cause() string {
	p := e.Principal
	if p == "" {
		p = "the principal"
	}
	secret := "password"
	if e.Keytab {
		secret = "keytab's key"
	}
	switch e.Code {
	case errorcode.KDC_ERR_PREAUTH_FAILED:
		return fmt.Sprintf("KDC rejected the %s for %s", secret, p)
	case errorcode.KRB_AP_ERR_BAD_INTEGRITY:
		if e.Login {
			return fmt.Sprintf("KDC rejected the %s for %s", secret, p)
		}
		return fmt.Sprintf("integrity check failed for %s: the keys do not match", p)
	case errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
		return fmt.Sprintf("KDC does not know the user %s", p)
	case errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN:
		return fmt.Sprintf("KDC does not know the service principal %s", p)
	case errorcode.KRB_AP_ERR_MODIFIED:
		return fmt.Sprintf("server cannot decrypt the ticket for %s: its keytab lacks the KDC's current key", p)
	case errorcode.KRB_AP_ERR_SKEW:
		if e.Skew != 0 {
			return fmt.Sprintf("clock skew of %v is too great for %s", e.Skew.Round(time.Second), p)
		}
		return fmt.Sprintf("clock skew is too great for %s", p)
	case errorcode.KRB_AP_ERR_TKT_NYV:
		return fmt.Sprintf("ticket for %s is not valid yet: the clocks differ", p)
	case errorcode.KDC_ERR_KEY_EXPIRED:
		return fmt.Sprintf("password of %s has expired", p)
	case errorcode.KDC_ERR_CLIENT_REVOKED:
		return fmt.Sprintf("account %s is disabled or locked", p)
	case errorcode.KRB_AP_ERR_TKT_EXPIRED:
		return fmt.Sprintf("ticket for %s has expired", p)
	case errorcode.KDC_ERR_ETYPE_NOSUPP:
		return fmt.Sprintf("KDC shares no encryption type with this client for %s", p)
	case errorcode.KDC_ERR_BADOPTION:
		return fmt.Sprintf("KDC refused the ticket options asked for %s", p)
	case errorcode.KDC_ERR_POLICY:
		return fmt.Sprintf("KDC policy refused the request for %s", p)
	}
	return ""
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
