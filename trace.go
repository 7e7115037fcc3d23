package negotiate

import (
	"context"
	"net/http"
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
// Tokens are handed to hooks as sent and received so diagnostics can decode
// them. A Kerberos token can be replayed against its server for a few
// minutes: decode it, never log it raw.
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

	// Scheme is the scheme of the origin token sent, "" if none. Sent is
	// that token; Received is the origin's token for Scheme in Response
	// (WWW-Authenticate), nil if none.
	Scheme         string
	Sent, Received []byte

	// ProxyScheme, ProxySent and ProxyReceived are the same for the
	// proxy (Proxy-Authorization, Proxy-Authenticate).
	ProxyScheme              string
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
	info := LegInfo{Request: req, Response: resp, Reused: reused}
	if o != nil && o.sent != nil {
		info.Leg, info.Scheme, info.Sent = o.legs, o.scheme.String(), o.sent
	}
	if o != nil && o.started() {
		info.Received = received(o, resp)
	}
	if p != nil && p.sent != nil {
		info.ProxyScheme, info.ProxySent = p.scheme.String(), p.sent
		info.Leg = max(info.Leg, p.legs)
	}
	if p != nil && p.started() {
		info.ProxyReceived = received(p, resp)
	}
	tr.Leg(info)
}

// received returns the token for s's scheme in resp, nil if none.
func received(s *slot, resp *http.Response) []byte {
	cs, err := s.challenges(resp)
	if err != nil {
		return nil
	}
	tok, _, _ := tokenFor(cs, s.scheme)
	return tok
}
