//go:build integration

// Failures against the real peers: wrong passwords, no ticket, no SPN for
// an IP literal, and what the caller is handed in each case.

package integration

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// TestWrongPasswordNTLM: gss-ntlmssp refuses the AUTHENTICATE message; the
// caller gets the final 401 and ResponseError wraps ErrRejected.
func TestWrongPasswordNTLM(t *testing.T) {
	e := lab(t)
	const wrong = "wrong-Lab.pw9"
	tests := []struct {
		name   string
		creds  *negotiate.Credentials
		prefer []negotiate.Scheme
	}{
		{"password, raw NTLM", negotiate.Password(e.ntlmUser(), wrong), []negotiate.Scheme{negotiate.SchemeNTLM}},
		{"NT hash", negotiate.NTHash(e.ntlmUser(), ntHash(wrong)), nil},
	}
	for _, tt := range tests {
		for _, scheme := range []string{"http", "https"} {
			t.Run(tt.name+"/"+scheme, func(t *testing.T) {
				tr := newTransport(t, e, tt.creds)
				tr.Preference = tt.prefer
				u := e.url(scheme) + "/ntlm/whoami"
				r := do(t, tr, "GET", u, nil, nil)
				err := final401(t, r)
				if !errors.Is(err, negotiate.ErrRejected) {
					t.Fatalf("GET %s: ResponseError = %v; want ErrRejected", u, err)
				}
				if strings.Contains(err.Error(), wrong) {
					t.Errorf("error %q contains the password", err)
				}
			})
		}
	}
}

// TestWrongPasswordKerberos: the KDC refuses pre-authentication, so no
// token is sent to the server; as with a wrong NTLM password, the caller
// gets the server's 401 and ResponseError wraps ErrRejected (the one error
// shape of the package documentation).
func TestWrongPasswordKerberos(t *testing.T) {
	e := lab(t)
	const wrong = "wrong-Lab.pw9"
	tr := newTransport(t, e, negotiate.Password(e.principal(), wrong))
	tr.DisableNTLM = true
	u := e.url("https") + "/krb/whoami"
	for _, round := range []string{"cold", "known origin"} {
		r := do(t, tr, "GET", u, nil, nil)
		err := final401(t, r)
		if !errors.Is(err, negotiate.ErrRejected) {
			t.Fatalf("%s GET %s: ResponseError = %v; want ErrRejected", round, u, err)
		}
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("error %q contains the password", err)
		}
	}
}

// TestNoTicket: DefaultCredentials with an empty ticket cache and no client
// keytab, NTLM disabled: ErrNoCredentials.
func TestNoTicket(t *testing.T) {
	e := lab(t)
	scratchCCache(t)
	tr := newTransport(t, e, negotiate.DefaultCredentials())
	tr.DisableNTLM = true
	u := e.url("http") + "/krb/whoami"
	r := do(t, tr, "GET", u, nil, nil)
	if r.err == nil {
		// The 401 may come back as a response; ResponseError must say why.
		r.err = final401(t, r)
	}
	if !errors.Is(r.err, negotiate.ErrNoCredentials) {
		t.Fatalf("GET %s: %v; want ErrNoCredentials", u, r.err)
	}
}

// TestIPLiteral: an IP literal has no SPN; with NTLM disabled that is
// ErrNoSPN, and an SPNPolicy entry for the address makes Kerberos work.
func TestIPLiteral(t *testing.T) {
	e := lab(t)
	u := "http://127.0.0.1:" + hostPort(t, e["LAB_HTTP_URL"]) + "/krb/whoami"
	t.Run("no SPN", func(t *testing.T) {
		tr := newTransport(t, e, negotiate.Password(e.principal(), e["LAB_PASSWORD"]))
		tr.DisableNTLM = true
		r := do(t, tr, "GET", u, nil, nil)
		if r.err == nil {
			r.err = final401(t, r)
		}
		if !errors.Is(r.err, negotiate.ErrNoSPN) {
			t.Fatalf("GET %s: %v; want ErrNoSPN", u, r.err)
		}
	})
	t.Run("SPN for the address", func(t *testing.T) {
		tr := newTransport(t, e, negotiate.Password(e.principal(), e["LAB_PASSWORD"]))
		tr.DisableNTLM = true
		tr.SPN.Hosts = map[string]string{"127.0.0.1": e["LAB_HTTP_SPN"]}
		if w, _ := getWhoami(t, tr, u); w != (whoami{e.principal(), "Negotiate/krb5"}) {
			t.Fatalf("whoami(%q) = %v; want %s Negotiate/krb5", u, w, e.principal())
		}
	})
}

// TestKerberosRefusedByNTLMLocation: a Kerberos SPNEGO token to /ntlm/
// (gss-ntlmssp only) gets a 401 carrying negState reject. The caller gets
// that 401, with a body it can read, and ErrRejected.
func TestKerberosRefusedByNTLMLocation(t *testing.T) {
	e := lab(t)
	tr := newTransport(t, e, negotiate.Password(e.principal(), e["LAB_PASSWORD"]))
	tr.DisableNTLM = true
	u := e.url("http") + "/ntlm/whoami"
	r := do(t, tr, "GET", u, nil, nil)
	if err := final401(t, r); !errors.Is(err, negotiate.ErrRejected) {
		t.Fatalf("GET %s: ResponseError = %v; want ErrRejected", u, err)
	}
	if len(r.legs) < 2 || r.legs[len(r.legs)-1].Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("legs %s; want the try and a refused Negotiate leg", r.schemes())
	}
}
