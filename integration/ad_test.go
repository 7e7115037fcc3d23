//go:build integration

// Active Directory as deployed, against the lab's Samba AD DC tier
// (.ci/lab/ad): Kerberos to Apache with a password, a keytab and a ticket
// cache (tickets with a PAC, AS-REPs too big for UDP), and NTLM verified by
// the DC through winbindd. The tests skip when AD_ENV is unset.

package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
)

var (
	adOnce sync.Once
	adVars labEnv
	adErr  error
)

// adLab returns the AD tier's environment (the KEY=value lines of
// ad.env), with LAB_CA_FILE set to the tier's CA so that baseTransport
// and newTransport work with it. It skips the test when AD_ENV is unset.
func adLab(t testing.TB) labEnv {
	t.Helper()
	path := os.Getenv("AD_ENV")
	if path == "" {
		t.Skip("AD tier not up: run .ci/lab/ad/start.sh and set AD_ENV")
	}
	adOnce.Do(func() {
		adVars, adErr = readEnvFile(path,
			"AD_DIR", "KRB5_CONFIG", "AD_REALM", "AD_NTLM_DOMAIN", "AD_USER", "AD_PASSWORD",
			"AD_KEYTAB", "AD_UPN", "AD_UPN_PASSWORD", "AD_SENSITIVE_USER", "AD_SERVICE",
			"AD_SERVICE_KEYTAB", "AD_UNTRUSTED", "AD_UNTRUSTED_KEYTAB", "AD_HTTP_SPN",
			"AD_HTTP_URL", "AD_HTTPS_URL", "AD_CA_FILE")
		if adErr == nil {
			adVars["LAB_CA_FILE"] = adVars["AD_CA_FILE"]
		}
	})
	if adErr != nil {
		t.Fatalf("AD_ENV: %v", adErr)
	}
	return adVars
}

// adPrincipal is alice's principal in the AD realm.
func (e labEnv) adPrincipal() string { return e["AD_USER"] + "@" + e["AD_REALM"] }

// adURL returns the AD tier's Apache base URL for scheme.
func (e labEnv) adURL(scheme string) string {
	if scheme == "https" {
		return e["AD_HTTPS_URL"]
	}
	return e["AD_HTTP_URL"]
}

// adKinit runs MIT kinit for principal with password into the cache at
// path, against the DC.
func adKinit(t testing.TB, e labEnv, principal, password, path string, args ...string) {
	t.Helper()
	kinitPath, err := exec.LookPath("kinit")
	if err != nil {
		t.Fatalf("kinit not found (the AD tier installs krb5-user): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kinitPath, append(args, principal)...)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+e["KRB5_CONFIG"], "KRB5CCNAME=FILE:"+path)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit %s: %v\n%s", principal, err, out)
	}
}

func TestADKerberos(t *testing.T) {
	e := adLab(t)
	sources := map[string]func(t *testing.T) *negotiate.Credentials{
		"password": func(*testing.T) *negotiate.Credentials {
			return negotiate.Password(e.adPrincipal(), e["AD_PASSWORD"])
		},
		"keytab": func(*testing.T) *negotiate.Credentials {
			return negotiate.Keytab(e.adPrincipal(), e["AD_KEYTAB"])
		},
		"ccache": func(t *testing.T) *negotiate.Credentials {
			cc := scratchCCache(t)
			adKinit(t, e, e.adPrincipal(), e["AD_PASSWORD"], cc)
			return negotiate.CCache(cc)
		},
	}
	for _, source := range []string{"password", "keytab", "ccache"} {
		for _, scheme := range []string{"http", "https"} {
			t.Run(source+"/"+scheme, func(t *testing.T) {
				tr := newTransport(t, e, sources[source](t))
				tr.DisableNTLM = true
				u := e.adURL(scheme) + "/krb/whoami"
				w, r := getWhoami(t, tr, u)
				if want := (whoami{e.adPrincipal(), "Negotiate/krb5"}); w != want {
					t.Fatalf("whoami(%q) = %v; want %v", u, w, want)
				}
				last := r.legs[len(r.legs)-1]
				if last.Scheme != negotiate.SchemeNegotiate || last.Received == nil {
					t.Fatalf("legs %s; want a final Negotiate leg answered with the AP-REP (Mutual is required)", r.schemes())
				}
			})
		}
	}
}

// TestADKerberosWrongPassword: the DC refuses a wrong password (after
// PREAUTH_REQUIRED) and the error says so, without falling back to NTLM.
func TestADKerberosWrongPassword(t *testing.T) {
	e := adLab(t)
	tr := newTransport(t, e, negotiate.Password(e.adPrincipal(), "not-"+e["AD_PASSWORD"]))
	tr.DisableNTLM = true
	r := do(t, tr, "GET", e.adURL("http")+"/krb/whoami", nil, nil)
	if r.err == nil && r.resp.StatusCode == 200 {
		t.Fatalf("a wrong password got a 200")
	}
}

func TestADNTLM(t *testing.T) {
	e := adLab(t)
	user := e["AD_NTLM_DOMAIN"] + `\` + e["AD_USER"]
	tests := []struct {
		name     string
		location string
		creds    *negotiate.Credentials
		prefer   []negotiate.Scheme
		mech     string
	}{
		{"raw NTLM, password", "/ntlm/", negotiate.Password(user, e["AD_PASSWORD"]), []negotiate.Scheme{negotiate.SchemeNTLM}, "NTLM/NTLM"},
		{"raw NTLM, NT hash", "/ntlm/", negotiate.NTHash(user, ntHash(e["AD_PASSWORD"])), nil, "NTLM/NTLM"},
		{"NTLM in SPNEGO", "/ntlm/", negotiate.NTHash(user, ntHash(e["AD_PASSWORD"])), []negotiate.Scheme{negotiate.SchemeNegotiate}, "Negotiate/NTLM"},
		{"raw NTLM on /any/", "/any/", negotiate.NTHash(user, ntHash(e["AD_PASSWORD"])), []negotiate.Scheme{negotiate.SchemeNTLM}, "NTLM/NTLM"},
	}
	for _, tt := range tests {
		for _, scheme := range []string{"http", "https"} {
			t.Run(tt.name+"/"+scheme, func(t *testing.T) {
				tr := newTransport(t, e, tt.creds)
				tr.Mutual = negotiate.MutualOptional
				tr.Preference = tt.prefer
				u := e.adURL(scheme) + tt.location + "whoami"
				w, _ := getWhoami(t, tr, u)
				// winbindd reports the user as DOMAIN\user.
				if !strings.EqualFold(w.user, user) || w.mech != tt.mech {
					t.Fatalf("whoami(%q) = %v; want %s %s", u, w, user, tt.mech)
				}
			})
		}
	}
	t.Run("wrong password", func(t *testing.T) {
		tr := newTransport(t, e, negotiate.NTHash(user, ntHash("not-"+e["AD_PASSWORD"])))
		tr.Mutual = negotiate.MutualOptional
		r := do(t, tr, "GET", e.adURL("http")+"/ntlm/whoami", nil, nil)
		if r.err == nil && r.resp.StatusCode == 200 {
			t.Fatalf("a wrong NT hash got a 200 from the DC-verified location")
		}
	})
}

// TestADImpersonate: constrained delegation (S4U2Self + S4U2Proxy) with
// only the service account's keytab (or password) on the client: Apache's
// REMOTE_USER is the impersonated user, not the service, with mutual
// authentication, over HTTP and HTTPS, stateless and connection-bound.
func TestADImpersonate(t *testing.T) {
	e := adLab(t)
	svcPrincipal := e["AD_SERVICE"] + "@" + e["AD_REALM"]
	services := map[string]*negotiate.Credentials{
		"keytab":   negotiate.Keytab(svcPrincipal, e["AD_SERVICE_KEYTAB"]),
		"password": negotiate.Password(svcPrincipal, e["AD_SERVICE_PASSWORD"]),
	}
	for _, source := range []string{"keytab", "password"} {
		for _, loc := range []string{"http/krb", "https/krb", "http/any", "https/any"} {
			t.Run(source+"/"+loc, func(t *testing.T) {
				scheme, path, _ := strings.Cut(loc, "/")
				creds := negotiate.Impersonate(services[source], e["AD_USER"])
				tr := newTransport(t, e, creds)
				tr.DisableNTLM = true
				u := e.adURL(scheme) + "/" + path + "/whoami"
				w, r := getWhoami(t, tr, u)
				if want := (whoami{e.adPrincipal(), "Negotiate/krb5"}); w != want {
					t.Fatalf("whoami(%q) as %v = %v; want %v", u, creds, w, want)
				}
				if last := r.legs[len(r.legs)-1]; last.Received == nil {
					t.Fatalf("legs %s: no AP-REP on the 200 (Mutual is required)", r.schemes())
				}
				// Warm: the same ticket, no new S4U exchange needed.
				if w, _ = getWhoami(t, tr, u); w.user != e.adPrincipal() {
					t.Fatalf("second request: whoami %v; want %s", w, e.adPrincipal())
				}
			})
		}
	}
	t.Run("UPN", func(t *testing.T) {
		// carol by her UPN, whose suffix is not the realm: an enterprise
		// name in PA-FOR-USER, resolved by the DC.
		tr := newTransport(t, e, negotiate.Impersonate(services["keytab"], e["AD_UPN"]))
		tr.DisableNTLM = true
		w, _ := getWhoami(t, tr, e.adURL("http")+"/krb/whoami")
		// Samba 4.17 keeps the enterprise name as the ticket's client
		// (MIT renders it carol\@upn.example@AD.TEST) even with
		// canonicalize; Windows gives the account name.
		canonical := e["AD_UPN_SAM"] + "@" + e["AD_REALM"]
		enterprise := strings.ReplaceAll(e["AD_UPN"], "@", `\@`) + "@" + e["AD_REALM"]
		if w.user != canonical && w.user != enterprise {
			t.Fatalf("whoami as %s = %v; want %s or %s", e["AD_UPN"], w, canonical, enterprise)
		}
	})
}

// TestADImpersonateRefused: the DC's refusals, each with its typed error.
func TestADImpersonateRefused(t *testing.T) {
	e := adLab(t)
	trusted := negotiate.Keytab(e["AD_SERVICE"]+"@"+e["AD_REALM"], e["AD_SERVICE_KEYTAB"])
	untrusted := negotiate.Keytab(e["AD_UNTRUSTED"]+"@"+e["AD_REALM"], e["AD_UNTRUSTED_KEYTAB"])
	tests := []struct {
		name    string
		creds   *negotiate.Credentials
		spn     string // "" for the URL's
		want    error
		notWant []error
	}{
		{"service not trusted for protocol transition", negotiate.Impersonate(untrusted, e["AD_USER"]), "",
			negotiate.ErrNoProtocolTransition, []error{negotiate.ErrUserNotDelegable, negotiate.ErrDelegationNotAllowed}},
		{"sensitive user", negotiate.Impersonate(trusted, e["AD_SENSITIVE_USER"]), "",
			negotiate.ErrUserNotDelegable, []error{negotiate.ErrNoProtocolTransition, negotiate.ErrDelegationNotAllowed}},
		{"SPN not in msDS-AllowedToDelegateTo", negotiate.Impersonate(trusted, e["AD_USER"]), e["AD_UNTRUSTED_SPN"],
			negotiate.ErrDelegationNotAllowed, []error{negotiate.ErrNoProtocolTransition, negotiate.ErrUserNotDelegable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, e, tt.creds)
			tr.DisableNTLM = true
			if tt.spn != "" {
				tr.SPN.Hosts = map[string]string{e["AD_HTTP_HOST"]: tt.spn}
			}
			r := do(t, tr, "GET", e.adURL("http")+"/krb/whoami", nil, nil)
			err := r.err
			if err == nil {
				if r.resp.StatusCode == 200 {
					t.Fatalf("%s: got a 200 as %s", tt.name, r.body)
				}
				err = negotiate.ResponseError(r.resp)
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, negotiate.ErrRejected) {
				t.Fatalf("error %v; want %v (and ErrRejected)", err, tt.want)
			}
			for _, nw := range tt.notWant {
				if errors.Is(err, nw) {
					t.Fatalf("error %v also matches %v", err, nw)
				}
			}
			if !strings.Contains(err.Error(), "KDC_ERR_BADOPTION") {
				t.Fatalf("error %q does not name the KDC's KDC_ERR_BADOPTION", err)
			}
		})
	}
}

// TestADUPNLogin: a user whose UPN suffix is not the realm logs in with
// Password("carol@upn.example"): an enterprise name with canonicalize
// (RFC 6806), and Apache sees the canonical carol@AD.TEST. NTLM takes the
// UPN too (sent whole as the user name, as SSPI does), verified by the DC.
func TestADUPNLogin(t *testing.T) {
	e := adLab(t)
	canonical := e["AD_UPN_SAM"] + "@" + e["AD_REALM"]
	for _, scheme := range []string{"http", "https"} {
		t.Run("kerberos/"+scheme, func(t *testing.T) {
			tr := newTransport(t, e, negotiate.Password(e["AD_UPN"], e["AD_UPN_PASSWORD"]))
			tr.DisableNTLM = true
			w, _ := getWhoami(t, tr, e.adURL(scheme)+"/krb/whoami")
			if want := (whoami{canonical, "Negotiate/krb5"}); w != want {
				t.Fatalf("whoami as %s = %v; want %v", e["AD_UPN"], w, want)
			}
		})
	}
	t.Run("kerberos, wrong password", func(t *testing.T) {
		tr := newTransport(t, e, negotiate.Password(e["AD_UPN"], "not-"+e["AD_UPN_PASSWORD"]))
		tr.DisableNTLM = true
		r := do(t, tr, "GET", e.adURL("http")+"/krb/whoami", nil, nil)
		err := r.err
		if err == nil {
			err = negotiate.ResponseError(r.resp)
		}
		if !errors.Is(err, negotiate.ErrRejected) {
			t.Fatalf("wrong password: %v; want ErrRejected", err)
		}
	})
	t.Run("ntlm", func(t *testing.T) {
		tr := newTransport(t, e, negotiate.Password(e["AD_UPN"], e["AD_UPN_PASSWORD"]))
		tr.Mutual = negotiate.MutualOptional
		tr.Preference = []negotiate.Scheme{negotiate.SchemeNTLM}
		w, _ := getWhoami(t, tr, e.adURL("http")+"/ntlm/whoami")
		// gss-ntlmssp names the user as the AUTHENTICATE message did (an
		// empty domain and the UPN) once winbindd (the DC) accepted it.
		if want := `\` + e["AD_UPN"]; !strings.EqualFold(w.user, want) || w.mech != "NTLM/NTLM" {
			t.Fatalf("whoami as %s over NTLM = %v; want %s NTLM/NTLM", e["AD_UPN"], w, want)
		}
	})
}
