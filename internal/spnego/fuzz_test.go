// This file holds the fuzz tests: the decoder, the initiator and the
// acceptor must never panic on hostile tokens, and what they accept must be
// consistent.

package spnego

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// seedTokens returns real tokens of every kind: a full steering exchange
// and a Kerberos one, plus gss-ntlmssp's token. It panics if the toy
// exchanges fail, which TestExchange would report properly.
func seedTokens() [][]byte {
	var seeds [][]byte
	steer, _ := base64.StdEncoding.DecodeString(gssNTLMSSPSteer)
	seeds = append(seeds, steer)
	for _, acc := range []*Acceptor{
		{Mechs: fakeAcceptor(2, "s").Mechs, Prefer: []asn1.ObjectIdentifier{OIDNTLM}, RequireMIC: true},
		fakeAcceptor(2, "s"),
	} {
		ini := NewInitiator([]Mech{krbMech(2, "s", nil, nil, nil), ntlmMech("s", nil, nil)})
		res := exchange(&testing.T{}, ini, acc.NewContext(), func(_ string, _ int, tok []byte) []byte {
			seeds = append(seeds, tok)
			return tok
		})
		if res.clientErr != nil || res.serverErr != nil {
			panic("seed exchange failed: " + errors.Join(res.clientErr, res.serverErr).Error())
		}
	}
	return seeds
}

func FuzzDecode(f *testing.F) {
	for _, s := range seedTokens() {
		f.Add(s)
	}
	f.Add([]byte("NTLMSSP\x00\x02\x00\x00\x00"))
	f.Add([]byte{0x60, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Describe(b)
		if err != nil {
			if !errors.Is(err, gss.ErrMalformedToken) {
				t.Fatalf("Describe(%x) = %v; want ErrMalformedToken", b, err)
			}
			return
		}
		_ = d.String()
		// A NegTokenResp re-encodes to something that decodes the same.
		_, r, err := decodeToken(b)
		if err != nil || r == nil {
			return
		}
		enc, err := r.encode()
		if err != nil {
			t.Fatalf("encode(decode(%x)) error: %v", b, err)
		}
		_, r2, err := decodeToken(enc)
		if err != nil || r2.hasNegState != r.hasNegState || r2.negState != r.negState ||
			!r2.supportedMech.Equal(r.supportedMech) || !bytes.Equal(r2.responseToken, r.responseToken) ||
			!bytes.Equal(r2.mechListMIC, r.mechListMIC) {
			t.Fatalf("round trip of %x: %+v, %v; want %+v", b, r2, err, r)
		}
	})
}

func FuzzInitiatorStep(f *testing.F) {
	seeds := seedTokens()
	for i := 1; i < len(seeds); i++ {
		f.Add(seeds[i], seeds[(i+2)%len(seeds)])
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ctx := context.Background()
		ini := NewInitiator([]Mech{krbMech(2, "s", nil, nil, nil), ntlmMech("s", nil, nil)})
		if _, _, err := ini.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{a, b} {
			out, cont, err := ini.Step(ctx, in)
			if err != nil || !cont {
				return
			}
			if len(out) == 0 {
				t.Fatalf("Step(%x) = no token, continue, nil", in)
			}
		}
	})
}

func FuzzAcceptor(f *testing.F) {
	seeds := seedTokens()
	for i := range seeds {
		f.Add(seeds[i], seeds[(i+2)%len(seeds)], false)
		f.Add(seeds[i], seeds[(i+1)%len(seeds)], true)
	}
	f.Fuzz(func(t *testing.T, a, b []byte, requireMIC bool) {
		acc := fakeAcceptor(2, "s")
		acc.RequireMIC = requireMIC
		c := acc.NewContext()
		for _, in := range [][]byte{a, b} {
			out, done, err := c.Accept(in)
			if err != nil {
				if _, r, derr := decodeToken(out); derr != nil || r.negState != Reject {
					t.Fatalf("Accept(%x) failed with %v but out is not a reject token", in, err)
				}
				return
			}
			if done {
				return
			}
		}
	})
}
