// Tests of the enctypes asked for: the defaults without RC4 and with
// AES-SHA2, what krb5.conf says when it says something, and the
// explanation of KDC_ERR_ETYPE_NOSUPP.

package krb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

func TestEnctypeDefaults(t *testing.T) {
	for _, tt := range []struct {
		libdefaults string
		tkt, tgs    []int32
	}{
		{"", DefaultEnctypes, DefaultEnctypes},
		{"default_tgs_enctypes = aes256-cts-hmac-sha1-96 arcfour-hmac", DefaultEnctypes, []int32{18, 23}},
		{"permitted_enctypes = aes256-cts-hmac-sha384-192 arcfour-hmac", []int32{20, 23}, []int32{20, 23}},
		{"default_tkt_enctypes = aes128-cts-hmac-sha256-128\n default_tgs_enctypes = aes128-cts-hmac-sha256-128", []int32{19}, []int32{19}},
	} {
		cfg, err := parseConfig("[libdefaults]\n default_realm = A.TEST\n " + tt.libdefaults + "\n")
		if err != nil {
			t.Fatalf("parseConfig(%q): %v", tt.libdefaults, err)
		}
		if got := cfg.LibDefaults.DefaultTktEnctypeIDs; !slices.Equal(got, tt.tkt) {
			t.Errorf("parseConfig(%q) tkt enctypes = %v; want %v", tt.libdefaults, got, tt.tkt)
		}
		if got := cfg.LibDefaults.DefaultTGSEnctypeIDs; !slices.Equal(got, tt.tgs) {
			t.Errorf("parseConfig(%q) tgs enctypes = %v; want %v", tt.libdefaults, got, tt.tgs)
		}
	}
	if got := NewPasswordClient("a", "A.TEST", "pw", nil).cfg.LibDefaults.DefaultTGSEnctypeIDs; !slices.Equal(got, DefaultEnctypes) {
		t.Errorf("nil configuration: tgs enctypes = %v; want %v", got, DefaultEnctypes)
	}
}

// TestEnctypesAgainstKDC: with a krb5.conf that names no enctypes, an
// AES-SHA2-only service works (ticket and session key in RFC 8009
// enctypes) and an RC4-only one fails with an explained
// KDC_ERR_ETYPE_NOSUPP; listing arcfour-hmac makes it work.
func TestEnctypesAgainstKDC(t *testing.T) {
	k, _ := newKDC(t, nil)
	sha2 := kdcKeytab(k.AddService("HTTP/sha2.example.test", kdc.AES256SHA384, kdc.AES128SHA256))
	k.AddService("HTTP/rc4.example.test", kdc.RC4HMAC)
	conf := func(extra string) string {
		p := filepath.Join(t.TempDir(), "krb5.conf")
		text := fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n udp_preference_limit = 1\n%s\n[realms]\n %s = {\n  kdc = %s\n }\n",
			testRealm, extra, testRealm, k.Addr())
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := LoadConfig(conf(""))
	if err != nil {
		t.Fatal(err)
	}
	c := NewPasswordClient("alice", testRealm, "s3cret!", cfg)
	in := NewInitiator(c, "HTTP/sha2.example.test", InitiatorOptions{Mutual: true})
	tok, _, err := in.Step(testCtx(t), nil)
	if err != nil {
		t.Fatalf("AES-SHA2-only service: %v", err)
	}
	req := acceptAPReq(t, tok, sha2)
	if et, sk := req.Ticket.EncPart.EType, req.Ticket.DecryptedEncPart.Key.KeyType; et != kdc.AES256SHA384 || sk != kdc.AES256SHA384 {
		t.Errorf("ticket enctype %d, session key %d; want %d for both", et, sk, kdc.AES256SHA384)
	}

	_, _, err = NewInitiator(c, "HTTP/rc4.example.test", InitiatorOptions{}).Step(testCtx(t), nil)
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != errorcode.KDC_ERR_ETYPE_NOSUPP || !strings.Contains(err.Error(), "arcfour-hmac") {
		t.Fatalf("RC4-only service without RC4 configured: %v; want an explained KDC_ERR_ETYPE_NOSUPP", err)
	}
	if st := k.Stats(); st.Errors[errorcode.KDC_ERR_ETYPE_NOSUPP] == 0 {
		t.Errorf("the KDC sent no KDC_ERR_ETYPE_NOSUPP: %+v", st.Errors)
	}

	cfg, err = LoadConfig(conf(" default_tgs_enctypes = aes256-cts-hmac-sha1-96 arcfour-hmac\n"))
	if err != nil {
		t.Fatal(err)
	}
	c = NewPasswordClient("alice", testRealm, "s3cret!", cfg)
	if _, _, err := NewInitiator(c, "HTTP/rc4.example.test", InitiatorOptions{}).Step(testCtx(t), nil); err != nil {
		t.Fatalf("RC4-only service with arcfour-hmac configured: %v", err)
	}
}
