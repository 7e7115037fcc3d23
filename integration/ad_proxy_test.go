//go:build integration

// Through the AD tier's Squid, which offers Negotiate, NTLM and Basic and
// has each verified by the Samba DC (Kerberos with the keytab exported for
// HTTP/proxy.ad.test, NTLM and Basic through Samba's ntlm_auth): the
// library's ProxyPreference and negcurl's --proxy-* flags choose the
// scheme, as Squid itself records (alice@AD.TEST for Kerberos, ADTEST\alice
// for NTLM). The tests skip when AD_ENV is unset.

package integration

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// adProxyLab returns the AD tier's environment and requires its Squid.
func adProxyLab(t testing.TB) labEnv {
	t.Helper()
	e := adLab(t)
	for _, k := range []string{"AD_PROXY_URL", "AD_PROXY_HOST"} {
		if e[k] == "" {
			t.Fatalf("AD_ENV has no %s: the AD tier was started by a start.sh without Squid; run .ci/lab/ad/start.sh again", k)
		}
	}
	return e
}

// adNTLMUser is alice's down-level logon name, ADTEST\alice, good for
// Kerberos (the realm comes from krb5.conf) and NTLM alike.
func (e labEnv) adNTLMUser() string { return e["AD_NTLM_DOMAIN"] + `\` + e["AD_USER"] }

// adProxyIPURL is the Squid's URL with 127.0.0.1 for its name: no
// Kerberos service principal fits it.
func (e labEnv) adProxyIPURL() string {
	return strings.Replace(e["AD_PROXY_URL"], e["AD_PROXY_HOST"], "127.0.0.1", 1)
}

// adSquidLog is the AD tier's Squid access log.
func adSquidLog(t testing.TB, e labEnv) *accessLog {
	t.Helper()
	return openLog(t, filepath.Join(e["AD_DIR"], "squid", "access.log"))
}

// squidUser is the user Squid's log names for each way of logging in:
// negotiate_kerberos_auth gives the principal, ntlm_auth DOMAIN\user
// (Squid's log escapes the backslash).
func (e labEnv) squidUser(kerberos bool) string {
	if kerberos {
		return e.adPrincipal()
	}
	return e["AD_NTLM_DOMAIN"] + `\\` + e["AD_USER"]
}

// proxySchemes returns the schemes of the proxy tokens a request sent, in
// order, from its leg trace.
func proxySchemes(t testing.TB, rt http.RoundTripper, u string) ([]negotiate.Scheme, whoami) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var (
		mu   sync.Mutex
		sent []negotiate.Scheme
	)
	ctx = negotiate.WithClientTrace(ctx, &negotiate.ClientTrace{Leg: func(l negotiate.LegInfo) {
		if l.ProxySent != nil {
			mu.Lock()
			sent = append(sent, l.ProxyScheme)
			mu.Unlock()
		}
	}})
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d (proxy schemes %v), ResponseError %v; want 200", u, resp.StatusCode, sent, negotiate.ResponseError(resp))
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]negotiate.Scheme(nil), sent...), parseWhoami(body)
}

// TestADProxyPreference: Transport.ProxyPreference chooses among the
// schemes Squid offers: [NTLM] runs NTLM, [Negotiate] and nil run
// Negotiate with Kerberos (the proxy URL names a host, so there is an SPN),
// to an HTTP origin (absolute form) and an HTTPS one (CONNECT). With the
// proxy given as 127.0.0.1, nil runs NTLM: Kerberos cannot work without an
// SPN, and Squid's Negotiate helper takes raw NTLMSSP only, not NTLM in
// SPNEGO. Squid's log says which verifier accepted alice.
func TestADProxyPreference(t *testing.T) {
	e := adProxyLab(t)
	tests := []struct {
		name     string
		proxy    string
		prefer   []negotiate.Scheme
		want     negotiate.Scheme
		kerberos bool
	}{
		{"NTLM", e["AD_PROXY_URL"], []negotiate.Scheme{negotiate.SchemeNTLM}, negotiate.SchemeNTLM, false},
		{"Negotiate", e["AD_PROXY_URL"], []negotiate.Scheme{negotiate.SchemeNegotiate}, negotiate.SchemeNegotiate, true},
		{"nil", e["AD_PROXY_URL"], nil, negotiate.SchemeNegotiate, true},
		{"nil, IP-literal proxy", e.adProxyIPURL(), nil, negotiate.SchemeNTLM, false},
	}
	for _, tt := range tests {
		for _, scheme := range []string{"http", "https"} {
			t.Run(tt.name+"/"+scheme, func(t *testing.T) {
				scratchCCache(t)
				tr := newTransport(t, e, nil)
				tr.ProxyCredentials = negotiate.Password(e.adNTLMUser(), e["AD_PASSWORD"])
				tr.ProxyPreference = tt.prefer
				// Squid sends no mutual-authentication token.
				tr.Mutual = negotiate.MutualOptional
				viaProxy(t, tr, tt.proxy)
				log := adSquidLog(t, e)
				u := e.adURL(scheme) + "/open/whoami"
				sent, w := proxySchemes(t, tr, u)
				if w != (whoami{}) {
					t.Errorf("whoami(%q) = %v; want the open location's empty answer", u, w)
				}
				if len(sent) == 0 {
					t.Fatalf("ProxyPreference %v: no token went to the proxy %s", tt.prefer, tt.proxy)
				}
				for _, s := range sent {
					if s != tt.want {
						t.Fatalf("ProxyPreference %v: sent %v to the proxy %s; want only %v", tt.prefer, sent, tt.proxy, tt.want)
					}
				}
				tr.CloseIdleConnections() // Squid logs a CONNECT when the tunnel closes
				target := proxyTarget(t, u)
				user := e.squidUser(tt.kerberos)
				allowed := func(result, got string) bool {
					return strings.EqualFold(got, user) && !strings.Contains(result, "DENIED")
				}
				if saw := squidSaw(t, log, target, allowed); len(saw) == 0 {
					t.Errorf("Squid's log has no allowed request by %s for %s", user, target)
				}
			})
		}
	}
}

// TestADNegcurlProxyFlags: negcurl's --proxy-ntlm, --proxy-negotiate and
// --proxy-anyauth choose the scheme with a proxy offering Negotiate, NTLM
// and Basic, as curl's do; -v shows the legs and tokens. Without a flag and
// with the proxy given as 127.0.0.1 (no SPN), NTLM. With a wrong
// password, --proxy-ntlm's last line names the proxy and NTLM, and says
// nothing of Kerberos.
func TestADNegcurlProxyFlags(t *testing.T) {
	e := adProxyLab(t)
	common := []string{"--krb5-config", e["KRB5_CONFIG"], "--cacert", e["AD_CA_FILE"], "-v"}
	sent := regexp.MustCompile(`(?m)^> Proxy-Authorization: (\w+) <`)
	for _, tt := range []struct {
		flag     string
		proxy    string
		scheme   string // of every Proxy-Authorization sent
		kerberos bool
	}{
		{"--proxy-ntlm", e["AD_PROXY_URL"], "NTLM", false},
		{"--proxy-negotiate", e["AD_PROXY_URL"], "Negotiate", true},
		{"--proxy-anyauth", e["AD_PROXY_URL"], "Negotiate", true},
		{"", e["AD_PROXY_URL"], "Negotiate", true},
		{"", e.adProxyIPURL(), "NTLM", false},
	} {
		for _, scheme := range []string{"http", "https"} {
			name := tt.flag
			if name == "" {
				name = "no flag"
			}
			if tt.proxy == e.adProxyIPURL() {
				name += ", proxy 127.0.0.1"
			}
			t.Run(name+" "+scheme, func(t *testing.T) {
				log := adSquidLog(t, e)
				u := e.adURL(scheme) + "/open/whoami"
				args := append(append([]string{}, common...), "-x", tt.proxy, "-U", e.adNTLMUser()+":"+e["AD_PASSWORD"])
				if tt.flag != "" {
					args = append(args, tt.flag)
				}
				out, errOut, status := runNegcurl(t, []string{"KRB5CCNAME=FILE:" + filepath.Join(t.TempDir(), "cc")}, append(args, u)...)
				if status != 0 {
					t.Fatalf("exit %d, stdout %q; stderr:\n%s", status, out, errOut)
				}
				legs := regexp.MustCompile(`(?m)^\* request \d+: ` + tt.scheme + ` leg 1 to the proxy`)
				if !legs.MatchString(errOut) {
					t.Errorf("-v shows no %s leg to the proxy:\n%s", tt.scheme, errOut)
				}
				got := sent.FindAllStringSubmatch(errOut, -1)
				if len(got) == 0 {
					t.Fatalf("-v shows no Proxy-Authorization:\n%s", errOut)
				}
				for _, m := range got {
					if m[1] != tt.scheme {
						t.Errorf("sent Proxy-Authorization: %s; want only %s", m[1], tt.scheme)
					}
				}
				if tt.kerberos != strings.Contains(errOut, "Kerberos AP-REQ: ticket for "+e["AD_PROXY_SPN"]+"@"+e["AD_REALM"]) {
					t.Errorf("Kerberos AP-REQ for %s in -v: %v; want %v:\n%s", e["AD_PROXY_SPN"], !tt.kerberos, tt.kerberos, errOut)
				}
				target := proxyTarget(t, u)
				user := e.squidUser(tt.kerberos)
				allowed := func(result, got string) bool {
					return strings.EqualFold(got, user) && !strings.Contains(result, "DENIED")
				}
				if saw := squidSaw(t, log, target, allowed); len(saw) == 0 {
					t.Errorf("Squid's log has no allowed request by %s for %s", user, target)
				}
			})
		}
	}
	t.Run("--proxy-ntlm, wrong password", func(t *testing.T) {
		args := append(append([]string{}, common...), "-x", e["AD_PROXY_URL"], "-U", e.adNTLMUser()+":not-"+e["AD_PASSWORD"], "--proxy-ntlm", e.adURL("http")+"/open/whoami")
		_, errOut, status := runNegcurl(t, []string{"KRB5CCNAME=FILE:" + filepath.Join(t.TempDir(), "cc")}, args...)
		last := regexp.MustCompile(`(?m)^negcurl: proxy ` + regexp.QuoteMeta(strings.TrimPrefix(e["AD_PROXY_URL"], "http://")) +
			` rejected the NTLM credentials for ` + regexp.QuoteMeta(e.adNTLMUser()) + `: .*\n\z`)
		if status != 4 || !last.MatchString(errOut) {
			t.Fatalf("exit %d; stderr:\n%s\nwant 4 and a last line matching %s", status, errOut, last)
		}
		if strings.Contains(errOut, "Kerberos") {
			t.Errorf("the failure mentions Kerberos although --proxy-ntlm was given:\n%s", errOut)
		}
		for _, m := range sent.FindAllStringSubmatch(errOut, -1) {
			if m[1] != "NTLM" {
				t.Errorf("sent Proxy-Authorization: %s; want only NTLM", m[1])
			}
		}
	})
}
