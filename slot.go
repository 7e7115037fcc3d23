// This file holds a slot: one authentication running on a connection, to
// the origin (401, WWW-Authenticate, Authorization) or to a proxy (407,
// Proxy-Authenticate, Proxy-Authorization). A request through an
// authenticating proxy to an authenticating origin runs both on one
// connection, each at its own pace.

package negotiate

import (
	"crypto/tls"
	"encoding/base64"
	"github.com/negotiate-go/negotiate/authscheme"
	"net/http"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/mech"
)

type slot struct {
	proxy  bool
	scheme Scheme
	sec    mech.Context // nil until the slot starts
	cont   bool         // the context expects another token
	out    []byte       // token to send on the next leg; nil: none
	legs   int          // legs that carried a token of this context
	sent   []byte       // the token the latest leg carried, for the trace
	// startErr is why the context could not start for a peer known to
	// want authentication (see startKnown).
	startErr error
}

// challengeField and authorizationField name the slot's HTTP fields.
func (s *slot) challengeField() string {
	if s.proxy {
		return "Proxy-Authenticate"
	}
	return "Www-Authenticate"
}

func (s *slot) authorizationField() string {
	if s.proxy {
		return "Proxy-Authorization"
	}
	return "Authorization"
}

// close releases the slot's context if it holds operating-system resources
// (an SSPI context handle); it is a no-op otherwise, and safe to repeat.
func (s *slot) close() {
	if s.sec != nil {
		s.sec.Close()
	}
}

// started reports whether the slot has a context.
func (s *slot) started() bool { return s.sec != nil }

// announcesChallenge reports whether the slot's pending token is sure to be
// answered with a challenge (the first NTLM message), so the leg carrying
// it can go without the body.
func (s *slot) announcesChallenge() bool {
	return s.out != nil && s.legs == 0 && s.sec.FirstLegChallenged()
}

// apply puts the pending token, if any, on leg.
func (s *slot) apply(leg *http.Request) {
	s.sent = s.out
	if s.out == nil {
		return
	}
	leg.Header.Set(s.authorizationField(), s.scheme.String()+" "+base64.StdEncoding.EncodeToString(s.out))
	s.legs++
	s.out = nil
}

// challenges parses the slot's challenge field of resp, once per response
// and field however often it is asked: a hostile header costs one bounded
// parse (see authscheme.MaxChallengeBytes).
func (r *roundTrip) challenges(s *slot, resp *http.Response) ([]authscheme.Challenge, error) {
	field := s.challengeField()
	if r.parsedResp != resp {
		r.parsedResp, r.parsed = resp, r.parsed[:0]
	}
	for _, p := range r.parsed {
		if p.field == field {
			return p.cs, p.err
		}
	}
	cs, err := authscheme.ParseChallenges(resp.Header, field)
	r.parsed = append(r.parsed, parsedField{field, cs, err})
	return cs, err
}

// parsedField is the parse of one challenge field of a response.
type parsedField struct {
	field string
	cs    []authscheme.Challenge
	err   error
}

// target returns what a slot authenticates to: the URL (for the SPN and
// NTLM's target name), the credentials, and the TLS state for channel
// bindings. A proxy spoken to in plain HTTP has no TLS state.
func (r *roundTrip) target(s *slot, ac *authConn) (*url.URL, *Credentials, *tls.ConnectionState) {
	if s.proxy {
		return r.proxy, r.proxyCreds, nil
	}
	var st *tls.ConnectionState
	if ac != nil {
		st = ac.tls
	}
	return r.req.URL, r.creds, st
}

// identityFor returns the identity the slot authenticates as: the one
// the connection is pooled under.
func (r *roundTrip) identityFor(s *slot) identity {
	if s.proxy {
		return r.key.proxyIdentity
	}
	return r.key.identity
}

// memoryKey is where the Transport remembers what the slot's peer asked
// for: the origin, or the proxy.
func (r *roundTrip) memoryKey(s *slot) string {
	if s.proxy {
		return "proxy " + r.key.proxy
	}
	return r.key.origin
}

// start makes the slot's context for scheme and its first token.
func (r *roundTrip) start(s *slot, scheme Scheme, ac *authConn) error {
	u, creds, st := r.target(s, ac)
	var offeredNTLM bool
	if v, ok := r.t.known.Get(r.memoryKey(s)); ok {
		offeredNTLM = v.offeredNTLM
	}
	rawNTLM := offeredNTLM && r.t.prefers(s.proxy, SchemeNTLM)
	sec, scheme, err := r.t.newContext(r.ctx, scheme, creds, r.identityFor(s), mech.Target{URL: u, TLS: st, Proxy: s.proxy, RawNTLM: rawNTLM})
	if err != nil {
		return r.failure(s, scheme, 1, OpAcquireCredentials, 0, err)
	}
	out, cont, err := sec.Step(r.ctx, nil)
	if err != nil {
		return r.failure(s, scheme, 1, OpInitializeContext, 0, sec.Explain(err))
	}
	s.scheme, s.sec, s.out, s.cont, s.legs = scheme, sec, out, cont, 0
	return nil
}

// remember records that the slot's peer asked for scheme, offering cs.
func (r *roundTrip) remember(s *slot, scheme Scheme, cs []authscheme.Challenge) {
	r.t.known.Put(r.memoryKey(s), originInfo{scheme: scheme, offeredNTLM: offersScheme(cs, SchemeNTLM)})
}

// settled records the scheme that authenticated with the slot's peer,
// keeping what it offered.
func (r *roundTrip) settled(s *slot) {
	key := r.memoryKey(s)
	info := originInfo{scheme: s.scheme}
	if v, ok := r.t.known.Get(key); ok {
		info.offeredNTLM = v.offeredNTLM
	}
	r.t.known.Put(key, info)
}
