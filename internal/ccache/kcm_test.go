package ccache_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/credentials"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/ccache"
	"github.com/negotiate-go/negotiate/internal/ccache/kcmtest"
)

func loadKDCCache(tb testing.TB, k *kdc.KDC, user, pw string) *credentials.CCache {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "cc")
	if err := k.WriteCCache(p, user, pw); err != nil {
		tb.Fatal(err)
	}
	c, _ := ccache.Open(p, ccache.Options{})
	cc, err := c.Load()
	if err != nil {
		tb.Fatal(err)
	}
	return cc
}

func TestKCM(t *testing.T) {
	k := kdc.New(t, "TEST.REALM", nil)
	k.AddUser("alice", "alice-pw")
	k.AddUser("bob", "bob-pw")
	srv := kcmtest.New(t)
	o := ccache.Options{KCMSocket: srv.Socket()}
	alice := loadKDCCache(t, k, "alice", "alice-pw")
	srv.Put("0", alice)
	srv.Put("0:1", loadKDCCache(t, k, "bob", "bob-pw"))

	for _, list := range []bool{true, false} {
		srv.SetCredList(list)
		c, err := ccache.Open("KCM:", o)
		if err != nil {
			t.Fatalf("Open(KCM:) = %v", err)
		}
		if c.Name() != "KCM:0" {
			t.Errorf("Open(KCM:).Name() = %q; want KCM:0 (the default cache)", c.Name())
		}
		cc, err := c.Load()
		if err != nil {
			t.Fatalf("Load (GET_CRED_LIST %v) = %v", list, err)
		}
		if got := cc.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + cc.DefaultPrincipal.Realm; got != "alice@TEST.REALM" || len(cc.Credentials) != len(alice.Credentials) {
			t.Errorf("Load = %s with %d credentials; want alice with %d", got, len(cc.Credentials), len(alice.Credentials))
		}
	}
	if srv.Requests(ccache.KCMOpGetCredByUUID) == 0 {
		t.Errorf("no GET_CRED_BY_UUID request when GET_CRED_LIST was refused")
	}

	// kswitch, then Match picks by principal whatever the primary.
	srv.SetDefault("0:1")
	if c, _ := ccache.Open("KCM:", o); c.Name() != "KCM:0:1" {
		t.Errorf("Open(KCM:) after SetDefault = %q; want KCM:0:1", c.Name())
	}
	c, err := ccache.Match("KCM:", "alice@TEST.REALM", o)
	if err != nil || c.Name() != "KCM:0" {
		t.Errorf("Match(alice) = %v, %v; want KCM:0", c, err)
	}
	list, err := ccache.List("KCM:", o)
	if err != nil || len(list) != 2 || list[0].Name() != "KCM:0:1" {
		t.Errorf("List(KCM:) = %v, %v; want 2 caches, the primary first", list, err)
	}

	// A new kinit into the cache changes its stamp.
	c, _ = ccache.Open("KCM:0", o)
	s1, err := c.Stamp()
	if err != nil {
		t.Fatal(err)
	}
	srv.Put("0", loadKDCCache(t, k, "alice", "alice-pw"))
	if s2, _ := c.Stamp(); s2 == s1 {
		t.Errorf("Stamp unchanged after the cache was rewritten")
	}

	// A cache that does not exist, and a daemon that does not.
	if _, err := (mustOpen(t, "KCM:nope", o)).Principal(); err == nil || !strings.Contains(err.Error(), "no such cache") {
		t.Errorf("Principal of KCM:nope = %v; want no such cache", err)
	}
	_, err = ccache.Open("KCM:", ccache.Options{KCMSocket: filepath.Join(t.TempDir(), "none")})
	if err == nil || !strings.Contains(err.Error(), "no KCM daemon") {
		t.Errorf("Open(KCM:) without a daemon = %v; want no KCM daemon", err)
	}
	if errors.Is(err, ccache.ErrUnsupportedType) {
		t.Errorf("a missing daemon is not an unsupported type")
	}
}

func mustOpen(tb testing.TB, name string, o ccache.Options) ccache.Cache {
	tb.Helper()
	c, err := ccache.Open(name, o)
	if err != nil {
		tb.Fatalf("Open(%q) = %v", name, err)
	}
	return c
}
