//go:build integration

// Kerberos against MIT krb5 and Apache mod_auth_gssapi: every credential
// source, mutual authentication proved by a relay that strips or spoils
// the server's AP-REP, and a connection-bound location that must cost one
// handshake for many requests.

package integration

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// krbCredentials returns alice's credentials from each Kerberos source.
// ccache and default run the lab's kinit; default also sets KRB5CCNAME.
func krbCredentials(t *testing.T, e labEnv, source string) *negotiate.Credentials {
	t.Helper()
	switch source {
	case "password":
		return negotiate.Password(e.principal(), e["LAB_PASSWORD"])
	case "keytab":
		return negotiate.Keytab(e.principal(), e["LAB_KEYTAB"])
	case "ccache":
		cc := scratchCCache(t)
		kinit(t, e, cc)
		return negotiate.CCache(cc)
	case "default":
		cc := scratchCCache(t)
		kinit(t, e, cc)
		return negotiate.DefaultCredentials()
	}
	t.Fatalf("unknown credential source %q", source)
	return nil
}

func TestKerberosSources(t *testing.T) {
	e := lab(t)
	for _, source := range []string{"password", "keytab", "ccache", "default"} {
		for _, scheme := range []string{"http", "https"} {
			t.Run(source+"/"+scheme, func(t *testing.T) {
				tr := newTransport(t, e, krbCredentials(t, e, source))
				tr.DisableNTLM = true // a success can only be Kerberos
				u := e.url(scheme) + "/krb/whoami"
				w, r := getWhoami(t, tr, u)
				if want := (whoami{e.principal(), "Negotiate/krb5"}); w != want {
					t.Fatalf("whoami(%q) = %v; want %v", u, w, want)
				}
				// Cold: the unauthenticated try, then one Negotiate leg whose
				// 200 carries the AP-REP. Mutual is MutualRequired, so the 200
				// was handed over only because that AP-REP verified.
				last := r.legs[len(r.legs)-1]
				if len(r.legs) != 2 || r.legs[0].Sent != nil || last.Scheme != negotiate.SchemeNegotiate || last.Received == nil {
					t.Fatalf("legs %s (received on last: %d bytes); want an unauthenticated try and one Negotiate leg answered with a token", r.schemes(), len(last.Received))
				}
				// Warm: the token goes on the first try.
				w, r = getWhoami(t, tr, u)
				if w.user != e.principal() || len(r.legs) != 1 || r.legs[0].Sent == nil {
					t.Fatalf("warm request: whoami %v, legs %s; want %s in one leg carrying a token", w, r.schemes(), e.principal())
				}
			})
		}
	}
}

// relayMode says what the test relay does to the final token on a 200.
type relayMode int

const (
	relayPass    relayMode = iota // forward as is
	relayStrip                    // drop WWW-Authenticate from the 200
	relayCorrupt                  // flip a bit of the token on the 200
)

// finalToken returns a relay hook that applies mode to the final token,
// the WWW-Authenticate of a 200.
func finalToken(mode relayMode) func(*http.Response) error {
	return func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		switch mode {
		case relayStrip:
			resp.Header.Del("WWW-Authenticate")
		case relayCorrupt:
			v := resp.Header.Get("WWW-Authenticate")
			scheme, tok, ok := strings.Cut(v, " ")
			raw, err := base64.StdEncoding.DecodeString(tok)
			if !ok || err != nil || len(raw) == 0 {
				return errors.New("relay: no final token to corrupt")
			}
			raw[len(raw)-1] ^= 0x01 // the last byte: the AP-REP's integrity checksum
			resp.Header.Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(raw))
		}
		return nil
	}
}

// TestKerberosMutualAuth proves that a success with MutualRequired means
// the AP-REP was verified: the same request through a relay that drops the
// server's final token, or spoils it, is refused with ErrMutualAuth.
func TestKerberosMutualAuth(t *testing.T) {
	e := lab(t)
	tests := []struct {
		name   string
		mode   relayMode
		policy negotiate.MutualAuth
		ok     bool
	}{
		{"relay as is, required", relayPass, negotiate.MutualRequired, true},
		{"no final token, required", relayStrip, negotiate.MutualRequired, false},
		{"no final token, optional", relayStrip, negotiate.MutualOptional, true},
		{"no final token, disabled", relayStrip, negotiate.MutualDisabled, true},
		{"spoiled final token, required", relayCorrupt, negotiate.MutualRequired, false},
		{"spoiled final token, optional", relayCorrupt, negotiate.MutualOptional, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := startRelay(t, e, finalToken(tt.mode)) + "/krb/whoami"
			tr := newTransport(t, e, negotiate.Password(e.principal(), e["LAB_PASSWORD"]))
			tr.DisableNTLM = true
			tr.Mutual = tt.policy
			r := do(t, tr, "GET", u, nil, nil)
			if tt.ok {
				if r.err != nil || r.resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %v, %v; want 200", u, r.resp, r.err)
				}
				if w := parseWhoami(r.body); w.user != e.principal() {
					t.Fatalf("whoami(%q) = %v; want %s", u, w, e.principal())
				}
				return
			}
			if !errors.Is(r.err, negotiate.ErrMutualAuth) {
				t.Fatalf("GET %s = %v, %v; want an error wrapping ErrMutualAuth", u, r.resp, r.err)
			}
			var ae *negotiate.AuthError
			if !errors.As(r.err, &ae) || ae.Op != "verify server" || ae.StatusCode != http.StatusOK {
				t.Fatalf("AuthError = %+v; want op \"verify server\" on the 200", ae)
			}
		})
	}
}

// TestKerberosConnectionBound: on /krb-conn/ (GssapiConnectionBound On) 100
// sequential requests cost one handshake, on one TCP connection.
func TestKerberosConnectionBound(t *testing.T) {
	e := lab(t)
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			const n = 100
			tr := newTransport(t, e, negotiate.Password(e.principal(), e["LAB_PASSWORD"]))
			tr.DisableNTLM = true
			log := openAccessLog(t, e)
			u := e.url(scheme) + "/krb-conn/whoami"
			tokens := 0
			for i := range n {
				w, r := getWhoami(t, tr, u)
				if want := (whoami{e.principal(), "Negotiate/krb5"}); w != want {
					t.Fatalf("request %d: whoami(%q) = %v; want %v", i, u, w, want)
				}
				tokens += r.tokens()
				if i == 0 {
					last := r.legs[len(r.legs)-1]
					if r.tokens() != 1 || last.Received == nil || last.Response.Header.Get("Persistent-Auth") != "true" {
						t.Fatalf("first request: legs %s; want one Negotiate leg answered with a token and Persistent-Auth: true", r.schemes())
					}
				} else if len(r.legs) != 1 || r.tokens() != 0 || !r.legs[0].Reused {
					t.Fatalf("request %d: legs %s (reused %v); want one leg without a token on the kept connection", i, r.schemes(), len(r.legs) == 1 && r.legs[0].Reused)
				}
			}
			if tokens != 1 {
				t.Errorf("%d requests sent %d tokens; want 1", n, tokens)
			}
			// The server's view: the unauthenticated first try got the one
			// 401 (through Base's pool), and all 100 200s, for alice, came on
			// one TCP connection (one client port): the handshake's.
			entries := log.entries(t, portsOf(t, tr), "/krb-conn/whoami", n+1)
			okPorts := map[string]int{}
			unauthorized := 0
			for _, le := range entries {
				switch le.status {
				case "200":
					okPorts[le.port]++
					if le.user != e.principal() {
						t.Errorf("access log user %q; want %s", le.user, e.principal())
					}
				case "401":
					unauthorized++
				default:
					t.Errorf("access log status %s; want 200 or 401", le.status)
				}
			}
			if len(okPorts) != 1 || unauthorized != 1 || len(entries) != n+1 {
				t.Errorf("access log: %d entries, %d 401s, 200s on %d connections; want %d entries, one 401, 200s on 1", len(entries), unauthorized, len(okPorts), n+1)
			}
		})
	}
}
