// This file implements the SPNEGO initiator (RFC 4178 §3.2, MS-SPNG §3.1):
// the gss.Context behind the "Negotiate" HTTP scheme (RFC 4559), which
// offers the caller's candidate mechanisms, runs the one the acceptor
// selects and protects the negotiation with the mechListMIC.

package spnego

import (
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// A Mech is a candidate mechanism for an Initiator.
type Mech struct {
	// OIDs are the mechanism's OIDs as listed in mechTypes, in order; all of
	// them map to the one context New makes. Kerberos lists OIDMSKerberos
	// then OIDKerberos, as Windows does (MS-SPNG §3.1.5.2). The first OID
	// is the one the optimistic token is for.
	OIDs []asn1.ObjectIdentifier
	// New makes the mechanism's context. It is called lazily: for the
	// first usable mechanism when the Initiator starts, and for another
	// one only if the acceptor selects it.
	New func() (gss.MICContext, error)
}

// initiator states; see the state machine in the Initiator comment.
type initState int

const (
	stStart       initState = iota // Step(nil) not yet called
	stInitSent                     // NegTokenInit sent, first reply awaited
	stNegotiating                  // first NegTokenResp seen
	stRaw                          // the acceptor answered with bare mechanism tokens
	stDone                         // complete
	stFailed                       // an error ended the exchange
)

// An Initiator is the client side of SPNEGO: a gss.Context for the
// "Negotiate" HTTP authentication scheme over candidate mechanisms in
// preference order. Make one with NewInitiator for each exchange. Like any
// gss.Context it is used by one goroutine at a time.
//
// State machine (RFC 4178 §3.2 and §5, MS-SPNG §3.1.5):
//
//	start --Step(nil)--> init-sent
//	    Try the candidates in order: construct the mechanism and take its
//	    first token. A failure that means "this mechanism cannot be used
//	    here" (gss.ErrNoCredentials, ErrUnknownPrincipal, ErrNoSPN,
//	    ErrKDCUnreachable) drops that candidate and tries the next; any
//	    other error ends the exchange. If none is left, the error wraps the
//	    FIRST candidate's cause. Send NegTokenInit{mechTypes: the OIDs of
//	    the remaining candidates, mechToken: the first one's token}.
//	    continueNeeded is true.
//	init-sent --first reply--> negotiating | raw | done | failed
//	    negState reject: fail, wrapping gss.ErrRejected (and the
//	    mechanism's own error if the reply carried a mechanism token, e.g.
//	    a KRB-ERROR). supportedMech naming another candidate we listed: drop
//	    the optimistic context, construct the selected one and send its
//	    first token in a NegTokenResp; the mechListMIC is then required.
//	    supportedMech naming anything we did not list: fail with
//	    gss.ErrUnsupportedMech. request-mic: the mechListMIC is required.
//	    Otherwise process the reply as in "negotiating".
//	    A bare Kerberos token (when the optimistic mechanism is Kerberos) or
//	    a bare NTLMSSP message (when it is NTLM) instead of a NegTokenResp
//	    switches to "raw": some servers (IIS's NTLM path, Wine's SSPI) drop
//	    the SPNEGO wrapping in their replies. There is no mechListMIC in
//	    raw mode, and every later token is passed to the mechanism as is.
//	negotiating --reply--> negotiating | done | failed
//	    Feed responseToken to the mechanism. Verify a mechListMIC from the
//	    acceptor with the mechanism's VerifyMIC over the DER MechTypeList
//	    exactly as we sent it (a failure wraps gss.ErrMutualAuth).
//	    accept-completed: done, provided the mechanism has no token left
//	    to send and, when the mechListMIC is required, the acceptor's MIC
//	    was verified. A required MIC that never came is an error wrapping
//	    gss.ErrMutualAuth: the acceptor did not prove that the mechanism
//	    list reached it untampered, so a downgrade cannot be ruled out.
//	    accept-incomplete (or request-mic, or no negState): send a
//	    NegTokenResp with the mechanism's next token and, once the
//	    mechanism is complete, our mechListMIC if it is required or the
//	    acceptor sent its own. With no negState, and nothing left to send,
//	    the state is inferred as accept-completed (RFC 4178 §4.2.2).
//	raw --token--> raw | done
//	    The mechanism alone decides.
//
// The mechListMIC is required (RFC 4178 §5, MS-SPNG §3.1.5.1) when the
// selected mechanism is not the first we listed, or when the acceptor asks
// with request-mic. The two Kerberos OIDs count as one mechanism.
//
// continueNeeded is true as long as the mechanism wants another token or
// we still expect the acceptor's final NegTokenResp. An acceptor may answer
// accept-completed without the mechanism's final token (a Kerberos AP-REP
// for mutual authentication); then Step reports completion while
// MechComplete reports false, and the caller decides whether mutual
// authentication is required. An empty input token after the first Step
// means the server gave up (a bare "Negotiate" on a 401): an error wrapping
// gss.ErrRejected.
type Initiator struct {
	mechs []Mech

	state        initState
	err          error  // why the exchange failed, in stFailed
	dropped      error  // causes of candidates dropped at the start
	listed       []Mech // candidates listed in mechTypes
	mechTypesDER []byte // the MechTypeList exactly as sent
	cur          gss.MICContext
	curIdx       int // index of cur in listed
	selected     asn1.ObjectIdentifier
	mechDone     bool // cur reported continueNeeded == false
	micRequired  bool
	micSent      bool
	peerMIC      bool // the acceptor's mechListMIC was verified
}

// NewInitiator returns an Initiator over mechs, most preferred first. Each
// Mech must have at least one OID and a New function.
func NewInitiator(mechs []Mech) *Initiator {
	return &Initiator{mechs: mechs}
}

// Selected returns the mechanism OID in use: the acceptor's supportedMech
// once it has answered, the OID of the optimistic mechanism before that, and
// nil before the first Step.
func (i *Initiator) Selected() asn1.ObjectIdentifier { return i.selected }

// Mech returns the inner mechanism context in use (nil before the first
// Step), so that the caller can ask it, say, whether Kerberos mutual
// authentication was verified.
func (i *Initiator) Mech() gss.Context {
	if i.cur == nil {
		return nil
	}
	return i.cur
}

// MechComplete reports whether the inner mechanism has completed. It can be
// false after SPNEGO completes when the acceptor omitted the mechanism's
// final token; see the Initiator comment.
func (i *Initiator) MechComplete() bool { return i.mechDone }

// Dropped returns why candidates were skipped at the start (for a
// diagnostic such as "Kerberos: no ticket cache; using NTLM"), or nil.
func (i *Initiator) Dropped() error { return i.dropped }

// fallback reports whether err means that a mechanism cannot be used here,
// so the next candidate should be tried, as SSPI's Negotiate package does.
func fallback(err error) bool {
	return errors.Is(err, gss.ErrNoCredentials) || errors.Is(err, gss.ErrUnknownPrincipal) ||
		errors.Is(err, gss.ErrNoSPN) || errors.Is(err, gss.ErrKDCUnreachable)
}

// fail ends the exchange with err.
func (i *Initiator) fail(err error) ([]byte, bool, error) {
	i.state, i.err = stFailed, err
	return nil, false, err
}

// mechName names the candidate m for error messages.
func mechName(m Mech) string {
	if len(m.OIDs) == 0 {
		return "mechanism"
	}
	return MechName(m.OIDs[0])
}

// Step implements gss.Context.
func (i *Initiator) Step(ctx context.Context, in []byte) ([]byte, bool, error) {
	switch i.state {
	case stStart:
		return i.start(ctx, in)
	case stDone:
		return nil, false, errors.New("negotiate: spnego: Step called on a complete context")
	case stFailed:
		return nil, false, fmt.Errorf("negotiate: spnego: Step called after failure: %w", i.err)
	}
	if len(in) == 0 {
		return i.fail(fmt.Errorf("negotiate: spnego: the server sent no token in the middle of the exchange: %w", gss.ErrRejected))
	}
	if i.state == stInitSent {
		if m := rawMech(in); m != nil {
			if !i.has(i.curIdx, m) {
				return i.fail(malformed("reply", fmt.Errorf("bare %s token, but the optimistic mechanism is %s", MechName(m), mechName(i.listed[i.curIdx]))))
			}
			i.state, i.selected = stRaw, m
		}
	}
	if i.state == stRaw {
		out, cont, err := i.cur.Step(ctx, in)
		if err != nil {
			return i.fail(err)
		}
		i.mechDone = !cont
		if !cont {
			i.state = stDone
		}
		return out, cont, nil
	}
	init, resp, err := decodeToken(in)
	if err != nil {
		return i.fail(err)
	}
	if init != nil {
		return i.fail(malformed("reply", errors.New("negTokenInit where a negTokenResp was expected")))
	}
	return i.reply(ctx, resp)
}

// start makes the first token; see the state machine.
func (i *Initiator) start(ctx context.Context, in []byte) ([]byte, bool, error) {
	if len(in) > 0 {
		// A server may send a NegTokenInit2 hint with its challenge
		// (MS-SPNG §3.2.5.2); its mechanism list is advisory and ignored.
		init, _, err := decodeToken(in)
		if err != nil {
			return i.fail(err)
		}
		if init == nil {
			return i.fail(malformed("challenge", errors.New("negTokenResp before any negTokenInit")))
		}
	}
	var causes []string
	var first error
	for idx, m := range i.mechs {
		if len(m.OIDs) == 0 || m.New == nil {
			return i.fail(errors.New("negotiate: spnego: a candidate mechanism has no OID or constructor"))
		}
		c, err := m.New()
		var out []byte
		cont := false
		if err == nil {
			out, cont, err = c.Step(ctx, nil)
			if err == nil && len(out) == 0 {
				err = fmt.Errorf("negotiate: spnego: %s made no initial token", mechName(m))
			}
		}
		if err != nil {
			if !fallback(err) {
				return i.fail(err)
			}
			if first == nil {
				first = fmt.Errorf("%s: %w", mechName(m), err)
			} else {
				causes = append(causes, fmt.Sprintf("%s: %v", mechName(m), err))
			}
			continue
		}
		if first != nil {
			i.dropped = first
			if len(causes) > 0 {
				i.dropped = fmt.Errorf("%w; %s", first, strings.Join(causes, "; "))
			}
		}
		i.listed = append([]Mech(nil), i.mechs[idx:]...)
		var oids []asn1.ObjectIdentifier
		for _, l := range i.listed {
			oids = append(oids, l.OIDs...)
		}
		if i.mechTypesDER, err = encodeMechTypes(oids); err != nil {
			return i.fail(err)
		}
		i.cur, i.curIdx, i.selected, i.mechDone = c, 0, m.OIDs[0], !cont
		i.state = stInitSent
		return encodeInit(i.mechTypesDER, out), true, nil
	}
	if first == nil {
		return i.fail(fmt.Errorf("negotiate: spnego: no candidate mechanisms: %w", gss.ErrUnsupportedMech))
	}
	msg := ""
	if len(causes) > 0 {
		msg = " (then " + strings.Join(causes, "; ") + ")"
	}
	return i.fail(fmt.Errorf("negotiate: spnego: no usable mechanism: %w%s", first, msg))
}

// has reports whether listed[idx] has an OID naming the same mechanism as oid.
func (i *Initiator) has(idx int, oid asn1.ObjectIdentifier) bool {
	for _, o := range i.listed[idx].OIDs {
		if sameMech(o, oid) {
			return true
		}
	}
	return false
}

// find returns the index in listed of the mechanism oid names, or -1.
func (i *Initiator) find(oid asn1.ObjectIdentifier) int {
	for idx := range i.listed {
		if i.has(idx, oid) {
			return idx
		}
	}
	return -1
}

// reply processes a NegTokenResp from the acceptor.
func (i *Initiator) reply(ctx context.Context, r *negTokenResp) ([]byte, bool, error) {
	first := i.state == stInitSent
	i.state = stNegotiating
	name := mechName(i.listed[i.curIdx])

	if r.hasNegState && r.negState == Reject {
		// The acceptor may explain itself in a mechanism token (a
		// KRB-ERROR, say); let the mechanism translate it.
		if r.responseToken != nil && !i.mechDone && (r.supportedMech == nil || i.has(i.curIdx, r.supportedMech)) {
			if _, _, err := i.cur.Step(ctx, r.responseToken); err != nil {
				return i.fail(fmt.Errorf("negotiate: spnego: the server rejected %s: %w: %w", name, gss.ErrRejected, err))
			}
		}
		return i.fail(fmt.Errorf("negotiate: spnego: the server rejected %s: %w", name, gss.ErrRejected))
	}

	var out []byte
	if first {
		if !r.hasNegState {
			// RFC 4178 §4.2.2: negState is REQUIRED in the first reply.
			return i.fail(malformed("reply", errors.New("first reply without negState")))
		}
		if r.supportedMech != nil {
			idx := i.find(r.supportedMech)
			if idx < 0 {
				return i.fail(fmt.Errorf("negotiate: spnego: the server selected %s, which was not offered: %w", MechName(r.supportedMech), gss.ErrUnsupportedMech))
			}
			i.selected = r.supportedMech
			if idx != i.curIdx {
				return i.switchMech(ctx, idx, r)
			}
		}
		if r.negState == RequestMIC {
			i.micRequired = true
		}
	} else {
		if r.supportedMech != nil && !i.has(i.curIdx, r.supportedMech) {
			return i.fail(malformed("reply", errors.New("supportedMech changed mid-exchange")))
		}
		if r.hasNegState && r.negState == RequestMIC {
			i.micRequired = true
		}
	}

	if r.responseToken != nil {
		if i.mechDone {
			return i.fail(malformed("reply", fmt.Errorf("a %s token after the mechanism completed", name)))
		}
		o, cont, err := i.cur.Step(ctx, r.responseToken)
		if err != nil {
			return i.fail(err)
		}
		out, i.mechDone = o, !cont
	}
	if r.mechListMIC != nil {
		if !i.mechDone {
			return i.fail(malformed("reply", errors.New("mechListMIC before the mechanism completed")))
		}
		if err := i.cur.VerifyMIC(i.mechTypesDER, r.mechListMIC); err != nil {
			return i.fail(fmt.Errorf("negotiate: spnego: the server's mechListMIC does not verify (%v): %w", err, gss.ErrMutualAuth))
		}
		i.peerMIC = true
	}

	if r.hasNegState && r.negState == AcceptCompleted {
		if len(out) > 0 {
			return i.fail(malformed("reply", fmt.Errorf("accept-completed, but %s has another token to send", name)))
		}
		if r.responseToken != nil && !i.mechDone {
			return i.fail(malformed("reply", fmt.Errorf("accept-completed, but %s is not complete", name)))
		}
		return i.complete()
	}
	return i.send(out, !r.hasNegState)
}

// switchMech starts listed[idx], which the acceptor selected in its first
// reply instead of our optimistic mechanism (RFC 4178 §3.2 step 3).
func (i *Initiator) switchMech(ctx context.Context, idx int, r *negTokenResp) ([]byte, bool, error) {
	if r.negState == AcceptCompleted || r.responseToken != nil || r.mechListMIC != nil {
		return i.fail(malformed("reply", errors.New("the server selected another mechanism but sent it tokens already")))
	}
	m := i.listed[idx]
	i.cur, i.mechDone = nil, false // discard the optimistic context
	c, err := m.New()
	if err != nil {
		return i.fail(err)
	}
	out, cont, err := c.Step(ctx, nil)
	if err != nil {
		return i.fail(err)
	}
	i.cur, i.curIdx, i.mechDone = c, idx, !cont
	// RFC 4178 §5: the selected mechanism is not the one we preferred, so
	// the MIC exchange is required to detect a downgrade.
	i.micRequired = true
	return i.send(out, false)
}

// send returns a NegTokenResp carrying out and, once the mechanism is
// complete, our mechListMIC when it is owed. With nothing to send and
// inferComplete set (the reply had no negState), the exchange is complete.
func (i *Initiator) send(out []byte, inferComplete bool) ([]byte, bool, error) {
	var mic []byte
	if i.mechDone && !i.micSent && (i.micRequired || i.peerMIC) {
		var err error
		if mic, err = i.cur.GetMIC(i.mechTypesDER); err != nil {
			return i.fail(err)
		}
		i.micSent = true
	}
	if len(out) == 0 && mic == nil {
		if inferComplete && i.mechDone {
			return i.complete()
		}
		return i.fail(malformed("reply", errors.New("the server expects more, but there is nothing to send")))
	}
	r := negTokenResp{mechListMIC: mic}
	if len(out) > 0 {
		r.responseToken = out
	}
	tok, err := r.encode()
	if err != nil {
		return i.fail(err)
	}
	return tok, true, nil
}

// complete ends a successful exchange, checking that a required
// mechListMIC came from the acceptor.
func (i *Initiator) complete() ([]byte, bool, error) {
	if i.micRequired && !i.peerMIC {
		return i.fail(fmt.Errorf("negotiate: spnego: the server sent no mechListMIC though the negotiation required one: %w", gss.ErrMutualAuth))
	}
	i.state = stDone
	return nil, false, nil
}
