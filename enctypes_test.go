package negotiate_test

import (
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/authscheme"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// TestAESSHA2Service: a service keyed only with the RFC 8009 enctypes
// (aes256-cts-hmac-sha384-192 and aes128-cts-hmac-sha256-128), so that the
// ticket, the session key, the subkeys and the AP-REP all use them;
// mutual authentication and a connection-bound server (SPNEGO MICs) work.
func TestAESSHA2Service(t *testing.T) {
	for _, et := range []int32{kdc.AES256SHA384, kdc.AES128SHA256} {
		k := newKDC(t, nil)
		kt := k.AddService("HTTP/localhost", et)
		s := kerberosServer(t, k, httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{SPN: "HTTP/localhost", Keytab: kt, ConnectionBound: true}})
		tr := krbTransport(t, k, krbAlice())
		tr.Mutual = negotiate.MutualRequired
		for i := range 2 {
			resp, legs, err := legsOf(t, tr, "GET", s.URL, nil)
			if err != nil {
				t.Fatalf("enctype %d, request %d: %v", et, i, err)
			}
			if resp.StatusCode != 200 || resp.Header.Get("X-User") != "alice@"+realm {
				t.Fatalf("enctype %d, request %d: status %d user %q (%v)", et, i, resp.StatusCode, resp.Header.Get("X-User"), negotiate.ResponseError(resp))
			}
			if i == 0 {
				d, err := authscheme.DescribeToken("Negotiate", legs[len(legs)-1].Sent)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[int32]string{kdc.AES256SHA384: "(20)", kdc.AES128SHA256: "(19)"}[et]; strings.Count(d, want) < 2 {
					t.Errorf("enctype %d: token %s; want the ticket and the authenticator in %s", et, d, want)
				}
			}
		}
	}
}
