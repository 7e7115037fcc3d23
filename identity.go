// This file holds the identity model: what makes two Credentials "the same
// user" for everything a Transport shares between requests (authenticated
// connections, Kerberos tickets, remembered Kerberos failures).
//
// The rule, in one read:
//   - An identity is computed from what the credentials are, never from
//     where they live in memory: two Credentials made separately with equal
//     values are one identity, and any difference in value makes two.
//   - Password and NTHash: the kind, the user and domain as typed (and
//     whether it was a UPN), and the secret.
//   - Keytab: the principal and the keytab's path.
//   - CCache: the cache's path and the principal the cache holds now.
//   - DefaultCredentials: the credential source the environment resolves
//     to now (cache or client keytab) and the principal it holds; on
//     Windows under SSPI, the logged-on user of the process. So after
//     `kdestroy; kinit bob` the same DefaultCredentials value is a new
//     identity, and nothing authenticated as the old principal serves it.
//   - Impersonate: the service credentials' identity and the user.
//   - No credentials is an identity of its own.
//
// The key is an HMAC-SHA-256 over the values under a key drawn at random
// when the process starts: it can be compared and used as a map key, and
// reveals nothing about the secret, not even across processes.

package negotiate

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"

	"github.com/negotiate-go/negotiate/internal/krb"
)

// kindImpersonate is the identity kind of Impersonate credentials, apart
// from the krbKind values.
const kindImpersonate = 0xff

// An identity says who a request authenticates as. The zero identity is
// "no credentials".
type identity struct {
	key [sha256.Size]byte
	// principal is the Kerberos principal (user@REALM) that a cache or
	// default source held when the key was computed, "" for the other
	// kinds. A Kerberos client serves the identity only if it holds this
	// principal, so a cache rewritten between the two reads is caught.
	principal string
}

// identityKey is the per-process HMAC key.
var identityKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("negotiate: no randomness for the identity key: " + err.Error())
	}
	return k
})

// identityOf returns the identity of c as of now. For DefaultCredentials
// and CCache it resolves the cache and reads which principal it holds
// (cheaply: krb5.conf and a FILE cache are read again only when they
// changed; about 10 µs a request).
func (t *Transport) identityOf(c *Credentials) identity {
	if c == nil {
		return identity{}
	}
	if p := c.impersonate; p != nil {
		// The pair of the service's identity and the user.
		svc := t.identityOf(p.service)
		return newIdentity(kindImpersonate, string(svc.key[:]), p.user)
	}
	switch c.krb.kind {
	case krbDefault:
		if name, ok := t.platformDefaultIdentity(c); ok {
			return newIdentity(byte(krbDefault), "platform", name)
		}
		src, principal, err := krb.ResolveDefault(t.Krb5Config)
		return resolvedIdentity(krbDefault, src, principal, err)
	case krbCCache:
		src, principal, err := krb.ResolveCache(c.krb.path, c.krb.principal, t.Krb5Config)
		return resolvedIdentity(krbCCache, src, principal, err)
	}
	return c.static
}

// resolvedIdentity is the identity of a source that was resolved to src
// holding principal. When it could not be resolved, nothing can
// authenticate with it; the Kerberos client's own lookup reports why, and
// the empty principal matches no client (krbClient).
func resolvedIdentity(kind krbKind, src, principal string, err error) identity {
	if err != nil {
		return newIdentity(byte(kind), "unresolved")
	}
	id := newIdentity(byte(kind), src, principal)
	id.principal = principal
	return id
}

// staticIdentity computes the identity of credentials whose values alone
// say who they are: explicit user and secret, or a keytab.
func staticIdentity(c *Credentials) identity {
	switch c.krb.kind {
	case krbKeytab:
		return newIdentity(byte(krbKeytab), c.krb.principal, c.krb.path)
	case krbNone:
		upn := "0"
		if c.upn {
			upn = "1"
		}
		secretKind := "password"
		secret := c.password
		if c.ntHash != nil {
			secretKind, secret = "nthash", string(c.ntHash)
		}
		return newIdentity(byte(krbNone), c.user, c.domain, upn, secretKind, secret)
	}
	return identity{}
}

// newIdentity hashes the kind and the fields, each prefixed with its
// length so that no two field lists encode alike.
func newIdentity(kind byte, fields ...string) identity {
	var id identity
	m := hmac.New(sha256.New, identityKey())
	m.Write([]byte{kind})
	for _, f := range fields {
		writeField(m, f)
	}
	m.Sum(id.key[:0])
	return id
}

func writeField(h hash.Hash, f string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(f)))
	h.Write(n[:])
	h.Write([]byte(f))
}

// String shows a short prefix of the key, for tests and debugging; it
// reveals nothing.
func (id identity) String() string { return fmt.Sprintf("identity:%x", id.key[:6]) }
