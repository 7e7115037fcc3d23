// Tests of UPN logins (enterprise names, RFC 6806) against the in-process
// KDC: canonicalization, client referrals and their bound.

package krb

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/config"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
)

func TestUPNLogin(t *testing.T) {
	k, kt := newKDC(t, nil)
	k.AddUser("carol", "c-pw")
	k.SetUPN("carol", "carol@upn.example")
	for _, c := range []*Client{
		// As Credentials pass a UPN: user and the upper-cased suffix as
		// the realm, which has no KDC in the configuration.
		NewPasswordClient("carol", "UPN.EXAMPLE", "c-pw", kdcConfig(k)),
		NewEnterpriseClient("carol@upn.example", "", "c-pw", kdcConfig(k)),
	} {
		in := NewInitiator(c, testSPN, InitiatorOptions{Mutual: true})
		tok, _, err := in.Step(testCtx(t), nil)
		if err != nil {
			t.Fatalf("Step as carol@upn.example = %v", err)
		}
		req := acceptAPReq(t, tok, kt)
		if got := req.Ticket.DecryptedEncPart.CName.PrincipalNameString(); got != "carol" {
			t.Errorf("ticket client = %q; want the canonical carol", got)
		}
		if got, want := c.Principal(), "carol@"+testRealm; got != want {
			t.Errorf("Principal() after login = %q; want %q", got, want)
		}
	}
	// A wrong password is still refused.
	c := NewPasswordClient("carol", "UPN.EXAMPLE", "wrong", kdcConfig(k))
	if _, _, err := NewInitiator(c, testSPN, InitiatorOptions{}).Step(testCtx(t), nil); !errors.Is(err, gss.ErrRejected) {
		t.Errorf("wrong password: %v; want ErrRejected", err)
	}
}

// TestUPNClientReferral: the first KDC refers the UPN to the user's realm
// (KDC_ERR_WRONG_REALM with crealm, RFC 6806 §7); the client follows, and
// a referral loop ends with an error.
func TestUPNClientReferral(t *testing.T) {
	a := kdc.New(t, "A.TEST", nil)
	b := kdc.New(t, "B.TEST", nil)
	b.AddUser("erin", "e-pw")
	b.SetUPN("erin", "erin@corp.example")
	kt := kdcKeytab(b.AddService("HTTP/www.b.test"))
	a.SetClientReferral("corp.example", "B.TEST")
	cfg := twoRealmConfig(t, a, b)
	c := NewEnterpriseClient("erin@corp.example", "A.TEST", "e-pw", cfg)
	tok, _, err := NewInitiator(c, "HTTP/www.b.test@B.TEST", InitiatorOptions{}).Step(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Step = %v", err)
	}
	if got := acceptAPReq(t, tok, kt).Ticket.DecryptedEncPart.CName.PrincipalNameString(); got != "erin" {
		t.Errorf("ticket client = %q; want erin", got)
	}
	if got := c.Principal(); got != "erin@B.TEST" {
		t.Errorf("Principal() = %q; want erin@B.TEST", got)
	}
	if a.Stats().ASRequests != 1 {
		t.Errorf("A saw %d AS requests; want 1 (referred at once)", a.Stats().ASRequests)
	}

	// A and B refer to each other: bounded.
	b.SetClientReferral("loop.example", "A.TEST")
	a.SetClientReferral("loop.example", "B.TEST")
	a.ResetStats()
	b.ResetStats()
	c = NewEnterpriseClient("x@loop.example", "A.TEST", "pw", cfg)
	_, _, err = NewInitiator(c, "HTTP/www.b.test@B.TEST", InitiatorOptions{}).Step(testCtx(t), nil)
	if !errors.Is(err, gss.ErrRejected) || a.Stats().ASRequests+b.Stats().ASRequests > maxReferrals+1 {
		t.Fatalf("referral loop: %v after %d+%d AS requests; want ErrRejected within %d", err, a.Stats().ASRequests, b.Stats().ASRequests, maxReferrals+1)
	}
}

// twoRealmConfig returns a configuration that knows the KDCs of a and b,
// a's realm by default.
func twoRealmConfig(t *testing.T, a, b *kdc.KDC) *config.Config {
	t.Helper()
	cfg, err := config.NewFromString(fmt.Sprintf(`[libdefaults]
  default_realm = %s
  dns_lookup_kdc = false
  udp_preference_limit = 1
  rdns = false
[realms]
  %s = {
    kdc = %s
  }
  %s = {
    kdc = %s
  }
[domain_realm]
  .%s = %s
  .%s = %s
`, a.Realm(), a.Realm(), a.Addr(), b.Realm(), b.Addr(),
		strings.ToLower(a.Realm()), a.Realm(), strings.ToLower(b.Realm()), b.Realm()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServiceReferralLoop: a KDC that keeps referring a service (here to
// its own realm) costs at most maxReferrals+1 TGS exchanges and ends in
// an error, never a hang.
func TestServiceReferralLoop(t *testing.T) {
	k, _ := newKDC(t, nil)
	k.AddService("HTTP/loop.example.test")
	k.SetServiceReferral("HTTP/loop.example.test", testRealm)
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	_, _, err := NewInitiator(c, "HTTP/loop.example.test", InitiatorOptions{}).Step(testCtx(t), nil)
	if !errors.Is(err, gss.ErrRejected) || !strings.Contains(err.Error(), "too many referrals") {
		t.Fatalf("referral loop: %v; want too many referrals (ErrRejected)", err)
	}
	if n := k.Stats().TGSBySPN["HTTP/loop.example.test"]; n != maxReferrals+1 {
		t.Errorf("referral loop: %d TGS requests; want %d", n, maxReferrals+1)
	}
}
