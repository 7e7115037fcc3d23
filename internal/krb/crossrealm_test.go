// Cross-realm tests against three in-process KDCs that trust each other
// in a line (A trusts B, B trusts C) and a realm D that nobody trusts.

package krb

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
)

// realmsConfig returns a configuration knowing every KDC of ks (the first
// is the default realm), each realm's hosts under its lower-cased name, and
// realm D.TEST with the first KDC's address (so that asking for it reaches
// a KDC that has no trust for it).
func realmsConfig(t *testing.T, ks ...*kdc.KDC) *config.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n udp_preference_limit = 1\n[realms]\n", ks[0].Realm())
	for _, k := range ks {
		fmt.Fprintf(&b, " %s = {\n  kdc = %s\n }\n", k.Realm(), k.Addr())
	}
	b.WriteString("[domain_realm]\n")
	for _, k := range ks {
		fmt.Fprintf(&b, " .%s = %s\n", strings.ToLower(k.Realm()), k.Realm())
	}
	b.WriteString(" .d.test = D.TEST\n")
	cfg, err := config.NewFromString(b.String())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCrossRealm(t *testing.T) {
	a := kdc.New(t, "A.TEST", nil)
	b := kdc.New(t, "B.TEST", nil)
	c := kdc.New(t, "C.TEST", nil)
	a.AddUser("alice", "a-pw")
	ktB := kdcKeytab(b.AddService("HTTP/www.b.test"))
	ktC := kdcKeytab(c.AddService("HTTP/www.c.test"))
	a.Trust(b)
	b.Trust(c)
	// A reaches C through B, as [capaths] would say.
	a.SetServiceReferral("krbtgt/C.TEST", "B.TEST")
	cl := NewPasswordClient("alice", "A.TEST", "a-pw", realmsConfig(t, a, b, c))

	for _, tt := range []struct {
		spn string
		kt  *keytab.Keytab
	}{{"HTTP/www.b.test", ktB}, {"HTTP/www.c.test", ktC}} {
		tok, _, err := NewInitiator(cl, tt.spn, InitiatorOptions{Mutual: true}).Step(testCtx(t), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.spn, err)
		}
		req := acceptAPReq(t, tok, tt.kt)
		if p := req.Ticket.DecryptedEncPart; p.CName.PrincipalNameString() != "alice" || p.CRealm != "A.TEST" {
			t.Errorf("%s: ticket for %s@%s; want alice@A.TEST", tt.spn, p.CName.PrincipalNameString(), p.CRealm)
		}
	}
	if n := b.Stats().TGSBySPN["krbtgt/C.TEST"]; n != 1 {
		t.Errorf("B saw %d requests for krbtgt/C.TEST; want 1 (the second hop)", n)
	}

	// D.TEST: A's KDC has no krbtgt/D.TEST.
	_, _, err := NewInitiator(cl, "HTTP/www.d.test", InitiatorOptions{}).Step(testCtx(t), nil)
	if !errors.Is(err, ErrNoRealmPath) || !errors.Is(err, gss.ErrUnknownPrincipal) {
		t.Fatalf("untrusted realm: %v; want ErrNoRealmPath and ErrUnknownPrincipal", err)
	}
}
