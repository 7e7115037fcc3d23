//go:build windows

package negotiate

import (
	"context"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// sspiContext: SSPI mechanism (issue 9) goes here; until then the pure-Go mechanisms serve Windows too.
func (t *Transport) sspiContext(context.Context, Scheme, *Credentials, *url.URL, *gss.ChannelBindings) (gss.Context, bool, error) {
	return nil, false, nil
}
