package httptestutil

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// An authSide names the fields and status of one side of HTTP
// authentication: the origin's (401, RFC 7235 §3.1) or a proxy's (407,
// §3.2).
type authSide struct {
	proxy         bool
	status        int
	authorization string // the client's field
	challenge     string // the server's field
}

var (
	originSide = authSide{status: http.StatusUnauthorized, authorization: "Authorization", challenge: "Www-Authenticate"}
	proxySide  = authSide{proxy: true, status: http.StatusProxyAuthRequired, authorization: "Proxy-Authorization", challenge: "Proxy-Authenticate"}
)

// authenticate runs the authentication of r's connection for side. It
// returns r with the authenticated user in its context and ok=true when the
// request may pass; otherwise it has written the challenge or the refusal.
// An origin's success carries "Persistent-Auth" when the connection stays
// authenticated and the final token (RFC 4559 §5); a proxy keeps every
// success per connection and sends no final token, as Squid does.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, side authSide) (*http.Request, bool) {
	cs := r.Context().Value(connKey{}).(*connState)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	s.bindConnection(cs, r)
	withUser := func(user string) *http.Request {
		return r.WithContext(context.WithValue(r.Context(), userKey{}, user))
	}
	withResult := func(res negotiateResult) *http.Request {
		ctx := context.WithValue(r.Context(), userKey{}, res.user)
		if res.delegated != "" {
			ctx = context.WithValue(ctx, delegatedKey{}, res.delegated)
		}
		return r.WithContext(ctx)
	}
	if cs.user != "" {
		s.authenticated.Add(1)
		return withUser(cs.user), true
	}
	scheme, token, ok := parseAuthorization(r.Header.Get(side.authorization))
	ok = ok && s.offers(scheme)
	if ok && strings.EqualFold(scheme, "Basic") {
		// Basic authenticates this request only (RFC 7617).
		if user, valid := s.basicUser(token); valid {
			s.handshakes.Add(1)
			s.authenticated.Add(1)
			return withUser(user), true
		}
		s.rejections.Add(1)
		w.Header().Set("X-Auth-Failure", "basic: unknown user or wrong password")
		s.challenge(w, side)
		return nil, false
	}
	if !ok {
		s.unauthenticated.Add(1)
		cs.ntlm, cs.spnego = nil, nil
		s.challenge(w, side)
		return nil, false
	}
	var res negotiateResult
	var err error
	if strings.EqualFold(scheme, "NTLM") {
		res.out, res.done, err = s.acceptNTLM(cs, token)
		res.user, res.bound = s.ntlmUser(cs, res.done), true
	} else {
		res, err = s.acceptNegotiate(cs, token)
	}
	switch {
	case err != nil:
		s.rejections.Add(1)
		cs.ntlm, cs.spnego = nil, nil
		w.Header().Set("X-Auth-Failure", err.Error())
		setFailureReason(w.Header(), err)
		if len(res.out) > 0 && !side.proxy {
			// A reject token (SPNEGO reject, a KRB-ERROR) says why.
			w.Header().Set(side.challenge, scheme+" "+base64.StdEncoding.EncodeToString(res.out))
			s.challenges.Add(1)
			w.WriteHeader(side.status)
			return nil, false
		}
		s.challenge(w, side)
		return nil, false
	case !res.done:
		w.Header().Set(side.challenge, scheme+" "+base64.StdEncoding.EncodeToString(res.out))
		if s.closeFaults.Add(-1) >= 0 {
			w.Header().Set("Connection", "close")
		}
		s.challenges.Add(1)
		w.WriteHeader(side.status)
		return nil, false
	}
	s.handshakes.Add(1)
	s.authenticated.Add(1)
	if side.proxy {
		cs.user = res.user
		return withResult(res), true
	}
	if res.bound {
		cs.user = res.user
		w.Header().Set("Persistent-Auth", "true")
	}
	if len(res.out) > 0 && !s.cfg.Faults.OmitFinalToken {
		w.Header().Set(side.challenge, s.finalToken(scheme, res.out))
	}
	return withResult(res), true
}

// challenge sends a bare challenge with one field line per scheme, as IIS
// sends them.
func (s *Server) challenge(w http.ResponseWriter, side authSide) {
	schemes := s.cfg.Schemes
	if schemes == nil {
		schemes = []string{"Negotiate", "NTLM"}
	}
	for _, sc := range schemes {
		w.Header().Add(side.challenge, sc)
	}
	s.challenges.Add(1)
	if s.bareFaults.Add(-1) >= 0 {
		w.Header().Set("Connection", "close")
	}
	w.WriteHeader(side.status)
}

// offers reports whether the server accepts answers in scheme: the
// schemes of Config.Schemes when set, else Negotiate and NTLM.
func (s *Server) offers(scheme string) bool {
	if s.cfg.Schemes == nil {
		return !strings.EqualFold(scheme, "Basic")
	}
	for _, sc := range s.cfg.Schemes {
		name, _, _ := strings.Cut(strings.TrimSpace(sc), " ")
		if strings.EqualFold(name, scheme) {
			return true
		}
	}
	return false
}

// basicUser checks Basic credentials (user:password, RFC 7617) against
// Config.Users and returns the user as User reports it.
func (s *Server) basicUser(token []byte) (string, bool) {
	name, pass, ok := strings.Cut(string(token), ":")
	if !ok {
		return "", false
	}
	domain, user, hasDomain := strings.Cut(name, `\`)
	if !hasDomain {
		domain, user = "", name
	}
	for n, p := range s.cfg.Users {
		d, u, ok := strings.Cut(n, `\`)
		if !ok {
			d, u = "", n
		}
		if strings.EqualFold(u, user) && (d == "" || strings.EqualFold(d, domain)) &&
			subtle.ConstantTimeCompare([]byte(p), []byte(pass)) == 1 {
			return name, true
		}
	}
	return "", false
}
