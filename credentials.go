package negotiate

import (
	"fmt"
	"strings"
)

// Credentials identify the client: what SSPI's AcquireCredentialsHandle
// yields. Create them with [Password] or [NTHash] (explicit credentials, usable
// for NTLM, Basic and Kerberos) or with the Kerberos sources [Keytab],
// [CCache] and [DefaultCredentials]. A *Credentials is immutable and safe for
// concurrent use by multiple goroutines. Each Transport keeps the Kerberos
// tickets it gets for a Credentials, shared by every request that uses it.
//
// A nil *Credentials means "no credentials".
type Credentials struct {
	// user and domain as split from what the caller typed (see parseUser).
	user, domain string
	// upn reports that the user was typed as user@domain.
	upn bool

	password string
	ntHash   []byte

	krb krbSource // Kerberos source; see credentials_krb.go

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
	return c
}

// NTHash returns explicit NTLM credentials for user (typed as for
// [Password]) that carry the 16-byte NT hash of the password (MD4 of its
// UTF-16LE encoding) instead of the password itself. They serve NTLM only:
// Kerberos and Basic need the password.
func NTHash(user string, hash []byte) *Credentials {
	c := parseUser(user)
	c.ntHash = append([]byte(nil), hash...)
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

// identity keys authenticated connections: two requests may share one only
// if they carry the same *Credentials (the same identity and secret).
func (c *Credentials) identity() string { return fmt.Sprintf("%p", c) }

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
