//go:build !windows

package mech

import (
	"context"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// platformNTLM: outside Windows no NTLM credentials come from the system.
func (f *Factory) platformNTLM(*Credentials) bool { return false }

// sspiContext: there is no SSPI outside Windows.
func (f *Factory) sspiContext(context.Context, *secContext, *Credentials, *url.URL, *gss.ChannelBindings) (bool, error) {
	return false, nil
}

// platformDefaultIdentity: outside Windows, DefaultCredentials are the
// Kerberos sources the environment names (identity.go).
func (f *Factory) platformDefaultIdentity(*Credentials) (string, bool) { return "", false }
