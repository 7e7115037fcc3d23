// This file is the root's seam to the mechanisms (internal/mech): the
// Factory made from a snapshot of the Transport's settings, and the few
// calls the HTTP side makes through it. Everything mechanism-specific
// (NTLM, Kerberos, SPNEGO, SSPI, SPNs, Kerberos clients per identity) is
// behind it.

package negotiate

import (
	"context"

	"github.com/negotiate-go/negotiate/internal/mech"
)

// identity says who a request authenticates as (see [Credentials]); the
// zero identity is "no credentials".
type identity = mech.Identity

// newMech makes the Transport's mechanism Factory from its settings, once,
// in init. Scheme, MutualAuth, Delegation and SSPIPolicy have the values of
// their mech counterparts.
func (t *Transport) newMech() *mech.Factory {
	maxIDs := t.MaxIdentities
	if maxIDs <= 0 {
		maxIDs = DefaultMaxIdentities
	}
	kdcTimeout := t.KDCTimeout
	if kdcTimeout <= 0 {
		kdcTimeout = DefaultKDCTimeout
	}
	return mech.New(mech.Config{
		Krb5Config: t.Krb5Config,
		SPN: mech.SPNPolicy{
			Hosts:        t.SPN.Hosts,
			Service:      t.SPN.Service,
			IncludePort:  t.SPN.IncludePort,
			Canonicalize: t.SPN.Canonicalize,
			Resolver:     t.SPN.Resolver,
		},
		Mutual:                 mech.Mutual(t.Mutual),
		Delegation:             mech.Delegation(t.Delegation),
		KDCTimeout:             kdcTimeout,
		DisableNTLM:            t.DisableNTLM,
		DisableChannelBindings: t.DisableChannelBindings,
		AllowBasic:             t.AllowBasic,
		SSPI:                   mech.SSPIPolicy(t.SSPI),
		MaxIdentities:          maxIDs,
	})
}

// canUse reports whether the Transport may answer scheme with c.
func (t *Transport) canUse(s Scheme, c *Credentials) bool {
	return t.mech.CanUse(mech.Scheme(s), c.mc())
}

// newContext returns the security context that answers scheme for c, whose
// identity is id, towards target. It may answer another scheme than asked
// (Negotiate falls back to raw NTLM when Kerberos cannot work and
// target.RawNTLM says the peer offered NTLM and the peer's preference
// allows it), and says which.
func (t *Transport) newContext(ctx context.Context, scheme Scheme, c *Credentials, id identity, target mech.Target) (mech.Context, Scheme, error) {
	sec, s, err := t.mech.NewContext(ctx, mech.Scheme(scheme), c.mc(), id, target)
	return sec, Scheme(s), err
}

// identityOf returns the identity of c as of now (see [Credentials]).
func (t *Transport) identityOf(c *Credentials) identity {
	if c == nil {
		return identity{}
	}
	return t.mech.Identity(c.mc())
}

// prefers reports whether s is among the schemes the Transport may choose
// with origins, or with the proxy: ProxyPreference, else Preference.
func (t *Transport) prefers(proxy bool, s Scheme) bool {
	prefer := t.Preference
	if proxy && t.ProxyPreference != nil {
		prefer = t.ProxyPreference
	}
	if prefer == nil {
		prefer = defaultPreference()
	}
	for _, p := range prefer {
		if p == s {
			return true
		}
	}
	return false
}
