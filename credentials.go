package negotiate

import (
	"fmt"
	"strings"
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
	// user and domain as split from what the caller typed (see parseUser).
	user, domain string
	// upn reports that the user was typed as user@domain.
	upn bool

	password string
	ntHash   []byte

	krb krbSource // Kerberos source; see credentials_krb.go

	// static is the identity of credentials whose values alone say who
	// they are (see identity.go), computed once when they are made.
	static identity

	// impersonate is set by Impersonate (impersonate.go): a user acted
	// for through a service's credentials.
	impersonate *impersonation
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
	c := parseUser(user)
	c.password = password
	c.static = staticIdentity(c)
	return c
}

// NTHash returns explicit NTLM credentials for user (typed as for
// [Password]) that carry the 16-byte NT hash of the password (MD4 of its
// UTF-16LE encoding) instead of the password itself. They serve NTLM only:
// Kerberos and Basic need the password.
func NTHash(user string, hash []byte) *Credentials {
	c := parseUser(user)
	c.ntHash = append([]byte{}, hash...)
	c.static = staticIdentity(c)
	return c
}

func parseUser(s string) *Credentials {
	c := new(Credentials)
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		c.domain, c.user = s[:i], s[i+1:]
		return c
	}
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		c.user, c.domain, c.upn = s[:i], s[i+1:], true
		return c
	}
	c.user = s
	return c
}

// String returns the identity in the form the user typed it, never a secret:
// `DOMAIN\user`, `user@domain`, `user`, or a description of a Kerberos source.
func (c *Credentials) String() string {
	if c == nil {
		return "<no credentials>"
	}
	if c.impersonate != nil {
		return c.impersonate.String()
	}
	if c.user == "" && c.krb.kind != krbNone {
		return c.krb.String()
	}
	switch {
	case c.upn:
		return c.user + "@" + c.domain
	case c.domain != "":
		return c.domain + `\` + c.user
	}
	return c.user
}

// GoString keeps secrets out of %#v.
func (c *Credentials) GoString() string { return fmt.Sprintf("negotiate.Credentials(%q)", c.String()) }

// hasNTLM reports whether c can answer an NTLM challenge.
func (c *Credentials) hasNTLM() bool {
	return c != nil && c.user != "" && (c.password != "" || len(c.ntHash) > 0)
}

// basicAuth returns the user and password for the Basic scheme (RFC 7617).
func (c *Credentials) basicAuth() (user, password string, ok bool) {
	if c == nil || c.user == "" || c.password == "" {
		return "", "", false
	}
	return c.String(), c.password, true
}

// ntlmUser returns the user and domain NTLM sends (MS-NLMP §3.1.5.1.2): a
// UPN goes whole in the user field with an empty domain, as SSPI sends it.
func (c *Credentials) ntlmUser() (user, domain string) {
	if c.upn {
		return c.user + "@" + c.domain, ""
	}
	return c.user, c.domain
}
