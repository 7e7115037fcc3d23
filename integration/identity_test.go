//go:build integration

// Identity as a value against Apache (mod_auth_gssapi, gss-ntlmssp), whose
// connection-bound locations keep one security context per TCP connection:
// a connection authenticated as one user must never carry another's
// request, whatever the garbage collector does with the Credentials values.

package integration

import (
	"errors"
	"net/http"
	"runtime"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// TestIdentityAlternatingUsers sends 240 requests per mechanism through one
// Transport, alternating alice, bob and alice with a wrong password, each
// with a fresh Credentials value and a forced GC after it: Apache must see
// every request as its own user and refuse every wrong password.
func TestIdentityAlternatingUsers(t *testing.T) {
	e := lab(t)
	const rounds = 80 // x 3 users = 240 requests per case
	ntlmName := func(user string) string { return e["LAB_NTLM_DOMAIN"] + `\` + user }
	krbName := func(user string) string { return user + "@" + e["LAB_REALM"] }
	tests := []struct {
		name     string
		location string
		prefer   []negotiate.Scheme
		typed    func(user string) string // the user as typed, and as whoami reports it
		mech     string
	}{
		{"raw NTLM", "/ntlm/", []negotiate.Scheme{negotiate.SchemeNTLM}, ntlmName, "NTLM/NTLM"},
		{"NTLM in SPNEGO", "/ntlm/", []negotiate.Scheme{negotiate.SchemeNegotiate}, ntlmName, "Negotiate/NTLM"},
		{"Kerberos, connection-bound", "/krb-conn/", []negotiate.Scheme{negotiate.SchemeNegotiate}, krbName, "Negotiate/krb5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, e, nil)
			tr.Preference = tt.prefer
			u := e.url("http") + tt.location + "whoami"
			users := []struct{ user, password string }{
				{e["LAB_USER"], e["LAB_PASSWORD"]},
				{e["LAB_USER2"], e["LAB_PASSWORD2"]},
				{e["LAB_USER"], "not-" + e["LAB_PASSWORD"]},
			}
			var served, refused int
			for i := range rounds * len(users) {
				who := users[i%len(users)]
				wrong := i%len(users) == 2
				r := do(t, tr, "GET", u, nil, withCredentials(negotiate.Password(tt.typed(who.user), who.password)))
				runtime.GC()
				switch {
				case wrong && r.err != nil && errors.Is(r.err, negotiate.ErrRejected):
					refused++ // the KDC refused the password
				case wrong && r.err == nil && r.resp.StatusCode == http.StatusUnauthorized:
					refused++
				case wrong:
					t.Fatalf("request %d, wrong password: %v, %v (body %q); want a refusal", i, r.resp, r.err, r.body)
				case r.err != nil || r.resp.StatusCode != http.StatusOK:
					t.Fatalf("request %d as %s: %v, %v", i, who.user, r.resp, r.err)
				default:
					w := parseWhoami(r.body)
					if w.user != tt.typed(who.user) || w.mech != tt.mech {
						t.Fatalf("request %d as %s: served as %v; want %s %s", i, who.user, w, tt.typed(who.user), tt.mech)
					}
					served++
				}
			}
			if served != 2*rounds || refused != rounds {
				t.Errorf("served %d, refused %d; want %d and %d", served, refused, 2*rounds, rounds)
			}
		})
	}
}

// TestIdentityEqualValuesShare: 300 sequential requests, each with a fresh
// but equal Credentials value, share one authenticated connection.
func TestIdentityEqualValuesShare(t *testing.T) {
	e := lab(t)
	tr := newTransport(t, e, nil)
	tr.Preference = []negotiate.Scheme{negotiate.SchemeNTLM}
	u := e.url("http") + "/ntlm/whoami"
	for i := range 300 {
		r := do(t, tr, "GET", u, nil, withCredentials(negotiate.Password(e.ntlmUser(), e["LAB_PASSWORD"])))
		runtime.GC()
		if r.err != nil || r.resp.StatusCode != http.StatusOK || parseWhoami(r.body).user != e.ntlmUser() {
			t.Fatalf("request %d: %v, %v", i, r.resp, r.err)
		}
	}
	// The unauthenticated first try goes through Base's pool, the
	// handshake on a dedicated connection: two dials in all.
	if n := portsOf(t, tr).len(); n > 2 {
		t.Errorf("300 requests dialled %d connections; want at most 2", n)
	}
}
