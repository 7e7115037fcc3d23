// This file holds the identity model: what makes two Credentials "the same
// user" for everything a Transport shares between requests (authenticated
// connections, Kerberos tickets, remembered Kerberos failures). The rule is
// documented for users on negotiate.Credentials.
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
//   - No credentials is an identity of its own.
//
// The key is an HMAC-SHA-256 over the values under a key drawn at random
// when the process starts: it can be compared and used as a map key, and
// reveals nothing about the secret, not even across processes.

package mech

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

// An Identity says who a request authenticates as. The zero Identity is
// "no credentials". Identities are comparable and serve as map keys.
type Identity struct {
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

// Identity returns the identity of c as of now (nil: no credentials). For
// DefaultCredentials and CCache it resolves the cache and reads which
// principal it holds (cheaply: krb5.conf and a FILE cache are read again
// only when they changed; about 10 µs a request).
func (f *Factory) Identity(c *Credentials) Identity {
	if c == nil {
		return Identity{}
	}
	if p := c.Impersonate; p != nil {
		// The pair of the service's identity and the user.
		svc := f.Identity(p.Service)
		return newIdentity(kindImpersonate, string(svc.key[:]), p.User)
	}
	switch c.Kind {
	case KindDefault:
		if name, ok := f.platformDefaultIdentity(c); ok {
			return newIdentity(byte(KindDefault), "platform", name)
		}
		src, principal, err := krb.ResolveDefault(f.cfg.Krb5Config)
		return resolvedIdentity(KindDefault, src, principal, err)
	case KindCCache:
		src, principal, err := krb.ResolveCache(c.Path, c.Principal, f.cfg.Krb5Config)
		return resolvedIdentity(KindCCache, src, principal, err)
	}
	if c.static == (Identity{}) {
		// A value made without the constructors.
		return staticIdentity(c)
	}
	return c.static
}

// kindImpersonate is the identity kind of impersonating credentials, apart
// from the Kind values.
const kindImpersonate = 0xff

// resolvedIdentity is the identity of a source that was resolved to src
// holding principal. When it could not be resolved, nothing can
// authenticate with it; the Kerberos client's own lookup reports why, and
// the empty principal matches no client (krbClient).
func resolvedIdentity(kind Kind, src, principal string, err error) Identity {
	if err != nil {
		return newIdentity(byte(kind), "unresolved")
	}
	id := newIdentity(byte(kind), src, principal)
	id.principal = principal
	return id
}

// staticIdentity computes the identity of credentials whose values alone
// say who they are: explicit user and secret, or a keytab.
func staticIdentity(c *Credentials) Identity {
	switch c.Kind {
	case KindKeytab:
		return newIdentity(byte(KindKeytab), c.Principal, c.Path)
	case KindExplicit:
		upn := "0"
		if c.UPN {
			upn = "1"
		}
		secretKind := "password"
		secret := c.Password
		if c.NTHash != nil {
			secretKind, secret = "nthash", string(c.NTHash)
		}
		return newIdentity(byte(KindExplicit), c.User, c.Domain, upn, secretKind, secret)
	}
	return Identity{}
}

// newIdentity hashes the kind and the fields, each prefixed with its
// length so that no two field lists encode alike.
func newIdentity(kind byte, fields ...string) Identity {
	var id Identity
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
func (id Identity) String() string { return fmt.Sprintf("identity:%x", id.key[:6]) }
