// This file holds the leg engine: the one loop that drives a handshake's
// legs, for an origin (401, on a dedicated connection, with a proxy's 407
// on the same connection when both ask) and for a proxy alone (407, on the
// CONNECT requests of an HTTPS tunnel, tunnel.go). Each peer's state is a
// slot (slot.go); a legWire says how legs travel on one connection.

package negotiate

import (
	"errors"
	"net/http"
)

// A legWire is one connection a handshake's legs travel on, and what its
// answers mean: connWire (an origin's dedicated connection) and tunnelWire
// (CONNECT to a proxy).
type legWire interface {
	// leg makes the next leg's request and says whether it carries the
	// caller's body.
	leg(o, p *slot) (l *http.Request, withBody bool, err error)
	// send sends l and reads its answer's header. On error the connection
	// is closed, and the error is final unless it is a *restartError.
	send(l *http.Request, o, p *slot) (*http.Response, error)
	// challenger returns the slot that resp challenges, nil when resp is
	// not a challenge this wire answers.
	challenger(resp *http.Response, o, p *slot) *slot
	// accepted handles an answer that is no challenge: a success, or a
	// refusal that authentication cannot change.
	accepted(resp *http.Response, withBody bool, o, p *slot) (*http.Response, error)
	// refused ends the exchange on a challenge that cannot be met; the
	// request's failure box says why (it may be empty when the peer
	// offered no scheme of ours).
	refused(resp *http.Response, s *slot) (*http.Response, error)
	// conn is the origin connection whose TLS state gives the origin's
	// channel bindings, nil when the wire carries no origin traffic.
	conn() *authConn
	// close closes the connection.
	close()
}

// drive runs legs over w until the peer accepts, refuses or breaks off. o
// and p are the origin's and the proxy's slots, either possibly started
// already (a peer known to want authentication gets its token at once).
// It is the only leg loop: origins and proxy tunnels both go through it.
func (r *roundTrip) drive(w legWire, o, p *slot) (*http.Response, error) {
	for {
		l, withBody, err := w.leg(o, p)
		if err != nil {
			w.close()
			return nil, r.failure(nil, o.scheme, o.legs, OpSend, 0, err)
		}
		o.apply(l)
		p.apply(l)
		resp, err := w.send(l, o, p)
		if err != nil {
			return nil, err
		}
		r.traceLeg(o, p, l, resp, false)
		s := w.challenger(resp, o, p)
		if s == nil {
			return w.accepted(resp, withBody, o, p)
		}
		if s == p && o.sent != nil {
			// The proxy stopped the leg: the origin's token never
			// reached the origin, so it goes again on the next leg.
			o.out, o.legs = o.sent, o.legs-1
		}
		done, err := r.answerChallenge(s, w.conn(), resp)
		if err != nil {
			resp.Body.Close()
			w.close()
			return nil, err
		}
		if done {
			return w.refused(resp, s)
		}
		if err := r.prepareNextLeg(resp, s); err != nil {
			w.close()
			return nil, err
		}
	}
}

// answerChallenge handles a 401 or 407 for slot s: it starts the slot's
// context on the first challenge and feeds the server's token to it on
// later ones. done reports that resp ends the exchange, with the reason in
// the request's failure box; err is a failure that ends the request (its
// context ended).
func (r *roundTrip) answerChallenge(s *slot, ac *authConn, resp *http.Response) (done bool, err error) {
	if s.legs >= r.t.maxLegs() {
		r.box.err = r.errAt(s, s.scheme, s.legs, OpReadChallenge, resp.StatusCode, ErrTooManyLegs)
		return true, nil
	}
	if !s.started() {
		if s.startErr != nil {
			// A context that could not start for a peer known to want
			// authentication: the leg went without a token, and this
			// challenge is the answer.
			r.failedStart(resp, s.startErr)
			return true, nil
		}
		scheme, cs, ok := r.chooseFor(s, resp)
		if !ok {
			return true, nil
		}
		r.remember(s, scheme, cs)
		if err := r.start(s, scheme, ac); err != nil {
			if r.ctx.Err() != nil {
				return false, err
			}
			r.failedStart(resp, err)
			return true, nil
		}
		return false, nil
	}
	cs, perr := r.challenges(s, resp)
	tok, found, terr := tokenFor(cs, s.scheme)
	var cause error
	op := OpReadChallenge
	switch {
	case perr != nil:
		cause = perr
	case terr != nil:
		cause = terr
	case !found || len(tok) == 0 || !s.cont:
		// A bare challenge after a token, or any challenge once the
		// context is complete: the peer said no.
		cause = s.sec.Explain(ErrRejected)
	default:
		out, cont, err := s.sec.Step(r.ctx, tok)
		if err == nil {
			s.out, s.cont = out, cont
			return false, nil
		}
		cause, op = s.sec.Explain(err), OpInitializeContext
	}
	r.box.err = r.errAt(s, s.scheme, s.legs, op, resp.StatusCode, cause)
	return true, nil
}

// startKnown starts slot s for a peer known to want scheme, before the
// first leg. A context that cannot start (a wrong Kerberos password, no
// ticket) is kept as the slot's startErr: the leg goes without a token, and
// the challenge it gets is the answer, with that failure as its
// ResponseError, as when the challenge came first.
func (r *roundTrip) startKnown(s *slot, scheme Scheme, ac *authConn) error {
	err := r.start(s, scheme, ac)
	if err != nil && r.ctx.Err() == nil {
		s.startErr = err
		return nil
	}
	return err
}

// prepareNextLeg reads the rest of a challenge so its connection can carry
// the next leg, or asks for a restart on a new connection when the peer is
// closing this one (Apache does after an Expect: 100-continue leg; Squid
// after a bare 407), and with it the state of a connection-bound
// handshake.
func (r *roundTrip) prepareNextLeg(resp *http.Response, s *slot) error {
	if err := r.replayAfter(resp); err != nil {
		return err
	}
	if !discard(resp) {
		// A peer's first, bare challenge held no handshake state.
		return &restartError{bare: s.legs == 0}
	}
	return nil
}

// verifyFinal checks the final token of slot s on a successful response,
// and the mutual-authentication policy (the context's CheckMutual, which
// for a proxy verifies a final token only when present: Squid sends none).
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
	return s.sec.CheckMutual(sawToken)
}

// verifyFinals checks the final tokens of the started slots on a success.
// The error carries resp, its body closed.
func (r *roundTrip) verifyFinals(resp *http.Response, slots ...*slot) error {
	for _, s := range slots {
		if !s.started() {
			continue
		}
		if err := r.verifyFinal(s, resp); err != nil {
			resp.Body.Close()
			e := r.errAt(s, s.scheme, 0, OpVerifyServer, resp.StatusCode, err)
			e.Response = resp
			return e
		}
	}
	return nil
}

// failedStart records that a context could not start as why the challenge
// resp ends the exchange.
func (r *roundTrip) failedStart(resp *http.Response, err error) {
	var ae *AuthError
	if !errors.As(err, &ae) {
		ae = r.errAt(nil, SchemeUnknown, 0, OpAcquireCredentials, 0, err)
	}
	ae.StatusCode = resp.StatusCode
	r.box.err = ae
}
