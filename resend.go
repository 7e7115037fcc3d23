// This file holds the one rule that decides whether a request may be sent
// again after a send that did not bring its answer: every path that could
// send a request twice (a kept connection, a handshake leg, the restart on
// a new connection, the retry over HTTP/1.1, a proxy tunnel) asks resend.

package negotiate

import (
	"context"
	"net/http"
)

// How a failed send ended, as far as the server's handler is concerned.
type sendFate int

const (
	// notWritten: no byte of the request reached the connection (the dial
	// failed, or the connection was found closed before the request was
	// written), so no handler can have run.
	notWritten sendFate = iota
	// refused: the server answered without serving the request: a 401 or
	// 407 challenge whose connection it then closed, or an HTTP/2 stream
	// reset with HTTP_1_1_REQUIRED (RFC 9113 §7), which IIS sends on
	// reading a request's headers, before any handler.
	refused
	// mayHaveRun: the request, or part of it, was written and no answer
	// came (a reset, a drop, a late answer): its handler may have run.
	mayHaveRun
)

// idempotent reports whether req may be executed more than once: the
// methods net/http resends (GET, HEAD, OPTIONS, TRACE), or any method with
// an Idempotency-Key or X-Idempotency-Key header, as net/http's
// Request.isReplayable has it (FIELD-NOTES, "Resending requests"). PUT and
// DELETE are idempotent in RFC 9110 but net/http does not resend them, and
// neither does this package.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// resend reports whether a request whose send ended as fate may be sent
// again on a new connection. It is the only place that decides so:
//
//   - never once ctx is done: the caller gets the context's error;
//   - never if the body cannot be given again (a one-shot body already
//     read from);
//   - a request that was not written, or that the server refused, may go
//     again (callers allow that once);
//   - a request that may have reached the handler goes again only if it
//     is idempotent and its body can be replayed, as net/http would.
//
// Otherwise the caller returns the real cause of the failure, wrapped.
func resend(ctx context.Context, req *http.Request, body *replayBody, fate sendFate) bool {
	if ctx.Err() != nil || body.consumed() {
		return false
	}
	switch fate {
	case notWritten, refused:
		return true
	}
	return idempotent(req) && body.replayable()
}

// bodyOnFirstLeg is the largest replayable body the first NTLM leg carries
// when the request is not idempotent. Servers read (or discard) a body that
// small before they answer 401 and keep the connection, and if the server
// serves that leg instead of challenging it, it served the caller's request
// with the caller's body, once.
const bodyOnFirstLeg = 64 << 10

// bodylessLeg reports whether the leg that is sure to be challenged (the
// first NTLM leg) goes without the request's body, as curl sends it, so the
// body crosses the wire once. It does for an idempotent request (if the
// server serves that leg, the request is sent again with its body) and for
// a body that cannot be replayed or is larger than bodyOnFirstLeg (if the
// server serves that leg, RoundTrip fails with ErrBodyNotSent and sends
// nothing again). A request with no body has nothing to leave out.
func bodylessLeg(req *http.Request, body *replayBody) bool {
	switch {
	case body.empty():
		return false
	case idempotent(req) || !body.replayable():
		return true
	}
	n := body.length
	if body.getBody != nil && n == 0 {
		n = -1 // GetBody without a length: unknown
	}
	return n < 0 || n > bodyOnFirstLeg
}
