package krb

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
)

// sourceFiles writes a ticket cache and a keytab made by the test KDC.
func sourceFiles(t testing.TB) (cache, kt string, k *kdc.KDC) {
	t.Helper()
	k = kdc.New(t, "SRC.TEST", nil)
	k.AddUser("alice", "pw-alice")
	k.AddService("HTTP/svc.src.test")
	dir := t.TempDir()
	cache, kt = filepath.Join(dir, "cc"), filepath.Join(dir, "kt")
	if err := k.WriteCCache(cache, "alice", "pw-alice"); err != nil {
		t.Fatal(err)
	}
	if err := k.WriteKeytab(kt, k.Keytab("HTTP/svc.src.test")); err != nil {
		t.Fatal(err)
	}
	return cache, kt, k
}

func TestCacheSource(t *testing.T) {
	cache, kt, k := sourceFiles(t)
	src, err := CacheSource("FILE:" + cache)
	if err != nil || src.Principal != "alice@SRC.TEST" || src.Name != "FILE:"+cache {
		t.Fatalf("CacheSource = %+v, %v; want alice@SRC.TEST in FILE:%s", src, err, cache)
	}
	// gokrb5's full parser agrees on the principal.
	cc, err := credentials.LoadCCache(cache)
	if err != nil {
		t.Fatal(err)
	}
	if want := cc.GetClientPrincipalName().PrincipalNameString() + "@" + cc.GetClientRealm(); want != src.Principal {
		t.Errorf("principal = %q; gokrb5 reads %q", src.Principal, want)
	}
	// Rewritten for another principal, the cache is read again.
	k.AddUser("bob", "pw-bob")
	if err := k.WriteCCache(cache, "bob", "pw-bob"); err != nil {
		t.Fatal(err)
	}
	if src, err := CacheSource(cache); err != nil || src.Principal != "bob@SRC.TEST" {
		t.Errorf("after kinit bob: CacheSource = %+v, %v; want bob@SRC.TEST", src, err)
	}
	b, _ := os.ReadFile(kt)
	p, err := keytabPrincipal(bytes.NewReader(b))
	if err != nil || p != "HTTP/svc.src.test@SRC.TEST" {
		t.Errorf("keytabPrincipal = %q, %v; want HTTP/svc.src.test@SRC.TEST", p, err)
	}
}

func TestDefaultSource(t *testing.T) {
	cache, kt, _ := sourceFiles(t)
	t.Setenv("KRB5CCNAME", cache)
	if src, err := DefaultSource(nil); err != nil || src.Principal != "alice@SRC.TEST" {
		t.Errorf("DefaultSource with KRB5CCNAME = %+v, %v; want alice@SRC.TEST", src, err)
	}
	t.Setenv("KRB5CCNAME", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("KRB5_CLIENT_KTNAME", "FILE:"+kt)
	if src, err := DefaultSource(nil); err != nil || src.Principal != "HTTP/svc.src.test@SRC.TEST" || src.Name != "KEYTAB:"+kt {
		t.Errorf("DefaultSource with a client keytab = %+v, %v", src, err)
	}
	t.Setenv("KRB5_CLIENT_KTNAME", "")
	if _, err := DefaultSource(nil); err == nil {
		t.Errorf("DefaultSource with nothing = nil error")
	}
	t.Setenv("KRB5CCNAME", "KCM:")
	if _, err := DefaultSource(nil); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("DefaultSource(KCM:) = %v; want ErrNoCredentials", err)
	}
}

func TestCachePrincipalBad(t *testing.T) {
	cache, _, _ := sourceFiles(t)
	good, _ := os.ReadFile(cache)
	for _, in := range []string{"", "05", "0504", "050400", "0504000c", "0503", "0402", hex.EncodeToString(good[:20])} {
		b, _ := hex.DecodeString(in)
		if p, err := cachePrincipal(bytes.NewReader(b)); err == nil {
			t.Errorf("cachePrincipal(%s) = %q, nil; want an error", in, p)
		}
	}
}

// FuzzSourcePrincipal feeds the cache-header and keytab readers arbitrary
// bytes: they read the files of whoever runs the process, so they must
// never panic nor allocate without bound.
func FuzzSourcePrincipal(f *testing.F) {
	cache, kt, _ := sourceFiles(f)
	for _, p := range []string{cache, kt} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{5, 4, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		cachePrincipal(bytes.NewReader(b))
		p, err := keytabPrincipal(bytes.NewReader(b))
		if err == nil {
			// What we read as the first entry's principal, gokrb5 must
			// read too (when it does not panic on the rest).
			func() {
				defer func() { recover() }()
				var k keytab.Keytab
				if k.Unmarshal(b) == nil && len(k.Entries) > 0 {
					e := k.Entries[0].Principal
					if got := joinPrincipal(e.Components, e.Realm); got != p {
						t.Errorf("keytabPrincipal = %q; gokrb5 reads %q", p, got)
					}
				}
			}()
		}
	})
}

func joinPrincipal(parts []string, realm string) string {
	s := ""
	for i, c := range parts {
		if i > 0 {
			s += "/"
		}
		s += c
	}
	return s + "@" + realm
}

func TestClientExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		tgt  *cred
		want bool
	}{
		{"no TGT yet", nil, false},
		{"valid", &cred{end: now.Add(time.Hour)}, false},
		{"expired", &cred{end: now.Add(-time.Second)}, true},
		{"expired, renewable", &cred{end: now.Add(-time.Second), renewable: true, renewTill: now.Add(time.Hour)}, false},
		{"expired, renewal over", &cred{end: now.Add(-time.Hour), renewable: true, renewTill: now.Add(-time.Second)}, true},
	}
	for _, tt := range tests {
		c := NewPasswordClient("u", "R", "p", nil)
		c.tgt = tt.tgt
		if got := c.Expired(now); got != tt.want {
			t.Errorf("%s: Expired = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestClientTicketsBounded(t *testing.T) {
	c := NewPasswordClient("u", "R", "p", nil)
	now := time.Now()
	for i := range maxTickets + 100 {
		c.mu.Lock()
		c.storeTicket(fmt.Sprintf("HTTP/h%d@R", i), &cred{end: now.Add(time.Hour)})
		c.mu.Unlock()
	}
	if n := len(c.tickets); n > maxTickets {
		t.Errorf("%d service tickets kept; want at most %d", n, maxTickets)
	}
	if c.cached(fmt.Sprintf("HTTP/h%d@R", maxTickets+99)) == nil {
		t.Errorf("the newest ticket was dropped")
	}
}
