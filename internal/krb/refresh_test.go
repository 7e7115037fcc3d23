// Tests that a Client made from a ticket cache reads it again: when its
// TGT has (nearly) expired, when the KDC says it has, and from KCM; and
// that an expired cache nobody refreshed gives ErrCredentialsExpired.

package krb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/ccache"
	"github.com/negotiate-go/negotiate/internal/ccache/kcmtest"
	"github.com/negotiate-go/negotiate/internal/gss"
)

const refreshSPN = "HTTP/www.test.realm"

func refreshKDC(t *testing.T) *kdc.KDC {
	t.Helper()
	k := kdc.New(t, "TEST.REALM", nil)
	k.AddUser("alice", "alice-pw")
	k.AddService(refreshSPN)
	return k
}

// writeCache writes alice's cache to path (replacing it as kinit does)
// with a TGT that ends in about left (the KDC's clock is set back to mint
// it, then restored).
func writeCache(t *testing.T, k *kdc.KDC, path string, left time.Duration) {
	t.Helper()
	k.SetClockOffset(left - 10*time.Hour) // the default ticket lifetime
	defer k.SetClockOffset(0)
	tmp := path + ".new"
	if err := k.WriteCCache(tmp, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestCacheExpiredNotRefreshed(t *testing.T) {
	k := refreshKDC(t)
	p := filepath.Join(t.TempDir(), "cc")
	writeCache(t, k, p, -time.Minute)
	c, err := CacheClient(CacheOptions{Name: "FILE:" + p, ConfigPath: k.Krb5ConfPath()}, kdcConfig(k))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ServiceTicket(context.Background(), refreshSPN)
	if !errors.Is(err, gss.ErrCredentialsExpired) || !strings.Contains(err.Error(), "kinit") || !strings.Contains(err.Error(), "FILE:"+p) {
		t.Errorf("ServiceTicket with an expired cache = %v; want %v naming the cache and kinit", err, gss.ErrCredentialsExpired)
	}
	if s := k.Stats(); s.TGSRequests != 0 {
		t.Errorf("%d TGS requests with an expired TGT; want none", s.TGSRequests)
	}
}

func TestCacheRefreshedByAnotherProcess(t *testing.T) {
	k := refreshKDC(t)
	p := filepath.Join(t.TempDir(), "cc")
	writeCache(t, k, p, 10*time.Second)
	c, err := CacheClient(CacheOptions{Name: p, ConfigPath: k.Krb5ConfPath()}, kdcConfig(k))
	if err != nil {
		t.Fatal(err)
	}
	old := c.TGTEnd()
	writeCache(t, k, p, 10*time.Hour) // kinit, elsewhere
	if _, _, err := c.ServiceTicket(context.Background(), refreshSPN); err != nil {
		t.Fatalf("ServiceTicket after the cache was refreshed = %v", err)
	}
	if !c.TGTEnd().After(old.Add(time.Hour)) {
		t.Errorf("TGT end %v after refresh; want the new TGT's (old one ended %v)", c.TGTEnd(), old)
	}
}

// TestCacheLastSeconds: a cache's TGT with less than refreshMargin left
// is still used when nothing newer is there (kinit -l 20s).
func TestCacheLastSeconds(t *testing.T) {
	k := refreshKDC(t)
	p := filepath.Join(t.TempDir(), "cc")
	writeCache(t, k, p, 20*time.Second)
	c, err := CacheClient(CacheOptions{Name: p, ConfigPath: k.Krb5ConfPath()}, kdcConfig(k))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ServiceTicket(context.Background(), refreshSPN); err != nil {
		t.Errorf("ServiceTicket with a TGT 20 s from its end = %v", err)
	}
}

// TestCacheKDCSaysExpired: the local clock thinks the TGT still valid but
// the KDC's says it has expired; the cache holds a new one by then.
func TestCacheKDCSaysExpired(t *testing.T) {
	k := refreshKDC(t)
	p := filepath.Join(t.TempDir(), "cc")
	writeCache(t, k, p, 60*time.Second)
	c, err := CacheClient(CacheOptions{Name: p, ConfigPath: k.Krb5ConfPath()}, kdcConfig(k))
	if err != nil {
		t.Fatal(err)
	}
	k.SetClockOffset(90 * time.Second)
	defer k.SetClockOffset(0)
	tmp := p + ".new"
	if err := k.WriteCCache(tmp, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	os.Rename(tmp, p)
	// Within cacheCheckEvery of creation, so the near-end check does not
	// look at the cache: only the KDC's answer makes us re-read it.
	if _, _, err := c.ServiceTicket(context.Background(), refreshSPN); err != nil {
		t.Fatalf("ServiceTicket = %v; want success with the cache's new TGT", err)
	}
	s := k.Stats()
	if s.Errors[errorcode.KRB_AP_ERR_TKT_EXPIRED] != 1 || s.TGSRequests != 2 {
		t.Errorf("KDC saw %d TGS requests and %d TKT_EXPIRED errors; want 2 and 1", s.TGSRequests, s.Errors[errorcode.KRB_AP_ERR_TKT_EXPIRED])
	}
}

// TestCacheRefreshKCM: the same through a KCM daemon, found from
// krb5.conf's kcm_socket, whose default cache sssd refreshes.
func TestCacheRefreshKCM(t *testing.T) {
	k := refreshKDC(t)
	srv := kcmtest.New(t)
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	text, _ := os.ReadFile(k.Krb5ConfPath())
	text = []byte(strings.Replace(string(text), "[libdefaults]", "[libdefaults]\n  kcm_socket = "+srv.Socket()+"\n  default_ccache_name = KCM:", 1))
	if err := os.WriteFile(conf, text, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5CCNAME", "")
	put := func(left time.Duration) {
		p := filepath.Join(t.TempDir(), "cc")
		writeCache(t, k, p, left)
		c, _ := ccache.Open(p, ccache.Options{})
		cc, err := c.Load()
		if err != nil {
			t.Fatal(err)
		}
		srv.Put("0", cc)
	}
	put(-time.Minute)
	c, err := DefaultClientWith(CacheOptions{ConfigPath: conf}, kdcConfig(k))
	if err != nil {
		t.Fatalf("DefaultClientWith(default_ccache_name = KCM:) = %v", err)
	}
	if c.CacheName() != "KCM:0" {
		t.Errorf("CacheName() = %q; want KCM:0", c.CacheName())
	}
	if _, _, err := c.ServiceTicket(context.Background(), refreshSPN); !errors.Is(err, gss.ErrCredentialsExpired) {
		t.Errorf("ServiceTicket before the refresh = %v; want %v", err, gss.ErrCredentialsExpired)
	}
	put(10 * time.Hour)
	if _, _, err := c.ServiceTicket(context.Background(), refreshSPN); err != nil {
		t.Errorf("ServiceTicket after sssd refreshed the cache = %v", err)
	}
	src, princ, err := ResolveDefault(conf)
	if err != nil || src != "KCM:0" || princ != "alice@TEST.REALM" {
		t.Errorf("ResolveDefault = %q, %q, %v; want KCM:0, alice@TEST.REALM", src, princ, err)
	}
	src, princ, err = ResolveCache("KCM:", "alice@TEST.REALM", conf)
	if err != nil || src != "KCM:0" || princ != "alice@TEST.REALM" {
		t.Errorf("ResolveCache(KCM:, alice) = %q, %q, %v; want KCM:0, alice@TEST.REALM", src, princ, err)
	}
	if _, _, err := ResolveCache("KCM:", "bob@TEST.REALM", conf); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("ResolveCache(KCM:, bob) = %v; want %v", err, gss.ErrNoCredentials)
	}
}

func TestResolveDefaultKeytab(t *testing.T) {
	k := refreshKDC(t)
	dir := t.TempDir()
	kt := filepath.Join(dir, "client.keytab")
	if err := k.WriteKeytab(kt, "alice"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(dir, "none"))
	t.Setenv("KRB5_CLIENT_KTNAME", kt)
	src, princ, err := ResolveDefault(k.Krb5ConfPath())
	if err != nil || src != "keytab:"+kt || princ != "alice@TEST.REALM" {
		t.Errorf("ResolveDefault with only a client keytab = %q, %q, %v", src, princ, err)
	}
	// An unsupported type is an error, not a reason to use the keytab.
	t.Setenv("KRB5CCNAME", "API:foo")
	if _, _, err := ResolveDefault(k.Krb5ConfPath()); !errors.Is(err, ccache.ErrUnsupportedType) || !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("ResolveDefault with KRB5CCNAME=API:foo = %v; want %v and %v", err, ccache.ErrUnsupportedType, gss.ErrNoCredentials)
	}
	if _, err := DefaultClient(kdcConfig(k)); !errors.Is(err, ccache.ErrUnsupportedType) {
		t.Errorf("DefaultClient with KRB5CCNAME=API:foo and a client keytab = %v; want %v", err, ccache.ErrUnsupportedType)
	}
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(dir, "none"))
	t.Setenv("KRB5_CLIENT_KTNAME", filepath.Join(dir, "nokt"))
	if _, _, err := ResolveDefault(k.Krb5ConfPath()); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("ResolveDefault with nothing = %v; want %v", err, gss.ErrNoCredentials)
	}
}

// TestKeytabTGTRenewedAcrossExpiry: a keytab client with a renewable TGT
// renews it (a TGS exchange) when it nears its end, rather than logging
// in again; the service works on across the first TGT's end.
func TestKeytabTGTRenewedAcrossExpiry(t *testing.T) {
	k, _ := newKDC(t, &kdc.Options{TicketLifetime: refreshMargin + time.Second, RenewLifetime: time.Hour})
	k.AddService("HTTP/other.example.test")
	c := NewKeytabClient("alice", testRealm, kdcKeytab(k.Keytab("alice")), kdcConfig(k))
	if _, _, err := c.ServiceTicket(testCtx(t), testSPN); err != nil {
		t.Fatal(err)
	}
	first := c.TGTEnd()
	time.Sleep(1100 * time.Millisecond)
	if _, _, err := c.ServiceTicket(testCtx(t), "HTTP/other.example.test"); err != nil {
		t.Fatalf("ServiceTicket across the TGT's end: %v", err)
	}
	if as, tgs := c.Stats(); as != 1 || tgs != 3 {
		t.Errorf("Stats() = %d AS, %d TGS; want 1 and 3 (the TGT renewed, not got again)", as, tgs)
	}
	if !c.TGTEnd().After(first) {
		t.Errorf("TGT end %v after renewal; want later than %v", c.TGTEnd(), first)
	}
}

// TestCacheRefreshConcurrent: requests racing while the cache is re-read
// all get a ticket (run with -race).
func TestCacheRefreshConcurrent(t *testing.T) {
	k := refreshKDC(t)
	p := filepath.Join(t.TempDir(), "cc")
	writeCache(t, k, p, -time.Minute)
	c, err := CacheClient(CacheOptions{Name: p, ConfigPath: k.Krb5ConfPath()}, kdcConfig(k))
	if err != nil {
		t.Fatal(err)
	}
	writeCache(t, k, p, 10*time.Hour)
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			_, _, err := c.ServiceTicket(context.Background(), refreshSPN)
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Errorf("ServiceTicket while the cache is re-read = %v", err)
		}
	}
	if s := k.Stats(); s.TGSRequests != 1 {
		t.Errorf("%d TGS requests; want 1, shared", s.TGSRequests)
	}
}
