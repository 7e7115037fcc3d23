// Tests of what the Config decides that no other test pins down: the host
// a Kerberos server's URL names, a keytab given as bytes, the refusal of a
// Kerberos configuration without keys, and a proxy over TLS.

package httptestutil_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// TestURLHost: a Kerberos server's URL names the host clients must ask a
// ticket for, so that nobody edits it; other servers keep httptest's.
func TestURLHost(t *testing.T) {
	k := epaKDC(t)
	tests := []struct {
		name     string
		kerberos *httptestutil.KerberosConfig
		tls      bool
		want     string // scheme://host, before the port
	}{
		{"no Kerberos", nil, false, "http://127.0.0.1:"},
		{"no Kerberos, TLS", nil, true, "https://127.0.0.1:"},
		{"default SPN", &httptestutil.KerberosConfig{KDC: k}, false, "http://localhost:"},
		{"default SPN, TLS", &httptestutil.KerberosConfig{KDC: k}, true, "https://localhost:"},
		{"SPN of 127.0.0.1", &httptestutil.KerberosConfig{KDC: k, SPN: "HTTP/127.0.0.1"}, false, "http://127.0.0.1:"},
		{"SPN of another host", &httptestutil.KerberosConfig{KDC: k, SPN: "HTTP/www.example.test"}, false, "http://localhost:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := httptestutil.Config{Kerberos: tt.kerberos}
			var s *httptestutil.Server
			if tt.tls {
				s = httptestutil.NewTLSServer(cfg)
			} else {
				s = httptestutil.NewServer(cfg)
			}
			defer s.Close()
			if !strings.HasPrefix(s.URL, tt.want) {
				t.Fatalf("URL = %q; want %q and a port", s.URL, tt.want)
			}
			// The URL works as it is: s.Client() reaches the server (a
			// 401, there are no credentials) and, over TLS, trusts the
			// certificate for the host the URL names.
			resp, err := s.Client().Get(s.URL)
			if err != nil {
				t.Fatalf("GET %s: %v", s.URL, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s: status %d; want 401", s.URL, resp.StatusCode)
			}
		})
	}
}

// TestKeytabBytes: a server takes its keys as a keytab file's bytes, here
// read back from the file the KDC wrote, and a client authenticates with
// Kerberos against it without the server knowing the KDC.
func TestKeytabBytes(t *testing.T) {
	k := epaKDC(t)
	k.AddService("HTTP/localhost")
	path := filepath.Join(t.TempDir(), "http.keytab")
	if err := k.WriteKeytab(path, "HTTP/localhost"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := httptestutil.NewServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{Keytab: b}})
	defer s.Close()
	tr := &negotiate.Transport{Base: &http.Transport{}, Credentials: negotiate.Password("alice@"+epaRealm, epaKrbPass), Krb5Config: k.Krb5ConfPath()}
	defer tr.CloseIdleConnections()
	checkOutcome(t, get(t, tr, s.URL), "alice@"+epaRealm, "")
	if got := k.Stats().TGSBySPN["HTTP/localhost"]; got != 1 {
		t.Errorf("TGS requests for HTTP/localhost = %d; want 1", got)
	}
}

// TestKerberosConfigRefused: a Kerberos configuration the server cannot
// use is refused when the server is made, as httptest refuses to start
// without a port, not on the first client's request.
func TestKerberosConfigRefused(t *testing.T) {
	tests := []struct {
		name string
		kc   httptestutil.KerberosConfig
		want string
	}{
		{"no KDC, no keytab", httptestutil.KerberosConfig{SPN: "HTTP/localhost"}, "needs a KDC or a Keytab"},
		{"keytab not a keytab", httptestutil.KerberosConfig{Keytab: []byte("not a keytab")}, "KerberosConfig.Keytab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				err, _ := r.(error)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("NewUnstartedServer(%+v) panicked with %v; want an error containing %q", tt.kc, r, tt.want)
				}
			}()
			s := httptestutil.NewUnstartedServer(httptestutil.Config{Kerberos: &tt.kc})
			s.Close()
		})
	}
}

// TestProxyOverTLS: a proxy is a mode of the same Server, so NewTLSServer
// makes an HTTPS proxy. net/http's own client (an independent peer) sends
// the proxy URL's userinfo as Basic to an https:// proxy, and the proxy
// forwards the request to the origin once it has verified it.
func TestProxyOverTLS(t *testing.T) {
	origin := httptestutil.NewServer(httptestutil.Config{Public: func(*http.Request) bool { return true }})
	defer origin.Close()
	p := httptestutil.NewTLSServer(httptestutil.Config{
		Proxy:   true,
		Users:   map[string]string{"carol": "pr0xy"},
		Schemes: []string{`Basic realm="proxy"`},
	})
	defer p.Close()
	roots := x509.NewCertPool()
	roots.AddCert(p.Certificate())
	send := func(userinfo *url.Userinfo) *http.Response {
		t.Helper()
		u, _ := url.Parse(p.URL)
		u.User = userinfo
		tr := &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: roots}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(origin.URL + "/through")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := send(nil); resp.StatusCode != http.StatusProxyAuthRequired || resp.Header.Get("Proxy-Authenticate") != `Basic realm="proxy"` {
		t.Errorf("without credentials: %d %q; want 407 with the Basic challenge", resp.StatusCode, resp.Header.Get("Proxy-Authenticate"))
	}
	resp := send(url.UserPassword("carol", "pr0xy"))
	if resp.StatusCode != 200 || resp.Header.Get("X-Proxy-User") != "carol" {
		t.Errorf("with credentials: %d, X-Proxy-User %q; want 200 as carol", resp.StatusCode, resp.Header.Get("X-Proxy-User"))
	}
	if st, ost := p.Stats(), origin.Stats(); st.Forwarded != 1 || st.Handshakes != 1 || ost.HTTP1Requests != 1 {
		t.Errorf("proxy Stats %+v, origin requests %d; want 1 request forwarded after 1 handshake", st, ost.HTTP1Requests)
	}
}
