package negotiate

import (
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb"
	"github.com/negotiate-go/negotiate/internal/spnego"
)

// negotiateUsable reports whether the Negotiate scheme can be tried with c:
// with Kerberos credentials, or with NTLM ones inside SPNEGO.
func (t *Transport) negotiateUsable(c *Credentials) bool {
	return c.hasKerberos() || (!t.DisableNTLM && c.hasNTLM())
}

// newNegotiate makes the context for the Negotiate scheme (RFC 4559): SPNEGO
// over Kerberos, then NTLM. Kerberos's first token is made here, so that
// when Kerberos cannot work (no credentials, no SPN, an unknown SPN, no KDC)
// and the server also offered raw NTLM, raw NTLM is used instead, as Squid
// and Samba verifiers need (FIELD-NOTES). Otherwise SPNEGO carries NTLM,
// with the mechListMIC MS-SPNG requires.
func (t *Transport) newNegotiate(ctx context.Context, c *Credentials, id identity, u *url.URL, cb *gss.ChannelBindings, rawNTLM bool) (gss.Context, Scheme, error) {
	var mechs []spnego.Mech
	first, krbErr := t.startKerberos(ctx, c, id, u, cb)
	if krbErr == nil {
		mechs = append(mechs, spnego.Mech{
			OIDs: []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos},
			New:  func() (gss.MICContext, error) { return first, nil },
		})
	} else if !fallbackToNTLM(krbErr) {
		return nil, SchemeNegotiate, krbErr
	}
	ntlmOK := !t.DisableNTLM && c.hasNTLM()
	if krbErr != nil && ntlmOK && rawNTLM {
		sec, err := t.newNTLM(ctx, c, u, cb)
		if err != nil {
			return nil, SchemeNTLM, err
		}
		return &ntlmInstead{MICContext: sec, why: krbErr}, SchemeNTLM, nil
	}
	if ntlmOK {
		mechs = append(mechs, spnego.Mech{
			OIDs: []asn1.ObjectIdentifier{spnego.OIDNTLM},
			New:  func() (gss.MICContext, error) { return t.newNTLM(ctx, c, u, cb) },
		})
	}
	if len(mechs) == 0 {
		return nil, SchemeNegotiate, krbErr
	}
	if krbErr != nil {
		// SPNEGO keeps the first candidate's cause: let it see why
		// Kerberos was dropped, so an NTLM failure still explains it.
		mechs = append([]spnego.Mech{{
			OIDs: []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos},
			New:  func() (gss.MICContext, error) { return nil, krbErr },
		}}, mechs...)
	}
	return spnego.NewInitiator(mechs), SchemeNegotiate, nil
}

// startKerberos makes a Kerberos context for u and its first token, so a
// failure shows before anything is sent.
func (t *Transport) startKerberos(ctx context.Context, c *Credentials, id identity, u *url.URL, cb *gss.ChannelBindings) (gss.MICContext, error) {
	if !c.hasKerberos() {
		return nil, fmt.Errorf("%w for Kerberos", ErrNoCredentials)
	}
	spn, err := t.spnFor(ctx, u)
	if err != nil {
		return nil, err
	}
	kc, err := t.krbClient(c, id)
	if err != nil {
		return nil, err
	}
	key := krbFailureKey{id.key, spn}
	if err := t.krb.recentFailure(key); err != nil {
		return nil, err
	}
	init := krb.NewInitiator(kc, spn, krb.InitiatorOptions{
		Mutual:          t.Mutual != MutualDisabled,
		ChannelBindings: cb,
		Delegation:      krbDelegation(t.Delegation),
	})
	kctx, cancel := context.WithTimeout(ctx, t.kdcBudget(ctx))
	defer cancel()
	out, cont, err := init.Step(kctx, nil)
	if err != nil {
		if fallbackToNTLM(err) && ctx.Err() == nil && !t.DisableNTLM && c.hasNTLM() {
			// Remembered only where NTLM stands in: without it, every
			// request asks the KDC again, so Kerberos recovers at once.
			t.krb.failed(key, err)
		}
		return nil, err
	}
	return &primed{MICContext: init, out: out, cont: cont}, nil
}

// krbDelegation maps the Transport's delegation policy onto the mechanism's.
func krbDelegation(d Delegation) krb.Delegation {
	switch d {
	case DelegatePolicy:
		return krb.DelegateIfOKAsDelegate
	case DelegateAlways:
		return krb.DelegateAlways
	}
	return krb.DelegateNone
}

// kdcBudget is how long the KDC exchanges of one request may take: KDCTimeout,
// and at most half the time left before ctx's deadline, so that when no KDC
// answers, NTLM still has time to stand in.
func (t *Transport) kdcBudget(ctx context.Context) time.Duration {
	budget := t.KDCTimeout
	if budget <= 0 {
		budget = DefaultKDCTimeout
	}
	if deadline, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(deadline)/2)
	}
	return budget
}

// primed is a context whose first Step has already run: it replays that
// step's result, then steps the context itself.
type primed struct {
	gss.MICContext
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

// ntlmInstead is raw NTLM used because Kerberos could not work; it keeps
// why, so that a failure of NTLM still tells the user about Kerberos.
type ntlmInstead struct {
	gss.MICContext
	why error
}

// explain adds to err why Kerberos was not used, when NTLM stood in for it.
func explain(sec gss.Context, err error) error {
	var why error
	switch s := sec.(type) {
	case *ntlmInstead:
		why = s.why
	case *spnego.Initiator:
		if s.Selected().Equal(spnego.OIDNTLM) {
			why = s.Dropped()
		}
	}
	if why == nil || err == nil || errors.Is(err, why) {
		return err
	}
	return fmt.Errorf("%w (Kerberos not used: %w)", err, why)
}

// kerberosOf returns the Kerberos context inside sec, if Kerberos is the
// mechanism in use.
func kerberosOf(sec gss.Context) *krb.Initiator {
	if sp, ok := sec.(*spnego.Initiator); ok {
		sec = sp.Mech()
	}
	if p, ok := sec.(*primed); ok {
		sec = p.MICContext
	}
	k, _ := sec.(*krb.Initiator)
	return k
}

// checkMutual applies the mutual-authentication policy once the server has
// accepted: under MutualRequired a Kerberos context must have verified the
// server's AP-REP. sawToken says whether the response carried a final token.
func (t *Transport) checkMutual(sec gss.Context, sawToken bool) error {
	if m, ok := sec.(interface{ CheckMutual(sawToken bool) error }); ok {
		// The operating system's context applies the policy it was given.
		return m.CheckMutual(sawToken)
	}
	k := kerberosOf(sec)
	if k == nil || t.Mutual != MutualRequired || k.Verified() {
		return nil
	}
	if !sawToken {
		return fmt.Errorf("%w: the server sent no final token", ErrMutualAuth)
	}
	return fmt.Errorf("%w: the final token did not complete the context", ErrMutualAuth)
}

// spnegoNTLM reports whether SPNEGO carries NTLM: then it binds the
// connection like raw NTLM, and its first token, an NTLM NEGOTIATE
// message, is sure to be answered with a challenge.
func spnegoNTLM(sec gss.Context) bool {
	if n, ok := sec.(interface{ NTLM() bool }); ok {
		// The operating system's Negotiate package says what it chose.
		return n.NTLM()
	}
	sp, ok := sec.(*spnego.Initiator)
	return ok && sp.Selected().Equal(spnego.OIDNTLM)
}
