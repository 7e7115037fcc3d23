// This file adds gokrb5's SPNEGO HTTP client (spnego.Client) to the
// benchmarks and the round-trip tests, as the Kerberos peer.

package bench

import (
	"net/http"
	"testing"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

func init() {
	cases = append(cases,
		clientCase{"gokrb5", krbServer, newGokrb5},
		clientCase{"gokrb5-bound", krbBoundServer, newGokrb5},
	)
}

// newGokrb5 logs in with gokrb5's client and returns its SPNEGO HTTP
// client over e's base transport, for the service our servers run as.
func newGokrb5(tb testing.TB, e *env) client {
	tb.Helper()
	conf, err := config.Load(e.kdc.Krb5ConfPath())
	if err != nil {
		tb.Fatal(err)
	}
	cl := krbclient.NewWithPassword(user, realm, password, conf, krbclient.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		tb.Fatalf("gokrb5 login: %v", err)
	}
	tb.Cleanup(cl.Destroy)
	return spnego.NewClient(cl, &http.Client{Transport: e.base}, "HTTP/localhost")
}
