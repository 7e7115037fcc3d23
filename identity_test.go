package negotiate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"golang.org/x/crypto/md4"
)

// An identityStep is one request of a sequence: made with a fresh
// Credentials value from creds (nil: no credentials), it must be served as
// want, or rejected with 401 when want is "".
type identityStep struct {
	creds func() *negotiate.Credentials
	want  string
}

// runIdentitySteps sends the steps through tr to url, forcing a garbage
// collection after each, so that a Transport that keyed anything by a
// Credentials' address would hand one user's state to the next value
// allocated there.
func runIdentitySteps(t *testing.T, tr http.RoundTripper, url string, steps []identityStep) {
	t.Helper()
	for i, st := range steps {
		var c *negotiate.Credentials
		if st.creds != nil {
			c = st.creds()
		}
		ctx := negotiate.WithCredentials(context.Background(), c)
		req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(fmt.Sprintf("step %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			if st.want == "" && errors.Is(err, negotiate.ErrNoCredentials) {
				// Refused before anything was sent (an empty user name
				// has no NTLM): not served, as wanted.
				runtime.GC()
				continue
			}
			t.Fatalf("step %d (%v): %v", i, c, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got := resp.Header.Get("X-User")
		switch {
		case st.want == "" && (resp.StatusCode != http.StatusUnauthorized || got != ""):
			t.Fatalf("step %d (%v): status %d, served as %q; want 401", i, c, resp.StatusCode, got)
		case st.want != "" && (resp.StatusCode != http.StatusOK || got != st.want):
			t.Fatalf("step %d (%v): status %d, served as %q; want 200 as %q (%v)", i, c, resp.StatusCode, got, st.want, negotiate.ResponseError(resp))
		}
		c = nil
		runtime.GC()
	}
}

// repeat returns steps n times over.
func repeat(n int, steps ...identityStep) []identityStep {
	var out []identityStep
	for range n {
		out = append(out, steps...)
	}
	return out
}

// The classes of curl's CVE-2026-1965 and CVE-2026-5545 (a connection
// authenticated for one set of credentials reused for another), against a
// server that authenticates connections as IIS does.
func TestIdentityNeverShared(t *testing.T) {
	aliceOK := identityStep{alice, `TEST\alice`}
	bobOK := identityStep{bob, `TEST\bob`}
	wrong := identityStep{func() *negotiate.Credentials { return negotiate.Password(`TEST\alice`, "wrong") }, ""}
	none := identityStep{nil, ""}
	emptyUser := identityStep{func() *negotiate.Credentials { return negotiate.Password("", "Passw0rd!") }, ""}
	otherDomain := identityStep{func() *negotiate.Credentials { return negotiate.Password(`OTHER\alice`, "Passw0rd!") }, ""}
	hash := identityStep{func() *negotiate.Credentials {
		return negotiate.NTHash(`TEST\bob`, ntHashOf("hunter2"))
	}, `TEST\bob`}
	tests := []struct {
		name  string
		steps []identityStep
	}{
		{"different users alternate", repeat(20, aliceOK, bobOK)},
		{"wrong password after the right one", repeat(10, aliceOK, wrong)},
		{"right password after a wrong one", repeat(10, wrong, aliceOK)},
		{"no credentials, then credentials, then none", repeat(10, none, aliceOK, none)},
		{"an empty user name", repeat(10, aliceOK, emptyUser)},
		{"another domain", repeat(10, aliceOK, otherDomain)},
		{"an NT hash for another user", repeat(10, aliceOK, hash)},
		{"three users and a wrong password", repeat(10, aliceOK, bobOK, wrong, hash)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newNTLMServer(t, httptestutil.Config{})
			tr := newTransport(t, s, nil)
			runIdentitySteps(t, tr, s.URL, tt.steps)
		})
	}
}

// ntHashOf is MD4 of the UTF-16LE password, the NT hash (MS-NLMP §3.3.1).
func ntHashOf(password string) []byte {
	h := md4.New()
	for _, r := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(r), byte(r >> 8)})
	}
	return h.Sum(nil)
}

// Fresh Credentials with equal values are one identity: they share the
// authenticated connection, so N sequential requests cost one handshake.
func TestIdentityEqualValuesShare(t *testing.T) {
	s := newNTLMServer(t, httptestutil.Config{})
	tr := newTransport(t, s, nil)
	steps := repeat(300, identityStep{alice, `TEST\alice`})
	runIdentitySteps(t, tr, s.URL, steps)
	st := s.Stats()
	if st.Handshakes != 1 || st.Connections > 2 {
		t.Errorf("300 requests with fresh equal credentials: %d handshakes on %d connections; want 1 handshake on at most 2 connections (the unauthenticated try, then one authenticated)", st.Handshakes, st.Connections)
	}
}

// A connection authenticated for one origin never serves another, even on
// the same server: 127.0.0.1 and localhost are two origins.
func TestIdentityOriginChange(t *testing.T) {
	s := newNTLMServer(t, httptestutil.Config{})
	tr := newTransport(t, s, alice())
	other := strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
	for i, u := range []string{s.URL, other, s.URL, other} {
		resp, _ := get(t, tr, "GET", u, "")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d to %s: %d", i, u, resp.StatusCode)
		}
	}
	if st := s.Stats(); st.Handshakes != 2 {
		t.Errorf("handshakes = %d; want 2, one per origin", st.Handshakes)
	}
}

// The proxy's identity is part of what a connection is authenticated as:
// changing the proxy credentials while the origin's stay gets a
// connection (and a proxy handshake) of its own.
func TestIdentityProxyChange(t *testing.T) {
	origin := newNTLMServer(t, httptestutil.Config{})
	p := newProxy(t, httptestutil.Config{})
	proxyUser := map[string]string{"alice": "alice:Passw0rd!", "bob": "bob:hunter2", "wrong": "alice:nope"}
	pu, _ := url.Parse(p.URL)
	base := &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
		who, _ := r.Context().Value(proxyWho{}).(string)
		u := *pu
		user, pass, _ := strings.Cut(proxyUser[who], ":")
		u.User = url.UserPassword(`TEST\`+user, pass)
		return &u, nil
	}}
	tr := &negotiate.Transport{Base: base, Credentials: alice()}
	t.Cleanup(tr.CloseIdleConnections)
	for i, who := range []string{"alice", "bob", "wrong", "alice", "wrong", "bob"} {
		ctx := context.WithValue(context.Background(), proxyWho{}, who)
		req, _ := http.NewRequestWithContext(ctx, "GET", origin.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d (proxy user %s): %v", i, who, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got := resp.Header.Get("X-Proxy-User")
		if who == "wrong" {
			if resp.StatusCode != http.StatusProxyAuthRequired {
				t.Fatalf("request %d with a wrong proxy password: status %d, proxy user %q; want 407", i, resp.StatusCode, got)
			}
		} else if resp.StatusCode != 200 || got != `TEST\`+who || resp.Header.Get("X-User") != `TEST\alice` {
			t.Fatalf("request %d: status %d, proxy user %q, origin user %q; want 200, TEST\\%s, TEST\\alice", i, resp.StatusCode, got, resp.Header.Get("X-User"), who)
		}
		runtime.GC()
	}
}

type proxyWho struct{}

// NTLM after Negotiate: a connection that Kerberos authenticated as alice
// never carries bob's NTLM, and the other way round.
func TestIdentityNTLMAfterNegotiate(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{
		Users:    map[string]string{`TEST\bob`: "hunter2"},
		Kerberos: &httptestutil.KerberosConfig{ConnectionBound: true},
	})
	tr := krbTransport(t, k, nil)
	steps := repeat(5,
		identityStep{krbAlice, "alice@" + realm},
		identityStep{func() *negotiate.Credentials { return negotiate.NTHash(`TEST\bob`, ntHashOf("hunter2")) }, `TEST\bob`},
	)
	runIdentitySteps(t, tr, s.URL, steps)
}

// A cache re-initialised for another principal (kdestroy; kinit bob) is a
// new identity: the same CCache value, and DefaultCredentials, then
// authenticate as bob on connections of their own.
func TestIdentityCacheReinitialised(t *testing.T) {
	k := newKDC(t, nil)
	k.AddUser("bob", "bob-"+krbPass)
	s := kerberosServer(t, k, httptestutil.Config{
		Kerberos: &httptestutil.KerberosConfig{ConnectionBound: true},
	})
	path := filepath.Join(t.TempDir(), "krb5cc")
	kinit := func(user, pass string) {
		t.Helper()
		os.Remove(path)
		if err := k.WriteCCache(path, user, pass); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("KRB5CCNAME", "FILE:"+path)
	for _, tc := range []struct {
		name  string
		creds func() *negotiate.Credentials
	}{
		{"CCache", func() *negotiate.Credentials { return negotiate.CCache(path) }},
		{"DefaultCredentials", negotiate.DefaultCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := krbTransport(t, k, nil)
			c := tc.creds() // one value throughout: only the cache changes
			for i, user := range []string{"alice", "bob", "alice", "bob"} {
				if user == "alice" {
					kinit("alice", krbPass)
				} else {
					kinit("bob", "bob-"+krbPass)
				}
				ctx := negotiate.WithCredentials(context.Background(), c)
				req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatalf("request %d as %s: %v", i, user, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got := resp.Header.Get("X-User"); resp.StatusCode != 200 || got != user+"@"+realm {
					t.Fatalf("request %d after kinit %s: status %d, served as %q", i, user, resp.StatusCode, got)
				}
			}
		})
	}
}
