package mech

import (
	"context"
	"crypto/tls"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
)

// testFactory returns a Factory against an in-process KDC that knows
// alice and HTTP/web.mech.test.
func testFactory(t testing.TB, mutual Mutual) *Factory {
	t.Helper()
	k := kdc.New(t, "MECH.TEST", nil)
	k.AddUser("alice", "pw")
	k.AddService("HTTP/web.mech.test")
	return New(Config{Krb5Config: k.Krb5ConfPath(), KDCTimeout: 5 * time.Second, MaxIdentities: 8, Mutual: mutual})
}

// The capabilities the HTTP side asks of a context, for each way a
// context is made; the first token is made before they are asked, as the
// HTTP side does.
func TestContextCapabilities(t *testing.T) {
	f := testFactory(t, MutualRequired)
	u, _ := url.Parse("http://web.mech.test/")
	alice := Password("alice@MECH.TEST", "pw")
	// bob is unknown to the KDC: Kerberos cannot work, NTLM stands in.
	bob := Password("bob@MECH.TEST", "pw")
	tests := []struct {
		name       string
		scheme     Scheme
		creds      Credentials
		target     Target
		wantScheme Scheme
		bound      [2]bool // ConnectionBound(false), ConnectionBound(true)
		challenged bool    // FirstLegChallenged
		mutualErr  bool    // CheckMutual(false) fails
		explained  bool    // Explain adds why Kerberos was not used
	}{
		{"raw NTLM", NTLM, Password(`D\u`, "p"), Target{URL: u}, NTLM, [2]bool{true, true}, true, false, false},
		{"Kerberos in SPNEGO", Negotiate, alice, Target{URL: u}, Negotiate, [2]bool{false, true}, false, true, false},
		{"Kerberos to a proxy, no final token", Negotiate, alice, Target{URL: u, Proxy: true}, Negotiate, [2]bool{false, true}, false, false, false},
		{"NTLM in SPNEGO, Kerberos dropped", Negotiate, bob, Target{URL: u}, Negotiate, [2]bool{true, true}, true, false, true},
		{"raw NTLM standing in for Kerberos", Negotiate, bob, Target{URL: u, RawNTLM: true}, NTLM, [2]bool{true, true}, true, false, true},
		{"Basic over TLS", Basic, Password("u", "p"), Target{URL: u, TLS: &tls.ConnectionState{}}, Basic, [2]bool{false, false}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.creds
			sec, scheme, err := f.NewContext(context.Background(), tt.scheme, &c, f.Identity(&c), tt.target)
			if err != nil {
				t.Fatalf("NewContext(%v) = %v", tt.scheme, err)
			}
			defer sec.Close()
			if scheme != tt.wantScheme {
				t.Errorf("scheme = %v; want %v", scheme, tt.wantScheme)
			}
			if out, _, err := sec.Step(context.Background(), nil); err != nil || len(out) == 0 {
				t.Fatalf("first Step = %d bytes, %v; want a token", len(out), err)
			}
			if got := [2]bool{sec.ConnectionBound(false), sec.ConnectionBound(true)}; got != tt.bound {
				t.Errorf("ConnectionBound(false, true) = %v; want %v", got, tt.bound)
			}
			if got := sec.FirstLegChallenged(); got != tt.challenged {
				t.Errorf("FirstLegChallenged() = %v; want %v", got, tt.challenged)
			}
			if err := sec.CheckMutual(false); (err != nil) != tt.mutualErr || (err != nil && !errors.Is(err, gss.ErrMutualAuth)) {
				t.Errorf("CheckMutual(false) = %v; want an error: %v", err, tt.mutualErr)
			}
			err = sec.Explain(gss.ErrRejected)
			if !errors.Is(err, gss.ErrRejected) {
				t.Errorf("Explain(ErrRejected) = %v; want it wrapped", err)
			}
			explained := errors.Is(err, gss.ErrUnknownPrincipal) && strings.Contains(err.Error(), "Kerberos not used")
			if explained != tt.explained {
				t.Errorf("Explain(ErrRejected) = %q; want Kerberos's failure told: %v", err, tt.explained)
			}
		})
	}
}

func TestCheckMutualOptional(t *testing.T) {
	f := testFactory(t, MutualOptional)
	u, _ := url.Parse("http://web.mech.test/")
	c := Password("alice@MECH.TEST", "pw")
	sec, _, err := f.NewContext(context.Background(), Negotiate, &c, f.Identity(&c), Target{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sec.Step(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := sec.CheckMutual(false); err != nil {
		t.Errorf("CheckMutual(false) under MutualOptional = %v; want nil", err)
	}
}

func TestCanUse(t *testing.T) {
	tests := []struct {
		scheme Scheme
		creds  Credentials
		cfg    Config
		want   bool
	}{
		{NTLM, Password(`D\u`, "p"), Config{}, true},
		{NTLM, Password(`D\u`, "p"), Config{DisableNTLM: true}, false},
		{NTLM, Keytab("u@R", "/k"), Config{}, false},
		{Negotiate, Keytab("u@R", "/k"), Config{DisableNTLM: true}, true},
		{Negotiate, NTHash(`D\u`, []byte{1}), Config{}, true},
		{Negotiate, NTHash(`D\u`, []byte{1}), Config{DisableNTLM: true}, false},
		{Basic, Password("u", "p"), Config{}, false},
		{Basic, Password("u", "p"), Config{AllowBasic: true}, true},
		{Basic, NTHash("u", []byte{1}), Config{AllowBasic: true}, false},
		{Unknown, Password("u", "p"), Config{}, false},
	}
	for _, tt := range tests {
		c := tt.creds
		if got := New(tt.cfg).CanUse(tt.scheme, &c); got != tt.want {
			t.Errorf("CanUse(%v, %s) with %+v = %v; want %v", tt.scheme, c.String(), tt.cfg, got, tt.want)
		}
	}
	if New(Config{}).CanUse(NTLM, nil) {
		t.Errorf("CanUse(NTLM, nil) = true; want false")
	}
}

func TestBasicNeedsTLS(t *testing.T) {
	f := New(Config{AllowBasic: true})
	u, _ := url.Parse("http://web.mech.test/")
	c := Password("u", "p")
	if _, _, err := f.NewContext(context.Background(), Basic, &c, f.Identity(&c), Target{URL: u}); err == nil {
		t.Errorf("NewContext(Basic) over plain HTTP = nil error; want a refusal")
	}
}
