package negotiate

import (
	"fmt"

	"github.com/negotiate-go/negotiate/internal/mech"
)

// Credentials identify the client: what SSPI's AcquireCredentialsHandle
// yields. Create them with [Password] or [NTHash] (explicit credentials, usable
// for NTLM, Basic and Kerberos) or with the Kerberos sources [Keytab],
// [CCache] and [DefaultCredentials]. A *Credentials is immutable and safe for
// concurrent use by multiple goroutines.
//
// A nil *Credentials means "no credentials".
//
// # Identity
//
// What a Transport shares between requests (authenticated connections,
// Kerberos tickets, the memory that Kerberos failed for a service) it shares
// by identity, and an identity is the credentials' value, never the
// pointer: two Credentials made separately from equal values are one
// identity, so a service may make a Credentials per request without paying
// a handshake each time; any difference makes two identities that share
// nothing, so a connection authenticated as one user, or with one password,
// never carries a request made with another.
//
//   - [Password], [NTHash]: the user and domain as typed, and the secret.
//   - [Keytab]: the principal and the keytab's path.
//   - [CCache]: the cache's path and the principal it holds at the time of
//     the request.
//   - [DefaultCredentials]: the source the environment resolves to at the
//     time of the request and the principal it holds (after `kdestroy;
//     kinit bob`, requests are bob's, on connections of their own); under
//     SSPI, the logged-on user.
//
// Identities are compared through a keyed hash (HMAC-SHA-256 under a
// per-process random key); no secret is kept beyond the Credentials itself.
// What a Transport keeps per identity is bounded: see
// [Transport.MaxIdentities] and [Transport.CloseIdleConnections].
type Credentials struct {
	// m is the value the mechanisms read (internal/mech); it holds the
	// identity of credentials whose values alone say who they are,
	// computed once when they are made.
	m mech.Credentials
}

// Password returns explicit credentials for user, typed as users type it:
// `DOMAIN\user`, `user@domain` (a user principal name) or a bare `user`.
//
// For NTLM, `DOMAIN\user` sends DOMAIN as the domain; a UPN is sent whole as
// the user name with an empty domain, as SSPI does; a bare user sends an
// empty domain. For Kerberos, `user@domain` names the realm (upper-cased);
// `DOMAIN\user` uses DOMAIN as the realm when it has a dot, else the
// configuration's default realm.
func Password(user, password string) *Credentials {
	return &Credentials{m: mech.Password(user, password)}
}

// NTHash returns explicit NTLM credentials for user (typed as for
// [Password]) that carry the 16-byte NT hash of the password (MD4 of its
// UTF-16LE encoding) instead of the password itself. They serve NTLM only:
// Kerberos and Basic need the password.
func NTHash(user string, hash []byte) *Credentials {
	return &Credentials{m: mech.NTHash(user, hash)}
}

// String returns the identity in the form the user typed it, never a secret:
// `DOMAIN\user`, `user@domain`, `user`, or a description of a Kerberos source.
func (c *Credentials) String() string {
	if c == nil {
		return "<no credentials>"
	}
	return c.m.String()
}

// GoString keeps secrets out of %#v.
func (c *Credentials) GoString() string { return fmt.Sprintf("negotiate.Credentials(%q)", c.String()) }

// mc returns the value the mechanisms read, nil for no credentials.
func (c *Credentials) mc() *mech.Credentials {
	if c == nil {
		return nil
	}
	return &c.m
}

// hasKerberos reports whether c can try Kerberos at all.
func (c *Credentials) hasKerberos() bool { return c.mc().HasKerberos() }
