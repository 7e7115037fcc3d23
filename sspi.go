package negotiate

import (
	"context"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// SSPIPolicy says when the operating system's security packages (SSPI, on
// Windows) authenticate instead of the pure-Go mechanisms. On other
// systems SSPI does not exist and every setting means SSPINever.
type SSPIPolicy int

const (
	// SSPIForDefaultCredentials, the zero value: SSPI authenticates as the
	// logged-on user when the credentials are DefaultCredentials (what
	// browsers, curl and .NET's DefaultCredentials do); explicit
	// credentials use the pure-Go mechanisms.
	SSPIForDefaultCredentials SSPIPolicy = iota
	// SSPIAlways: SSPI for explicit credentials too.
	SSPIAlways
	// SSPINever: the pure-Go mechanisms only.
	SSPINever
)

// platformContext returns the operating system's context for scheme, or
// ok=false when the pure-Go mechanisms are to be used. It is implemented
// per platform (platform_*.go).
func (t *Transport) platformContext(ctx context.Context, scheme Scheme, c *Credentials, u *url.URL, cb *gss.ChannelBindings) (sec gss.Context, ok bool, err error) {
	if t.SSPI == SSPINever {
		return nil, false, nil
	}
	if c.krb.kind != krbDefault && t.SSPI != SSPIAlways {
		return nil, false, nil
	}
	return t.sspiContext(ctx, scheme, c, u, cb)
}
