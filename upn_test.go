package negotiate_test

import (
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// TestUPNLogin: Password with a UPN whose suffix is no configured realm
// logs in with an enterprise name at the default realm's KDC (RFC 6806);
// the server sees the canonical principal.
func TestUPNLogin(t *testing.T) {
	k := newKDC(t, nil)
	k.AddUser("carol", "carol-pw")
	k.SetUPN("carol", "Carol@UPN.example")
	s := kerberosServer(t, k, httptestutil.Config{})
	tr := krbTransport(t, k, negotiate.Password("carol@upn.example", "carol-pw"))
	tr.DisableNTLM = true
	resp, _, err := legsOf(t, tr, "GET", s.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-User") != "carol@"+realm {
		t.Fatalf("status %d user %q; want 200 carol@%s (%v)", resp.StatusCode, resp.Header.Get("X-User"), realm, negotiate.ResponseError(resp))
	}
}
