// This file holds the credential values the mechanisms read: who the
// client is, as typed, and where its Kerberos credentials come from.

package mech

import "strings"

// Kind says where credentials come from.
type Kind int

const (
	KindExplicit Kind = iota // a user and a password or NT hash (or nothing)
	KindKeytab               // a client keytab
	KindCCache               // a credential cache
	KindDefault              // whatever the environment provides
)

// Credentials are the value behind a negotiate.Credentials. Make them with
// the constructors, which compute the identity of credentials whose values
// alone say who they are; they are not changed after.
type Credentials struct {
	// User and Domain as split from what the caller typed (ParseUser).
	User, Domain string
	// UPN reports that the user was typed as user@domain.
	UPN bool

	Password string
	NTHash   []byte

	// Kind is the Kerberos source; Principal is, for a keytab, user@REALM,
	// for a cache the principal to pick, if any; Path is the keytab path
	// or the cache name ("" = the default cache).
	Kind      Kind
	Principal string
	Path      string

	// Impersonate, when set, makes these credentials act for a user
	// through a service's own Kerberos credentials (MS-SFU; Impersonated).
	Impersonate *Impersonation

	static Identity // see identity.go
}

// An Impersonation is a user acted for through a service's credentials.
type Impersonation struct {
	Service *Credentials
	User    string
}

// Impersonated returns credentials that act for user through service's
// Kerberos credentials (S4U2Self, S4U2Proxy). Their identity is the pair
// of the service's identity and the user (identity.go).
func Impersonated(service *Credentials, user string) Credentials {
	return Credentials{Impersonate: &Impersonation{Service: service, User: user}}
}

// Password returns explicit credentials for user as typed (see ParseUser).
func Password(user, password string) Credentials {
	c := ParseUser(user)
	c.Password = password
	c.static = staticIdentity(&c)
	return c
}

// NTHash returns explicit NTLM credentials that carry the NT hash.
func NTHash(user string, hash []byte) Credentials {
	c := ParseUser(user)
	c.NTHash = append([]byte{}, hash...)
	c.static = staticIdentity(&c)
	return c
}

// Keytab returns credentials for principal with keys in the keytab at path.
func Keytab(principal, path string) Credentials {
	c := Credentials{Kind: KindKeytab, Principal: principal, Path: path}
	c.static = staticIdentity(&c)
	return c
}

// CCache returns credentials from the cache name, of principal if not "".
func CCache(name, principal string) Credentials {
	return Credentials{Kind: KindCCache, Path: name, Principal: principal}
}

// Default returns the credentials of the environment.
func Default() Credentials { return Credentials{Kind: KindDefault} }

// ParseUser splits a user as users type it: `DOMAIN\user`, `user@domain`
// (a UPN) or a bare `user`.
func ParseUser(s string) Credentials {
	var c Credentials
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		c.Domain, c.User = s[:i], s[i+1:]
		return c
	}
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		c.User, c.Domain, c.UPN = s[:i], s[i+1:], true
		return c
	}
	c.User = s
	return c
}

// String returns the identity in the form the user typed it, never a
// secret: `DOMAIN\user`, `user@domain`, `user`, or a description of a
// Kerberos source.
func (c *Credentials) String() string {
	if p := c.Impersonate; p != nil {
		return p.User + " (impersonated by " + p.Service.String() + ")"
	}
	if c.User == "" && c.Kind != KindExplicit {
		return c.source()
	}
	switch {
	case c.UPN:
		return c.User + "@" + c.Domain
	case c.Domain != "":
		return c.Domain + `\` + c.User
	}
	return c.User
}

// source describes a Kerberos source.
func (c *Credentials) source() string {
	switch c.Kind {
	case KindKeytab:
		return c.Principal + " (keytab " + c.Path + ")"
	case KindCCache:
		name := c.Path
		if name == "" {
			name = "default"
		}
		if c.Principal != "" {
			return c.Principal + " (ticket cache " + name + ")"
		}
		return "ticket cache " + name
	case KindDefault:
		return "default credentials"
	}
	return "<none>"
}

// HasNTLM reports whether c can answer an NTLM challenge.
func (c *Credentials) HasNTLM() bool {
	return c != nil && c.User != "" && (c.Password != "" || len(c.NTHash) > 0)
}

// HasKerberos reports whether c can try Kerberos at all.
func (c *Credentials) HasKerberos() bool {
	return c != nil && (c.Kind != KindExplicit || (c.User != "" && c.Password != "") || c.Impersonate != nil)
}

// basicAuth returns the user and password for the Basic scheme (RFC 7617).
func (c *Credentials) basicAuth() (user, password string, ok bool) {
	if c == nil || c.User == "" || c.Password == "" {
		return "", "", false
	}
	return c.String(), c.Password, true
}

// ntlmUser returns the user and domain NTLM sends (MS-NLMP §3.1.5.1.2): a
// UPN goes whole in the user field with an empty domain, as SSPI sends it.
func (c *Credentials) ntlmUser() (user, domain string) {
	if c.UPN {
		return c.User + "@" + c.Domain, ""
	}
	return c.User, c.Domain
}
