// This file holds the Kerberos side of a Factory: the configuration, a
// client per identity, the failures NTLM stands in for, and the start of
// a Kerberos context.

package mech

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb"
)

// ErrNotForwardable: DelegateAlways, but the TGT is not forwardable. It
// also matches gss.ErrNoCredentials.
var ErrNotForwardable = krb.ErrNotForwardable

// failureTTL is how long a Kerberos failure that leads to NTLM is
// remembered.
const failureTTL = time.Minute

type failureKey struct {
	identity [32]byte
	spn      string
}

type failure struct {
	err   error
	until time.Time
}

// recentFailure returns the remembered failure for key, if still fresh.
func (f *Factory) recentFailure(key failureKey) error {
	v, ok := f.failures.Get(key)
	if !ok {
		return nil
	}
	if time.Now().After(v.until) {
		f.failures.Remove(key)
		return nil
	}
	return v.err
}

// failed remembers err for key.
func (f *Factory) failed(key failureKey, err error) {
	f.failures.Put(key, failure{err: err, until: time.Now().Add(failureTTL)})
}

// KerberosClients returns how many Kerberos clients (one per identity) the
// Factory keeps.
func (f *Factory) KerberosClients() int { return f.clients.Len() }

// krbConfig loads the krb5.conf once.
func (f *Factory) krbConfig() (*config.Config, error) {
	f.krbOnce.Do(func() {
		if f.cfg.Krb5Config != "" {
			f.krbCfg, f.krbCfgErr = krb.LoadConfig(f.cfg.Krb5Config)
		} else {
			f.krbCfg, f.krbCfgErr = krb.DefaultConfig()
		}
		if f.krbCfgErr != nil {
			f.krbCfgErr = fmt.Errorf("%w: no Kerberos configuration: %w", gss.ErrNoCredentials, f.krbCfgErr)
		}
	})
	return f.krbCfg, f.krbCfgErr
}

// krbClient returns the Kerberos client for c, whose identity is id, made
// on first use; a client whose TGT has expired beyond renewal is replaced
// by a fresh one (which, for a cache, reads it again). For a cache or the
// default source, the client must hold the principal id was computed for:
// a cache rewritten for another user between the two reads fails rather
// than serve one user as another.
func (f *Factory) krbClient(c *Credentials, id Identity) (*krb.Client, error) {
	if !c.HasKerberos() {
		return nil, fmt.Errorf("%w for Kerberos", gss.ErrNoCredentials)
	}
	if c.Impersonate != nil {
		return f.impersonationClient(c, id)
	}
	cfg, err := f.krbConfig()
	if err != nil && c.Kind != KindCCache && c.Kind != KindDefault {
		return nil, err
	}
	now := time.Now()
	live := func(kc *krb.Client) bool { return !kc.Expired(now) }
	if kc, ok := f.clients.Get(id.key); ok && live(kc) {
		return kc, nil
	}
	// Made outside the lock: a keytab or cache is read from disk.
	kc, err := newKrbClient(c, cfg, f.cfg.Krb5Config)
	if err != nil {
		return nil, err
	}
	if k := c.Kind; (k == KindCCache || k == KindDefault) && kc.Principal() != id.principal {
		return nil, fmt.Errorf("%w: the ticket cache changed while it was read (it now holds %s); try again", gss.ErrNoCredentials, kc.Principal())
	}
	return f.clients.Add(id.key, kc, live), nil
}

func newKrbClient(c *Credentials, cfg *config.Config, cfgPath string) (*krb.Client, error) {
	switch c.Kind {
	case KindKeytab:
		kt, err := krb.LoadKeytab(c.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: keytab %s: %w", gss.ErrNoCredentials, c.Path, err)
		}
		user, realm, _ := strings.Cut(c.Principal, "@")
		return krb.NewKeytabClient(user, realm, kt, cfg), nil
	case KindCCache:
		return krb.CacheClient(krb.CacheOptions{Name: c.Path, Principal: c.Principal, ConfigPath: cfgPath}, cfg)
	case KindDefault:
		return krb.DefaultClientWith(krb.CacheOptions{ConfigPath: cfgPath}, cfg)
	}
	return krb.NewPasswordClient(c.User, c.krbRealm(cfg), c.Password, cfg), nil
}

// krbRealm is the realm for explicit credentials: the UPN's domain, a
// `DOMAIN\user` domain that has a dot, else the default realm.
func (c *Credentials) krbRealm(cfg *config.Config) string {
	if c.Domain != "" && (c.UPN || strings.Contains(c.Domain, ".")) {
		return strings.ToUpper(c.Domain)
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
	return errors.Is(err, gss.ErrNoCredentials) || errors.Is(err, gss.ErrUnknownPrincipal) ||
		errors.Is(err, gss.ErrNoSPN) || errors.Is(err, gss.ErrKDCUnreachable)
}

// startKerberos makes a Kerberos context for u and its first token, so a
// failure shows before anything is sent.
func (f *Factory) startKerberos(ctx context.Context, c *Credentials, id Identity, u *url.URL, cb *gss.ChannelBindings) (*primed, error) {
	if !c.HasKerberos() {
		return nil, fmt.Errorf("%w for Kerberos", gss.ErrNoCredentials)
	}
	spn, err := f.spnFor(ctx, u)
	if err != nil {
		return nil, err
	}
	kc, err := f.krbClient(c, id)
	if err != nil {
		return nil, err
	}
	key := failureKey{id.key, spn}
	if err := f.recentFailure(key); err != nil {
		return nil, err
	}
	init := krb.NewInitiator(kc, spn, krb.InitiatorOptions{
		Mutual:          f.cfg.Mutual != MutualDisabled,
		ChannelBindings: cb,
		Delegation:      krbDelegation(f.cfg.Delegation),
	})
	kctx, cancel := context.WithTimeout(ctx, f.kdcBudget(ctx))
	defer cancel()
	out, cont, err := init.Step(kctx, nil)
	if err != nil {
		if fallbackToNTLM(err) && ctx.Err() == nil && !f.cfg.DisableNTLM && c.HasNTLM() {
			// Remembered only where NTLM stands in: without it, every
			// request asks the KDC again, so Kerberos recovers at once.
			f.failed(key, err)
		}
		return nil, err
	}
	return &primed{MICContext: init, krb: init, out: out, cont: cont}, nil
}

// krbDelegation maps the delegation policy onto the mechanism's.
func krbDelegation(d Delegation) krb.Delegation {
	switch d {
	case DelegatePolicy:
		return krb.DelegateIfOKAsDelegate
	case DelegateAlways:
		return krb.DelegateAlways
	}
	return krb.DelegateNone
}

// kdcBudget is how long the KDC exchanges of one request may take:
// KDCTimeout, and at most half the time left before ctx's deadline, so that
// when no KDC answers, NTLM still has time to stand in.
func (f *Factory) kdcBudget(ctx context.Context) time.Duration {
	budget := f.cfg.KDCTimeout
	if deadline, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(deadline)/2)
	}
	return budget
}

// primed is a Kerberos context whose first Step has already run: it
// replays that step's result, then steps the context itself.
type primed struct {
	gss.MICContext
	krb     *krb.Initiator
	out     []byte
	cont    bool
	started bool
}

func (p *primed) Step(ctx context.Context, in []byte) ([]byte, bool, error) {
	if !p.started && in == nil {
		p.started = true
		return p.out, p.cont, nil
	}
	p.started = true
	return p.MICContext.Step(ctx, in)
}

// impersonationClient returns the Kerberos client of impersonating
// credentials c, whose identity is id (the pair of the service's identity
// and the user), made on first use and kept with the other identities'
// clients. It shares the client of the service credentials, so that the
// service's TGT serves every user it impersonates.
func (f *Factory) impersonationClient(c *Credentials, id Identity) (*krb.Client, error) {
	svc := c.Impersonate.Service
	if svc == nil || svc.Impersonate != nil {
		return nil, fmt.Errorf("%w: Impersonate needs the service's own Kerberos credentials", gss.ErrNoCredentials)
	}
	sc, err := f.krbClient(svc, f.Identity(svc))
	if err != nil {
		return nil, err
	}
	if kc, ok := f.clients.Get(id.key); ok {
		return kc, nil
	}
	return f.clients.Add(id.key, krb.NewImpersonationClient(sc, c.Impersonate.User), func(*krb.Client) bool { return true }), nil
}
