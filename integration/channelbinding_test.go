//go:build integration

package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// gssapiLab returns the environment of the channel-binding acceptor
// (.ci/lab/gssapi: MIT krb5 and gss-ntlmssp through python3-gssapi, given the
// tls-server-end-point bindings of its own certificate), named by
// GSSAPI_ENV. It skips when unset, except under CI.
func gssapiLab(t *testing.T) labEnv {
	t.Helper()
	path := os.Getenv("GSSAPI_ENV")
	if path == "" {
		const msg = "channel-binding acceptor not up: run .ci/lab/gssapi/start.sh and set GSSAPI_ENV"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: the real-peer suite must run)")
		}
		t.Skip(msg)
	}
	e, err := readEnvFile(path, "GSSAPI_LAB_URL")
	if err != nil {
		t.Fatalf("GSSAPI_ENV: %v", err)
	}
	return e
}

// cbAnswer is the acceptor's JSON answer.
type cbAnswer struct {
	User          string `json:"user"`
	ChannelBound  bool   `json:"channel_bound"`
	BindingsGiven bool   `json:"bindings_given"`
	Error         string `json:"error"`
}

// TestChannelBindingsIndependentAcceptor: MIT krb5 and gss-ntlmssp, given
// the bindings of the certificate the client saw, verify the bindings our
// Kerberos and NTLM tokens carry (GSS_C_CHANNEL_BOUND_FLAG), reject them
// when given another certificate's, and an IIS-style "Required" location
// refuses a client that sends none.
func TestChannelBindingsIndependentAcceptor(t *testing.T) {
	e := lab(t)
	g := gssapiLab(t)
	kerberosURL := g["GSSAPI_LAB_URL"]
	ntlmURL := strings.Replace(kerberosURL, e["LAB_HTTP_HOST"], "127.0.0.1", 1) // no SPN: NTLM
	creds := map[string]*negotiate.Credentials{
		"kerberos": negotiate.Password(e.principal(), e["LAB_PASSWORD"]),
		"ntlm":     negotiate.Password(e.ntlmUser(), e["LAB_PASSWORD"]),
	}
	urls := map[string]string{"kerberos": kerberosURL, "ntlm": ntlmURL}
	for _, mech := range []string{"kerberos", "ntlm"} {
		for _, tt := range []struct {
			path       string
			noBindings bool
			status     int
			bound      bool
		}{
			{"/cb/whoami", false, 200, true},
			{"/require/whoami", false, 200, true},
			{"/wrongcb/whoami", false, 401, false},
			{"/cb/whoami", true, 200, false},
			{"/require/whoami", true, 403, false},
		} {
			name := mech + tt.path
			if tt.noBindings {
				name += "/without-bindings"
			}
			t.Run(name, func(t *testing.T) {
				tr := newTransport(t, e, creds[mech])
				tr.DisableChannelBindings = tt.noBindings
				r := do(t, tr, "GET", urls[mech]+tt.path, nil, nil)
				if r.err != nil {
					t.Fatalf("RoundTrip: %v", r.err)
				}
				if r.resp.StatusCode != tt.status {
					t.Fatalf("status %d (%s); want %d (legs %s)", r.resp.StatusCode, r.body, tt.status, r.schemes())
				}
				if tt.status == http.StatusUnauthorized {
					if err := negotiate.ResponseError(r.resp); err == nil {
						t.Errorf("ResponseError = nil; want why the acceptor refused")
					}
					return
				}
				var a cbAnswer
				if err := json.Unmarshal(r.body, &a); err != nil {
					t.Fatalf("answer %q: %v", r.body, err)
				}
				if tt.status == 200 && (a.ChannelBound != tt.bound || a.User == "") {
					t.Errorf("answer %+v; want channel_bound=%v for a named user", a, tt.bound)
				}
			})
		}
	}
}
