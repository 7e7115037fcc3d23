package negotiate_test

import (
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// proxyTransport returns a Transport that reaches everything through proxy
// and trusts the test origins' certificates.
func proxyTransport(t testing.TB, proxy string, trust *httptest.Server, creds, proxyCreds *negotiate.Credentials) *negotiate.Transport {
	t.Helper()
	pu, err := url.Parse(proxy)
	if err != nil {
		t.Fatal(err)
	}
	base := &http.Transport{Proxy: http.ProxyURL(pu)}
	if trust != nil && trust.TLS != nil {
		base.TLSClientConfig = trust.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	tr := &negotiate.Transport{Base: base, Credentials: creds, ProxyCredentials: proxyCreds}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func newProxy(t testing.TB, cfg httptestutil.Config) *httptestutil.Server {
	t.Helper()
	if cfg.Users == nil {
		cfg.Users = users
	}
	cfg.Proxy = true
	p := httptestutil.NewServer(cfg)
	t.Cleanup(p.Close)
	return p
}

func bob() *negotiate.Credentials { return negotiate.Password(`TEST\bob`, "hunter2") }

func get(t testing.TB, tr http.RoundTripper, method, url, body string) (*http.Response, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	resp, err := tr.RoundTrip(mustRequest(t, method, url, r))
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestProxyOrigins(t *testing.T) {
	plain := httptest.NewServer(httptestutil.EchoHandler())
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(httptestutil.EchoHandler())
	t.Cleanup(secure.Close)
	for _, origin := range []*httptest.Server{plain, secure} {
		t.Run(origin.URL[:5], func(t *testing.T) {
			p := newProxy(t, httptestutil.Config{})
			tr := proxyTransport(t, p.URL, origin, nil, alice())
			for i := 0; i < 5; i++ {
				resp, body := get(t, tr, "POST", origin.URL+"/x", "through the proxy")
				if resp.StatusCode != 200 || body != "through the proxy" {
					t.Fatalf("request %d: status %d body %q (%v)", i, resp.StatusCode, body, negotiate.ResponseError(resp))
				}
			}
			st := p.Stats()
			if st.Handshakes != 1 {
				t.Errorf("proxy handshakes = %d; want 1 (authentication kept on the connection)", st.Handshakes)
			}
			if origin.TLS != nil && st.Tunnels != 1 {
				t.Errorf("tunnels = %d; want 1", st.Tunnels)
			}
		})
	}
}

// TestProxyAndOriginAuth: an NTLM origin behind an NTLM proxy, different
// users, over plain HTTP (the origin's connection pinned through the
// proxy) and HTTPS (through CONNECT).
func TestProxyAndOriginAuth(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "http"
		if useTLS {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			var origin *httptestutil.Server
			if useTLS {
				origin = httptestutil.NewTLSServer(httptestutil.Config{Users: users})
			} else {
				origin = httptestutil.NewServer(httptestutil.Config{Users: users})
			}
			t.Cleanup(origin.Close)
			p := newProxy(t, httptestutil.Config{})
			tr := proxyTransport(t, p.URL, origin.Server, bob(), alice())
			for i := 0; i < 4; i++ {
				resp, body := get(t, tr, "POST", origin.URL+"/echo", "both")
				if resp.StatusCode != 200 || body != "both" || resp.Header.Get("X-User") != `TEST\bob` {
					t.Fatalf("request %d: status %d body %q user %q (%v)", i, resp.StatusCode, body, resp.Header.Get("X-User"), negotiate.ResponseError(resp))
				}
				if !useTLS && resp.Header.Get("X-Proxy-User") != `TEST\alice` {
					t.Fatalf("proxy user %q; want TEST\\alice", resp.Header.Get("X-Proxy-User"))
				}
			}
			if ps, os := p.Stats(), origin.Stats(); ps.Handshakes != 1 || os.Handshakes != 1 {
				t.Errorf("handshakes: proxy %d, origin %d; want 1 and 1", ps.Handshakes, os.Handshakes)
			}
		})
	}
}

func TestProxyConcurrent(t *testing.T) {
	origin := httptestutil.NewTLSServer(httptestutil.Config{Users: users})
	t.Cleanup(origin.Close)
	p := newProxy(t, httptestutil.Config{})
	tr := proxyTransport(t, p.URL, origin.Server, bob(), alice())
	var wg sync.WaitGroup
	var failures atomic.Int64
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				body := strings.Repeat("z", 100+g*7+i)
				resp, err := tr.RoundTrip(mustRequest(t, "POST", origin.URL, strings.NewReader(body)))
				if err != nil {
					failures.Add(1)
					t.Error(err)
					continue
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(got) != body {
					failures.Add(1)
					t.Errorf("status %d, %d bytes of %d (%v)", resp.StatusCode, len(got), len(body), negotiate.ResponseError(resp))
				}
			}
		}()
	}
	wg.Wait()
	st := p.Stats()
	if failures.Load() != 0 {
		t.Fatalf("%d failures", failures.Load())
	}
	if st.Handshakes > st.Connections {
		t.Errorf("proxy handshakes %d > proxy connections %d", st.Handshakes, st.Connections)
	}
}

func TestProxyClosesAfterFirstChallenge(t *testing.T) {
	plain := httptest.NewServer(httptestutil.EchoHandler())
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(httptestutil.EchoHandler())
	t.Cleanup(secure.Close)
	for _, origin := range []*httptest.Server{plain, secure} {
		p := newProxy(t, httptestutil.Config{Faults: httptestutil.Faults{CloseOnBareChallenge: 1}})
		resp, body := get(t, proxyTransport(t, p.URL, origin, nil, alice()), "GET", origin.URL+"/?q", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d body %q (%v)", origin.URL, resp.StatusCode, body, negotiate.ResponseError(resp))
		}
	}
}

func TestProxyRejects(t *testing.T) {
	plain := httptest.NewServer(httptestutil.EchoHandler())
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(httptestutil.EchoHandler())
	t.Cleanup(secure.Close)
	p := newProxy(t, httptestutil.Config{})
	wrong := negotiate.Password(`TEST\alice`, "not-it")

	// Plain HTTP: the 407 is the response; ResponseError says the proxy
	// rejected the credentials.
	resp, _ := get(t, proxyTransport(t, p.URL, nil, nil, wrong), "GET", plain.URL, "")
	var ae *negotiate.AuthError
	ferr := negotiate.ResponseError(resp)
	if resp.StatusCode != 407 || !errors.Is(ferr, negotiate.ErrRejected) || !errors.As(ferr, &ae) || !ae.Proxy {
		t.Fatalf("status %d, ResponseError %v; want 407 and a proxy rejection", resp.StatusCode, ferr)
	}
	// HTTPS: the same, the proxy's 407 to CONNECT is the response.
	resp, err := proxyTransport(t, p.URL, secure, nil, wrong).RoundTrip(mustRequest(t, "GET", secure.URL, nil))
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	err = authFailure(t, resp, err, 407)
	if !errors.Is(err, negotiate.ErrRejected) || !errors.As(err, &ae) || !ae.Proxy || ae.StatusCode != 407 {
		t.Fatalf("ResponseError = %v; want a proxy rejection with status 407", err)
	}
	if strings.Contains(err.Error(), "not-it") {
		t.Errorf("error %q contains the password", err)
	}
	// No proxy credentials.
	resp, _ = get(t, proxyTransport(t, p.URL, nil, alice(), nil), "GET", plain.URL, "")
	if ferr := negotiate.ResponseError(resp); resp.StatusCode != 407 || !errors.Is(ferr, negotiate.ErrNoCredentials) {
		t.Fatalf("status %d, ResponseError %v; want 407, ErrNoCredentials", resp.StatusCode, ferr)
	}
}

// TestProxyUserinfo: credentials in the proxy URL authenticate with
// Negotiate/NTLM and never travel as Basic.
func TestProxyUserinfo(t *testing.T) {
	origin := httptest.NewServer(httptestutil.EchoHandler())
	t.Cleanup(origin.Close)
	var sawBasic atomic.Bool
	p := httptestutil.NewUnstartedServer(httptestutil.Config{Users: users, Proxy: true})
	inner := p.Config.Handler
	p.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("Proxy-Authorization"), "Basic") {
			sawBasic.Store(true)
		}
		inner.ServeHTTP(w, r)
	})
	p.Start()
	t.Cleanup(p.Close)
	u, _ := url.Parse(p.URL)
	u.User = url.UserPassword(`TEST\alice`, "Passw0rd!")
	tr := proxyTransport(t, u.String(), nil, nil, nil)
	resp, body := get(t, tr, "POST", origin.URL, "userinfo")
	if resp.StatusCode != 200 || body != "userinfo" {
		t.Fatalf("status %d body %q (%v)", resp.StatusCode, body, negotiate.ResponseError(resp))
	}
	if sawBasic.Load() {
		t.Fatal("proxy credentials were sent as Basic")
	}
}

func TestKerberosProxy(t *testing.T) {
	k := newKDC(t, nil)
	p := httptestutil.NewServer(httptestutil.Config{Proxy: true, Kerberos: &httptestutil.KerberosConfig{KDC: k}})
	t.Cleanup(p.Close)
	origin := httptest.NewTLSServer(httptestutil.EchoHandler())
	t.Cleanup(origin.Close)
	plain := httptest.NewServer(httptestutil.EchoHandler())
	t.Cleanup(plain.Close)
	for _, o := range []*httptest.Server{plain, origin} {
		tr := proxyTransport(t, p.URL, o, nil, krbAlice())
		tr.Krb5Config = k.Krb5ConfPath()
		resp, body := get(t, tr, "PUT", o.URL, "kerberos proxy")
		if resp.StatusCode != 200 || body != "kerberos proxy" {
			t.Fatalf("%s: status %d body %q (%v)", o.URL, resp.StatusCode, body, negotiate.ResponseError(resp))
		}
	}
}

func TestProxyPreference(t *testing.T) {
	origin := httptest.NewServer(httptestutil.EchoHandler())
	t.Cleanup(origin.Close)
	p := newProxy(t, httptestutil.Config{}) // offers Negotiate, then NTLM
	for _, tt := range []struct {
		prefer []negotiate.Scheme
		want   string
	}{
		{nil, "Negotiate"}, // NTLM inside SPNEGO: Kerberos has no SPN for 127.0.0.1
		{[]negotiate.Scheme{negotiate.SchemeNTLM}, "NTLM"},
	} {
		tr := proxyTransport(t, p.URL, nil, nil, alice())
		tr.Preference = []negotiate.Scheme{negotiate.SchemeNegotiate}
		tr.ProxyPreference = tt.prefer
		var schemes []string
		resp, legs, err := legsOf(t, tr, "GET", origin.URL, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("ProxyPreference %v: %v %v", tt.prefer, resp, err)
		}
		for _, l := range legs {
			if l.ProxyScheme != negotiate.SchemeUnknown {
				schemes = append(schemes, l.ProxyScheme.String())
			}
		}
		if len(schemes) == 0 || schemes[0] != tt.want {
			t.Errorf("ProxyPreference %v: proxy legs %v; want %s", tt.prefer, schemes, tt.want)
		}
	}
}

// TestProxyTunnelBindsToOrigin: through a CONNECT tunnel the channel
// bindings are those of the origin's certificate, which an origin that
// requires Extended Protection checks (with the NTLM MIC).
func TestProxyTunnelBindsToOrigin(t *testing.T) {
	for _, alg := range []x509.SignatureAlgorithm{x509.SHA256WithRSA, x509.ECDSAWithSHA384} {
		origin := httptestutil.NewTLSServer(httptestutil.Config{
			Users:              users,
			ExtendedProtection: httptestutil.EPARequire,
			TLS:                &httptestutil.TLSOptions{SignatureAlgorithm: alg},
		})
		t.Cleanup(origin.Close)
		p := newProxy(t, httptestutil.Config{})
		tr := proxyTransport(t, p.URL, origin.Server, bob(), alice())
		resp, body := get(t, tr, "POST", origin.URL, "bound")
		if resp.StatusCode != 200 || body != "bound" {
			t.Fatalf("%v: status %d (%s) %v", alg, resp.StatusCode, resp.Header.Get("X-Auth-Failure"), negotiate.ResponseError(resp))
		}
		// Without bindings the same origin refuses, and says why.
		tr = proxyTransport(t, p.URL, origin.Server, bob(), alice())
		tr.DisableChannelBindings = true
		resp, _ = get(t, tr, "GET", origin.URL, "")
		if resp.StatusCode != 401 || resp.Header.Get("X-Auth-Failure-Reason") != "channel-bindings-missing" {
			t.Fatalf("%v without bindings: status %d, reason %q; want 401 channel-bindings-missing", alg, resp.StatusCode, resp.Header.Get("X-Auth-Failure-Reason"))
		}
	}
}
