//go:build integration

// Through Squid: as a plain forward proxy (no proxy authentication) with
// origin authentication behind it, and as a proxy that wants
// Proxy-Authorization: Negotiate (Kerberos, HTTP/proxy.lab.test).

package integration

import (
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// squidLog is Squid's access log (native format: time, elapsed, client,
// result/status, bytes, method, URL, user, hierarchy, type).
func squidLog(t testing.TB, e labEnv) *accessLog {
	t.Helper()
	return openLog(t, filepath.Join(e["LAB_DIR"], "squid", "access.log"))
}

// squidSaw returns the Squid entries since l was opened for requests whose
// URL field is target (a URL, or host:port for CONNECT) and that match, as
// "result/status user" strings. It waits (boundedly) for one to appear:
// Squid logs a CONNECT when its tunnel closes.
func squidSaw(t testing.TB, l *accessLog, target string, match func(result, user string) bool) []string {
	t.Helper()
	var got []string
	for _, line := range l.lines(t, func(line string) bool {
		f := strings.Fields(line)
		return len(f) >= 8 && f[6] == target && match(f[3], f[7])
	}, 1) {
		f := strings.Fields(line)
		got = append(got, f[3]+" "+f[7])
	}
	return got
}

// proxyTarget is what Squid logs for a request to u: the URL, or for HTTPS
// the CONNECT's host:port.
func proxyTarget(t testing.TB, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scheme == "https" {
		return p.Host
	}
	return u
}

// viaProxy makes tr's Base send everything through the proxy at rawURL.
func viaProxy(t testing.TB, tr *negotiate.Transport, rawURL string) {
	t.Helper()
	p, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	tr.Base.Proxy = http.ProxyURL(p)
}

// TestOpenProxy: origin Kerberos and NTLM through Squid's open port, to
// HTTP in absolute form and to HTTPS through a CONNECT tunnel.
func TestOpenProxy(t *testing.T) {
	e := lab(t)
	tests := []struct {
		name, path string
		creds      *negotiate.Credentials
		want       whoami
	}{
		{"kerberos", "/krb/whoami", negotiate.Password(e.principal(), e["LAB_PASSWORD"]), whoami{e.principal(), "Negotiate/krb5"}},
		{"kerberos, connection-bound", "/krb-conn/whoami", negotiate.Keytab(e.principal(), e["LAB_KEYTAB"]), whoami{e.principal(), "Negotiate/krb5"}},
		{"ntlm", "/ntlm/whoami", ntlmCredentials(e, "nthash"), whoami{e.ntlmUser(), "NTLM/NTLM"}},
	}
	for _, tt := range tests {
		for _, scheme := range []string{"http", "https"} {
			t.Run(tt.name+"/"+scheme, func(t *testing.T) {
				tr := newTransport(t, e, tt.creds)
				viaProxy(t, tr, e["LAB_PROXY_OPEN_URL"])
				log := squidLog(t, e)
				u := e.url(scheme) + tt.path
				for _, round := range []string{"cold", "warm"} {
					if w, r := getWhoami(t, tr, u); w != tt.want {
						t.Fatalf("%s: whoami(%q) via %s = %v; want %v (legs %s)", round, u, e["LAB_PROXY_OPEN_URL"], w, tt.want, r.schemes())
					}
				}
				tr.CloseIdleConnections() // Squid logs a CONNECT when the tunnel closes
				anything := func(string, string) bool { return true }
				if saw := squidSaw(t, log, proxyTarget(t, u), anything); len(saw) == 0 {
					t.Errorf("Squid logged no request for %s: the requests did not go through it", proxyTarget(t, u))
				}
			})
		}
	}
}

// TestAuthenticatingProxy: Squid's Negotiate port wants Kerberos for
// HTTP/proxy.lab.test; Transport.ProxyCredentials answer it, and origin
// credentials answer the origin behind it.
func TestAuthenticatingProxy(t *testing.T) {
	e := lab(t)
	alice := negotiate.Password(e.principal(), e["LAB_PASSWORD"])
	tests := []struct {
		name, path string
		creds      *negotiate.Credentials // origin
		want       whoami
	}{
		{"open origin", "/open/whoami", nil, whoami{"", ""}},
		{"kerberos origin", "/krb/whoami", alice, whoami{e.principal(), "Negotiate/krb5"}},
		{"connection-bound kerberos origin", "/krb-conn/whoami", alice, whoami{e.principal(), "Negotiate/krb5"}},
		{"ntlm origin", "/ntlm/whoami", ntlmCredentials(e, "nthash"), whoami{e.ntlmUser(), "NTLM/NTLM"}},
	}
	for _, tt := range tests {
		for _, scheme := range []string{"http", "https"} {
			t.Run(tt.name+"/"+scheme, func(t *testing.T) {
				tr := newTransport(t, e, tt.creds)
				tr.ProxyCredentials = negotiate.Keytab(e.principal(), e["LAB_KEYTAB"])
				viaProxy(t, tr, e["LAB_PROXY_URL"])
				log := squidLog(t, e)
				u := e.url(scheme) + tt.path
				for _, round := range []string{"cold", "warm"} {
					if w, r := getWhoami(t, tr, u); w != tt.want {
						t.Fatalf("%s: whoami(%q) via %s = %v; want %v (legs %s)", round, u, e["LAB_PROXY_URL"], w, tt.want, r.schemes())
					}
				}
				// Squid's view: the request got through as alice.
				tr.CloseIdleConnections() // Squid logs a CONNECT when the tunnel closes
				target := proxyTarget(t, u)
				allowed := func(result, user string) bool {
					return user == e.principal() && !strings.Contains(result, "DENIED")
				}
				if saw := squidSaw(t, log, target, allowed); len(saw) == 0 {
					t.Errorf("Squid's log has no allowed request by %s for %s", e.principal(), target)
				}
			})
		}
	}
}

// TestAuthenticatingProxyFailures: without proxy credentials the caller
// gets Squid's 407; with a wrong password the KDC refuses.
func TestAuthenticatingProxyFailures(t *testing.T) {
	e := lab(t)
	for _, scheme := range []string{"http", "https"} {
		u := e.url(scheme) + "/open/whoami"
		t.Run("no proxy credentials/"+scheme, func(t *testing.T) {
			scratchCCache(t)
			tr := newTransport(t, e, negotiate.Password(e.principal(), e["LAB_PASSWORD"]))
			viaProxy(t, tr, e["LAB_PROXY_URL"])
			r := do(t, tr, "GET", u, nil, nil)
			if r.err == nil {
				if r.resp.StatusCode != http.StatusProxyAuthRequired {
					t.Fatalf("GET %s = %d; want 407 (origin credentials never go to a proxy)", u, r.resp.StatusCode)
				}
				r.err = negotiate.ResponseError(r.resp)
			}
			var ae *negotiate.AuthError
			if !errors.Is(r.err, negotiate.ErrNoCredentials) || !errors.As(r.err, &ae) || !ae.Proxy {
				t.Fatalf("GET %s: %v; want a proxy AuthError wrapping ErrNoCredentials", u, r.err)
			}
		})
		t.Run("wrong password/"+scheme, func(t *testing.T) {
			tr := newTransport(t, e, nil)
			tr.ProxyCredentials = negotiate.Password(e.principal(), "wrong-Lab.pw9")
			viaProxy(t, tr, e["LAB_PROXY_URL"])
			r := do(t, tr, "GET", u, nil, nil)
			if r.err == nil {
				r.err = negotiate.ResponseError(r.resp)
			}
			if !errors.Is(r.err, negotiate.ErrRejected) {
				t.Fatalf("GET %s: %v; want ErrRejected", u, r.err)
			}
		})
	}
}
