//go:build !windows

package negotiate

import (
	"context"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// platformNTLM: outside Windows no NTLM credentials come from the system.
func (t *Transport) platformNTLM(*Credentials) bool { return false }

// sspiContext: there is no SSPI outside Windows.
func (t *Transport) sspiContext(context.Context, Scheme, *Credentials, *url.URL, *gss.ChannelBindings) (gss.Context, bool, error) {
	return nil, false, nil
}

// platformDefaultIdentity: outside Windows, DefaultCredentials are the
// Kerberos sources the environment names (identity.go).
func (t *Transport) platformDefaultIdentity(*Credentials) (string, bool) { return "", false }
