// This file holds the leg loop: one request's way through the handshake on
// a dedicated connection, from the first token to the server's final answer.

package negotiate

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// drainLimit bounds how much of a 401 body is read to keep the connection:
// a larger one closes the connection, and the handshake restarts once.
const drainLimit = 256 << 10

// errRestart asks for the handshake to start again on a new connection: the
// server closed the connection or said it would, and with it the state of a
// connection-bound handshake.
var errRestart = errors.New("negotiate: restart the handshake on a new connection")

// A roundTrip is one call of RoundTrip that needs authentication.
type roundTrip struct {
	t     *Transport
	req   *http.Request
	ctx   context.Context // req's context, carrying box
	box   *failureBox
	creds *Credentials
	body  *replayBody
	key   poolKey

	restarted bool // the one restart on a new connection was used
}

func (r *roundTrip) host() string { return canonicalAddr(r.req.URL) }

// run sends the request the cheapest way the Transport knows to work.
func (r *roundTrip) run() (*http.Response, error) {
	// An idle authenticated connection first.
	if ac := r.t.pool.get(r.key); ac != nil {
		if !ac.persistent {
			// The server authenticates each request (stateless Kerberos):
			// send a token on the first leg, no unauthenticated try.
			return r.handshake(ac, ac.scheme)
		}
		resp, err := r.send(ac)
		switch {
		case err != nil:
			// The kept connection broke under us; the request goes on a
			// new one if its body allows.
			ac.cc.Close()
			if r.body.consumed() {
				return nil, r.fail(0, "send", 0, fmt.Errorf("%w: %w", ErrBodyNotReplayable, err))
			}
		case resp.StatusCode == http.StatusUnauthorized && r.challengedFor(resp, ac.scheme):
			// The server dropped the connection's authentication:
			// authenticate it again.
			if err := r.replayAfter(resp); err != nil {
				ac.cc.Close()
				return nil, err
			}
			discard(resp)
			return r.handshake(ac, ac.scheme)
		default:
			return r.keep(ac, resp), nil
		}
	}
	// An origin known to want authentication: handshake at once.
	if v, ok := r.t.known.Load(r.key.origin); ok {
		return r.dialAndHandshake(v.(originInfo).scheme)
	}
	return r.probe()
}

// probe sends the request unauthenticated through Base's pool, to an origin
// not yet known to want authentication.
func (r *roundTrip) probe() (*http.Response, error) {
	l := r.req.Clone(r.ctx)
	if err := r.body.set(l); err != nil {
		return nil, err
	}
	rt := http.RoundTripper(r.t.base)
	if !r.body.replayable() {
		// A body sent once only: let the server refuse before any of it
		// travels (RFC 9110 §10.1.1), through the HTTP/1.1 transport that
		// waits for "100 Continue".
		l.Header.Set("Expect", "100-continue")
		rt = r.t.hs
	}
	resp, err := rt.RoundTrip(l)
	if err != nil {
		return nil, err
	}
	r.traceLeg(0, SchemeUnknown, l, resp, nil, false)
	if resp.StatusCode != http.StatusUnauthorized {
		return resp, nil
	}
	cs, err := ParseChallenges(resp.Header, "Www-Authenticate")
	if err != nil {
		r.box.err = r.authErr(0, "read challenge", resp.StatusCode, err)
		return resp, nil
	}
	scheme, ok := r.choose(cs, r.req.URL.Scheme == "https")
	if !ok {
		if offersOurs(cs) {
			r.box.err = r.authErr(0, "choose scheme", resp.StatusCode, ErrUnsupportedScheme)
		}
		return resp, nil
	}
	if err := r.replayAfter(resp); err != nil {
		return nil, err
	}
	discard(resp)
	r.t.known.Store(r.key.origin, originInfo{scheme: scheme, offeredNTLM: offersScheme(cs, SchemeNTLM)})
	return r.dialAndHandshake(scheme)
}

// replayAfter checks that the body can be sent again after resp, closing
// resp and returning the error for the caller if not.
func (r *roundTrip) replayAfter(resp *http.Response) error {
	if !r.body.consumed() {
		return nil
	}
	resp.Body.Close()
	e := r.authErr(0, "send", resp.StatusCode, ErrBodyNotReplayable)
	e.Response = resp
	return e
}

// choose picks the scheme to answer cs with, given the credentials.
func (r *roundTrip) choose(cs []Challenge, overTLS bool) (Scheme, bool) {
	prefer := r.t.Preference
	if prefer == nil {
		prefer = DefaultPreference
	}
	usable := make([]Scheme, 0, len(prefer))
	for _, s := range prefer {
		if r.t.canUse(s, r.creds) {
			usable = append(usable, s)
		}
	}
	c, ok := Choose(cs, usable, r.t.AllowBasic, overTLS)
	if !ok {
		return SchemeUnknown, false
	}
	return c.Kind(), true
}

func (r *roundTrip) dialAndHandshake(scheme Scheme) (*http.Response, error) {
	ac, err := r.t.newConn(r.ctx, r.req, r.key)
	if err != nil {
		return nil, err
	}
	return r.handshake(ac, scheme)
}

// handshake runs the legs on ac, restarting once on a new connection if
// the server closes this one mid-way.
func (r *roundTrip) handshake(ac *authConn, scheme Scheme) (*http.Response, error) {
	for {
		resp, err := r.legs(ac, scheme)
		if err != errRestart {
			return resp, err
		}
		ac.cc.Close()
		if r.restarted || r.body.consumed() {
			cause := ErrConnectionLost
			if r.body.consumed() {
				cause = ErrBodyNotReplayable
			}
			return nil, r.fail(0, "send", 0, cause)
		}
		r.restarted = true
		if ac, err = r.t.newConn(r.ctx, r.req, r.key); err != nil {
			return nil, err
		}
	}
}

// legs drives a new security context over ac until the server accepts,
// rejects or breaks off.
func (r *roundTrip) legs(ac *authConn, scheme Scheme) (*http.Response, error) {
	var offeredNTLM bool
	if v, ok := r.t.known.Load(r.key.origin); ok {
		offeredNTLM = v.(originInfo).offeredNTLM
	}
	sec, scheme, err := r.t.newContext(r.ctx, scheme, r.creds, r.req.URL, ac.tls, offeredNTLM)
	if err != nil {
		ac.cc.Close()
		return nil, r.failAs(scheme, 1, "acquire credentials", 0, err)
	}
	var (
		in   []byte
		last *http.Response // the latest 401, returned when the legs run out
	)
	for leg := 1; ; leg++ {
		if leg > r.t.maxLegs() {
			ac.cc.Close()
			r.box.err = r.authErrAs(scheme, leg-1, "read challenge", last.StatusCode, ErrTooManyLegs)
			return last, nil
		}
		out, cont, err := sec.Step(r.ctx, in)
		if err != nil {
			err = explain(sec, err)
			ac.cc.Close()
			if last != nil {
				r.box.err = r.authErrAs(scheme, leg-1, "initialize context", last.StatusCode, err)
				return last, nil
			}
			return nil, r.failAs(scheme, leg, "initialize context", 0, err)
		}
		withBody := !expectsChallenge(sec, scheme, leg)
		l, err := r.leg(scheme, out, withBody)
		if err != nil {
			ac.cc.Close()
			return nil, r.failAs(scheme, leg, "send", 0, err)
		}
		resp, err := ac.cc.RoundTrip(l)
		if err != nil {
			if r.ctx.Err() != nil {
				ac.cc.Close()
				return nil, err
			}
			return nil, errRestart
		}
		r.traceLeg(leg, scheme, l, resp, out, false)
		if resp.StatusCode != http.StatusUnauthorized && !withBody {
			// The server took a leg sent without the body as the request
			// itself: it no longer asks for authentication. Send the real
			// request; the connection is not kept as authenticated.
			discard(resp)
			if resp, err = r.send(ac); err != nil {
				ac.cc.Close()
				return nil, err
			}
			resp.Body = &closeHook{ReadCloser: resp.Body, hook: func() { ac.cc.Close() }}
			return resp, nil
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return r.accepted(ac, scheme, sec, cont, resp)
		}
		cs, perr := ParseChallenges(resp.Header, "Www-Authenticate")
		tok, found, terr := tokenFor(cs, scheme)
		switch {
		case perr != nil:
			return r.rejected(ac, scheme, leg, resp, perr)
		case terr != nil:
			return r.rejected(ac, scheme, leg, resp, terr)
		case !found || len(tok) == 0 || !cont:
			// A bare challenge after a token, or any 401 once the context
			// is complete: the server said no.
			return r.rejected(ac, scheme, leg, resp, explain(sec, ErrRejected))
		}
		if resp.Close {
			// The server ends the connection, and with it the handshake's
			// state (Apache does after an Expect: 100-continue leg).
			discard(resp)
			return nil, errRestart
		}
		if err := r.replayAfter(resp); err != nil {
			ac.cc.Close()
			return nil, err
		}
		if !discard(resp) {
			return nil, errRestart
		}
		in, last = tok, resp
	}
}

// accepted handles the server's non-401 answer to a leg: the final token
// if any (mutual authentication), then the connection kept for later.
func (r *roundTrip) accepted(ac *authConn, scheme Scheme, sec gss.Context, cont bool, resp *http.Response) (*http.Response, error) {
	var err error
	sawToken := false
	// Under MutualDisabled the server's final token is not looked at: the
	// setting exists for servers and middleboxes that send broken ones.
	if cont && !(scheme == SchemeNegotiate && r.t.Mutual == MutualDisabled) {
		cs, _ := ParseChallenges(resp.Header, "Www-Authenticate")
		var tok []byte
		var found bool
		tok, found, err = tokenFor(cs, scheme)
		if err == nil && found && len(tok) > 0 {
			sawToken = true
			_, _, err = sec.Step(r.ctx, tok)
		}
	}
	if err == nil {
		err = r.t.checkMutual(sec, sawToken)
	}
	if err != nil {
		resp.Body.Close()
		ac.cc.Close()
		e := r.authErrAs(scheme, 0, "verify server", resp.StatusCode, err)
		e.Response = resp
		return nil, e
	}
	ac.scheme = scheme
	ac.persistent = connectionBound(scheme, sec, resp)
	if v, ok := r.t.known.Load(r.key.origin); ok {
		info := v.(originInfo)
		info.scheme = scheme
		r.t.known.Store(r.key.origin, info)
	} else {
		r.t.known.Store(r.key.origin, originInfo{scheme: scheme})
	}
	return r.keep(ac, resp), nil
}

// rejected returns the server's final 401 as the response, recording why,
// and closes the connection once the caller is done with the body.
func (r *roundTrip) rejected(ac *authConn, scheme Scheme, leg int, resp *http.Response, cause error) (*http.Response, error) {
	r.box.err = r.authErrAs(scheme, leg, "read challenge", resp.StatusCode, cause)
	resp.Body = &closeHook{ReadCloser: resp.Body, hook: func() { ac.cc.Close() }}
	return resp, nil
}

// keep returns resp, giving ac back to the pool once its body is done.
func (r *roundTrip) keep(ac *authConn, resp *http.Response) *http.Response {
	if resp.Close {
		resp.Body = &closeHook{ReadCloser: resp.Body, hook: func() { ac.cc.Close() }}
		return resp
	}
	t := r.t
	resp.Body = &closeHook{ReadCloser: resp.Body, hook: func() { t.pool.put(ac, t.maxIdle(), t.idleTimeout()) }}
	return resp
}

// send sends the request on an authenticated connection with no token.
func (r *roundTrip) send(ac *authConn) (*http.Response, error) {
	l, err := r.leg(ac.scheme, nil, true)
	if err != nil {
		return nil, err
	}
	resp, err := ac.cc.RoundTrip(l)
	if err == nil {
		r.traceLeg(0, ac.scheme, l, resp, nil, true)
	}
	return resp, err
}

// leg makes the request for one leg: a clone of the caller's, carrying
// token, with the body or without it.
func (r *roundTrip) leg(scheme Scheme, token []byte, withBody bool) (*http.Request, error) {
	l := r.req.Clone(r.ctx)
	// Never "Expect: 100-continue" on a handshake leg: Apache answers such
	// a 401 with "Connection: close" and the handshake state is lost.
	l.Header.Del("Expect")
	if token != nil {
		l.Header.Set("Authorization", scheme.String()+" "+base64.StdEncoding.EncodeToString(token))
	}
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

// challengedFor reports whether resp challenges for scheme.
func (r *roundTrip) challengedFor(resp *http.Response, scheme Scheme) bool {
	cs, err := ParseChallenges(resp.Header, "Www-Authenticate")
	if err != nil {
		return false
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

func (r *roundTrip) authErr(leg int, op string, status int, err error) *AuthError {
	return &AuthError{Host: r.host(), Leg: leg, Op: op, StatusCode: status, Err: err}
}

func (r *roundTrip) authErrAs(scheme Scheme, leg int, op string, status int, err error) *AuthError {
	e := r.authErr(leg, op, status, err)
	if scheme != SchemeUnknown {
		e.Scheme = scheme.String()
	}
	return e
}

// fail records and returns an error for RoundTrip to return.
func (r *roundTrip) fail(leg int, op string, status int, err error) error {
	return r.failAs(SchemeUnknown, leg, op, status, err)
}

func (r *roundTrip) failAs(scheme Scheme, leg int, op string, status int, err error) error {
	var ae *AuthError
	if errors.As(err, &ae) {
		return err
	}
	return r.authErrAs(scheme, leg, op, status, err)
}
