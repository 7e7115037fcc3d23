package krb

import (
	"path/filepath"
	"testing"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// BenchmarkResolveDefault measures what DefaultCredentials' identity costs
// per request: resolving the default cache and reading its principal.
func BenchmarkResolveDefault(b *testing.B) {
	k := kdc.New(b, "SRC.TEST", nil)
	k.AddUser("alice", "pw-alice")
	cache := filepath.Join(b.TempDir(), "cc")
	if err := k.WriteCCache(cache, "alice", "pw-alice"); err != nil {
		b.Fatal(err)
	}
	b.Setenv("KRB5CCNAME", "FILE:"+cache)
	cfg := k.Krb5ConfPath()
	for b.Loop() {
		if _, p, err := ResolveDefault(cfg); err != nil || p != "alice@SRC.TEST" {
			b.Fatal(p, err)
		}
	}
}
