// This file holds the client trace: hooks that see each leg of a request,
// and what they are given.

package negotiate

import (
	"context"
	"github.com/negotiate-go/negotiate/authscheme"
	"net/http"
	"strings"
)

// ClientTrace holds hooks that observe the legs of a request, in the spirit
// of net/http/httptrace. Install it with [WithClientTrace]. Hooks run on the
// goroutine of the RoundTrip call, one at a time, and must not keep the
// values they are given.
//
// Only requests the Transport may authenticate are traced: a request it
// passes to Base untouched (no credentials for it, a host the policy does
// not allow, a caller-set Authorization header) is not.
//
// What hooks get, exactly:
//   - LegInfo.Request is the leg as sent, headers included, except that
//     the credentials of a Basic Authorization or Proxy-Authorization
//     field are replaced with "[redacted]" (in a copy of the header: the
//     leg itself is not changed); its Body must not be read.
//   - LegInfo.Sent and ProxySent are the Negotiate and NTLM tokens as sent
//     (NTLM messages, SPNEGO tokens, Kerberos AP-REQs), so diagnostics can
//     decode them; for Basic they are nil, never the password.
//   - LegInfo.Received and ProxyReceived are the server's tokens as
//     received, and Response the response with its header.
//
// Negotiate and NTLM tokens contain no password or key, but a Kerberos
// AP-REQ can be replayed against its server for a few minutes, and an NTLM
// AUTHENTICATE message can be attacked offline: decode them, never log
// them raw.
type ClientTrace struct {
	// Leg is called once a response to a leg has arrived.
	Leg func(LegInfo)
}

// LegInfo describes one request and its response: a leg to the origin, or
// a CONNECT to a proxy.
type LegInfo struct {
	// Leg is the leg's number in its handshake, from 1; 0 for a request
	// sent without a token (the first try to an origin, or a request on an
	// authenticated connection).
	Leg int
	// Request is the request as sent; its Body must not be read.
	Request *http.Request
	// Response is the response; its Body must not be read.
	Response *http.Response
	// Reused reports whether the request went on a kept authenticated
	// connection.
	Reused bool

	// Scheme is the scheme of the origin token sent, SchemeUnknown if none. Sent is
	// that token; Received is the origin's token for Scheme in Response
	// (WWW-Authenticate), nil if none.
	Scheme         Scheme
	Sent, Received []byte

	// ProxyScheme, ProxySent and ProxyReceived are the same for the
	// proxy (Proxy-Authorization, Proxy-Authenticate).
	ProxyScheme              Scheme
	ProxySent, ProxyReceived []byte
}

type traceKey struct{}

// WithClientTrace returns a copy of ctx that makes a Transport call trace's
// hooks for requests sent with it.
func WithClientTrace(ctx context.Context, trace *ClientTrace) context.Context {
	return context.WithValue(ctx, traceKey{}, trace)
}

// traceLeg reports a leg to the request's trace, if it has one. o and p are
// the origin's and the proxy's slots; either may be nil.
func (r *roundTrip) traceLeg(o, p *slot, req *http.Request, resp *http.Response, reused bool) {
	tr, _ := r.ctx.Value(traceKey{}).(*ClientTrace)
	if tr == nil || tr.Leg == nil {
		return
	}
	info := LegInfo{Request: redactBasic(req), Response: resp, Reused: reused}
	if o != nil && o.sent != nil {
		info.Leg, info.Scheme, info.Sent = o.legs, o.scheme, o.sent
	}
	if o != nil && o.started() {
		info.Received = r.received(o, resp)
	}
	if p != nil && p.sent != nil {
		info.ProxyScheme, info.ProxySent = p.scheme, p.sent
		info.Leg = max(info.Leg, p.legs)
	}
	if p != nil && p.started() {
		info.ProxyReceived = r.received(p, resp)
	}
	if info.Scheme == SchemeBasic {
		info.Sent = nil
	}
	if info.ProxyScheme == SchemeBasic {
		info.ProxySent = nil
	}
	tr.Leg(info)
}

// redactBasic returns req, or a shallow copy with a copied header whose
// Basic credentials are replaced, for a hook to see.
func redactBasic(req *http.Request) *http.Request {
	var h http.Header
	for _, name := range []string{"Authorization", "Proxy-Authorization"} {
		for i, v := range req.Header.Values(name) {
			scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
			if authscheme.SchemeOf(scheme) != SchemeBasic {
				continue
			}
			if h == nil {
				h = req.Header.Clone()
			}
			h[http.CanonicalHeaderKey(name)][i] = scheme + " [redacted]"
		}
	}
	if h == nil {
		return req
	}
	c := *req
	c.Header = h
	return &c
}

// received returns the token for s's scheme in resp, nil if none.
func (r *roundTrip) received(s *slot, resp *http.Response) []byte {
	cs, err := r.challenges(s, resp)
	if err != nil {
		return nil
	}
	tok, _, _ := tokenFor(cs, s.scheme)
	return tok
}
