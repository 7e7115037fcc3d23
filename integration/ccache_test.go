//go:build integration

// This file checks DefaultCredentials and CCache against caches MIT's own
// kinit fills, of every type a Linux machine keeps them in (FILE, DIR and
// a DIR collection of two principals, KEYRING session and persistent, KCM
// served by sssd-kcm, and krb5.conf's default_ccache_name without
// KRB5CCNAME), with the default FILE cache moved away so that nothing else
// can make a request pass; and the refresh of a cache while a Transport
// runs. It needs the credential-cache tier (.ci/lab/ccache/start.sh).

package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
)

// ccacheLab returns the environment of the credential-cache tier, named
// by CCACHE_ENV. It skips when unset, except under CI.
func ccacheLab(t *testing.T) labEnv {
	t.Helper()
	path := os.Getenv("CCACHE_ENV")
	if path == "" {
		const msg = "credential-cache tier not up: run .ci/lab/ccache/start.sh and set CCACHE_ENV"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: the real-peer suite must run)")
		}
		t.Skip(msg)
	}
	e, err := readEnvFile(path, "CCACHE_KCM_SOCKET", "CCACHE_KRB5_KCM_CONF", "CCACHE_KRB5_KEYRING_CONF")
	if err != nil {
		t.Fatalf("CCACHE_ENV: %v", err)
	}
	return e
}

// isolate leaves the test no credentials but those it makes: the default
// FILE cache (/tmp/krb5cc_<uid>) moved away until the test ends, no
// client keytab, KRB5CCNAME unset.
func isolate(t *testing.T) {
	t.Helper()
	def := fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid())
	if _, err := os.Lstat(def); err == nil {
		aside := def + ".negotiate-aside"
		if err := os.Rename(def, aside); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Rename(aside, def) })
	}
	t.Setenv("KRB5CCNAME", "")
	os.Unsetenv("KRB5CCNAME") // restored by t.Setenv's cleanup
	t.Setenv("KRB5_CLIENT_KTNAME", filepath.Join(t.TempDir(), "no.keytab"))
}

// mitKinit runs MIT's kinit for user with conf as KRB5_CONFIG and, when
// ccname is not empty, KRB5CCNAME=ccname; args go before the principal.
func mitKinit(t testing.TB, conf, ccname, principal, password string, args ...string) {
	t.Helper()
	mit(t, conf, ccname, password+"\n", "kinit", append(args, principal)...)
}

// mit runs an MIT tool (kinit, kdestroy, klist) and returns its output.
func mit(t testing.TB, conf, ccname, stdin, tool string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5CCNAME=") && !strings.HasPrefix(kv, "KRB5_CONFIG=") {
			env = append(env, kv)
		}
	}
	env = append(env, "KRB5_CONFIG="+conf)
	if ccname != "" {
		env = append(env, "KRB5CCNAME="+ccname)
	}
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v (KRB5CCNAME=%q): %v\n%s", tool, args, ccname, err, out)
	}
	return string(out)
}

// kdestroyAtEnd destroys what kinit put in ccname when the test ends,
// and the collection keyring of a session or user KEYRING, which kdestroy
// leaves behind.
func kdestroyAtEnd(t *testing.T, conf, ccname string) {
	t.Cleanup(func() {
		cmd := exec.Command("kdestroy", "-A")
		cmd.Env = append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5CCNAME="+ccname)
		cmd.Run()
		for anchor, ring := range map[string]string{"KEYRING:session:": "@s", "KEYRING:user:": "@u"} {
			if coll, ok := strings.CutPrefix(ccname, anchor); ok {
				coll, _, _ = strings.Cut(coll, ":")
				exec.Command("keyctl", "unlink", "%keyring:_krb_"+coll, ring).Run()
			}
		}
	})
}

// whoamiWith authenticates to the lab's Kerberos-only location with c
// (krb5.conf conf) and returns who Apache says it was.
func whoamiWith(t *testing.T, e labEnv, conf string, c *negotiate.Credentials) string {
	t.Helper()
	tr := newTransport(t, e, c)
	tr.Krb5Config = conf
	tr.DisableNTLM = true // a success can only be Kerberos
	w, _ := getWhoami(t, tr, e.url("http")+"/krb/whoami")
	if w.mech != "Negotiate/krb5" {
		t.Fatalf("whoami mechanism %q; want Negotiate/krb5", w.mech)
	}
	return w.user
}

func TestCCacheTypes(t *testing.T) {
	e := lab(t)
	c := ccacheLab(t)
	plain, kcmConf, keyringConf := e["KRB5_CONFIG"], c["CCACHE_KRB5_KCM_CONF"], c["CCACHE_KRB5_KEYRING_CONF"]
	alice, bob := e.principal(), e["LAB_USER2"]+"@"+e["LAB_REALM"]
	tag := fmt.Sprintf("negotiate-it-%d", os.Getpid())

	for _, tt := range []struct {
		name     string
		conf     string
		ccname   string // KRB5CCNAME for kinit and for us; "" = unset
		wantType string // the prefix of the cache DescribeCache names
		wantWhy  string
	}{
		{"FILE", plain, "FILE:" + filepath.Join(t.TempDir(), "cc"), "FILE:", "KRB5CCNAME"},
		{"DIR", plain, "DIR:" + t.TempDir(), "DIR::", "KRB5CCNAME"},
		{"KEYRING session", plain, "KEYRING:session:" + tag, "KEYRING:session:" + tag + ":", "KRB5CCNAME"},
		{"KEYRING user", plain, "KEYRING:user:" + tag, "KEYRING:user:" + tag + ":", "KRB5CCNAME"},
		{"KEYRING persistent", plain, fmt.Sprintf("KEYRING:persistent:%d", os.Getuid()), fmt.Sprintf("KEYRING:persistent:%d:", os.Getuid()), "KRB5CCNAME"},
		{"KCM", kcmConf, "KCM:", "KCM:", "KRB5CCNAME"},
		{"default_ccache_name KEYRING, no KRB5CCNAME", keyringConf, "", fmt.Sprintf("KEYRING:persistent:%d:", os.Getuid()), "default_ccache_name in krb5.conf"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			mitKinit(t, tt.conf, tt.ccname, alice, e["LAB_PASSWORD"])
			kdestroyAtEnd(t, tt.conf, tt.ccname)
			if tt.ccname != "" {
				t.Setenv("KRB5CCNAME", tt.ccname)
			}
			creds := negotiate.DefaultCredentials()
			info, err := negotiate.DescribeCache(creds, tt.conf)
			if err != nil || !strings.HasPrefix(info.Name, tt.wantType) || info.Why != tt.wantWhy || info.Principal != alice || info.TGTEnd.IsZero() {
				t.Fatalf("DescribeCache = %+v, %v; want a %s cache from %s holding %s's TGT", info, err, tt.wantType, tt.wantWhy, alice)
			}
			if u := whoamiWith(t, e, tt.conf, creds); u != alice {
				t.Errorf("DefaultCredentials: whoami %q; want %q", u, alice)
			}
			if tt.ccname != "" {
				if u := whoamiWith(t, e, tt.conf, negotiate.CCache(tt.ccname)); u != alice {
					t.Errorf("CCache(%q): whoami %q; want %q", tt.ccname, u, alice)
				}
			}
		})
	}

	// A DIR collection with caches of two principals, as kinit of each
	// leaves it: the primary (the last kinit) by default, either by name.
	t.Run("collections of two principals", func(t *testing.T) {
		isolate(t)
		dir := "DIR:" + t.TempDir()
		mitKinit(t, plain, dir, alice, e["LAB_PASSWORD"])
		mitKinit(t, plain, dir, bob, e["LAB_PASSWORD2"])
		if out := mit(t, plain, dir, "", "klist", "-l"); strings.Count(out, "DIR::") != 2 {
			t.Fatalf("klist -l shows no collection of two caches:\n%s", out)
		}
		t.Setenv("KRB5CCNAME", dir)
		if u := whoamiWith(t, e, plain, negotiate.DefaultCredentials()); u != bob {
			t.Errorf("primary of the collection: whoami %q; want %q (the last kinit)", u, bob)
		}
		for _, p := range []string{alice, bob} {
			if u := whoamiWith(t, e, plain, negotiate.CCachePrincipal("", p)); u != p {
				t.Errorf("CCachePrincipal(%q): whoami %q", p, u)
			}
		}
		// Likewise in KCM, where sssd keeps a collection per user, and
		// in a session keyring collection.
		ring := "KEYRING:session:" + tag + "-coll"
		for _, coll := range []struct{ conf, name string }{{kcmConf, "KCM:"}, {plain, ring}} {
			mitKinit(t, coll.conf, coll.name, alice, e["LAB_PASSWORD"])
			mitKinit(t, coll.conf, coll.name, bob, e["LAB_PASSWORD2"])
			kdestroyAtEnd(t, coll.conf, coll.name)
			t.Setenv("KRB5CCNAME", coll.name)
			if u := whoamiWith(t, e, coll.conf, negotiate.DefaultCredentials()); u != bob {
				t.Errorf("%s primary: whoami %q; want %q (the last kinit)", coll.name, u, bob)
			}
			for _, p := range []string{alice, bob} {
				if u := whoamiWith(t, e, coll.conf, negotiate.CCachePrincipal("", p)); u != p {
					t.Errorf("%s CCachePrincipal(%q): whoami %q", coll.name, p, u)
				}
			}
		}
	})

	t.Run("API: is refused by name", func(t *testing.T) {
		isolate(t)
		t.Setenv("KRB5CCNAME", "API:foo")
		tr := newTransport(t, e, negotiate.DefaultCredentials())
		tr.DisableNTLM = true
		r := do(t, tr, "GET", e.url("http")+"/krb/whoami", nil, nil)
		err := r.err
		if err == nil && r.resp != nil {
			err = negotiate.ResponseError(r.resp)
		}
		if !errors.Is(err, negotiate.ErrNoCredentials) || !strings.Contains(fmt.Sprint(err), "API:") {
			t.Errorf("KRB5CCNAME=API:foo: %v; want ErrNoCredentials naming API:", err)
		}
	})
}

// TestCCacheRefresh: a Transport keeps working across a kinit by another
// process after the TGT it first read expired; and with nobody renewing,
// the error says the TGT expired and to run kinit.
func TestCCacheRefresh(t *testing.T) {
	e := lab(t)
	c := ccacheLab(t)
	for _, tt := range []struct{ name, conf, ccname string }{
		{"FILE", e["KRB5_CONFIG"], "FILE:" + filepath.Join(t.TempDir(), "cc")},
		{"KCM", c["CCACHE_KRB5_KCM_CONF"], "KCM:"},
	} {
		t.Run(tt.name+" renewed by kinit", func(t *testing.T) {
			isolate(t)
			mitKinit(t, tt.conf, tt.ccname, e.principal(), e["LAB_PASSWORD"], "-l", "10s")
			kdestroyAtEnd(t, tt.conf, tt.ccname)
			t.Setenv("KRB5CCNAME", tt.ccname)
			info, err := negotiate.DescribeCache(negotiate.DefaultCredentials(), tt.conf)
			if err != nil {
				t.Fatal(err)
			}
			if left := time.Until(info.TGTEnd); left > 15*time.Second {
				t.Fatalf("kinit -l 10s gave a TGT of %v; the lab KDC's max life is not honoured", left)
			}
			tr := newTransport(t, e, negotiate.DefaultCredentials())
			tr.Krb5Config = tt.conf
			tr.DisableNTLM = true
			u := e.url("http") + "/krb/whoami"
			if w, _ := getWhoami(t, tr, u); w.user != e.principal() {
				t.Fatalf("first request: whoami %v", w)
			}
			// Another process renews the cache; then the first TGT ends.
			mitKinit(t, tt.conf, tt.ccname, e.principal(), e["LAB_PASSWORD"])
			time.Sleep(time.Until(info.TGTEnd) + time.Second)
			tr.CloseIdleConnections() // a new connection needs a new AP-REQ
			if w, _ := getWhoami(t, tr, u); w.user != e.principal() {
				t.Fatalf("request after the first TGT's end: whoami %v", w)
			}
		})
	}
	t.Run("expired, not renewed", func(t *testing.T) {
		isolate(t)
		cc := "FILE:" + filepath.Join(t.TempDir(), "cc")
		mitKinit(t, e["KRB5_CONFIG"], cc, e.principal(), e["LAB_PASSWORD"], "-l", "5s")
		t.Setenv("KRB5CCNAME", cc)
		time.Sleep(6 * time.Second)
		tr := newTransport(t, e, negotiate.DefaultCredentials())
		tr.DisableNTLM = true
		r := do(t, tr, "GET", e.url("http")+"/krb/whoami", nil, nil)
		err := r.err
		if err == nil && r.resp != nil {
			err = negotiate.ResponseError(r.resp)
		}
		if !errors.Is(err, negotiate.ErrCredentialsExpired) || !strings.Contains(fmt.Sprint(err), "kinit") {
			t.Errorf("expired cache: %v; want ErrCredentialsExpired saying to run kinit", err)
		}
	})
}
