// This file holds the leg loop: one request's way through the handshake on
// a dedicated connection, from the first token to the server's final answer,
// with a proxy's authentication (407) and the origin's (401) on the same
// connection when both ask.

package negotiate

import (
	"context"
	"errors"
	"fmt"
	"github.com/negotiate-go/negotiate/authscheme"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
)

// drainLimit bounds how much of a 401 body is read to keep the connection:
// a larger one closes the connection, and the handshake restarts once.
const drainLimit = 256 << 10

// A restartError asks for the handshake to start again on a new
// connection; cause is the failure of the send that resend allowed to
// repeat, nil after a refusal. bare: the refusal was the peer's first,
// bare challenge, so no handshake state was lost.
type restartError struct {
	cause error
	bare  bool
}

func (e *restartError) Error() string { return "negotiate: restart the handshake on a new connection" }

// A roundTrip is one call of RoundTrip that needs authentication.
type roundTrip struct {
	t     *Transport
	req   *http.Request
	ctx   context.Context // req's context, carrying box
	box   *failureBox
	creds *Credentials
	// denied: the policy forbids sending creds to this host (they are nil).
	denied bool
	body   *replayBody
	key    poolKey

	// proxy is the proxy the request goes through (user info removed),
	// nil if none; proxyCreds authenticate to it.
	proxy      *url.URL
	proxyCreds *Credentials

	resent bool // the one resend that resend allowed was used

	// parsedResp is the response whose challenge fields parsed holds.
	parsedResp *http.Response
	parsed     []parsedField
	// speculative: a token went to an origin that had not asked for one
	// (Transport.Preemptive).
	speculative bool
}

func (r *roundTrip) host() string { return canonicalAddr(r.req.URL) }

// run sends the request the cheapest way the Transport knows to work.
func (r *roundTrip) run() (*http.Response, error) {
	// An idle authenticated connection first.
	if ac := r.t.pool.get(r.key); ac != nil {
		if resp, err, done := r.reuse(ac); done {
			return resp, err
		}
	}
	// An origin known to want authentication: handshake at once.
	if v, ok := r.t.known.Get(r.key.origin); ok {
		return r.dialAndExchange(v.scheme)
	}
	if r.t.Preemptive && r.creds.hasKerberos() && r.t.prefers(false, SchemeNegotiate) {
		r.speculative = true
		return r.dialAndExchange(SchemeNegotiate)
	}
	// Through a proxy, the first try goes on a dedicated connection too:
	// the proxy may want its own handshake on that connection, and
	// net/http gives up on a CONNECT that is answered 407.
	if r.proxy != nil {
		return r.dialAndExchange(SchemeUnknown)
	}
	return r.probe()
}

// reuse sends the request on a kept connection. done=false means the
// connection broke before an answer and the request may go on a new one.
func (r *roundTrip) reuse(ac *authConn) (*http.Response, error, bool) {
	if !ac.persistent {
		// The server authenticates each request (stateless Kerberos):
		// send a token on the first leg, no unauthenticated try.
		resp, err := r.exchange(ac, ac.scheme)
		return resp, err, true
	}
	resp, fate, err := r.send(ac)
	if err != nil {
		ac.cc.Close()
		if !r.resent && resend(r.ctx, r.req, r.body, fate) {
			// The one resend: nothing ran, or it may run again.
			r.resent = true
			return nil, nil, false
		}
		return nil, r.sendFailed(SchemeUnknown, 0, err), true
	}
	again := SchemeUnknown // what to start the new handshake with
	switch {
	case resp.StatusCode == http.StatusUnauthorized && r.challengedFor(resp, ac.scheme):
		// The server dropped the connection's authentication.
		again = ac.scheme
	case resp.StatusCode == http.StatusProxyAuthRequired && ac.viaProxy:
		// The proxy did; the origin's still holds.
	default:
		return r.keep(ac, resp), nil, true
	}
	if err := r.replayAfter(resp); err != nil {
		ac.cc.Close()
		return nil, err, true
	}
	discard(resp)
	resp, err = r.exchange(ac, again)
	return resp, err, true
}

// probe sends the request unauthenticated through Base's pool, to an origin
// not yet known to want authentication.
func (r *roundTrip) probe() (*http.Response, error) {
	l, err := r.legAsProbe()
	if err != nil {
		return nil, err
	}
	rt := http.RoundTripper(r.t.base)
	if _, ok := r.t.http1Only.Get(r.key.origin); ok {
		rt = r.t.hs
	}
	if !r.body.replayable() {
		// A body sent once only: let the server refuse before any of it
		// travels (RFC 9110 §10.1.1), through the HTTP/1.1 transport that
		// waits for "100 Continue".
		l.Header.Set("Expect", "100-continue")
		rt = r.t.hs
	}
	resp, err := rt.RoundTrip(l)
	if err != nil && rt != http.RoundTripper(r.t.hs) && http11Required(err) {
		// IIS refuses Windows authentication over HTTP/2 with
		// HTTP_1_1_REQUIRED (RFC 9113 §7), and Go's HTTP/2 client does
		// not retry: try once more over HTTP/1.1, and remember.
		r.t.http1Only.Put(r.key.origin, true)
		if r.resent || !resend(r.ctx, r.req, r.body, refused) {
			return nil, r.sendFailed(SchemeUnknown, 0, err)
		}
		r.resent = true
		if l, err = r.legAsProbe(); err != nil {
			return nil, err
		}
		resp, err = r.t.hs.RoundTrip(l)
	}
	if err != nil {
		// Base's own transport already resent what net/http resends.
		return nil, r.ctxErr(err)
	}
	r.traceLeg(nil, nil, l, resp, false)
	if resp.StatusCode != http.StatusUnauthorized {
		return resp, nil
	}
	o := &slot{}
	scheme, cs, ok := r.chooseFor(o, resp)
	if !ok {
		return resp, nil
	}
	if err := r.replayAfter(resp); err != nil {
		return nil, err
	}
	discard(resp)
	r.remember(o, scheme, cs)
	return r.dialAndExchange(scheme)
}

// legAsProbe makes the request for the first, unauthenticated try.
func (r *roundTrip) legAsProbe() (*http.Request, error) {
	l := r.req.Clone(r.ctx)
	if err := r.body.set(l); err != nil {
		return nil, err
	}
	return l, nil
}

// http11Required reports whether err is an HTTP/2 stream reset with the
// HTTP_1_1_REQUIRED error code (RFC 9113 §7). net/http's HTTP/2 errors are
// unexported types, so the code is recognised by its name.
func http11Required(err error) bool {
	return strings.Contains(err.Error(), "HTTP_1_1_REQUIRED")
}

// chooseFor picks the scheme to answer resp's challenges for slot s with,
// recording why in the request's failure box when there is none.
func (r *roundTrip) chooseFor(s *slot, resp *http.Response) (Scheme, []authscheme.Challenge, bool) {
	cs, err := r.challenges(s, resp)
	if err != nil {
		r.box.err = r.errAt(s, SchemeUnknown, 0, OpReadChallenge, resp.StatusCode, err)
		return SchemeUnknown, nil, false
	}
	_, creds, _ := r.target(s, nil)
	if creds == nil {
		if offersOurs(cs) {
			cause := ErrNoCredentials
			if r.denied && !s.proxy {
				cause = ErrHostNotAllowed
			}
			r.box.err = r.errAt(s, SchemeUnknown, 0, OpAcquireCredentials, resp.StatusCode, cause)
		}
		return SchemeUnknown, cs, false
	}
	overTLS := !s.proxy && r.req.URL.Scheme == "https"
	prefer := r.t.Preference
	if s.proxy && r.t.ProxyPreference != nil {
		prefer = r.t.ProxyPreference
	}
	scheme, ok := r.choose(cs, creds, prefer, overTLS)
	if !ok {
		if offersOurs(cs) {
			r.box.err = r.errAt(s, SchemeUnknown, 0, OpChooseScheme, resp.StatusCode, ErrUnsupportedScheme)
		}
		return SchemeUnknown, cs, false
	}
	return scheme, cs, true
}

// replayAfter checks that the body can be sent again after resp, closing
// resp and returning the error for the caller if not.
func (r *roundTrip) replayAfter(resp *http.Response) error {
	if !r.body.consumed() {
		return nil
	}
	resp.Body.Close()
	e := r.errAt(nil, SchemeUnknown, 0, OpSend, resp.StatusCode, ErrBodyNotReplayable)
	e.Response = resp
	return e
}

// choose picks the scheme to answer cs with, given the credentials.
func (r *roundTrip) choose(cs []authscheme.Challenge, creds *Credentials, prefer []Scheme, overTLS bool) (Scheme, bool) {
	if prefer == nil {
		prefer = defaultPreference()
	}
	usable := make([]Scheme, 0, len(prefer))
	for _, s := range prefer {
		if r.t.canUse(s, creds) {
			usable = append(usable, s)
		}
	}
	c, ok := authscheme.Choose(cs, usable, r.t.AllowBasic, overTLS)
	if !ok {
		return SchemeUnknown, false
	}
	return c.Kind(), true
}

func (r *roundTrip) dialAndExchange(scheme Scheme) (*http.Response, error) {
	ac, err := r.t.newConn(r.ctx, r)
	if err != nil {
		if resp, ok := r.connectAnswer(err); ok {
			return resp, nil
		}
		return nil, r.ctxErr(err)
	}
	return r.exchange(ac, scheme)
}

// exchange runs the legs on ac, starting the origin's context for scheme
// (SchemeUnknown: try without a token first), and on a new connection when
// the server closes this one mid-way and the restart rules allow it.
func (r *roundTrip) exchange(ac *authConn, scheme Scheme) (*http.Response, error) {
	var budget restartBudget
	for {
		resp, err := r.legsOn(ac, scheme)
		re, ok := err.(*restartError)
		if !ok {
			return resp, err
		}
		if err := r.restart(&budget, re); err != nil {
			return nil, err
		}
		if v, ok := r.t.known.Get(r.key.origin); ok {
			// The origin's first challenge came before the close: its
			// token goes on the first leg of the new connection.
			scheme = v.scheme
		}
		if ac, err = r.t.newConn(r.ctx, r); err != nil {
			if resp, ok := r.connectAnswer(err); ok {
				return resp, nil
			}
			return nil, r.ctxErr(err)
		}
	}
}

// A restartBudget counts the restarts of one handshake on new
// connections: one after the peer's first, bare challenge closed the
// connection (it cost no state), and one more after any other close.
type restartBudget struct{ bare, other bool }

// take reports whether a handshake may start again after its peer closed
// the connection following a challenge (bare: the peer's first, bare
// challenge), and counts it.
func (b *restartBudget) take(bare bool) bool {
	used := &b.other
	if bare && !b.bare {
		used = &b.bare
	}
	if *used {
		return false
	}
	*used = true
	return true
}

// restart decides whether the origin's handshake may start again after
// re: the request's one resend for a failed send (re.cause), else the
// budget for a peer that closed the connection. It returns the error for
// the caller when not.
func (r *roundTrip) restart(b *restartBudget, re *restartError) error {
	switch {
	case r.body.consumed():
		return r.failure(nil, SchemeUnknown, 0, OpSend, 0, ErrBodyNotReplayable)
	case re.cause != nil:
		if r.resent || r.ctx.Err() != nil {
			return r.sendFailed(SchemeUnknown, 0, re.cause)
		}
		r.resent = true
	case r.ctx.Err() != nil || !b.take(re.bare):
		return r.sendFailed(SchemeUnknown, 0, ErrConnectionLost)
	}
	return nil
}

// legsOn drives the origin's and, on a connection through a proxy, the
// proxy's security contexts over ac (see drive). originScheme is the
// origin's scheme to start with, or SchemeUnknown to try without a token
// first.
func (r *roundTrip) legsOn(ac *authConn, originScheme Scheme) (*http.Response, error) {
	o, p := &slot{}, &slot{proxy: true}
	// Every context is used within these legs only.
	defer func() { o.close(); p.close() }()
	if originScheme != SchemeUnknown {
		if err := r.startKnown(o, originScheme, ac); err != nil {
			ac.cc.Close()
			return nil, err
		}
	}
	if ac.viaProxy && ac.fresh {
		// A proxy known to want authentication gets its first token
		// at once.
		if v, ok := r.t.known.Get(r.memoryKey(p)); ok {
			if err := r.startKnown(p, v.scheme, ac); err != nil {
				ac.cc.Close()
				return nil, err
			}
		}
	}
	ac.fresh = false
	return r.drive(&connWire{r: r, ac: ac}, o, p)
}

// connWire carries legs on an origin's dedicated connection, reached
// directly, through a CONNECT tunnel, or through a plain-HTTP proxy (then
// a 407 may come, for the proxy's slot).
type connWire struct {
	r  *roundTrip
	ac *authConn
}

func (w *connWire) leg(o, p *slot) (*http.Request, bool, error) {
	withBody := !(o.announcesChallenge() || p.announcesChallenge()) || !bodylessLeg(w.r.req, w.r.body)
	l, err := w.r.leg(withBody)
	return l, withBody, err
}

func (w *connWire) send(l *http.Request, o, p *slot) (*http.Response, error) {
	r := w.r
	resp, fate, err := r.sendLeg(w.ac, l)
	if err == nil {
		return resp, nil
	}
	w.ac.cc.Close()
	if resend(r.ctx, r.req, r.body, fate) {
		return nil, &restartError{cause: err}
	}
	return nil, r.sendFailed(o.scheme, o.legs, err)
}

func (w *connWire) challenger(resp *http.Response, o, p *slot) *slot {
	switch {
	case resp.StatusCode == http.StatusProxyAuthRequired && w.ac.viaProxy:
		return p
	case resp.StatusCode == http.StatusUnauthorized:
		return o
	}
	return nil
}

// accepted handles the server's answer that is no challenge: the final
// tokens if any (mutual authentication), then the connection kept for
// later. An answer to a leg that went without the body is
// answeredWithoutBody's.
func (w *connWire) accepted(resp *http.Response, withBody bool, o, p *slot) (*http.Response, error) {
	r, ac := w.r, w.ac
	if !withBody {
		return r.answeredWithoutBody(ac, resp)
	}
	if r.speculative && o.started() && r.received(o, resp) == nil {
		// A preemptive token the server did not answer: it wants no
		// authentication, or not this kind.
		o.close()
		*o = slot{}
	}
	if err := r.verifyFinals(resp, p, o); err != nil {
		ac.cc.Close()
		return nil, err
	}
	if o.started() {
		ac.scheme = o.scheme
		ac.persistent = o.sec.ConnectionBound(resp.Header.Get("Persistent-Auth") == "true")
		r.settled(o)
	} else if ac.scheme == SchemeUnknown {
		// The origin wants no authentication on this connection.
		ac.persistent = true
	}
	return r.keep(ac, resp), nil
}

// refused returns the challenge as the answer, closing the connection once
// the caller is done with it.
func (w *connWire) refused(resp *http.Response, _ *slot) (*http.Response, error) {
	w.r.closeAfter(w.ac, resp)
	return resp, nil
}

func (w *connWire) conn() *authConn { return w.ac }
func (w *connWire) close()          { w.ac.cc.Close() }

// closeAfter closes ac once the caller has closed resp's body.
func (r *roundTrip) closeAfter(ac *authConn, resp *http.Response) {
	resp.Body = &closeHook{ReadCloser: resp.Body, hook: func() { ac.cc.Close() }}
}

// keep returns resp, giving ac back to the pool once its body is done.
func (r *roundTrip) keep(ac *authConn, resp *http.Response) *http.Response {
	if resp.Close {
		r.closeAfter(ac, resp)
		return resp
	}
	t := r.t
	resp.Body = &closeHook{ReadCloser: resp.Body, hook: func() { t.pool.put(ac, t.maxIdle(), t.idleTimeout()) }}
	return resp
}

// answeredWithoutBody handles a success (or any answer but a challenge) to
// a leg that went without the request's body (the first NTLM leg of a
// request whose body is sent once only, or of an idempotent request): the
// server did not ask for authentication and may have served that leg as
// the request. An idempotent request is sent again, with its body, on the
// same connection. Any other gets ErrBodyNotSent with the server's answer:
// it is never sent again, so a server does not run it twice (see the
// Transport's documentation).
func (r *roundTrip) answeredWithoutBody(ac *authConn, resp *http.Response) (*http.Response, error) {
	if !resend(r.ctx, r.req, r.body, mayHaveRun) {
		resp.Body.Close()
		ac.cc.Close()
		e := r.errAt(nil, SchemeUnknown, 1, OpSend, resp.StatusCode, ErrBodyNotSent)
		e.Response = resp
		return nil, e
	}
	discard(resp)
	resp, _, err := r.send(ac)
	if err != nil {
		ac.cc.Close()
		return nil, r.sendFailed(SchemeUnknown, 0, err)
	}
	// The connection is not kept as authenticated.
	r.closeAfter(ac, resp)
	return resp, nil
}

// send sends the request on an authenticated connection with no token.
func (r *roundTrip) send(ac *authConn) (*http.Response, sendFate, error) {
	l, err := r.leg(true)
	if err != nil {
		return nil, mayHaveRun, err
	}
	resp, fate, err := r.sendLeg(ac, l)
	if err == nil {
		r.traceLeg(nil, nil, l, resp, true)
	}
	return resp, fate, err
}

// sendLeg sends l on ac and, when no answer comes, says whether any of it
// was written: net/http's own marker (nothingWrittenError) is unexported,
// so the leg's trace records whether its header was written.
func (r *roundTrip) sendLeg(ac *authConn, l *http.Request) (*http.Response, sendFate, error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }}
	l = l.WithContext(httptrace.WithClientTrace(l.Context(), trace))
	resp, err := ac.cc.RoundTrip(l)
	if err == nil {
		return resp, mayHaveRun, nil
	}
	if !wrote.Load() {
		return nil, notWritten, err
	}
	return nil, mayHaveRun, err
}

// ctxErr returns err, wrapping the context's cause when the request's
// context has ended, so that the caller sees context.DeadlineExceeded or
// context.Canceled rather than only the failure it caused.
func (r *roundTrip) ctxErr(err error) error {
	cause := context.Cause(r.ctx)
	if cause == nil || errors.Is(err, cause) {
		return err
	}
	return fmt.Errorf("%w: %w", cause, err)
}

// sendFailed is the error for a send that brought no answer and may not be
// repeated: the real cause (a reset, net/http's "timeout awaiting response
// headers", the context's end), wrapped.
func (r *roundTrip) sendFailed(scheme Scheme, leg int, err error) error {
	var ae *AuthError
	if errors.As(err, &ae) {
		return err
	}
	return r.errAt(nil, scheme, leg, OpSend, 0, r.ctxErr(err))
}

// leg makes the request for one leg: a clone of the caller's, with the body
// or without it. The slots put their tokens on it.
func (r *roundTrip) leg(withBody bool) (*http.Request, error) {
	l := r.req.Clone(r.ctx)
	// Never "Expect: 100-continue" on a handshake leg: Apache answers such
	// a 401 with "Connection: close" and the handshake state is lost.
	l.Header.Del("Expect")
	if !withBody {
		setEmpty(l)
		return l, nil
	}
	if err := r.body.set(l); err != nil {
		return nil, err
	}
	return l, nil
}

// tokenFor returns the token of the first challenge for scheme in cs.
func tokenFor(cs []authscheme.Challenge, scheme Scheme) (tok []byte, found bool, err error) {
	for _, c := range cs {
		if c.Kind() == scheme {
			tok, err = c.Token()
			return tok, true, err
		}
	}
	return nil, false, nil
}

// challengedFor reports whether resp challenges for scheme, or for any
// scheme of ours when scheme is SchemeUnknown.
func (r *roundTrip) challengedFor(resp *http.Response, scheme Scheme) bool {
	cs, err := authscheme.ParseChallenges(resp.Header, "Www-Authenticate")
	if err != nil {
		return false
	}
	if scheme == SchemeUnknown {
		return offersOurs(cs)
	}
	_, found, _ := tokenFor(cs, scheme)
	return found
}

// discard reads what is left of a 401 body so the connection can carry the
// next leg, and reports whether it could.
func discard(resp *http.Response) bool {
	n, _ := io.CopyN(io.Discard, resp.Body, drainLimit+1)
	resp.Body.Close()
	return n <= drainLimit && !resp.Close
}

// errAt is the one constructor of the errors a request's authentication
// fails with: op failed for slot s's peer (nil: the origin) under scheme, on
// leg, after an answer with status (0: none), because of cause.
func (r *roundTrip) errAt(s *slot, scheme Scheme, leg int, op Op, status int, cause error) *AuthError {
	e := &AuthError{Host: r.host(), Scheme: scheme, Leg: leg, Op: op, StatusCode: status, Err: cause}
	if s != nil && s.proxy {
		e.Proxy = true
		e.Host = canonicalAddr(r.proxy)
	}
	return e
}

// failure is errAt for a cause that may already be an *AuthError (made
// deeper down, with its own details): then it is returned as it is.
func (r *roundTrip) failure(s *slot, scheme Scheme, leg int, op Op, status int, cause error) error {
	var ae *AuthError
	if errors.As(cause, &ae) {
		return cause
	}
	return r.errAt(s, scheme, leg, op, status, cause)
}
