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

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb"
	"github.com/negotiate-go/negotiate/internal/ntlm"
	"github.com/negotiate-go/negotiate/internal/spnego"
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
		err := describeNTLM(&b, "", token)
		return b.String(), err
	case strings.EqualFold(scheme, "Negotiate"):
		err := describeSPNEGO(&b, token)
		return b.String(), err
	case strings.EqualFold(scheme, "Basic"):
		return "", errors.New("negotiate: Basic credentials are not described: they are the password")
	}
	return "", fmt.Errorf("negotiate: cannot describe a token of scheme %q", scheme)
}

// describeSPNEGO writes a line for the SPNEGO wrapper and then, indented,
// the description of the mechanism token it carries.
func describeSPNEGO(b *strings.Builder, token []byte) error {
	t, err := spnego.Describe(token)
	if err != nil {
		return err
	}
	if t.Kind == "raw" {
		fmt.Fprintf(b, "bare %s token (no SPNEGO wrapper)\n", spnego.MechName(t.SupportedMech))
	} else {
		fmt.Fprintf(b, "SPNEGO %s\n", t)
	}
	inner := t.MechToken
	if len(inner) == 0 {
		return nil
	}
	// The mechanism of the inner token: a raw token's own, a
	// negTokenResp's supportedMech, or a negTokenInit's first (optimistic)
	// mechanism; failing those, what the token looks like.
	mech := t.SupportedMech
	if mech == nil && len(t.MechTypes) > 0 {
		mech = t.MechTypes[0]
	}
	switch {
	case strings.HasPrefix(string(inner), "NTLMSSP\x00"):
		return describeNTLM(b, "  ", inner)
	case mech != nil && (mech.Equal(spnego.OIDKerberos) || mech.Equal(spnego.OIDMSKerberos)),
		inner[0] == 0x60 || inner[0] == 0x6e || inner[0] == 0x6f || inner[0] == 0x7e:
		s, err := krb.Describe(inner)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "  %s\n", s)
		return nil
	}
	fmt.Fprintf(b, "  %s token of %d bytes, not decoded\n", spnego.MechName(mech), len(inner))
	return nil
}

// describeNTLM writes the decoded NTLM message, each line after indent.
func describeNTLM(b *strings.Builder, indent string, token []byte) error {
	m, err := ntlm.Describe(token)
	if err != nil {
		return err
	}
	for line := range strings.Lines(m.String()) {
		b.WriteString(indent)
		b.WriteString(line)
	}
	return nil
}

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
