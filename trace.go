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
// Tokens are handed to hooks as sent and received so diagnostics can decode
// them. A Kerberos token can be replayed against its server for a few
// minutes: decode it, never log it raw.
type ClientTrace struct {
	// Leg is called once a response to a leg has arrived.
	Leg func(LegInfo)
}

// LegInfo describes one request and its response.
type LegInfo struct {
	// Leg is the leg's number in its handshake, from 1; 0 for a request
	// sent without a token (the first try to an origin, or a request on an
	// authenticated connection).
	Leg int
	// Scheme is the scheme of the token sent, "" if none.
	Scheme string
	// Request is the request as sent; its Body must not be read.
	Request *http.Request
	// Response is the response; its Body must not be read.
	Response *http.Response
	// Sent is the token sent, nil if none; Received is the server's token
	// for Scheme in Response, nil if none.
	Sent, Received []byte
	// Reused reports whether the request went on a kept authenticated
	// connection.
	Reused bool
}

type traceKey struct{}

// WithClientTrace returns a copy of ctx that makes a Transport call trace's
// hooks for requests sent with it.
func WithClientTrace(ctx context.Context, trace *ClientTrace) context.Context {
	return context.WithValue(ctx, traceKey{}, trace)
}

// traceLeg reports a leg to the request's trace, if it has one.
func (r *roundTrip) traceLeg(leg int, scheme Scheme, req *http.Request, resp *http.Response, sent []byte, reused bool) {
	tr, _ := r.ctx.Value(traceKey{}).(*ClientTrace)
	if tr == nil || tr.Leg == nil {
		return
	}
	info := LegInfo{Leg: leg, Request: req, Response: resp, Sent: sent, Reused: reused}
	if sent != nil {
		info.Scheme = scheme.String()
	}
	if cs, err := ParseChallenges(resp.Header, "Www-Authenticate"); err == nil && scheme != SchemeUnknown {
		info.Received, _, _ = tokenFor(cs, scheme)
	}
	tr.Leg(info)
}
