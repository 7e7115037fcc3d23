// This file implements Describe, the curl -v style diagnostic of a SPNEGO
// token. It reports structure and sizes only; the inner mechanism token is
// handed back for the mechanism's own describer, never printed here.

package spnego

import (
	"encoding/asn1"
	"fmt"
	"strings"
)

// A Token describes one SPNEGO token for diagnostics. The zero value
// describes nothing.
type Token struct {
	// Kind is "negTokenInit", "negTokenInit2" (an acceptor's hint,
	// MS-SPNG §2.2.1), "negTokenResp", or "raw" for a bare Kerberos or
	// NTLMSSP token sent where SPNEGO was expected.
	Kind string
	// MechTypes is a negTokenInit's mechanism list, in order.
	MechTypes []asn1.ObjectIdentifier
	// HasNegState reports whether a negTokenResp carried negState.
	HasNegState bool
	// NegState is the negTokenResp's negState when HasNegState is set.
	NegState NegState
	// SupportedMech is a negTokenResp's supportedMech, or for a raw token
	// the mechanism it appears to belong to; nil when absent.
	SupportedMech asn1.ObjectIdentifier
	// MechToken is the inner mechanism token: a negTokenInit's mechToken, a
	// negTokenResp's responseToken, or the whole of a raw token. It is nil
	// when absent and non-nil (perhaps empty) when present.
	MechToken []byte
	// HasMechListMIC reports whether a mechListMIC is present, and
	// MechListMICLen gives its length. The MIC itself is not kept.
	HasMechListMIC bool
	MechListMICLen int
	// HintName is a negTokenInit2's negHints.hintName, if any.
	HintName string
}

// Describe decodes token for diagnostics. It accepts everything the
// Initiator accepts, including bare mechanism tokens. Errors wrap
// gss.ErrMalformedToken.
func Describe(token []byte) (*Token, error) {
	if m := rawMech(token); m != nil {
		return &Token{Kind: "raw", SupportedMech: m, MechToken: token}, nil
	}
	init, resp, err := decodeToken(token)
	if err != nil {
		return nil, err
	}
	if init != nil {
		t := &Token{Kind: "negTokenInit", MechTypes: init.mechTypes, MechToken: init.mechToken, HintName: init.hintName}
		if init.init2 {
			t.Kind = "negTokenInit2"
		}
		t.HasMechListMIC, t.MechListMICLen = init.mechListMIC != nil, len(init.mechListMIC)
		return t, nil
	}
	return &Token{
		Kind:           "negTokenResp",
		HasNegState:    resp.hasNegState,
		NegState:       resp.negState,
		SupportedMech:  resp.supportedMech,
		MechToken:      resp.responseToken,
		HasMechListMIC: resp.mechListMIC != nil,
		MechListMICLen: len(resp.mechListMIC),
	}, nil
}

// String returns a one-line summary such as
// "negTokenResp negState=request-mic supportedMech=NTLMSSP".
func (t *Token) String() string {
	var b strings.Builder
	b.WriteString(t.Kind)
	if len(t.MechTypes) > 0 {
		names := make([]string, len(t.MechTypes))
		for i, m := range t.MechTypes {
			names[i] = MechName(m)
		}
		fmt.Fprintf(&b, " mechTypes=[%s]", strings.Join(names, " "))
	}
	if t.HasNegState {
		fmt.Fprintf(&b, " negState=%v", t.NegState)
	}
	if t.SupportedMech != nil {
		fmt.Fprintf(&b, " supportedMech=%s", MechName(t.SupportedMech))
	}
	if t.MechToken != nil {
		name := "responseToken"
		switch t.Kind {
		case "negTokenInit", "negTokenInit2":
			name = "mechToken"
		case "raw":
			name = "token"
		}
		fmt.Fprintf(&b, " %s=%d bytes", name, len(t.MechToken))
	}
	if t.HasMechListMIC {
		fmt.Fprintf(&b, " mechListMIC=%d bytes", t.MechListMICLen)
	}
	if t.HintName != "" {
		fmt.Fprintf(&b, " hintName=%q", t.HintName)
	}
	return b.String()
}
