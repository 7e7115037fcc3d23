// This file turns authentication tokens and errors into plain words for
// diagnostics (a curl -v style client prints them): what a Negotiate or NTLM
// token holds on the wire, and the detail of a Kerberos failure a person
// can act on. Nothing here ever reveals a password, a key, a session key, a
// checksum or the encrypted part of a ticket.

package negotiate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/negotiate-go/negotiate/internal/mech"
)

// DescribeToken returns a plain-text description, on one or more lines
// ending in newlines, of token as sent or received under scheme: "NTLM"
// for a raw NTLMSSP message, "Negotiate" for a SPNEGO token (RFC 4178) or
// the bare Kerberos or NTLMSSP token some servers and clients send under
// Negotiate. Scheme names are case-insensitive.
//
// The description says, for SPNEGO, the token kind, negState, the
// mechanism list and the chosen mechanism, and describes the inner token
// on the lines that follow, indented; for NTLM, the message type, the
// flags by name, domain, user and workstation, the target info AV pairs,
// and whether a MIC and channel bindings were sent; for Kerberos, the
// message type, the ticket's service principal, realm and encryption type,
// and for a KRB-ERROR its code. Ticket times are inside the encrypted part
// of a ticket and are not shown.
//
// It never includes a secret: not a password or hash, a session key, a
// checksum, a MIC, or a ticket's encrypted part. Basic credentials are the
// password itself and are never described.
//
// A token that cannot be decoded gives an error wrapping ErrMalformedToken;
// the description returned with it holds what was decoded before the
// fault, possibly nothing. DescribeToken never panics.
func DescribeToken(scheme string, token []byte) (string, error) {
	if len(token) == 0 {
		return "", fmt.Errorf("negotiate: empty %s token: %w", scheme, ErrMalformedToken)
	}
	var b strings.Builder
	switch {
	case strings.EqualFold(scheme, "NTLM"):
		err := mech.DescribeNTLM(&b, "", token)
		return b.String(), err
	case strings.EqualFold(scheme, "Negotiate"):
		err := mech.DescribeSPNEGO(&b, token)
		return b.String(), err
	case strings.EqualFold(scheme, "Basic"):
		return "", errors.New("negotiate: Basic credentials are not described: they are the password")
	}
	return "", fmt.Errorf("negotiate: cannot describe a token of scheme %q", scheme)
}

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
