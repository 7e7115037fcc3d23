package ccache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestDIRCollection: a DIR collection of two principals, as kinit of each
// and kswitch leave it.
func TestDIRCollection(t *testing.T) {
	k := testKDC(t)
	dir := t.TempDir()
	if err := k.WriteCCache(filepath.Join(dir, "tkt"), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if err := k.WriteCCache(filepath.Join(dir, "tktBob123"), "bob", "bob-pw"); err != nil {
		t.Fatal(err)
	}
	// Not caches: no "tkt" prefix.
	os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o600)

	principalOf := func(name string) string {
		t.Helper()
		c, err := Open(name, Options{})
		if err != nil {
			t.Fatalf("Open(%q) = %v", name, err)
		}
		p, err := c.Principal()
		if err != nil {
			t.Fatalf("Open(%q).Principal() = %v", name, err)
		}
		return p
	}
	// Without a primary file the primary is "tkt".
	if p := principalOf("DIR:" + dir); p != "alice@TEST.REALM" {
		t.Errorf("primary of a collection without a primary file = %q; want alice", p)
	}
	// kswitch writes the primary file.
	os.WriteFile(filepath.Join(dir, "primary"), []byte("tktBob123\n"), 0o600)
	if p := principalOf("DIR:" + dir); p != "bob@TEST.REALM" {
		t.Errorf("primary after kswitch = %q; want bob", p)
	}
	if p := principalOf("DIR::" + filepath.Join(dir, "tkt")); p != "alice@TEST.REALM" {
		t.Errorf("DIR::path = %q; want alice", p)
	}
	list, err := List("DIR:"+dir, Options{})
	if err != nil || len(list) != 2 || list[0].Name() != "DIR::"+filepath.Join(dir, "tktBob123") {
		t.Errorf("List = %v, %v; want two caches, bob's (the primary) first", list, err)
	}
	for _, want := range []string{"alice@TEST.REALM", "bob@TEST.REALM"} {
		c, err := Match("DIR:"+dir, want, Options{})
		if err != nil {
			t.Errorf("Match(%s) = %v", want, err)
			continue
		}
		if p, _ := c.Principal(); p != want {
			t.Errorf("Match(%s) = %s holding %s", want, c.Name(), p)
		}
	}
	if _, err := Match("DIR:"+dir, "carol@TEST.REALM", Options{}); !errors.Is(err, ErrNoMatch) {
		t.Errorf("Match(carol) = %v; want %v", err, ErrNoMatch)
	}
	// A primary file naming something that is not a cache file.
	os.WriteFile(filepath.Join(dir, "primary"), []byte("../etc/passwd\n"), 0o600)
	if _, err := Open("DIR:"+dir, Options{}); err == nil {
		t.Errorf("Open with primary ../etc/passwd = nil error")
	}
}

func TestFILEStampAndErrors(t *testing.T) {
	k := testKDC(t)
	p := filepath.Join(t.TempDir(), "cc")
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing cache = %v; want fs.ErrNotExist", err)
	}
	if err := k.WriteCCache(p, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	s1, err := c.Stamp()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.WriteCCache(p+".new", "bob", "bob-pw"); err != nil {
		t.Fatal(err)
	}
	os.Rename(p+".new", p) // as kinit replaces a cache
	if s2, _ := c.Stamp(); s2 == s1 {
		t.Errorf("Stamp after the cache was replaced = %q, unchanged", s2)
	}
	if p, _ := c.Principal(); p != "bob@TEST.REALM" {
		t.Errorf("Principal after replacement = %q; want bob", p)
	}
	// Over MaxSize: refused before parsing.
	big := filepath.Join(t.TempDir(), "big")
	f, _ := os.Create(big)
	f.Truncate(MaxSize + 1)
	f.Close()
	if _, err := (&fileCache{path: big}).Load(); !errors.Is(err, errFormat) {
		t.Errorf("Load of a %d-byte file = %v; want %v", MaxSize+1, err, errFormat)
	}
}

func TestMEMORY(t *testing.T) {
	b, _ := kdcCache(t, testKDC(t), "alice", "alice-pw")
	cc, err := ParseFile(b)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Open("MEMORY:t", Options{})
	if _, err := c.Principal(); err == nil {
		t.Errorf("Principal of an unset MEMORY cache = nil error")
	}
	PutMemory("t", cc)
	t.Cleanup(func() { PutMemory("t", nil) })
	s1, _ := c.Stamp()
	if p, err := c.Principal(); err != nil || p != "alice@TEST.REALM" {
		t.Errorf("MEMORY Principal = %q, %v", p, err)
	}
	PutMemory("t", cc)
	if s2, _ := c.Stamp(); s1 == s2 {
		t.Errorf("MEMORY Stamp unchanged after PutMemory")
	}
}
