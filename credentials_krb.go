package negotiate

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
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
	principal string // for a keytab: user@REALM
	path      string // keytab or ccache path
}

func (s krbSource) String() string {
	switch s.kind {
	case krbKeytab:
		return s.principal + " (keytab " + s.path + ")"
	case krbCCache:
		return "ticket cache " + s.path
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
	return &Credentials{krb: krbSource{kind: krbKeytab, principal: principal, path: path}}
}

// CCache returns Kerberos credentials from the MIT FILE credential cache at
// path (as kinit writes it; a "FILE:" prefix is allowed). A cache holding
// only a service ticket still works for that service. The cache is read on
// first use; tickets cannot be got again once its TGT expires.
func CCache(path string) *Credentials {
	return &Credentials{krb: krbSource{kind: krbCCache, path: strings.TrimPrefix(path, "FILE:")}}
}

// DefaultCredentials returns the credentials of the environment, what
// `curl --negotiate -u :` uses: the ticket cache named by KRB5CCNAME (FILE
// caches), else /tmp/krb5cc_<uid>, else the client keytab named by
// KRB5_CLIENT_KTNAME. They are looked up on first use; when none exist,
// requests fail with ErrNoCredentials.
func DefaultCredentials() *Credentials {
	return &Credentials{krb: krbSource{kind: krbDefault}}
}

// hasKerberos reports whether c can try Kerberos at all.
func (c *Credentials) hasKerberos() bool {
	return c != nil && (c.krb.kind != krbNone || (c.user != "" && c.password != "") || c.impersonate != nil)
}

// krbClients caches one Kerberos client, with its tickets, per Credentials
// for the life of a Transport.
type krbClients struct {
	once   sync.Once
	cfg    *config.Config
	cfgErr error

	mu      sync.Mutex
	clients map[*Credentials]*krb.Client
	// impersonated holds the clients of Impersonate credentials, by
	// service credentials and user (impersonate.go).
	impersonated map[impersonationKey]*krb.Client

	// failures remembers, for a while, that Kerberos cannot work for a
	// Credentials and SPN (no KDC answered, the SPN is unknown), so that
	// each new connection falls back to NTLM at once instead of waiting
	// for the KDC again.
	failures map[krbFailureKey]krbFailure
}

// krbFailureTTL is how long a Kerberos failure that leads to NTLM is
// remembered.
const krbFailureTTL = time.Minute

type krbFailureKey struct {
	creds *Credentials
	spn   string
}

type krbFailure struct {
	err   error
	until time.Time
}

// recentFailure returns the remembered failure for key, if still fresh.
func (k *krbClients) recentFailure(key krbFailureKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	f, ok := k.failures[key]
	if !ok || time.Now().After(f.until) {
		delete(k.failures, key)
		return nil
	}
	return f.err
}

// failed remembers err for key.
func (k *krbClients) failed(key krbFailureKey, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failures == nil {
		k.failures = make(map[krbFailureKey]krbFailure)
	}
	k.failures[key] = krbFailure{err: err, until: time.Now().Add(krbFailureTTL)}
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

// krbClient returns the Kerberos client for c, made on first use.
func (t *Transport) krbClient(c *Credentials) (*krb.Client, error) {
	if !c.hasKerberos() {
		return nil, fmt.Errorf("%w for Kerberos", ErrNoCredentials)
	}
	if c.impersonate != nil {
		return t.impersonationClient(c)
	}
	cfg, err := t.krbConfig()
	if err != nil && c.krb.kind != krbCCache && c.krb.kind != krbDefault {
		return nil, err
	}
	t.krb.mu.Lock()
	defer t.krb.mu.Unlock()
	if kc := t.krb.clients[c]; kc != nil {
		return kc, nil
	}
	kc, err := newKrbClient(c, cfg)
	if err != nil {
		return nil, err
	}
	if t.krb.clients == nil {
		t.krb.clients = make(map[*Credentials]*krb.Client)
	}
	t.krb.clients[c] = kc
	return kc, nil
}

func newKrbClient(c *Credentials, cfg *config.Config) (*krb.Client, error) {
	switch c.krb.kind {
	case krbKeytab:
		kt, err := keytab.Load(c.krb.path)
		if err != nil {
			return nil, fmt.Errorf("%w: keytab %s: %w", ErrNoCredentials, c.krb.path, err)
		}
		user, realm, _ := strings.Cut(c.krb.principal, "@")
		return krb.NewKeytabClient(user, realm, kt, cfg), nil
	case krbCCache:
		cc, err := credentials.LoadCCache(c.krb.path)
		if err != nil {
			return nil, fmt.Errorf("%w: ticket cache %s: %w", ErrNoCredentials, c.krb.path, err)
		}
		return krb.NewCCacheClient(cc, cfg)
	case krbDefault:
		return krb.DefaultClient(cfg)
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
