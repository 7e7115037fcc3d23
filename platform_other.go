//go:build !windows

package negotiate

import (
	"context"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// sspiContext: there is no SSPI outside Windows.
func (t *Transport) sspiContext(context.Context, Scheme, *Credentials, *url.URL, *gss.ChannelBindings) (gss.Context, bool, error) {
	return nil, false, nil
}
