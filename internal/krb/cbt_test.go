// Tests of the KERB_AP_OPTIONS_CBT announcement (MS-KILE §3.2.5.8) in the
// authenticator, decoded with the session key and encoding/asn1 rather
// than with the code that built it.

package krb

import (
	"bytes"
	stdasn1 "encoding/asn1"
	"testing"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// adEntry is AuthorizationData's element (RFC 4120 §5.2.6), for
// encoding/asn1.
type adEntry struct {
	Type int32  `asn1:"explicit,tag:0"`
	Data []byte `asn1:"explicit,tag:1"`
}

func TestCBTAuthData(t *testing.T) {
	k, kt := newKDC(t, nil)
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	cb := &gss.ChannelBindings{ApplicationData: append([]byte("tls-server-end-point:"), bytes.Repeat([]byte{0xcd}, 48)...)}
	tests := []struct {
		name    string
		cb      *gss.ChannelBindings
		wantCBT bool
	}{
		{"with bindings", cb, true},
		{"without bindings", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInitiator(c, testSPN, InitiatorOptions{Mutual: true, ChannelBindings: tt.cb})
			tok, _, err := in.Step(testCtx(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			// acceptAPReq decrypts the ticket with the service key and the
			// authenticator with the ticket's session key.
			req := acceptAPReq(t, tok, kt)
			var found [][]byte
			for _, e := range req.Authenticator.AuthorizationData {
				if e.ADType == 143 {
					t.Errorf("ad-type 143 outside AD-IF-RELEVANT")
				}
				if e.ADType != 1 {
					continue
				}
				var inner []adEntry
				if rest, err := stdasn1.Unmarshal(e.ADData, &inner); err != nil || len(rest) != 0 {
					t.Fatalf("AD-IF-RELEVANT content: %v (%d bytes left)", err, len(rest))
				}
				for _, ie := range inner {
					if ie.Type == 143 {
						found = append(found, ie.Data)
					}
				}
			}
			if !tt.wantCBT {
				if len(found) != 0 || len(req.Authenticator.AuthorizationData) != 0 {
					t.Fatalf("authorization-data = %v; want none without bindings", req.Authenticator.AuthorizationData)
				}
				return
			}
			want := []byte{0x00, 0x40, 0x00, 0x00} // KERB_AP_OPTIONS_CBT, little-endian
			if len(found) != 1 || !bytes.Equal(found[0], want) {
				t.Fatalf("AD-AUTH-DATA-AP-OPTIONS = %x; want one element %x", found, want)
			}
		})
	}
}
