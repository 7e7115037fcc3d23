//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	negcurlOnce sync.Once
	negcurlPath string
	negcurlErr  error
)

// negcurl builds examples/negcurl once for the suite and returns its path.
func negcurl(t *testing.T) string {
	t.Helper()
	negcurlOnce.Do(func() {
		dir, err := os.MkdirTemp("", "negcurl")
		if err != nil {
			negcurlErr = err
			return
		}
		negcurlPath = filepath.Join(dir, "negcurl")
		out, err := exec.Command("go", "build", "-o", negcurlPath, "../examples/negcurl").CombinedOutput()
		if err != nil {
			negcurlErr = errors.New(string(out))
		}
	})
	if negcurlErr != nil {
		t.Fatalf("building negcurl: %v", negcurlErr)
	}
	return negcurlPath
}

// runNegcurl runs negcurl with args and returns stdout, stderr and the exit
// status.
func runNegcurl(t *testing.T, env []string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, negcurl(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		status = exit.ExitCode()
	case err != nil:
		t.Fatalf("negcurl: %v", err)
	}
	return out.String(), errOut.String(), status
}

// TestNegcurlEndpoints: the CLI authenticates to every lab endpoint, as
// the user it was given, with the mechanism the location speaks.
func TestNegcurlEndpoints(t *testing.T) {
	e := lab(t)
	krb := []string{"-u", e.principal() + ":" + e["LAB_PASSWORD"]}
	ntlm := []string{"--ntlm", "-u", e.ntlmUser() + ":" + e["LAB_PASSWORD"]}
	common := []string{"--krb5-config", e["KRB5_CONFIG"], "--cacert", e["LAB_CA_FILE"], "-v"}
	for _, base := range []string{e["LAB_HTTP_URL"], e["LAB_HTTPS_URL"]} {
		for _, tt := range []struct {
			path  string
			creds []string
			user  string
			mech  string
		}{
			{"/krb/whoami", krb, e.principal(), "Negotiate/krb5"},
			{"/krb-conn/whoami", krb, e.principal(), "Negotiate/krb5"},
			{"/any/whoami", krb, e.principal(), "Negotiate/krb5"},
			{"/ntlm/whoami", ntlm, e.ntlmUser(), "NTLM/NTLM"},
			{"/any/whoami", ntlm, e.ntlmUser(), "NTLM/NTLM"},
		} {
			t.Run(base+tt.path+"/"+tt.mech, func(t *testing.T) {
				args := append(append(append([]string{}, common...), tt.creds...), base+tt.path)
				out, errOut, status := runNegcurl(t, []string{"KRB5CCNAME=FILE:" + filepath.Join(t.TempDir(), "cc")}, args...)
				if status != 0 {
					t.Fatalf("exit %d; stderr:\n%s", status, errOut)
				}
				if got := parseWhoami([]byte(out)); got.user != tt.user || got.mech != tt.mech {
					t.Errorf("whoami = %v; want %s %s", got, tt.user, tt.mech)
				}
				if strings.Contains(errOut, e["LAB_PASSWORD"]) || strings.Contains(out, e["LAB_PASSWORD"]) {
					t.Error("the output contains the password")
				}
			})
		}
	}

	t.Run("default credentials from kinit", func(t *testing.T) {
		cc := scratchCCache(t)
		kinit(t, e, cc)
		out, errOut, status := runNegcurl(t, nil, "--krb5-config", e["KRB5_CONFIG"], "-u", ":", e["LAB_HTTP_URL"]+"/krb/whoami")
		if status != 0 || parseWhoami([]byte(out)).user != e.principal() {
			t.Fatalf("exit %d, out %q; stderr:\n%s", status, out, errOut)
		}
	})

	t.Run("through Squid with proxy Negotiate", func(t *testing.T) {
		args := append(append([]string{"-x", e["LAB_PROXY_URL"], "-U", e.principal() + ":" + e["LAB_PASSWORD"]}, common...), krb...)
		out, errOut, status := runNegcurl(t, nil, append(args, e["LAB_HTTPS_URL"]+"/krb/whoami")...)
		if status != 0 || parseWhoami([]byte(out)).user != e.principal() {
			t.Fatalf("exit %d, out %q; stderr:\n%s", status, out, errOut)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		_, errOut, status := runNegcurl(t, nil, "--ntlm", "-u", e.ntlmUser()+":not-the-password", e["LAB_HTTP_URL"]+"/ntlm/whoami")
		if status != 4 || !strings.Contains(errOut, "rejected") {
			t.Fatalf("exit %d, stderr %q; want 4 and a line saying the credentials were rejected", status, errOut)
		}
	})
}
