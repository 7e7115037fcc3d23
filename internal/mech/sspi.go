package mech

import (
	"context"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// platformContext puts the operating system's context for sc's scheme in
// sc and returns ok, or returns ok=false when the pure-Go mechanisms are
// to be used: always outside Windows, and under the SSPI policy. The SSPI
// side is implemented per platform (sspi_*.go).
func (f *Factory) platformContext(ctx context.Context, sc *secContext, c *Credentials, u *url.URL, cb *gss.ChannelBindings) (ok bool, err error) {
	if f.cfg.SSPI == SSPINever || c == nil {
		return false, nil
	}
	if c.Kind != KindDefault && f.cfg.SSPI != SSPIAlways {
		return false, nil
	}
	return f.sspiContext(ctx, sc, c, u, cb)
}
