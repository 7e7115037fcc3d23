package negotiate

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/negotiate-go/negotiate/internal/krb"
)

// krbKind says where Kerberos credentials come from.
type krbKind int

const (
	krbNone    krbKind = iota // explicit user and password (or none)
	krbKeytab                 // a client keytab
	krbCCache                 // a credential cache
	krbDefault                // whatever the environment provides
)

// krbSource describes a Kerberos credential source.
type krbSource struct {
	kind      krbKind
	principal string // for a keytab: user@REALM; for a cache: the principal to pick, if any
	path      string // keytab path, or ccache name ("" = the default cache)
}

func (s krbSource) String() string {
	switch s.kind {
	case krbKeytab:
		return s.principal + " (keytab " + s.path + ")"
	case krbCCache:
		name := s.path
		if name == "" {
			name = "default"
		}
		if s.principal != "" {
			return s.principal + " (ticket cache " + name + ")"
		}
		return "ticket cache " + name
	case krbDefault:
		return "default credentials"
	}
	return "<none>"
}

// Keytab returns Kerberos credentials for principal (user@REALM, or a bare
// user in the configuration's default realm) whose keys are in the keytab
// file at path. Tickets are got with the keys, and got again when they
// expire.
func Keytab(principal, path string) *Credentials {
	c := &Credentials{krb: krbSource{kind: krbKeytab, principal: principal, path: path}}
	c.static = staticIdentity(c)
	return c
}

// CCache returns Kerberos credentials from the credential cache name, as
// kinit fills it: a FILE path (with or without "FILE:"), or any name
// KRB5CCNAME takes on Linux: "DIR:dir" (the collection's primary cache),
// "DIR::path", "KEYRING:session:name", "KEYRING:persistent:uid", "KCM:",
// "KCM:name", "MEMORY:name". A cache holding only a service ticket still
// works for that service. The cache is read on first use and read again
// when its TGT nears its end, when it changed and a TGT is needed, and when
// the KDC says the TGT expired; once its TGT has expired and no one put a
// newer one there (kinit, kinit -R, k5start, sssd), requests fail with an
// error wrapping ErrCredentialsExpired.
func CCache(name string) *Credentials {
	return &Credentials{krb: krbSource{kind: krbCCache, path: name}}
}

// CCachePrincipal returns Kerberos credentials from the cache of principal
// (name@REALM) in the collection name belongs to ("" means the default
// cache's collection), as krb5_cc_cache_match picks it: with a DIR,
// KEYRING or KCM collection holding caches of several principals (kinit
// of each, kswitch between them), the one of principal whatever the
// primary is. Otherwise as [CCache].
func CCachePrincipal(name, principal string) *Credentials {
	return &Credentials{krb: krbSource{kind: krbCCache, path: name, principal: principal}}
}

// DefaultCredentials returns the credentials of the environment, what
// `curl --negotiate -u :` uses, found as MIT krb5 finds them: the ticket
// cache KRB5CCNAME names, else krb5.conf's default_ccache_name (with its
// %{uid}-style expansions; KCM: and KEYRING:persistent:%{uid} on RHEL and
// Fedora), else FILE:/tmp/krb5cc_<uid>; of a collection, its primary
// cache. Every type [CCache] takes works. When that cache does not exist
// or holds nothing, the client keytab named by KRB5_CLIENT_KTNAME (or
// default_client_keytab_name). They are looked up on first use, and the
// cache is re-read as [CCache] says; when none exist, requests fail with
// ErrNoCredentials. On Windows the Transport uses SSPI instead.
func DefaultCredentials() *Credentials {
	return &Credentials{krb: krbSource{kind: krbDefault}}
}

// hasKerberos reports whether c can try Kerberos at all.
func (c *Credentials) hasKerberos() bool {
	return c != nil && (c.krb.kind != krbNone || (c.user != "" && c.password != "") || c.impersonate != nil)
}

// DefaultMaxIdentities is the MaxIdentities of a Transport that sets none.
const DefaultMaxIdentities = 1024

// krbClients keeps one Kerberos client, with its tickets, per identity
// (identity.go), for the life of a Transport: at most MaxIdentities of
// them, the least recently used forgotten first, and a client whose TGT has
// expired beyond renewal is replaced by a fresh one (which, for a cache,
// reads it again).
type krbClients struct {
	once   sync.Once
	cfg    *config.Config
	cfgErr error

	clients *lru[[32]byte, *krb.Client]

	// failures remembers, for a while, that Kerberos cannot work for an
	// identity and SPN (no KDC answered, the SPN is unknown), so that
	// each new connection falls back to NTLM at once instead of waiting
	// for the KDC again.
	failures *lru[krbFailureKey, krbFailure]
}

// krbFailureTTL is how long a Kerberos failure that leads to NTLM is
// remembered.
const krbFailureTTL = time.Minute

type krbFailureKey struct {
	identity [32]byte
	spn      string
}

type krbFailure struct {
	err   error
	until time.Time
}

// recentFailure returns the remembered failure for key, if still fresh.
func (k *krbClients) recentFailure(key krbFailureKey) error {
	f, ok := k.failures.get(key)
	if !ok {
		return nil
	}
	if time.Now().After(f.until) {
		k.failures.remove(key)
		return nil
	}
	return f.err
}

// failed remembers err for key.
func (k *krbClients) failed(key krbFailureKey, err error) {
	k.failures.put(key, krbFailure{err: err, until: time.Now().Add(krbFailureTTL)})
}

// krbConfig loads the Transport's krb5.conf once.
func (t *Transport) krbConfig() (*config.Config, error) {
	k := &t.krb
	k.once.Do(func() {
		if t.Krb5Config != "" {
			k.cfg, k.cfgErr = krb.LoadConfig(t.Krb5Config)
		} else {
			k.cfg, k.cfgErr = krb.DefaultConfig()
		}
		if k.cfgErr != nil {
			k.cfgErr = fmt.Errorf("%w: no Kerberos configuration: %w", ErrNoCredentials, k.cfgErr)
		}
	})
	return k.cfg, k.cfgErr
}

// krbClient returns the Kerberos client for c, whose identity is id, made
// on first use. For a cache or the default source, the client must hold
// the principal id was computed for: a cache rewritten for another user
// between the two reads fails rather than serve one user as another.
func (t *Transport) krbClient(c *Credentials, id identity) (*krb.Client, error) {
	if !c.hasKerberos() {
		return nil, fmt.Errorf("%w for Kerberos", ErrNoCredentials)
	}
	if c.impersonate != nil {
		return t.impersonationClient(c, id)
	}
	cfg, err := t.krbConfig()
	if err != nil && c.krb.kind != krbCCache && c.krb.kind != krbDefault {
		return nil, err
	}
	now := time.Now()
	live := func(kc *krb.Client) bool { return !kc.Expired(now) }
	if kc, ok := t.krb.clients.get(id.key); ok && live(kc) {
		return kc, nil
	}
	// Made outside the lock: a keytab or cache is read from disk.
	kc, err := newKrbClient(c, cfg, t.Krb5Config)
	if err != nil {
		return nil, err
	}
	if k := c.krb.kind; (k == krbCCache || k == krbDefault) && kc.Principal() != id.principal {
		return nil, fmt.Errorf("%w: the ticket cache changed while it was read (it now holds %s); try again", ErrNoCredentials, kc.Principal())
	}
	return t.krb.clients.add(id.key, kc, live), nil
}

func newKrbClient(c *Credentials, cfg *config.Config, cfgPath string) (*krb.Client, error) {
	switch c.krb.kind {
	case krbKeytab:
		kt, err := krb.LoadKeytab(c.krb.path)
		if err != nil {
			return nil, fmt.Errorf("%w: keytab %s: %w", ErrNoCredentials, c.krb.path, err)
		}
		user, realm, _ := strings.Cut(c.krb.principal, "@")
		return krb.NewKeytabClient(user, realm, kt, cfg), nil
	case krbCCache:
		return krb.CacheClient(krb.CacheOptions{Name: c.krb.path, Principal: c.krb.principal, ConfigPath: cfgPath}, cfg)
	case krbDefault:
		return krb.DefaultClientWith(krb.CacheOptions{ConfigPath: cfgPath}, cfg)
	}
	return krb.NewPasswordClient(c.user, c.krbRealm(cfg), c.password, cfg), nil
}

// krbRealm is the realm for explicit credentials: the UPN's domain, a
// `DOMAIN\user` domain that has a dot, else the default realm.
func (c *Credentials) krbRealm(cfg *config.Config) string {
	if c.domain != "" && (c.upn || strings.Contains(c.domain, ".")) {
		return strings.ToUpper(c.domain)
	}
	if cfg != nil {
		return cfg.LibDefaults.DefaultRealm
	}
	return ""
}

// fallbackToNTLM reports whether a Kerberos failure means "Kerberos cannot
// work here" (so NTLM may be tried), rather than "Kerberos said no".
func fallbackToNTLM(err error) bool {
	if errors.Is(err, ErrNotForwardable) {
		// Delegation was demanded; NTLM could not delegate.
		return false
	}
	return errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrUnknownPrincipal) ||
		errors.Is(err, ErrNoSPN) || errors.Is(err, ErrKDCUnreachable)
}
