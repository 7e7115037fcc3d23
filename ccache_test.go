package negotiate_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/internal/ccache"
	"github.com/negotiate-go/negotiate/internal/ccache/kcmtest"
)

// TestCCacheCollections: a DIR collection with caches of two principals,
// the primary by default and either one by name (krb5_cc_cache_match).
func TestCCacheCollections(t *testing.T) {
	k := newKDC(t, nil)
	k.AddUser("bob", krbPass)
	s := kerberosServer(t, k, httptestutil.Config{})
	dir := t.TempDir()
	if err := k.WriteCCache(filepath.Join(dir, "tkt"), "alice", krbPass); err != nil {
		t.Fatal(err)
	}
	if err := k.WriteCCache(filepath.Join(dir, "tktBob"), "bob", krbPass); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "primary"), []byte("tktBob\n"), 0o600) // kswitch -p bob
	for _, tt := range []struct {
		name  string
		creds *negotiate.Credentials
		user  string
	}{
		{"primary", negotiate.CCache("DIR:" + dir), "bob@" + realm},
		{"alice by name", negotiate.CCachePrincipal("DIR:"+dir, "alice@"+realm), "alice@" + realm},
		{"bob by name", negotiate.CCachePrincipal("DIR:"+dir, "bob@"+realm), "bob@" + realm},
		{"one cache of the collection", negotiate.CCache("DIR::" + filepath.Join(dir, "tkt")), "alice@" + realm},
	} {
		resp, _, err := legsOf(t, krbTransport(t, k, tt.creds), "GET", s.URL, nil)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-User") != tt.user {
			t.Errorf("%s: RoundTrip = %v, %v; want 200 as %s", tt.name, resp, err, tt.user)
		}
	}
	resp, _, err := legsOf(t, krbTransport(t, k, negotiate.CCachePrincipal("DIR:"+dir, "carol@"+realm)), "GET", s.URL, nil)
	err = failureOf(resp, err)
	if !errors.Is(err, negotiate.ErrNoCredentials) || !strings.Contains(err.Error(), "carol@"+realm) {
		t.Errorf("CCachePrincipal(carol) = %v; want ErrNoCredentials naming carol", err)
	}
}

// TestDefaultCredentialsKCM: KRB5CCNAME=KCM: with the daemon's socket
// from krb5.conf, as on Fedora; DescribeCache says what was used.
func TestDefaultCredentialsKCM(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{})
	srv := kcmtest.New(t)
	p := filepath.Join(t.TempDir(), "cc")
	if err := k.WriteCCache(p, "alice", krbPass); err != nil {
		t.Fatal(err)
	}
	c, _ := ccache.Open(p, ccache.Options{})
	cc, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv.Put("0", cc)
	text, _ := os.ReadFile(k.Krb5ConfPath())
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(conf, []byte(strings.Replace(string(text), "[libdefaults]", "[libdefaults]\n  kcm_socket = "+srv.Socket(), 1)), 0o600)
	t.Setenv("KRB5CCNAME", "KCM:")
	tr := krbTransport(t, k, negotiate.DefaultCredentials())
	tr.Krb5Config = conf
	resp, _, err := legsOf(t, tr, "GET", s.URL, nil)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-User") != "alice@"+realm {
		t.Fatalf("RoundTrip = %v, %v; want 200 as alice", resp, err)
	}
	info, err := negotiate.DescribeCache(negotiate.DefaultCredentials(), conf)
	if err != nil || info.Name != "KCM:0" || info.Why != "KRB5CCNAME" || info.Principal != "alice@"+realm || info.TGTEnd.IsZero() {
		t.Errorf("DescribeCache = %+v, %v; want KCM:0 from KRB5CCNAME holding alice's TGT", info, err)
	}
}

// TestCCacheUnusable: caches that cannot be used give errors wrapping
// ErrNoCredentials that say why, never a panic (gokrb5's reader panics on
// the empty, one-byte and header-only files).
func TestCCacheUnusable(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{})
	dir := t.TempDir()
	for _, tt := range []struct {
		name, mention string
		content       []byte
	}{
		{"empty", "empty", []byte{}},
		{"one byte", "truncated", []byte{5}},
		{"header only", "truncated", []byte{5, 4, 0, 0}},
		{"API:foo", "API:", nil},
		{"MSLSA:", "MSLSA:", nil},
	} {
		name := tt.name
		if tt.content != nil {
			name = filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			os.WriteFile(name, tt.content, 0o600)
		}
		resp, _, err := legsOf(t, krbTransport(t, k, negotiate.CCache(name)), "GET", s.URL, nil)
		err = failureOf(resp, err)
		if !errors.Is(err, negotiate.ErrNoCredentials) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("CCache(%s) = %v; want ErrNoCredentials mentioning %q", tt.name, err, tt.mention)
		}
	}
}

// failureOf returns why a request failed: RoundTrip's error, or, when the
// final 401 came back as the response (the package doc's table), what
// ResponseError says of it.
func failureOf(resp *http.Response, err error) error {
	if err == nil && resp != nil {
		return negotiate.ResponseError(resp)
	}
	return err
}
