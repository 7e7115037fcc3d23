// This file reads KEYRING caches from the Linux kernel's key retention
// service, laid out as MIT krb5's cc_keyring.c lays them out: an anchor
// keyring (session, user, process, thread, or the per-UID persistent
// keyring) holds a collection keyring ("_krb_NAME", or "_krb" in the
// persistent keyring), which holds a "krb_ccache:primary" user key naming
// the primary cache and one keyring per cache; a cache keyring holds a
// "__krb5_princ__" key (the default principal) and one key per credential,
// each payload in the version-4 cache encoding. Only keyctl(2) system
// calls are used, through golang.org/x/sys/unix: no cgo, no libkeyutils.
//
// Keys are readable by their possessor only, and possession comes from
// the calling thread's keyrings: every sequence of calls runs on one
// locked OS thread (withKeyring). The process and thread anchors name
// keyrings of the process (thread) that made them, which another program
// never sees; they are read for completeness.

package ccache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"golang.org/x/sys/unix"
)

const (
	krccPrimaryKey  = "krb_ccache:primary"
	krccPrincKey    = "__krb5_princ__"
	krccInternalPfx = "__krb5_"
	// maxKeys bounds how many keys a cache or collection keyring may list.
	maxKeys = 4096
)

// keyringName is a parsed KEYRING residual.
type keyringName struct {
	anchor, collection, subsidiary string
}

func parseKeyringName(residual string) (keyringName, error) {
	var n keyringName
	anchor, rest, ok := strings.Cut(residual, ":")
	if !ok {
		// "KEYRING:name": the legacy form, in the session keyring.
		anchor, rest = "legacy", residual
	}
	n.anchor = anchor
	n.collection, n.subsidiary, _ = strings.Cut(rest, ":")
	switch anchor {
	case "session", "user", "persistent", "process", "thread", "legacy":
	default:
		return n, fmt.Errorf("unknown keyring anchor %q (want session, user, persistent, process or thread)", anchor)
	}
	return n, nil
}

// keyctlRead returns a key's payload.
func keyctlRead(id int) ([]byte, error) {
	buf := make([]byte, 4096)
	for {
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return nil, err
		}
		if n > MaxSize {
			return nil, fmt.Errorf("%w: key payload of %d bytes", errFormat, n)
		}
		if n <= len(buf) {
			return buf[:n], nil
		}
		buf = make([]byte, n)
	}
}

// keyringIDs returns the serials a keyring holds.
func keyringIDs(id int) ([]int, error) {
	b, err := keyctlRead(id)
	if err != nil {
		return nil, err
	}
	if len(b)/4 > maxKeys {
		return nil, fmt.Errorf("%w: keyring of %d keys", errFormat, len(b)/4)
	}
	ids := make([]int, 0, len(b)/4)
	for i := 0; i+4 <= len(b); i += 4 {
		ids = append(ids, int(int32(binary.NativeEndian.Uint32(b[i:]))))
	}
	return ids, nil
}

// describe returns a key's type and description.
func describe(id int) (typ, desc string, err error) {
	s, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
	if err != nil {
		return "", "", err
	}
	// "type;uid;gid;perm;description"
	f := strings.SplitN(s, ";", 5)
	if len(f) != 5 {
		return "", "", fmt.Errorf("%w: key description %q", errFormat, s)
	}
	return f[0], f[4], nil
}

// collectionID finds the collection keyring of n, without creating it.
// The caller's OS thread must be locked: a process keyring the persistent
// keyring is linked into belongs to one thread's credentials.
func collectionID(n keyringName) (int, error) {
	if n.anchor == "persistent" {
		uid := os.Geteuid()
		if n.collection != "" {
			u, err := strconv.Atoi(n.collection)
			if err != nil {
				return 0, fmt.Errorf("persistent keyring %q: not a UID", n.collection)
			}
			uid = u
		}
		// Linked into the process keyring so that we possess it and
		// may read what it holds (keys are possessor-readable only).
		p, err := unix.KeyctlInt(unix.KEYCTL_GET_PERSISTENT, uid, unix.KEY_SPEC_PROCESS_KEYRING, 0, 0)
		if err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) && uid == os.Geteuid() {
				p = unix.KEY_SPEC_USER_KEYRING // MIT's fallback
			} else {
				return 0, fmt.Errorf("persistent keyring of UID %d: %w", uid, err)
			}
		}
		return unix.KeyctlSearch(p, "keyring", "_krb", 0)
	}
	anchor := map[string]int{
		"session": unix.KEY_SPEC_SESSION_KEYRING,
		"legacy":  unix.KEY_SPEC_SESSION_KEYRING,
		"user":    unix.KEY_SPEC_USER_KEYRING,
		"process": unix.KEY_SPEC_PROCESS_KEYRING,
		"thread":  unix.KEY_SPEC_THREAD_KEYRING,
	}[n.anchor]
	return unix.KeyctlSearch(anchor, "keyring", "_krb_"+n.collection, 0)
}

// keyringPrimary returns the subsidiary name of a collection's primary
// cache: the one its primary key names, else the collection's own name
// ("tkt" for an empty one), which is where kinit puts the first cache.
func keyringPrimary(coll int, n keyringName) (string, error) {
	k, err := unix.KeyctlSearch(coll, "user", krccPrimaryKey, 0)
	if err != nil {
		if n.collection == "" {
			return "tkt", nil
		}
		return n.collection, nil
	}
	b, err := keyctlRead(k)
	if err != nil {
		return "", err
	}
	return ParsePrimary(b)
}

// withKeyring runs f on a locked OS thread (see collectionID).
func withKeyring(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return f()
}

// keyringCache is one cache keyring.
type keyringCache struct {
	n keyringName // with subsidiary set
}

func (c *keyringCache) Name() string {
	return "KEYRING:" + c.n.anchor + ":" + c.n.collection + ":" + c.n.subsidiary
}

// cacheID finds the cache keyring; the thread must be locked.
func (c *keyringCache) cacheID() (int, error) {
	coll, err := collectionID(c.n)
	if err != nil {
		if c.n.anchor == "legacy" {
			// A cache made by MIT krb5 before 1.12: a keyring named
			// like the collection, right in the session keyring.
			if id, lerr := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "keyring", c.n.subsidiary, 0); lerr == nil {
				return id, nil
			}
		}
		return 0, fmt.Errorf("no keyring collection for %s: %w", c.Name(), err)
	}
	id, err := unix.KeyctlSearch(coll, "keyring", c.n.subsidiary, 0)
	if err != nil {
		return 0, fmt.Errorf("no cache keyring %s: %w", c.Name(), err)
	}
	return id, nil
}

func (c *keyringCache) principal(cache int) (string, error) {
	k, err := unix.KeyctlSearch(cache, "user", krccPrincKey, 0)
	if err != nil {
		return "", fmt.Errorf("cache keyring %s has no principal: %w", c.Name(), err)
	}
	b, err := keyctlRead(k)
	if err != nil {
		return "", err
	}
	realm, pn, err := ParsePrincipal(b)
	if err != nil {
		return "", err
	}
	return principalString(realm, pn), nil
}

func (c *keyringCache) Principal() (string, error) {
	var p string
	err := withKeyring(func() error {
		id, err := c.cacheID()
		if err != nil {
			return err
		}
		p, err = c.principal(id)
		return err
	})
	return p, err
}

func (c *keyringCache) Load() (*credentials.CCache, error) {
	var cc *credentials.CCache
	err := withKeyring(func() error {
		id, err := c.cacheID()
		if err != nil {
			return err
		}
		k, err := unix.KeyctlSearch(id, "user", krccPrincKey, 0)
		if err != nil {
			return fmt.Errorf("cache keyring %s has no principal: %w", c.Name(), err)
		}
		b, err := keyctlRead(k)
		if err != nil {
			return err
		}
		cc = &credentials.CCache{Version: 4}
		if cc.DefaultPrincipal.Realm, cc.DefaultPrincipal.PrincipalName, err = ParsePrincipal(b); err != nil {
			return err
		}
		ids, err := keyringIDs(id)
		if err != nil {
			return err
		}
		for _, kid := range ids {
			typ, desc, err := describe(kid)
			if err != nil || typ == "keyring" || strings.HasPrefix(desc, krccInternalPfx) {
				continue // removed meanwhile, or not a credential
			}
			b, err := keyctlRead(kid)
			if err != nil {
				continue // expired or unlinked meanwhile
			}
			cr, err := ParseCredential(b)
			if err != nil {
				return err
			}
			cc.Credentials = append(cc.Credentials, cr)
		}
		return nil
	})
	return cc, err
}

// Stamp is the cache keyring's serial and the serials it holds: storing a
// credential adds a key, and kinit clears the keyring first.
func (c *keyringCache) Stamp() (string, error) {
	var s string
	err := withKeyring(func() error {
		id, err := c.cacheID()
		if err != nil {
			return err
		}
		ids, err := keyringIDs(id)
		if err != nil {
			return err
		}
		s = fmt.Sprint(id, ids)
		return nil
	})
	return s, err
}

// openKeyring resolves a KEYRING residual to one cache (a collection's
// primary when it names no subsidiary).
func openKeyring(residual string) (Cache, error) {
	n, err := parseKeyringName(residual)
	if err != nil {
		return nil, err
	}
	if n.subsidiary != "" {
		return &keyringCache{n: n}, nil
	}
	err = withKeyring(func() error {
		coll, err := collectionID(n)
		if err != nil {
			// No collection yet: MIT would create it with the
			// collection's name as primary.
			n.subsidiary = n.collection
			if n.subsidiary == "" {
				n.subsidiary = "tkt"
			}
			return nil
		}
		n.subsidiary, err = keyringPrimary(coll, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	if n.anchor == "persistent" && n.collection == "" {
		n.collection = strconv.Itoa(os.Geteuid())
	}
	return &keyringCache{n: n}, nil
}

// listKeyring returns the caches of the collection residual names, its
// primary first.
func listKeyring(residual string) ([]Cache, error) {
	n, err := parseKeyringName(residual)
	if err != nil {
		return nil, err
	}
	if n.subsidiary != "" {
		return []Cache{&keyringCache{n: n}}, nil
	}
	var out []Cache
	err = withKeyring(func() error {
		coll, err := collectionID(n)
		if err != nil {
			return fmt.Errorf("no keyring collection KEYRING:%s: %w", residual, err)
		}
		primary, err := keyringPrimary(coll, n)
		if err != nil {
			return err
		}
		ids, err := keyringIDs(coll)
		if err != nil {
			return err
		}
		if n.anchor == "persistent" && n.collection == "" {
			n.collection = strconv.Itoa(os.Geteuid())
		}
		for _, id := range ids {
			typ, desc, err := describe(id)
			if err != nil || typ != "keyring" {
				continue
			}
			m := n
			m.subsidiary = desc
			c := &keyringCache{n: m}
			if desc == primary {
				out = append([]Cache{c}, out...)
			} else {
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}
