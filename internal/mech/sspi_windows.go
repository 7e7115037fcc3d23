//go:build windows

// This file plugs Windows' SSPI (internal/sspi) into the Factory: which
// package answers which scheme, with which credentials, target and
// requirements.

package mech

import (
	"context"
	"net/url"
	"os/user"
	"sync"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/sspi"
)

// platformNTLM reports whether SSPI can answer NTLM for c: the logged-on
// user's credentials, unless the policy keeps SSPI out.
func (f *Factory) platformNTLM(c *Credentials) bool {
	return c != nil && c.Kind == KindDefault && f.cfg.SSPI != SSPINever
}

// SystemSSPI returns secur32's function table; the tests (package
// negotiate's, under Wine) replace it.
var SystemSSPI = sspi.System

// sspiContext puts an SSPI context for sc's scheme in sc, or returns
// ok=false to leave the request to the pure-Go mechanisms: for Basic, for
// credentials SSPI cannot take (an NT hash, a keytab, a ticket cache file),
// and when secur32 is missing. platformContext has already applied the
// SSPI policy.
func (f *Factory) sspiContext(ctx context.Context, sc *secContext, c *Credentials, u *url.URL, cb *gss.ChannelBindings) (bool, error) {
	var pkg string
	switch sc.scheme {
	case Negotiate:
		pkg = sspi.PackageNegotiate
	case NTLM:
		if f.cfg.DisableNTLM {
			return false, nil
		}
		pkg = sspi.PackageNTLM
	default:
		return false, nil
	}
	var id *sspi.Identity
	switch {
	case c == nil:
		return false, nil
	case c.Kind == KindDefault:
		// The logged-on user: no authentication data.
	case c.Kind == KindExplicit && c.User != "" && c.Password != "":
		// As users type it: DOMAIN\user splits; a UPN goes whole in the
		// user field with no domain; a bare user has no domain.
		user, domain := c.ntlmUser()
		id = &sspi.Identity{User: user, Domain: domain, Password: c.Password}
	default:
		return false, nil
	}
	api, err := SystemSSPI()
	if err != nil {
		return false, nil
	}
	// The same SPN as the pure-Go path. With none (an IP literal), no
	// target goes to SSPI, which leaves Negotiate only NTLM.
	target, err := f.spnFor(ctx, u)
	if err != nil {
		if sc.scheme == Negotiate && f.cfg.DisableNTLM {
			return true, err
		}
		target = ""
	}
	sec, err := sspi.New(api, sspi.Config{
		Package:       pkg,
		Identity:      id,
		Target:        target,
		Mutual:        f.cfg.Mutual != MutualDisabled,
		RequireMutual: f.cfg.Mutual == MutualRequired,
		// Windows delegates only where the KDC allows it, so "always"
		// cannot mean more than "policy" here.
		Delegate:        f.cfg.Delegation != DelegateNone,
		ChannelBindings: cb,
		DisableNTLM:     f.cfg.DisableNTLM,
	})
	if err != nil {
		return true, err
	}
	sc.Context, sc.sys = sec, sec
	return true, nil
}

// platformDefaultIdentity returns the identity name of DefaultCredentials
// when SSPI answers for them: the logged-on user of the process (its SID),
// whose logon session SSPI uses.
func (f *Factory) platformDefaultIdentity(c *Credentials) (string, bool) {
	if f.cfg.SSPI == SSPINever {
		return "", false
	}
	if _, err := SystemSSPI(); err != nil {
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
