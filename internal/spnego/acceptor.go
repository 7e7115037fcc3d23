// This file implements the SPNEGO acceptor (RFC 4178 §3.2, MS-SPNG §3.2),
// which backs the package's Negotiate test servers. It wraps server-side
// mechanisms behind the AcceptorMech interface.

package spnego

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// An AcceptorMech is the server side of one mechanism for one exchange.
type AcceptorMech interface {
	// Accept consumes a token from the initiator and returns the token to
	// send back (nil for none) and whether the mechanism is complete.
	Accept(token []byte) (out []byte, done bool, err error)
	// GetMIC returns the acceptor's integrity token for msg.
	GetMIC(msg []byte) ([]byte, error)
	// VerifyMIC checks the initiator's integrity token for msg.
	VerifyMIC(msg, mic []byte) error
}

// An Acceptor is the server side of SPNEGO. Its fields are read-only once
// contexts are made from it, so it can be shared by concurrent goroutines.
// The zero value supports no mechanism and rejects everything.
type Acceptor struct {
	// Mechs maps mechanism OIDs (in dotted form, asn1.ObjectIdentifier's
	// String) to constructors of a fresh AcceptorMech. A Kerberos entry
	// under either Kerberos OID serves both.
	Mechs map[string]func() (AcceptorMech, error)
	// Prefer lists OIDs in the acceptor's order of preference: the first
	// of them the initiator offers is selected. When none is offered (or
	// Prefer is empty), the first offered mechanism in Mechs is selected.
	Prefer []asn1.ObjectIdentifier
	// RequireMIC always demands the mechListMIC exchange, as gss-ntlmssp
	// does, even when the initiator's first mechanism is selected.
	RequireMIC bool
}

// An AcceptorContext is one SPNEGO exchange on the acceptor's side (for
// NTLM, one per TCP connection). It is used by one goroutine at a time.
type AcceptorContext struct {
	a            *Acceptor
	started      bool
	finished     bool
	mech         AcceptorMech
	mechOID      asn1.ObjectIdentifier // as the initiator listed it
	mechTypesDER []byte
	mechDone     bool
	micRequired  bool
	micSent      bool
	peerMIC      bool // the initiator's MIC was verified
}

// NewContext returns a context for one exchange.
func (a *Acceptor) NewContext() *AcceptorContext {
	return &AcceptorContext{a: a}
}

// lookup returns the constructor for oid, treating the Kerberos OIDs as one.
func (a *Acceptor) lookup(oid asn1.ObjectIdentifier) func() (AcceptorMech, error) {
	if f := a.Mechs[oid.String()]; f != nil {
		return f
	}
	if isKerberos(oid) {
		if f := a.Mechs[OIDKerberos.String()]; f != nil {
			return f
		}
		return a.Mechs[OIDMSKerberos.String()]
	}
	return nil
}

// choose returns the index in offered of the mechanism to select, or -1.
func (a *Acceptor) choose(offered []asn1.ObjectIdentifier) int {
	for _, p := range a.Prefer {
		for i, o := range offered {
			if sameMech(p, o) && a.lookup(o) != nil {
				return i
			}
		}
	}
	for i, o := range offered {
		if a.lookup(o) != nil {
			return i
		}
	}
	return -1
}

// rejectToken is NegTokenResp{negState: reject}, carrying the mechanism's
// error token when it made one (a KRB-ERROR saying, say, clock skew), as
// Windows and MIT acceptors send it, so the initiator can tell why.
func rejectToken(mechErr []byte) []byte {
	b, _ := (&negTokenResp{hasNegState: true, negState: Reject, responseToken: mechErr}).encode()
	return b
}

// mechFailure is a mechanism's failure with the error token it made.
type mechFailure struct {
	err   error
	token []byte
}

func (m *mechFailure) Error() string { return m.err.Error() }
func (m *mechFailure) Unwrap() error { return m.err }

// mechAccept runs the mechanism, keeping its error token on failure.
func (c *AcceptorContext) mechAccept(tok []byte) ([]byte, bool, error) {
	out, done, err := c.mech.Accept(tok)
	if err != nil {
		return nil, false, &mechFailure{err: fmt.Errorf("negotiate: spnego: %s: %w: %w", MechName(c.mechOID), gss.ErrRejected, err), token: out}
	}
	return out, done, nil
}

// Accept consumes a token from the initiator and returns the token to send
// back and whether the exchange is complete. On error, out is a reject
// token the server may send to the client, and the context is finished.
// A malformed token's error wraps gss.ErrMalformedToken, a failed
// mechListMIC check gss.ErrMutualAuth, no common mechanism
// gss.ErrUnsupportedMech, and a failure of the mechanism gss.ErrRejected.
func (c *AcceptorContext) Accept(token []byte) (out []byte, done bool, err error) {
	if c.finished {
		return nil, false, errors.New("negotiate: spnego: Accept called on a finished context")
	}
	out, done, err = c.accept(token)
	if err != nil {
		c.finished = true
		var mf *mechFailure
		if errors.As(err, &mf) {
			return rejectToken(mf.token), false, mf.err
		}
		return rejectToken(nil), false, err
	}
	c.finished = done
	return out, done, nil
}

func (c *AcceptorContext) accept(token []byte) ([]byte, bool, error) {
	init, resp, err := decodeToken(token)
	if err != nil {
		return nil, false, err
	}
	if !c.started {
		if init == nil {
			return nil, false, malformed("first token", errors.New("not a negTokenInit"))
		}
		c.started = true
		return c.first(init)
	}
	if resp == nil {
		return nil, false, malformed("token", errors.New("negTokenInit after the first token"))
	}
	if resp.hasNegState && resp.negState == Reject {
		return nil, false, fmt.Errorf("negotiate: spnego: the client gave up: %w", gss.ErrRejected)
	}
	var out []byte
	if resp.responseToken != nil {
		if c.mechDone {
			return nil, false, malformed("token", errors.New("a mechanism token after the mechanism completed"))
		}
		if out, c.mechDone, err = c.mechAccept(resp.responseToken); err != nil {
			return nil, false, err
		}
	}
	if resp.mechListMIC != nil {
		if err := c.verifyMIC(resp.mechListMIC); err != nil {
			return nil, false, err
		}
	} else if c.micRequired && c.mechDone && resp.responseToken != nil && len(out) == 0 {
		// RFC 4178 §5 (c): the initiator sent the last mechanism token
		// after our request-mic, so it MUST have included its MIC.
		return nil, false, fmt.Errorf("negotiate: spnego: the client sent no mechListMIC though the negotiation required one: %w", gss.ErrMutualAuth)
	}
	return c.respond(out, false)
}

// first handles the initiator's NegTokenInit.
func (c *AcceptorContext) first(init *negTokenInit) ([]byte, bool, error) {
	if len(init.mechTypes) == 0 {
		return nil, false, malformed("negTokenInit", errors.New("no mechTypes"))
	}
	c.mechTypesDER = init.mechTypesDER
	idx := c.a.choose(init.mechTypes)
	if idx < 0 {
		return nil, false, fmt.Errorf("negotiate: spnego: none of the client's mechanisms is supported: %w", gss.ErrUnsupportedMech)
	}
	c.mechOID = init.mechTypes[idx]
	m, err := c.a.lookup(c.mechOID)()
	if err != nil {
		return nil, false, err
	}
	c.mech = m
	// RFC 4178 §5: the MIC exchange is required unless the selected
	// mechanism is the initiator's first (the two Kerberos OIDs being one).
	c.micRequired = c.a.RequireMIC || !sameMech(c.mechOID, init.mechTypes[0])

	var out []byte
	// The optimistic token is for the initiator's first mechanism only
	// (RFC 4178 §3.2 step 2); otherwise it is ignored.
	if init.mechToken != nil && sameMech(c.mechOID, init.mechTypes[0]) {
		if out, c.mechDone, err = c.mechAccept(init.mechToken); err != nil {
			return nil, false, err
		}
	}
	return c.respond(out, true)
}

// verifyMIC checks the initiator's mechListMIC over the MechTypeList
// exactly as it was received.
func (c *AcceptorContext) verifyMIC(mic []byte) error {
	if !c.mechDone {
		return malformed("token", errors.New("mechListMIC before the mechanism completed"))
	}
	if err := c.mech.VerifyMIC(c.mechTypesDER, mic); err != nil {
		return fmt.Errorf("negotiate: spnego: the client's mechListMIC does not verify (%v): %w", err, gss.ErrMutualAuth)
	}
	c.peerMIC = true
	return nil
}

// respond builds the NegTokenResp after a token was processed. The first
// reply names the selected mechanism and says request-mic when the MIC
// exchange is required and still outstanding (RFC 4178 §4.2.2).
func (c *AcceptorContext) respond(out []byte, first bool) ([]byte, bool, error) {
	r := negTokenResp{hasNegState: true, negState: AcceptIncomplete}
	if first {
		r.supportedMech = c.mechOID
	}
	if len(out) > 0 {
		r.responseToken = out
	}
	done := false
	switch {
	case !c.mechDone:
		// More mechanism tokens to come.
	case c.micRequired && !c.peerMIC:
		// RFC 4178 §5 (b): send our MIC now, with the last mechanism
		// token if any, and wait for the initiator's.
		if err := c.addMIC(&r); err != nil {
			return nil, false, err
		}
		if r.mechListMIC == nil && len(out) == 0 {
			// Nothing new to say: the client owes its MIC.
			return nil, false, malformed("token", errors.New("the required mechListMIC is missing"))
		}
	default:
		// Complete. Return our MIC if the exchange is required or the
		// initiator sent one (RFC 4178 §5 (c)).
		if c.micRequired || c.peerMIC {
			if err := c.addMIC(&r); err != nil {
				return nil, false, err
			}
		}
		r.negState, done = AcceptCompleted, true
	}
	if !done && first && c.micRequired {
		r.negState = RequestMIC
	}
	b, err := r.encode()
	if err != nil {
		return nil, false, err
	}
	return b, done, nil
}

// addMIC puts our mechListMIC into r unless it was sent already.
func (c *AcceptorContext) addMIC(r *negTokenResp) error {
	if c.micSent {
		return nil
	}
	mic, err := c.mech.GetMIC(c.mechTypesDER)
	if err != nil {
		return fmt.Errorf("negotiate: spnego: %s cannot make a mechListMIC: %w", MechName(c.mechOID), err)
	}
	r.mechListMIC, c.micSent = mic, true
	return nil
}
