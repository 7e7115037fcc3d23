//go:build windows

// This file plugs Windows' SSPI (internal/sspi) into the Transport: which
// package answers which scheme, with which credentials, target and
// requirements.

package negotiate

import (
	"context"
	"net/url"
	"os/user"
	"sync"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/sspi"
)

// platformNTLM reports whether SSPI can answer NTLM for c: the logged-on
// user's credentials, unless the Transport keeps SSPI out.
func (t *Transport) platformNTLM(c *Credentials) bool {
	return c != nil && c.krb.kind == krbDefault && t.SSPI != SSPINever
}

// systemSSPI returns secur32's function table; the tests replace it.
var systemSSPI = sspi.System

// sspiContext returns an SSPI context for scheme, or ok=false to leave the
// request to the pure-Go mechanisms: for Basic, for credentials SSPI cannot
// take (an NT hash, a keytab, a ticket cache file), and when secur32 is
// missing. platformContext has already applied Transport.SSPI.
func (t *Transport) sspiContext(ctx context.Context, scheme Scheme, c *Credentials, u *url.URL, cb *gss.ChannelBindings) (gss.Context, bool, error) {
	var pkg string
	switch scheme {
	case SchemeNegotiate:
		pkg = sspi.PackageNegotiate
	case SchemeNTLM:
		if t.DisableNTLM {
			return nil, false, nil
		}
		pkg = sspi.PackageNTLM
	default:
		return nil, false, nil
	}
	var id *sspi.Identity
	switch {
	case c == nil:
		return nil, false, nil
	case c.krb.kind == krbDefault:
		// The logged-on user: no authentication data.
	case c.krb.kind == krbNone && c.user != "" && c.password != "":
		// As users type it: DOMAIN\user splits; a UPN goes whole in the
		// user field with no domain; a bare user has no domain.
		user, domain := c.ntlmUser()
		id = &sspi.Identity{User: user, Domain: domain, Password: c.password}
	default:
		return nil, false, nil
	}
	api, err := systemSSPI()
	if err != nil {
		return nil, false, nil
	}
	// The same SPN as the pure-Go path. With none (an IP literal), no
	// target goes to SSPI, which leaves Negotiate only NTLM.
	target, err := t.spnFor(ctx, u)
	if err != nil {
		if scheme == SchemeNegotiate && t.DisableNTLM {
			return nil, true, err
		}
		target = ""
	}
	sec, err := sspi.New(api, sspi.Config{
		Package:       pkg,
		Identity:      id,
		Target:        target,
		Mutual:        t.Mutual != MutualDisabled,
		RequireMutual: t.Mutual == MutualRequired,
		// Windows delegates only where the KDC allows it, so "always"
		// cannot mean more than "policy" here.
		Delegate:        t.Delegation != DelegateNone,
		ChannelBindings: cb,
		DisableNTLM:     t.DisableNTLM,
	})
	if err != nil {
		return nil, true, err
	}
	return sec, true, nil
}

// platformDefaultIdentity returns the identity name of DefaultCredentials
// when SSPI answers for them: the logged-on user of the process (its SID),
// whose logon session SSPI uses.
func (t *Transport) platformDefaultIdentity(c *Credentials) (string, bool) {
	if t.SSPI == SSPINever {
		return "", false
	}
	if _, err := systemSSPI(); err != nil {
		return "", false
	}
	return processUserSID(), true
}

var processUserSID = sync.OnceValue(func() string {
	u, err := user.Current()
	if err != nil {
		return "sspi:unknown"
	}
	return "sspi:" + u.Uid
})
