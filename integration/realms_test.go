//go:build integration

// Against the lab's MIT realms tier (.ci/lab/realms): a service keyed
// only with the AES-SHA2 enctypes of RFC 8009, cross-realm authentication
// over a direct trust, and a typed error for a realm with no trust path.
// The tests skip when REALMS_ENV is unset.

package integration

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/authscheme"
)

var (
	realmsOnce sync.Once
	realmsVars labEnv
	realmsErr  error
)

// realmsLab returns the realms tier's environment. Its Apache speaks
// HTTP only, so LAB_CA_FILE is the system's pool (unused).
func realmsLab(t testing.TB) labEnv {
	t.Helper()
	path := os.Getenv("REALMS_ENV")
	if path == "" {
		t.Skip("realms tier not up: run .ci/lab/realms/start.sh and set REALMS_ENV")
	}
	realmsOnce.Do(func() {
		realmsVars, realmsErr = readEnvFile(path, "KRB5_CONFIG", "REALMS_REALM", "REALMS_USER", "REALMS_PASSWORD",
			"REALMS_KEYTAB", "REALMS_SHA2_URL", "REALMS_WEST_URL", "REALMS_SOUTH_URL", "REALMS_NORTH_URL")
		if realmsErr == nil {
			realmsVars["LAB_CA_FILE"] = "/etc/ssl/certs/ca-certificates.crt"
		}
	})
	if realmsErr != nil {
		t.Fatalf("REALMS_ENV: %v", realmsErr)
	}
	return realmsVars
}

func (e labEnv) realmsPrincipal() string { return e["REALMS_USER"] + "@" + e["REALMS_REALM"] }

func TestRealmsAESSHA2(t *testing.T) {
	e := realmsLab(t)
	for name, creds := range map[string]*negotiate.Credentials{
		"password": negotiate.Password(e.realmsPrincipal(), e["REALMS_PASSWORD"]),
		"keytab":   negotiate.Keytab(e.realmsPrincipal(), e["REALMS_KEYTAB"]),
	} {
		t.Run(name, func(t *testing.T) {
			tr := newTransport(t, e, creds)
			tr.DisableNTLM = true
			u := e["REALMS_SHA2_URL"] + "/krb/whoami"
			w, r := getWhoami(t, tr, u)
			if want := (whoami{e.realmsPrincipal(), "Negotiate/krb5"}); w != want {
				t.Fatalf("whoami(%q) = %v; want %v", u, w, want)
			}
			// The service has only AES-SHA2 keys and session_enctypes: the
			// ticket and our authenticator are aes256-cts-hmac-sha384-192,
			// and the AP-REP (Mutual is required) verified with it.
			d, err := authscheme.DescribeToken("Negotiate", r.legs[len(r.legs)-1].Sent)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(d, "aes256-cts-hmac-sha384-192 (20)") < 2 {
				t.Fatalf("token %s; want the ticket and the authenticator in enctype 20", d)
			}
		})
	}
}

func TestRealmsCrossRealm(t *testing.T) {
	e := realmsLab(t)
	tr := newTransport(t, e, negotiate.Password(e.realmsPrincipal(), e["REALMS_PASSWORD"]))
	tr.DisableNTLM = true
	u := e["REALMS_WEST_URL"] + "/krb/whoami"
	// www.west.test maps to WEST.TEST ([domain_realm]); alice of EAST.TEST
	// gets krbtgt/WEST.TEST@EAST.TEST, then the service ticket from WEST.
	w, _ := getWhoami(t, tr, u)
	if want := (whoami{e.realmsPrincipal(), "Negotiate/krb5"}); w != want {
		t.Fatalf("whoami(%q) = %v; want %v", u, w, want)
	}

	t.Run("capaths through WEST", func(t *testing.T) {
		// SOUTH.TEST trusts only WEST.TEST: EAST's KDC answers our request
		// for krbtgt/SOUTH.TEST with krbtgt/WEST.TEST (its [capaths]),
		// WEST's with krbtgt/SOUTH.TEST@WEST.TEST, then SOUTH's KDC
		// checks the transited realms and issues the ticket.
		tr := newTransport(t, e, negotiate.Password(e.realmsPrincipal(), e["REALMS_PASSWORD"]))
		tr.DisableNTLM = true
		u := e["REALMS_SOUTH_URL"] + "/krb/whoami"
		w, _ := getWhoami(t, tr, u)
		if want := (whoami{e.realmsPrincipal(), "Negotiate/krb5"}); w != want {
			t.Fatalf("whoami(%q) = %v; want %v", u, w, want)
		}
	})

	t.Run("KDC referral", func(t *testing.T) {
		// A client configuration that does not map www.west.test: we ask
		// EAST.TEST's KDC for HTTP/www.west.test@EAST.TEST with
		// name-canonicalize; it refers us to WEST.TEST (RFC 6806 §8), whose
		// KDC gives the ticket.
		conf, err := os.ReadFile(e["KRB5_CONFIG"])
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, l := range strings.Split(string(conf), "\n") {
			if !strings.Contains(l, "west.test") {
				kept = append(kept, l)
			}
		}
		path := filepath.Join(t.TempDir(), "krb5.conf")
		if err := os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		tr := newTransport(t, e, negotiate.Password(e.realmsPrincipal(), e["REALMS_PASSWORD"]))
		tr.Krb5Config = path
		tr.DisableNTLM = true
		w, _ := getWhoami(t, tr, u)
		if want := (whoami{e.realmsPrincipal(), "Negotiate/krb5"}); w != want {
			t.Fatalf("whoami(%q) through a referral = %v; want %v", u, w, want)
		}
	})

	t.Run("no trust path", func(t *testing.T) {
		tr := newTransport(t, e, negotiate.Password(e.realmsPrincipal(), e["REALMS_PASSWORD"]))
		tr.DisableNTLM = true
		r := do(t, tr, "GET", e["REALMS_NORTH_URL"]+"/krb/whoami", nil, nil)
		err := r.err
		if err == nil {
			if r.resp.StatusCode == 200 {
				t.Fatalf("NORTH.TEST reached without a trust path")
			}
			err = negotiate.ResponseError(r.resp)
		}
		if !errors.Is(err, negotiate.ErrNoRealmPath) || !errors.Is(err, negotiate.ErrUnknownPrincipal) {
			t.Fatalf("error %v; want ErrNoRealmPath (and ErrUnknownPrincipal)", err)
		}
	})
}
