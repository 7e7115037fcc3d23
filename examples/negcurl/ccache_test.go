package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate/httptestutil"
)

// TestCCacheFlags: --ccache and --principal pick a cache of a DIR
// collection, and -v says which one and why a cache is not usable.
func TestCCacheFlags(t *testing.T) {
	k, s, conf := newKerberos(t, nil, httptestutil.Config{})
	k.AddUser("bob", krbPass)
	dir := t.TempDir()
	if err := k.WriteCCache(filepath.Join(dir, "tkt"), "alice", krbPass); err != nil {
		t.Fatal(err)
	}
	if err := k.WriteCCache(filepath.Join(dir, "tktBob"), "bob", krbPass); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "primary"), []byte("tktBob\n"), 0o600)
	bob := strings.Replace(krbUser, "alice", "bob", 1)

	for _, tt := range []struct {
		name        string
		env, args   []string
		user, cache string
	}{
		{"--ccache: the primary", nil, []string{"--ccache", "DIR:" + dir}, bob, "DIR::" + filepath.Join(dir, "tktBob") + " (from given), principal " + bob},
		{"--principal", nil, []string{"--ccache", "DIR:" + dir, "--principal", krbUser}, krbUser, "DIR::" + filepath.Join(dir, "tkt") + " (from given), principal " + krbUser},
		{"-u : --principal with KRB5CCNAME", []string{"KRB5CCNAME=DIR:" + dir}, []string{"-u", ":", "--principal", krbUser}, krbUser, "(from KRB5CCNAME), principal " + krbUser},
		{"-u :", []string{"KRB5CCNAME=DIR:" + dir}, []string{"-u", ":"}, bob, "DIR::" + filepath.Join(dir, "tktBob") + " (from KRB5CCNAME), principal " + bob + ", TGT ends"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-v", "-i", s.URL, "--krb5-config", conf}, tt.args...)
			r := negcurl(t, runOpts{env: tt.env}, args...)
			r.check(t, 0, "")
			if !strings.Contains(r.stdout, "X-User: "+tt.user) {
				t.Errorf("stdout lacks X-User: %s; got:\n%s", tt.user, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.cache) {
				t.Errorf("-v does not say %q:\n%s", tt.cache, r.stderr)
			}
		})
	}
	r := negcurl(t, runOpts{env: []string{"KRB5CCNAME=API:foo", "KRB5_CLIENT_KTNAME=" + filepath.Join(dir, "none")}}, "-v", s.URL, "-u", ":", "--krb5-config", conf)
	if r.code == 0 || !strings.Contains(r.stderr, "Kerberos ticket cache not usable") || !strings.Contains(r.stderr, "API:") {
		t.Errorf("KRB5CCNAME=API:foo: exit %d, stderr:\n%s\nwant a failure saying the API: cache is not usable", r.code, r.stderr)
	}
	negcurl(t, runOpts{}, s.URL, "-u", "alice:pw", "--ccache", "KCM:").check(t, 2, "--ccache and --principal go with -u :")
	negcurl(t, runOpts{}, s.URL, "--principal", "alice").check(t, 2, "NAME@REALM")
}
