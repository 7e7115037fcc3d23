package ccache

import (
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"golang.org/x/sys/unix"
)

// putKeyring lays out a collection in the session keyring as MIT krb5's
// cc_keyring.c does: _krb_<coll> holding krb_ccache:primary and one
// keyring per cache, each with __krb5_princ__ and one key per credential.
// It skips the test where keyrings are not available (a container whose
// seccomp profile forbids keyctl).
func putKeyring(tb testing.TB, coll, primary string, caches map[string]*credentials.CCache) {
	tb.Helper()
	collID, err := unix.AddKey("keyring", "_krb_"+coll, nil, unix.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		tb.Skipf("no kernel keyrings here: %v", err)
	}
	tb.Cleanup(func() { unix.KeyctlInt(unix.KEYCTL_UNLINK, collID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0) })
	if primary != "" {
		p := binary.BigEndian.AppendUint32(nil, 1)
		p = binary.BigEndian.AppendUint32(p, uint32(len(primary)))
		if _, err := unix.AddKey("user", krccPrimaryKey, append(p, primary...), collID); err != nil {
			tb.Fatal(err)
		}
	}
	for name, cc := range caches {
		id, err := unix.AddKey("keyring", name, nil, collID)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := unix.AddKey("user", krccPrincKey, MarshalPrincipal(cc.DefaultPrincipal.Realm, cc.DefaultPrincipal.PrincipalName), id); err != nil {
			tb.Fatal(err)
		}
		unix.AddKey("user", "__krb5_time_offsets__", make([]byte, 8), id)
		for i, c := range cc.Credentials {
			if _, err := unix.AddKey("user", fmt.Sprintf("cred%d", i), MarshalCredential(c), id); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func TestKEYRING(t *testing.T) {
	k := testKDC(t)
	_, alice := kdcCache(t, k, "alice", "alice-pw")
	_, bob := kdcCache(t, k, "bob", "bob-pw")
	coll := fmt.Sprintf("negotiate-test-%d", os.Getpid())
	putKeyring(t, coll, "krb_ccache_B0b", map[string]*credentials.CCache{coll: alice, "krb_ccache_B0b": bob})

	c, err := Open("KEYRING:session:"+coll, Options{})
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	if want := "KEYRING:session:" + coll + ":krb_ccache_B0b"; c.Name() != want {
		t.Errorf("Open(collection).Name() = %q; want the primary %q", c.Name(), want)
	}
	cc, err := c.Load()
	if err != nil || principalString(cc.DefaultPrincipal.Realm, cc.DefaultPrincipal.PrincipalName) != "bob@TEST.REALM" || len(cc.Credentials) != len(bob.Credentials) {
		t.Fatalf("Load = %+v, %v; want bob's %d credentials (not the time offsets)", cc, err, len(bob.Credentials))
	}
	m, err := Match("KEYRING:session:"+coll, "alice@TEST.REALM", Options{})
	if err != nil || m.Name() != "KEYRING:session:"+coll+":"+coll {
		t.Errorf("Match(alice) = %v, %v", m, err)
	}
	s1, err := c.Stamp()
	if err != nil {
		t.Fatal(err)
	}
	// Storing a credential (kinit -R, a TGS reply) changes the stamp.
	id, _ := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "keyring", "krb_ccache_B0b", 0)
	unix.AddKey("user", "another", MarshalCredential(bob.Credentials[0]), id)
	if s2, _ := c.Stamp(); s2 == s1 {
		t.Errorf("Stamp unchanged after a credential was stored")
	}
	if _, err := Open("KEYRING:session:"+coll+"-none", Options{}); err != nil {
		t.Errorf("Open of a collection that does not exist = %v; want a cache that Load reports missing", err)
	}
	none, _ := Open("KEYRING:session:"+coll+"-none", Options{})
	if _, err := none.Load(); err == nil {
		t.Errorf("Load of a missing keyring cache = nil error")
	}
	if _, err := Open("KEYRING:nosuchanchor:x:y", Options{}); err == nil {
		t.Errorf("Open(KEYRING:nosuchanchor:x:y) = nil error")
	}
}
