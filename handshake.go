// This file holds the leg loop: one request's way through the handshake on
// a dedicated connection, from the first token to the server's final answer,
// with a proxy's authentication (407) and the origin's (401) on the same
// connection when both ask.

package negotiate

import (
	"context"
	"errors"
	"fmt"
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

// errRestart asks for the handshake to start again on a new connection: the
// server closed the connection or said it would, and with it the state of a
// connection-bound handshake, after answering with a challenge (it refused
// the request, nothing ran).
var errRestart error = &restartError{}

// A restartError asks for the handshake to start again on a new
// connection; cause is the failure of the send that resend allowed to
// repeat, nil after a refusal.
type restartError struct{ cause error }

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

	restarted bool // the one restart after a refusal was used
	resent    bool // the one resend that resend allowed was used

	// startErr is why the origin's [0] or proxy's [1] context could not
	// start before the first leg, nil if it did.
	startErr [2]error

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
func (r *roundTrip) chooseFor(s *slot, resp *http.Response) (Scheme, []Challenge, bool) {
	cs, err := r.challenges(s, resp)
	if err != nil {
		r.box.err = r.slotErr(s, SchemeUnknown, 0, OpReadChallenge, resp.StatusCode, err)
		return SchemeUnknown, nil, false
	}
	_, creds, _ := r.target(s, nil)
	if creds == nil {
		if offersOurs(cs) {
			cause := ErrNoCredentials
			if r.denied && !s.proxy {
				cause = ErrHostNotAllowed
			}
			r.box.err = r.slotErr(s, SchemeUnknown, 0, OpAcquireCredentials, resp.StatusCode, cause)
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
			r.box.err = r.slotErr(s, SchemeUnknown, 0, OpChooseScheme, resp.StatusCode, ErrUnsupportedScheme)
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
	e := r.authErr(0, OpSend, resp.StatusCode, ErrBodyNotReplayable)
	e.Response = resp
	return e
}

// choose picks the scheme to answer cs with, given the credentials.
func (r *roundTrip) choose(cs []Challenge, creds *Credentials, prefer []Scheme, overTLS bool) (Scheme, bool) {
	if prefer == nil {
		prefer = DefaultPreference
	}
	usable := make([]Scheme, 0, len(prefer))
	for _, s := range prefer {
		if r.t.canUse(s, creds) {
			usable = append(usable, s)
		}
	}
	c, ok := Choose(cs, usable, r.t.AllowBasic, overTLS)
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

// exchange runs the legs on ac, restarting once on a new connection if the
// server closes this one mid-way and resend allows it.
func (r *roundTrip) exchange(ac *authConn, scheme Scheme) (*http.Response, error) {
	for {
		resp, err := r.legs(ac, scheme)
		re, ok := err.(*restartError)
		if !ok {
			return resp, err
		}
		ac.cc.Close()
		if r.body.consumed() {
			return nil, r.fail(0, OpSend, 0, ErrBodyNotReplayable)
		}
		// One restart after a refusal, one resend after a failed send.
		used := &r.restarted
		if re.cause != nil {
			used = &r.resent
		}
		if *used || r.ctx.Err() != nil {
			if re.cause != nil {
				return nil, r.sendFailed(SchemeUnknown, 0, re.cause)
			}
			return nil, r.sendFailed(SchemeUnknown, 0, ErrConnectionLost)
		}
		*used = true
		if ac, err = r.t.newConn(r.ctx, r); err != nil {
			if resp, ok := r.connectAnswer(err); ok {
				return resp, nil
			}
			return nil, r.ctxErr(err)
		}
	}
}

// legs drives the origin's and, on a connection through a proxy, the
// proxy's security contexts over ac until the server accepts, rejects or
// breaks off. originScheme is the origin's scheme to start with, or
// SchemeUnknown to try without a token first.
func (r *roundTrip) legs(ac *authConn, originScheme Scheme) (*http.Response, error) {
	o, p := &slot{}, &slot{proxy: true}
	// Every context is used within these legs only.
	defer func() { o.close(); p.close() }()
	// A context that cannot start (a wrong Kerberos password, no ticket)
	// for a peer known to want authentication: the request goes without a
	// token, and the challenge it gets is the answer, with this failure as
	// its ResponseError, as when the challenge came first.
	r.startErr = [2]error{}
	if originScheme != SchemeUnknown {
		if err := r.start(o, originScheme, ac); err != nil {
			if r.ctx.Err() != nil {
				ac.cc.Close()
				return nil, err
			}
			r.startErr[0] = err
		}
	}
	if ac.viaProxy && ac.fresh {
		// A proxy known to want authentication gets its first token
		// at once.
		if v, ok := r.t.known.Get(r.memoryKey(p)); ok {
			if err := r.start(p, v.scheme, ac); err != nil {
				if r.ctx.Err() != nil {
					ac.cc.Close()
					return nil, err
				}
				r.startErr[1] = err
			}
		}
	}
	ac.fresh = false
	max := r.t.maxLegs()
	for {
		withBody := !(o.announcesChallenge() || p.announcesChallenge()) || !bodylessLeg(r.req, r.body)
		l, err := r.leg(withBody)
		if err != nil {
			ac.cc.Close()
			return nil, r.failAs(o.scheme, o.legs, OpSend, 0, err)
		}
		o.apply(l)
		p.apply(l)
		resp, fate, err := r.sendLeg(ac, l)
		if err != nil {
			ac.cc.Close()
			if resend(r.ctx, r.req, r.body, fate) {
				return nil, &restartError{cause: err}
			}
			return nil, r.sendFailed(o.scheme, o.legs, err)
		}
		r.traceLeg(o, p, l, resp, false)
		var s *slot
		switch {
		case resp.StatusCode == http.StatusProxyAuthRequired && ac.viaProxy:
			s = p
			if o.sent != nil {
				// The proxy stopped the leg: the origin's token never
				// reached the origin, so it goes again on the next leg.
				o.out, o.legs = o.sent, o.legs-1
			}
		case resp.StatusCode == http.StatusUnauthorized:
			s = o
		case !withBody:
			return r.answeredWithoutBody(ac, resp)
		default:
			return r.accepted(ac, o, p, resp)
		}
		if s.legs >= max {
			return r.rejected(ac, s, resp, ErrTooManyLegs)
		}
		if done, err := r.onChallenge(s, ac, resp); done || err != nil {
			if _, ok := err.(*restartError); ok {
				return nil, err
			}
			if err != nil {
				ac.cc.Close()
				return nil, err
			}
			return resp, nil
		}
	}
}

// onChallenge handles a 401 or 407 for slot s: it starts the slot's
// context on the first challenge, feeds the server's token to it on later
// ones, and otherwise ends the exchange with resp as the answer (done).
func (r *roundTrip) onChallenge(s *slot, ac *authConn, resp *http.Response) (done bool, err error) {
	if !s.started() {
		if err := r.startErr[s.index()]; err != nil {
			r.failedStart(ac, resp, err)
			return true, nil
		}
		scheme, cs, ok := r.chooseFor(s, resp)
		if !ok {
			r.closeAfter(ac, resp)
			return true, nil
		}
		r.remember(s, scheme, cs)
		if err := r.start(s, scheme, ac); err != nil {
			if r.ctx.Err() != nil {
				return false, err
			}
			// The challenge is the answer; the failure says why.
			r.failedStart(ac, resp, err)
			return true, nil
		}
		return false, r.prepareNextLeg(resp)
	}
	cs, perr := r.challenges(s, resp)
	tok, found, terr := tokenFor(cs, s.scheme)
	switch {
	case perr != nil:
		r.rejectWith(ac, s, resp, perr)
		return true, nil
	case terr != nil:
		r.rejectWith(ac, s, resp, terr)
		return true, nil
	case !found || len(tok) == 0 || !s.cont:
		// A bare challenge after a token, or any challenge once the
		// context is complete: the server said no.
		r.rejectWith(ac, s, resp, s.sec.Explain(ErrRejected))
		return true, nil
	}
	out, cont, err := s.sec.Step(r.ctx, tok)
	if err != nil {
		r.rejectWith(ac, s, resp, s.sec.Explain(err))
		return true, nil
	}
	if err := r.prepareNextLeg(resp); err != nil {
		return false, err
	}
	s.out, s.cont = out, cont
	return false, nil
}

// prepareNextLeg reads the rest of a challenge so its connection can carry
// the next leg, or asks for a restart when the server is closing it.
func (r *roundTrip) prepareNextLeg(resp *http.Response) error {
	if err := r.replayAfter(resp); err != nil {
		return err
	}
	if !discard(resp) {
		// The server ends the connection, and with it the handshake's
		// state (Apache does after an Expect: 100-continue leg).
		return errRestart
	}
	return nil
}

// accepted handles the server's answer that is no challenge: the final
// tokens if any (mutual authentication), then the connection kept for later.
func (r *roundTrip) accepted(ac *authConn, o, p *slot, resp *http.Response) (*http.Response, error) {
	if r.speculative && o.started() && r.received(o, resp) == nil {
		// A preemptive token the server did not answer: it wants no
		// authentication, or not this kind.
		o.close()
		*o = slot{}
	}
	for _, s := range []*slot{p, o} {
		if !s.started() {
			continue
		}
		if err := r.verifyFinal(s, resp); err != nil {
			resp.Body.Close()
			ac.cc.Close()
			e := r.slotErr(s, s.scheme, 0, OpVerifyServer, resp.StatusCode, err)
			e.Response = resp
			return nil, e
		}
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

// verifyFinal checks the final token of slot s on a successful response,
// and the mutual-authentication policy. Proxies send no final token
// (Squid does not), so for a proxy one is verified only when present.
func (r *roundTrip) verifyFinal(s *slot, resp *http.Response) error {
	sawToken := false
	// Under MutualDisabled the final token is not looked at: the setting
	// exists for servers and middleboxes that send broken ones.
	if s.cont && !(s.scheme == SchemeNegotiate && r.t.Mutual == MutualDisabled) {
		cs, _ := r.challenges(s, resp)
		tok, found, err := tokenFor(cs, s.scheme)
		if err != nil {
			return err
		}
		if found && len(tok) > 0 {
			sawToken = true
			if _, _, err := s.sec.Step(r.ctx, tok); err != nil {
				return err
			}
		}
	}
	if s.proxy && !sawToken {
		return nil
	}
	return s.sec.CheckMutual(sawToken)
}

// failedStart records that a context could not start as why the
// challenge resp ends the exchange.
func (r *roundTrip) failedStart(ac *authConn, resp *http.Response, err error) {
	var ae *AuthError
	if !errors.As(err, &ae) {
		ae = r.authErr(0, OpAcquireCredentials, 0, err)
	}
	ae.StatusCode = resp.StatusCode
	r.box.err = ae
	r.closeAfter(ac, resp)
}

// rejectWith records why the server's challenge ends the exchange, and
// closes the connection once the caller is done with resp.
func (r *roundTrip) rejectWith(ac *authConn, s *slot, resp *http.Response, cause error) {
	r.box.err = r.slotErr(s, s.scheme, s.legs, OpReadChallenge, resp.StatusCode, cause)
	r.closeAfter(ac, resp)
}

// rejected is rejectWith for the leg loop: resp is the answer.
func (r *roundTrip) rejected(ac *authConn, s *slot, resp *http.Response, cause error) (*http.Response, error) {
	r.rejectWith(ac, s, resp, cause)
	return resp, nil
}

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
		e := r.authErr(1, OpSend, resp.StatusCode, ErrBodyNotSent)
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
	return r.authErrAs(scheme, leg, OpSend, 0, r.ctxErr(err))
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
func tokenFor(cs []Challenge, scheme Scheme) (tok []byte, found bool, err error) {
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
	cs, err := ParseChallenges(resp.Header, "Www-Authenticate")
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

func (r *roundTrip) authErr(leg int, op Op, status int, err error) *AuthError {
	return &AuthError{Host: r.host(), Leg: leg, Op: op, StatusCode: status, Err: err}
}

func (r *roundTrip) authErrAs(scheme Scheme, leg int, op Op, status int, err error) *AuthError {
	e := r.authErr(leg, op, status, err)
	if scheme != SchemeUnknown {
		e.Scheme = scheme
	}
	return e
}

// fail records and returns an error for RoundTrip to return.
func (r *roundTrip) fail(leg int, op Op, status int, err error) error {
	return r.failAs(SchemeUnknown, leg, op, status, err)
}

func (r *roundTrip) failAs(scheme Scheme, leg int, op Op, status int, err error) error {
	var ae *AuthError
	if errors.As(err, &ae) {
		return err
	}
	return r.authErrAs(scheme, leg, op, status, err)
}
