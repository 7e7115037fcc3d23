// This file makes security contexts: for each scheme, the mechanism that
// answers it, given the credentials, the target and the connection.

package negotiate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/ntlm"
)

// canUse reports whether the Transport may answer scheme with c.
func (t *Transport) canUse(s Scheme, c *Credentials) bool {
	switch s {
	case SchemeNTLM:
		return !t.DisableNTLM && (c.hasNTLM() || t.platformNTLM(c))
	case SchemeNegotiate:
		return t.negotiateUsable(c)
	case SchemeBasic:
		_, _, ok := c.basicAuth()
		return t.AllowBasic && ok
	}
	return false
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

// newContext returns the security context that answers scheme for a
// request to u over a connection with TLS state st (nil: plain HTTP). It may
// answer another scheme than asked (Negotiate falls back to raw NTLM when
// Kerberos cannot work and rawNTLM says the peer offered NTLM and the
// peer's preference allows it), and says which.
func (t *Transport) newContext(ctx context.Context, scheme Scheme, c *Credentials, id identity, u *url.URL, st *tls.ConnectionState, rawNTLM bool) (gss.Context, Scheme, error) {
	cb := t.bindingsFor(st)
	if sec, ok, err := t.platformContext(ctx, scheme, c, u, cb); ok || err != nil {
		return sec, scheme, err
	}
	switch scheme {
	case SchemeNTLM:
		sec, err := t.newNTLM(ctx, c, u, cb)
		return sec, scheme, err
	case SchemeNegotiate:
		return t.newNegotiate(ctx, c, id, u, cb, rawNTLM)
	case SchemeBasic:
		if st == nil {
			return nil, scheme, errors.New("negotiate: Basic is never sent over plain HTTP")
		}
		user, pass, ok := c.basicAuth()
		if !ok {
			return nil, scheme, ErrNoCredentials
		}
		return &basicContext{token: []byte(user + ":" + pass)}, scheme, nil
	}
	return nil, scheme, ErrUnsupportedScheme
}

// bindingsFor returns the channel bindings for a connection with TLS state
// st: tls-server-end-point (RFC 5929) over TLS, none over plain HTTP.
func (t *Transport) bindingsFor(st *tls.ConnectionState) *gss.ChannelBindings {
	if st == nil || t.DisableChannelBindings {
		return nil
	}
	return channelBindings(st)
}

func (t *Transport) newNTLM(ctx context.Context, c *Credentials, u *url.URL, cb *gss.ChannelBindings) (gss.MICContext, error) {
	if t.DisableNTLM {
		return nil, fmt.Errorf("%w: NTLM is disabled", ErrUnsupportedScheme)
	}
	if !c.hasNTLM() {
		return nil, fmt.Errorf("%w for NTLM", ErrNoCredentials)
	}
	user, domain := c.ntlmUser()
	// MsvAvTargetName names the service as Kerberos would; NTLM also
	// works with an IP literal, which has no SPN: then none is sent.
	spn, _ := t.spnFor(ctx, u)
	return ntlm.NewClient(ntlm.Config{
		User:            user,
		Domain:          domain,
		Password:        c.password,
		NTHash:          c.ntHash,
		TargetName:      spn,
		ChannelBindings: cb,
	})
}

// opensWithNegotiateMessage reports whether a context's first token is
// NTLM's NEGOTIATE message (raw or in SPNEGO), which is sure to be answered
// with a challenge rather than the final response, so its leg can go
// without the body.
func opensWithNegotiateMessage(sec gss.Context, scheme Scheme) bool {
	return scheme == SchemeNTLM || spnegoNTLM(sec)
}

// connectionBound reports whether the server keeps the connection
// authenticated after resp, so that later requests need no token: always for
// NTLM, and for Negotiate when the server says "Persistent-Auth: true"
// (IIS, Apache's GssapiConnectionBound).
func connectionBound(scheme Scheme, sec gss.Context, resp *http.Response) bool {
	switch scheme {
	case SchemeNTLM:
		return true
	case SchemeNegotiate:
		return resp.Header.Get("Persistent-Auth") == "true" || spnegoNTLM(sec)
	}
	return false
}

// basicContext answers the Basic scheme (RFC 7617): one token, user:password.
type basicContext struct {
	token []byte
	done  bool
}

func (b *basicContext) Step(_ context.Context, in []byte) ([]byte, bool, error) {
	if b.done {
		return nil, false, errors.New("negotiate: Basic has a single leg")
	}
	b.done = true
	return b.token, false, nil
}

// lowerASCII lower-cases s's ASCII letters (host names, RFC 4343).
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
