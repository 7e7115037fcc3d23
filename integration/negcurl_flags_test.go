//go:build integration

package integration

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNegcurlSchemeFlags: where the lab offers several schemes (Apache's
// /any/ location: Negotiate and NTLM), negcurl's curl flags choose the
// one used, with credentials good for both; where a proxy offers one the
// flag does not allow (Squid: Negotiate only), negcurl says which flag
// would do. (Squid offering Negotiate, NTLM and Basic, with the Active
// Directory tier's verifiers: ad_proxy_test.go.)
func TestNegcurlSchemeFlags(t *testing.T) {
	e := lab(t)
	creds := []string{"-u", e.ntlmUser() + ":" + e["LAB_PASSWORD"]}
	common := []string{"--krb5-config", e["KRB5_CONFIG"], "--cacert", e["LAB_CA_FILE"], "-v"}
	sent := regexp.MustCompile(`(?m)^> (Proxy-)?Authorization: (\w+) <`)
	for _, tt := range []struct {
		flags  []string
		scheme string // of the Authorization headers sent
		user   string
		mech   string
	}{
		{nil, "Negotiate", e.principal(), "Negotiate/krb5"},
		{[]string{"--negotiate"}, "Negotiate", e.principal(), "Negotiate/krb5"},
		{[]string{"--ntlm"}, "NTLM", e.ntlmUser(), "NTLM/NTLM"},
		{[]string{"--ntlm", "--negotiate"}, "Negotiate", e.principal(), "Negotiate/krb5"},
		{[]string{"--anyauth"}, "Negotiate", e.principal(), "Negotiate/krb5"},
	} {
		t.Run(strings.Join(append([]string{"flags"}, tt.flags...), " "), func(t *testing.T) {
			args := append(append(append(append([]string{}, common...), creds...), tt.flags...), e["LAB_HTTPS_URL"]+"/any/whoami")
			out, errOut, status := runNegcurl(t, []string{"KRB5CCNAME=FILE:" + filepath.Join(t.TempDir(), "cc")}, args...)
			if status != 0 {
				t.Fatalf("exit %d; stderr:\n%s", status, errOut)
			}
			if got := parseWhoami([]byte(out)); got.user != tt.user || got.mech != tt.mech {
				t.Errorf("whoami = %v; want %s %s", got, tt.user, tt.mech)
			}
			for _, m := range sent.FindAllStringSubmatch(errOut, -1) {
				if m[2] != tt.scheme {
					t.Errorf("sent Authorization: %s; want only %s", m[2], tt.scheme)
				}
			}
		})
	}

	proxy := []string{"-x", e["LAB_PROXY_URL"], "-U", e.principal() + ":" + e["LAB_PASSWORD"]}
	target := e["LAB_HTTPS_URL"] + "/krb/whoami"
	krb := []string{"-u", e.principal() + ":" + e["LAB_PASSWORD"]}
	t.Run("Squid with --proxy-negotiate", func(t *testing.T) {
		args := append(append(append(append([]string{}, common...), proxy...), krb...), "--proxy-negotiate", target)
		out, errOut, status := runNegcurl(t, nil, args...)
		if status != 0 || parseWhoami([]byte(out)).user != e.principal() {
			t.Fatalf("exit %d, out %q; stderr:\n%s", status, out, errOut)
		}
	})
	t.Run("Squid with --proxy-ntlm", func(t *testing.T) {
		args := append(append(append(append([]string{}, common...), proxy...), krb...), "--proxy-ntlm", target)
		_, errOut, status := runNegcurl(t, nil, args...)
		want := regexp.MustCompile(`(?m)^negcurl: proxy proxy\.lab\.test:\d+ offers Negotiate, which --proxy-ntlm does not allow: pass --proxy-negotiate$`)
		if status != 4 || !want.MatchString(errOut) {
			t.Fatalf("exit %d; stderr:\n%s\nwant 4 and a line matching %s", status, errOut, want)
		}
		if strings.Contains(errOut, "> Proxy-Authorization:") {
			t.Errorf("a token went to the proxy although it offers no NTLM:\n%s", errOut)
		}
	})
}
