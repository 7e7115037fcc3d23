// Tests of a Server with Config.H2: what it answers over HTTP/2 in each mode (seen by
// Go's own HTTP/2 client), that HTTP/1.1 authentication still works on it,
// and that negotiate.Transport falls back to HTTP/1.1 when refused.

package httptestutil_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

func newH2Server(t *testing.T, mode httptestutil.H2Mode, cfg httptestutil.Config) *httptestutil.Server {
	t.Helper()
	if cfg.Users == nil {
		cfg.Users = map[string]string{epaNTLMUser: epaNTLMPass}
	}
	cfg.H2 = mode
	s := httptestutil.NewTLSServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// h2Base returns an http.Transport that trusts s and negotiates HTTP/2.
func h2Base(s *httptestutil.Server) *http.Transport {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
}

// TestH2ServerModes sends requests with Go's HTTP/2 client, without and
// with an NTLM token, and checks each mode's answer.
func TestH2ServerModes(t *testing.T) {
	const reset = "HTTP_1_1_REQUIRED"
	// A NEGOTIATE message: the server never parses it over HTTP/2.
	const token = "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="
	tests := []struct {
		mode                 httptestutil.H2Mode
		bare, withToken      string // "401" or reset
		wantResets, want401s int64
	}{
		{httptestutil.H2Reset, reset, reset, 3, 0},
		{httptestutil.H2ChallengeThenReset, "401", reset, 2, 1},
		{httptestutil.H2Challenge, "401", "401", 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			s := newH2Server(t, tt.mode, httptestutil.Config{Schemes: []string{"Negotiate", "NTLM"}})
			base := h2Base(s)
			t.Cleanup(base.CloseIdleConnections)
			send := func(method, auth string, body io.Reader) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, method, s.URL, body)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := base.RoundTrip(req)
				if err != nil {
					if strings.Contains(err.Error(), reset) {
						return reset
					}
					t.Fatalf("%s with %q: %v", method, auth, err)
				}
				defer resp.Body.Close()
				io.Copy(io.Discard, resp.Body)
				if resp.ProtoMajor != 2 {
					t.Fatalf("%s: answered over %s; want HTTP/2", method, resp.Proto)
				}
				if got := resp.Header.Values("WWW-Authenticate"); strings.Join(got, ",") != "Negotiate,NTLM" {
					t.Errorf("WWW-Authenticate = %q; want Negotiate and NTLM on two lines", got)
				}
				return resp.Status[:3]
			}
			if got := send("GET", "", nil); got != tt.bare {
				t.Errorf("GET without credentials = %s; want %s", got, tt.bare)
			}
			if got := send("GET", token, nil); got != tt.withToken {
				t.Errorf("GET with a token = %s; want %s", got, tt.withToken)
			}
			// A request body the server does not wait for.
			if got := send("POST", token, strings.NewReader(strings.Repeat("x", 100_000))); got != tt.withToken {
				t.Errorf("POST with a token = %s; want %s", got, tt.withToken)
			}
			st := s.Stats()
			if st.HTTP2Requests != 3 || st.HTTP1Requests != 0 || st.HTTP2Resets != tt.wantResets {
				t.Errorf("Stats = %+v; want 3 HTTP/2 requests, none over HTTP/1.1, %d resets", st, tt.wantResets)
			}
			if got := s.Stats().Challenges; got != tt.want401s {
				t.Errorf("Stats().Challenges = %d; want %d", got, tt.want401s)
			}
		})
	}
}

// TestH2ServerHTTP1 checks that a client speaking HTTP/1.1 authenticates
// on a Server with Config.H2 as on any Server, with Extended Protection.
func TestH2ServerHTTP1(t *testing.T) {
	s := newH2Server(t, httptestutil.H2Reset, httptestutil.Config{Schemes: []string{"NTLM"}, ExtendedProtection: httptestutil.EPARequire})
	base := h2Base(s)
	base.ForceAttemptHTTP2 = false
	tr := &negotiate.Transport{Base: base, Credentials: negotiate.Password(epaNTLMUser, epaNTLMPass)}
	t.Cleanup(tr.CloseIdleConnections)
	resp := get(t, tr, s.URL)
	checkOutcome(t, resp, epaNTLMUser, "")
	if resp.ProtoMajor != 1 {
		t.Errorf("answered over %s; want HTTP/1.1", resp.Proto)
	}
	if st := s.Stats(); st.HTTP2Requests != 0 || st.HTTP1Requests < 2 {
		t.Errorf("Stats = %+v; want no HTTP/2 request and the handshake's over HTTP/1.1", st)
	}
}

// TestH2Fallback is the client side: negotiate.Transport, allowed HTTP/2,
// meets a server that refuses Windows authentication over it, retries
// over HTTP/1.1, and remembers the origin, so a second request does not
// try HTTP/2 again.
func TestH2Fallback(t *testing.T) {
	k := epaKDC(t)
	for _, mode := range []httptestutil.H2Mode{httptestutil.H2Reset, httptestutil.H2ChallengeThenReset, httptestutil.H2Challenge} {
		for _, mech := range []string{"NTLM", "Kerberos"} {
			t.Run(mode.String()+"/"+mech, func(t *testing.T) {
				cfg := httptestutil.Config{ExtendedProtection: httptestutil.EPARequire}
				creds, user := negotiate.Password(epaNTLMUser, epaNTLMPass), epaNTLMUser
				if mech == "Kerberos" {
					cfg.Kerberos = &httptestutil.KerberosConfig{KDC: k}
					cfg.Schemes = []string{"Negotiate"}
					creds, user = negotiate.Password("alice@"+epaRealm, epaKrbPass), "alice@"+epaRealm
				}
				s := newH2Server(t, mode, cfg)
				// 127.0.0.1 has no SPN, so NTLM; a Kerberos server's URL
				// names localhost.
				url := s.URL
				tr := &negotiate.Transport{Base: h2Base(s), Credentials: creds, Krb5Config: k.Krb5ConfPath()}
				t.Cleanup(tr.CloseIdleConnections)

				resp := get(t, tr, url)
				checkOutcome(t, resp, user, "")
				if resp.ProtoMajor != 1 {
					t.Errorf("answered over %s; want HTTP/1.1", resp.Proto)
				}
				first := s.Stats()
				if first.HTTP2Requests < 1 || first.HTTP1Requests < 1 {
					t.Errorf("Stats = %+v; want an HTTP/2 try and the HTTP/1.1 retry", first)
				}
				resp = get(t, tr, url)
				checkOutcome(t, resp, user, "")
				if st := s.Stats(); st.HTTP2Requests != first.HTTP2Requests {
					t.Errorf("second request: HTTP/2 requests %d -> %d; want the origin remembered as HTTP/1.1 only", first.HTTP2Requests, st.HTTP2Requests)
				}
			})
		}
	}
}
