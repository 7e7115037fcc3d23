package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate/httptestutil"
)

// TestImpersonate: --impersonate USER with the service account's password
// or keytab reaches the server as USER (S4U2Self and S4U2Proxy at the
// test KDC); the KDC's refusal is an authentication failure that names it.
func TestImpersonate(t *testing.T) {
	k, s, conf := newKerberos(t, nil, httptestutil.Config{})
	k.AddUser("websvc", "websvc-pw")
	k.SetConstrainedDelegation("websvc", true, "HTTP/localhost")
	k.AddUser("plainsvc", "plainsvc-pw")
	keytab := filepath.Join(t.TempDir(), "websvc.keytab")
	if err := k.WriteKeytab(keytab, "websvc"); err != nil {
		t.Fatal(err)
	}
	for _, creds := range [][]string{{"-u", "websvc:websvc-pw"}, {"-u", "websvc", "--keytab", keytab}} {
		args := append([]string{"-v", "-i", "--krb5-config", conf, "--impersonate", "alice", s.URL}, creds...)
		r := negcurl(t, runOpts{}, args...)
		r.check(t, 0, `(?s)credentials: alice \(impersonated by websvc.*S4U2Self.*S4U2Proxy.*Kerberos AP-REQ: ticket for HTTP/localhost@EXAMPLE\.TEST.*mutual authentication: verified`)
		if !strings.Contains(r.stdout, "X-User: alice@EXAMPLE.TEST") {
			t.Errorf("%v: stdout lacks the impersonated user; got:\n%s", creds, r.stdout)
		}
	}
	r := negcurl(t, runOpts{}, "--krb5-config", conf, "--impersonate", "alice", "-u", "plainsvc:plainsvc-pw", s.URL)
	r.check(t, 4, `protocol transition`)
	negcurl(t, runOpts{}, "--impersonate", "alice", s.URL).check(t, 2, `--impersonate needs`)
}
