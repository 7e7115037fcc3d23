// This file turns Negotiate and NTLM tokens into plain words for
// diagnostics (a curl -v style client prints them). Nothing here ever
// reveals a password, a key, a session key, a checksum or the encrypted part
// of a ticket.

package authscheme

import (
	"errors"
	"fmt"
	"strings"

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
