// This file makes security contexts: for each scheme, the mechanism that
// answers it, given the credentials, the target and the connection, and
// the one Context type that answers the HTTP side's questions about it.

package mech

import (
	"context"
	"crypto/tls"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/ntlm"
	"github.com/negotiate-go/negotiate/internal/spnego"
)

// ErrUnsupportedScheme: no scheme offered can be used; negotiate
// re-exports it.
var ErrUnsupportedScheme = errors.New("negotiate: no usable authentication scheme offered")

// CanUse reports whether the Factory may answer scheme s with c.
func (f *Factory) CanUse(s Scheme, c *Credentials) bool {
	switch s {
	case NTLM:
		return !f.cfg.DisableNTLM && (c.HasNTLM() || f.platformNTLM(c))
	case Negotiate:
		// With Kerberos credentials, or with NTLM ones inside SPNEGO.
		return c.HasKerberos() || (!f.cfg.DisableNTLM && c.HasNTLM())
	case Basic:
		_, _, ok := c.basicAuth()
		return f.cfg.AllowBasic && ok
	}
	return false
}

// NewContext returns the security context that answers scheme for c (whose
// identity is id) towards target. It may answer another scheme than asked
// (Negotiate falls back to raw NTLM when Kerberos cannot work and
// target.RawNTLM allows it), and says which.
func (f *Factory) NewContext(ctx context.Context, scheme Scheme, c *Credentials, id Identity, target Target) (Context, Scheme, error) {
	cb := f.bindingsFor(target.TLS)
	sc := &secContext{scheme: scheme, proxy: target.Proxy, mutual: f.cfg.Mutual}
	if ok, err := f.platformContext(ctx, sc, c, target.URL, cb); ok || err != nil {
		if err != nil {
			return nil, scheme, err
		}
		return sc, scheme, nil
	}
	switch scheme {
	case NTLM:
		sec, err := f.newNTLM(ctx, c, target.URL, cb)
		if err != nil {
			return nil, scheme, err
		}
		sc.Context = sec
		return sc, scheme, nil
	case Negotiate:
		return f.newNegotiate(ctx, sc, c, id, target, cb)
	case Basic:
		if target.TLS == nil {
			return nil, scheme, errors.New("negotiate: Basic is never sent over plain HTTP")
		}
		user, pass, ok := c.basicAuth()
		if !ok {
			return nil, scheme, gss.ErrNoCredentials
		}
		sc.Context = &basicContext{token: []byte(user + ":" + pass)}
		return sc, scheme, nil
	}
	return nil, scheme, ErrUnsupportedScheme
}

// bindingsFor returns the channel bindings for a connection with TLS state
// st: tls-server-end-point (RFC 5929) over TLS, none over plain HTTP.
func (f *Factory) bindingsFor(st *tls.ConnectionState) *gss.ChannelBindings {
	if st == nil || f.cfg.DisableChannelBindings {
		return nil
	}
	cb, err := gss.FromConnectionState(st)
	if err != nil {
		// A certificate whose signature names no single hash (Ed25519)
		// has no tls-server-end-point binding (RFC 5929 §4.1).
		return nil
	}
	return cb
}

func (f *Factory) newNTLM(ctx context.Context, c *Credentials, u *url.URL, cb *gss.ChannelBindings) (gss.MICContext, error) {
	if f.cfg.DisableNTLM {
		return nil, fmt.Errorf("%w: NTLM is disabled", ErrUnsupportedScheme)
	}
	if !c.HasNTLM() {
		return nil, fmt.Errorf("%w for NTLM", gss.ErrNoCredentials)
	}
	user, domain := c.ntlmUser()
	// MsvAvTargetName names the service as Kerberos would; NTLM also
	// works with an IP literal, which has no SPN: then none is sent.
	spn, _ := f.spnFor(ctx, u)
	return ntlm.NewClient(ntlm.Config{
		User:            user,
		Domain:          domain,
		Password:        c.Password,
		NTHash:          c.NTHash,
		TargetName:      spn,
		ChannelBindings: cb,
	})
}

// newNegotiate makes the context for the Negotiate scheme (RFC 4559): SPNEGO
// over Kerberos, then NTLM. Kerberos's first token is made here, so that
// when Kerberos cannot work (no credentials, no SPN, an unknown SPN, no KDC)
// and the server also offered raw NTLM, raw NTLM is used instead, as Squid
// and Samba verifiers need (FIELD-NOTES). Otherwise SPNEGO carries NTLM,
// with the mechListMIC MS-SPNG requires.
func (f *Factory) newNegotiate(ctx context.Context, sc *secContext, c *Credentials, id Identity, target Target, cb *gss.ChannelBindings) (Context, Scheme, error) {
	u := target.URL
	var mechs []spnego.Mech
	first, krbErr := f.startKerberos(ctx, c, id, u, cb)
	if krbErr == nil {
		sc.krb = first
		mechs = append(mechs, spnego.Mech{
			OIDs: []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos},
			New:  func() (gss.MICContext, error) { return first, nil },
		})
	} else if !fallbackToNTLM(krbErr) {
		return nil, Negotiate, krbErr
	}
	ntlmOK := !f.cfg.DisableNTLM && c.HasNTLM()
	if krbErr != nil && ntlmOK && target.RawNTLM {
		sec, err := f.newNTLM(ctx, c, u, cb)
		if err != nil {
			return nil, NTLM, err
		}
		// Raw NTLM because Kerberos could not work: keep why, so that a
		// failure of NTLM still tells the user about Kerberos.
		sc.Context, sc.scheme, sc.why = sec, NTLM, krbErr
		return sc, NTLM, nil
	}
	if ntlmOK {
		mechs = append(mechs, spnego.Mech{
			OIDs: []asn1.ObjectIdentifier{spnego.OIDNTLM},
			New:  func() (gss.MICContext, error) { return f.newNTLM(ctx, c, u, cb) },
		})
	}
	if len(mechs) == 0 {
		return nil, Negotiate, krbErr
	}
	if krbErr != nil {
		// SPNEGO keeps the first candidate's cause: let it see why
		// Kerberos was dropped, so an NTLM failure still explains it.
		mechs = append([]spnego.Mech{{
			OIDs: []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos},
			New:  func() (gss.MICContext, error) { return nil, krbErr },
		}}, mechs...)
	}
	sc.sp = spnego.NewInitiator(mechs)
	sc.Context = sc.sp
	return sc, Negotiate, nil
}

// secContext is every Context a Factory returns: the mechanism's context,
// and what it takes to answer the HTTP side's questions about it, recorded
// as the context was made.
type secContext struct {
	gss.Context
	scheme Scheme // the scheme it answers
	proxy  bool   // the target is a proxy
	mutual Mutual

	sp  *spnego.Initiator // SPNEGO in Go, or nil
	krb *primed           // the Kerberos context SPNEGO may have chosen, or nil
	why error             // why Kerberos was not used, for raw NTLM standing in

	// sys is the operating system's context (SSPI), which knows what it
	// chose and applies the mutual-authentication policy it was given.
	sys interface {
		NTLM() bool
		CheckMutual(sawToken bool) error
		Close() error
	}
}

// usesNTLM reports whether Negotiate carries NTLM: then it binds the
// connection like raw NTLM, and its first token, an NTLM NEGOTIATE
// message, is sure to be answered with a challenge.
func (c *secContext) usesNTLM() bool {
	if c.sys != nil {
		// The operating system's Negotiate package says what it chose.
		return c.sys.NTLM()
	}
	return c.sp != nil && c.sp.Selected().Equal(spnego.OIDNTLM)
}

func (c *secContext) ConnectionBound(persistentAuth bool) bool {
	switch c.scheme {
	case NTLM:
		return true
	case Negotiate:
		return persistentAuth || c.usesNTLM()
	}
	return false
}

func (c *secContext) FirstLegChallenged() bool {
	return c.scheme == NTLM || (c.scheme == Negotiate && c.usesNTLM())
}

func (c *secContext) CheckMutual(sawToken bool) error {
	if c.proxy && !sawToken {
		// Proxies send no final token (Squid does not).
		return nil
	}
	if c.sys != nil {
		return c.sys.CheckMutual(sawToken)
	}
	// The Kerberos context, if Kerberos is the mechanism in use.
	if c.sp == nil || c.krb == nil || c.sp.Mech() != gss.Context(c.krb) {
		return nil
	}
	if c.mutual != MutualRequired || c.krb.krb.Verified() {
		return nil
	}
	if !sawToken {
		return fmt.Errorf("%w: the server sent no final token", gss.ErrMutualAuth)
	}
	return fmt.Errorf("%w: the final token did not complete the context", gss.ErrMutualAuth)
}

func (c *secContext) Explain(err error) error {
	why := c.why
	if c.sp != nil && c.sp.Selected().Equal(spnego.OIDNTLM) {
		why = c.sp.Dropped()
	}
	if why == nil || err == nil || errors.Is(err, why) {
		return err
	}
	return fmt.Errorf("%w (Kerberos not used: %w)", err, why)
}

func (c *secContext) Close() {
	if c.sys != nil {
		c.sys.Close()
	}
}

// basicContext answers the Basic scheme (RFC 7617): one token, user:password.
type basicContext struct {
	token []byte
	done  bool
}

func (b *basicContext) Step(_ context.Context, in []byte) ([]byte, bool, error) {
	if b.done {
		return nil, false, errors.New("negotiate: Basic has a single leg")
	}
	b.done = true
	return b.token, false, nil
}
