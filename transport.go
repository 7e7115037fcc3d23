// This file holds the Transport: its settings, RoundTrip and the choice
// between sending a request as it is, on an authenticated connection, or
// through a new handshake (handshake.go).

package negotiate

import (
	"context"
	"crypto/tls"
	"github.com/negotiate-go/negotiate/authscheme"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/negotiate-go/negotiate/internal/lru"
	"github.com/negotiate-go/negotiate/internal/mech"
)

// Leg limits.
const (
	// DefaultMaxLegs is the MaxLegs of a Transport that sets none: NTLM
	// needs 2 legs, Kerberos 1, NTLM inside SPNEGO 3.
	DefaultMaxLegs = 6
	// maxLegsCap bounds MaxLegs whatever it is set to.
	maxLegsCap = 16
	// DefaultMaxIdleConnsPerOrigin is the MaxIdleConnsPerOrigin of a
	// Transport that sets none. Authenticated connections cost a handshake
	// each, so more of them are kept than net/http keeps plain ones.
	DefaultMaxIdleConnsPerOrigin = 64
	// maxOrigins bounds what a Transport remembers of origins and proxies
	// (the scheme each asked for, HTTP/1.1 only): an origin forgotten is
	// asked unauthenticated first again, nothing worse.
	maxOrigins = 4096
	// defaultMaxIdleConns bounds the idle authenticated connections of a
	// Transport whose Base sets no MaxIdleConns: http.DefaultTransport's.
	defaultMaxIdleConns = 100
	// DefaultKDCTimeout is the KDCTimeout of a Transport that sets none.
	DefaultKDCTimeout = 5 * time.Second
)

// Transport is an http.RoundTripper that authenticates to servers that
// answer 401 with a Negotiate or NTLM challenge (and, over TLS when enabled,
// Basic).
//
// The zero value is ready to use: it sends requests through a clone of
// http.DefaultTransport and authenticates with no credentials until
// Credentials is set or a request carries some ([WithCredentials]).
// Fields must not be changed after the first request.
//
// A Transport is safe for concurrent use by multiple goroutines. It keeps
// authenticated connections (see [Transport.CloseIdleConnections]), so,
// like http.Transport, it should be reused rather than made per request.
//
// How a request travels:
//   - to an origin that has not asked for authentication, as it is, through
//     Base's connection pool (with "Expect: 100-continue" when its body
//     cannot be replayed, so a 401 arrives before the body is sent);
//   - on a 401 with a usable challenge, the handshake runs on a new
//     dedicated HTTP/1.1 connection, all legs on it; every leg that may
//     be the last carries the whole body, and the first NTLM leg carries
//     it too unless it is large, sent once only, or the request is
//     idempotent (see "Sending a request again" below);
//   - later requests of the same identity to that origin take an idle
//     authenticated connection, or start the handshake right away on a new
//     one, without asking unauthenticated first;
//   - an origin that refuses the first try over HTTP/2 with
//     HTTP_1_1_REQUIRED (IIS does, for Windows authentication) gets it
//     again over HTTP/1.1 and is remembered as HTTP/1.1 only;
//   - through an authenticating proxy (407), the proxy's handshake runs on
//     the same connection as the origin's, or on the CONNECT requests of
//     an HTTPS tunnel; see ProxyCredentials.
//
// Where it steps past the RoundTripper contract: to replay a request on each
// leg the Transport reads the request body ahead (see
// [Transport.MaxBodyBuffer]) and sends it again; it keeps connections of its
// own, outside Base's pool ([Transport.CloseIdleConnections] closes both).
// A final 401 is still a response, not an error; [ResponseError] tells why
// authentication did not succeed.
//
// Sending a request again: the Transport keeps net/http's guarantee. A
// request that may have reached the server's handler is sent again only if
// it is idempotent (GET, HEAD,
// OPTIONS, TRACE, or an Idempotency-Key or X-Idempotency-Key header), its
// body can be replayed and its context is live. A request that was not
// written, or that the server refused with a challenge, may go again, once.
// Otherwise the caller gets the real cause: net/http's "timeout awaiting
// response headers" (which matches context.DeadlineExceeded), the reset,
// the context's error.
//
// The first NTLM leg is sure to be answered with a challenge by a server
// that wants NTLM, so curl sends it without the body. A server that does
// not want authentication for that request serves it instead. So that it
// never serves a request that is not idempotent twice, or with a body other
// than the caller's, that leg carries the body when the request is not
// idempotent and its body is replayable and at most 64 KiB; otherwise it
// goes without, and if the server serves it, an idempotent request is sent
// again with its body, and any other fails with ErrBodyNotSent, with the
// server's answer in AuthError.Response, and is not sent again.
type Transport struct {
	// Base supplies dialing, TLS, proxy and timeout settings and carries
	// requests that need no authentication. Nil means a clone of
	// http.DefaultTransport. It is an *http.Transport, not any
	// RoundTripper, because a handshake needs dedicated connections
	// (http.Transport.NewClientConn) that a generic RoundTripper cannot give.
	Base *http.Transport

	// Credentials are used for requests whose context carries none. Nil
	// means no credentials: a challenge is then returned to the caller, and
	// ResponseError reports ErrNoCredentials.
	Credentials *Credentials

	// TrustHost reports whether credentials may also be sent to host (a
	// lower-cased host name without port) when http.Client reached it by
	// following a redirect to another origin (another scheme, host or
	// port). Nil trusts no other origin. Credentials never follow a
	// redirect from HTTPS to plain HTTP, whatever TrustHost says. Requests
	// the caller makes directly always get credentials.
	TrustHost func(host string) bool

	// Preference lists the schemes the Transport may answer an origin
	// with, best first: when a server offers several, the earliest listed
	// one it offers is used. A scheme not listed is never used, even when
	// it is all the server offers (the 401 is then returned, and
	// ResponseError reports ErrUnsupportedScheme); in particular Negotiate
	// falls back to raw NTLM only when NTLM is listed (NTLM inside SPNEGO
	// stays possible unless DisableNTLM). Listing Basic is not enough: it
	// also needs AllowBasic and TLS. Nil means
	// Negotiate, then NTLM, then Basic.
	Preference []Scheme

	// AllowBasic enables the Basic scheme, and then only over TLS: Basic
	// sends the password itself.
	AllowBasic bool

	// DisableNTLM forbids NTLM, raw or inside SPNEGO.
	DisableNTLM bool

	// MaxBodyBuffer is how many bytes of a request body without GetBody are
	// read ahead so that it can be sent again on a later leg. A larger body
	// is sent only once, on the leg expected to be the last; if it is needed
	// again, RoundTrip fails with ErrBodyNotReplayable. Zero means
	// DefaultMaxBodyBuffer (8 MiB); negative buffers nothing.
	MaxBodyBuffer int64

	// MaxLegs bounds the legs of one handshake. Zero means DefaultMaxLegs.
	MaxLegs int

	// MaxIdleConnsPerOrigin bounds the idle authenticated connections kept
	// per origin and identity. Zero means DefaultMaxIdleConnsPerOrigin.
	// Across all origins and identities, at most Base.MaxIdleConns (or 100
	// when that is zero) idle authenticated connections are kept, the
	// least recently used closed first, each for at most
	// Base.IdleConnTimeout (or 90 s).
	MaxIdleConnsPerOrigin int

	// MaxIdentities bounds the identities (see [Credentials]) whose
	// Kerberos tickets the Transport keeps; the least recently used is
	// forgotten first, and its tickets are got again if it comes back.
	// Zero means DefaultMaxIdentities.
	MaxIdentities int

	// Krb5Config is the path of the Kerberos configuration (krb5.conf,
	// with include and includedir honoured). "" means the file KRB5_CONFIG
	// names, else /etc/krb5.conf. It is read once, at the first Kerberos
	// authentication.
	Krb5Config string

	// SPN decides the service principal name Kerberos asks tickets for.
	SPN SPNPolicy

	// Mutual is the Kerberos mutual-authentication policy; the zero value
	// is MutualRequired.
	Mutual MutualAuth

	// Delegation says when Kerberos delegates the user's credentials to
	// the service; the zero value never does.
	Delegation Delegation

	// KDCTimeout bounds the KDC exchanges one request waits for, and
	// never more than half the time left before the request's deadline:
	// when no KDC answers in time, Kerberos counts as unavailable and NTLM,
	// if allowed, stands in. Where NTLM stands in, that failure is
	// remembered for a minute, so later connections do not wait again.
	// Zero means DefaultKDCTimeout.
	KDCTimeout time.Duration

	// DisableChannelBindings sends no channel bindings. By default, over
	// TLS, NTLM and Kerberos tokens are bound to the server certificate
	// the connection saw (tls-server-end-point, RFC 5929), as Extended
	// Protection for Authentication requires; a TLS-intercepting
	// middlebox breaks such bindings, and this is the way around it.
	DisableChannelBindings bool

	// SSPI says when Windows' own security packages authenticate; the
	// zero value uses them for DefaultCredentials only.
	SSPI SSPIPolicy

	// Preemptive sends a Negotiate (Kerberos) token on the first request
	// to an origin, before it asks, saving the round trip of the
	// unauthenticated try where every origin is known to use Kerberos.
	// Once an origin has asked for Negotiate, later requests to it send
	// the token on the first try whatever this says. A server that answers
	// without a token of its own is taken not to want authentication.
	Preemptive bool

	// ProxyPreference lists the schemes the Transport may answer a proxy
	// with, best first, as Preference does for origins: unlisted schemes
	// are never used. Nil means Preference.
	ProxyPreference []Scheme

	// ProxyCredentials authenticate to the proxy Base's Proxy func
	// chooses (by default the one HTTP_PROXY, HTTPS_PROXY and NO_PROXY
	// name), when it answers 407 with Negotiate or NTLM. Nil means the
	// proxy URL's user info, if any. They are sent to that proxy only,
	// never to an origin; origin credentials are never sent to a proxy.
	ProxyCredentials *Credentials

	once      sync.Once
	mech      *mech.Factory   // the mechanisms, with Kerberos clients per identity and SPNs
	base      *http.Transport // Base or the default
	hs        *http.Transport // base's clone for dedicated HTTP/1.1 connections
	pool      connPool
	known     *lru.Cache[string, originInfo] // origin, or "proxy " + proxy URL: what it asked for
	http1Only *lru.Cache[string, bool]       // origins that refused authentication over HTTP/2
}

func (t *Transport) init() {
	t.once.Do(func() {
		t.mech = t.newMech()
		t.known = lru.New[string, originInfo](maxOrigins)
		t.http1Only = lru.New[string, bool](maxOrigins)
		t.base = t.Base
		if t.base == nil {
			t.base = http.DefaultTransport.(*http.Transport).Clone()
		}
		t.pool.maxTotal = t.base.MaxIdleConns
		if t.pool.maxTotal <= 0 {
			t.pool.maxTotal = defaultMaxIdleConns
		}
		// Handshake connections speak HTTP/1.1: NTLM and Negotiate
		// authenticate a connection, IIS refuses them over HTTP/2, and an
		// h2 connection would multiplex other requests into a half-done
		// handshake.
		t.hs = t.base.Clone()
		var p http.Protocols
		p.SetHTTP1(true)
		t.hs.Protocols = &p
		if t.hs.TLSClientConfig != nil {
			t.hs.TLSClientConfig.NextProtos = nil
		}
		t.hs.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		t.hs.ForceAttemptHTTP2 = false
		// Through a proxy: plain HTTP goes in absolute form to the proxy
		// (user info removed); HTTPS goes through a CONNECT tunnel that
		// hsDial opens and authenticates, as net/http cannot.
		t.hs.Proxy = t.hsProxy
		t.hs.DialContext = t.hsDial
		// A body that can travel only once is probed for with "Expect:
		// 100-continue" through hs, so hs must wait for the answer.
		if t.hs.ExpectContinueTimeout <= 0 {
			t.hs.ExpectContinueTimeout = time.Second
		}
	})
}

func (t *Transport) maxLegs() int {
	switch {
	case t.MaxLegs <= 0:
		return DefaultMaxLegs
	case t.MaxLegs > maxLegsCap:
		return maxLegsCap
	}
	return t.MaxLegs
}

func (t *Transport) maxBody() int64 {
	if t.MaxBodyBuffer == 0 {
		return DefaultMaxBodyBuffer
	}
	return t.MaxBodyBuffer
}

func (t *Transport) maxIdle() int {
	if t.MaxIdleConnsPerOrigin <= 0 {
		return DefaultMaxIdleConnsPerOrigin
	}
	return t.MaxIdleConnsPerOrigin
}

func (t *Transport) idleTimeout() time.Duration {
	if t.base.IdleConnTimeout > 0 {
		return t.base.IdleConnTimeout
	}
	return 90 * time.Second
}

// CloseIdleConnections closes the idle authenticated connections and Base's
// idle connections.
func (t *Transport) CloseIdleConnections() {
	t.init()
	t.pool.closeIdle()
	t.base.CloseIdleConnections()
	t.hs.CloseIdleConnections()
}

// RoundTrip implements http.RoundTripper. It never changes req; each leg is
// a clone. A final 401 is returned as a response with a nil error; use
// [ResponseError] to learn why authentication did not succeed.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.init()
	box := new(failureBox)
	ctx := context.WithValue(req.Context(), failureKey{}, box)
	scheme := strings.ToLower(req.URL.Scheme)
	if scheme != "http" && scheme != "https" || req.Header.Get("Authorization") != "" {
		// Not ours to authenticate: another scheme, or the caller already
		// authorised the request.
		return t.base.RoundTrip(req)
	}
	creds := t.credentialsFor(req)
	denied := creds != nil && !t.hostAllowed(req)
	if denied {
		creds = nil
	}
	proxy, proxyCreds, err := t.proxyFor(req)
	if err != nil {
		// The RoundTripper contract: the body is closed even on errors.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if creds == nil && proxyCreds == nil {
		return t.unauthenticated(req.WithContext(ctx), denied, box)
	}
	body, err := newReplayBody(req, t.maxBody())
	if err != nil {
		return nil, err
	}
	rt := &roundTrip{
		t:          t,
		req:        req,
		ctx:        ctx,
		box:        box,
		creds:      creds,
		denied:     denied,
		body:       body,
		proxy:      proxy,
		proxyCreds: proxyCreds,
		key: poolKey{
			origin:        originOf(req.URL),
			identity:      t.identityOf(creds),
			proxyIdentity: t.identityOf(proxyCreds),
		},
	}
	if proxy != nil {
		rt.key.proxy = proxy.String()
	}
	resp, err := rt.run()
	if err != nil || resp == nil {
		body.close()
		return resp, err
	}
	if h, ok := resp.Body.(*closeHook); ok {
		// One wrapper does both: the connection's hook, then the body's.
		inner := h.hook
		h.hook = func() { inner(); body.close() }
		return resp, nil
	}
	resp.Body = &closeHook{ReadCloser: resp.Body, hook: body.close}
	return resp, nil
}

// unauthenticated sends req as it is, for a request that may not or cannot
// carry credentials, and records why when the server asks for them.
func (t *Transport) unauthenticated(req *http.Request, denied bool, box *failureBox) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	cs, perr := authscheme.ParseChallenges(resp.Header, "Www-Authenticate")
	if perr != nil || !offersOurs(cs) {
		return resp, nil
	}
	cause := ErrNoCredentials
	if denied {
		cause = ErrHostNotAllowed
	}
	box.err = &AuthError{Host: canonicalAddr(req.URL), Op: OpAcquireCredentials, StatusCode: resp.StatusCode, Err: cause}
	return resp, nil
}

// originInfo is what the Transport remembers of an origin that asked for
// authentication, so later requests skip the unauthenticated try.
type originInfo struct {
	scheme      Scheme // the scheme last used with it
	offeredNTLM bool   // it offered raw NTLM too
}

// offersScheme reports whether cs has a challenge for s.
func offersScheme(cs []authscheme.Challenge, s Scheme) bool {
	for _, c := range cs {
		if c.Kind() == s {
			return true
		}
	}
	return false
}

// offersOurs reports whether cs has a Negotiate or NTLM challenge.
func offersOurs(cs []authscheme.Challenge) bool {
	for _, c := range cs {
		if k := c.Kind(); k == SchemeNegotiate || k == SchemeNTLM {
			return true
		}
	}
	return false
}

// newConn dials a dedicated HTTP/1.1 connection for r's origin, through
// r's proxy if any, and records the TLS state the origin presented, for
// channel bindings.
func (t *Transport) newConn(ctx context.Context, r *roundTrip) (*authConn, error) {
	ac := &authConn{key: r.key, fresh: true}
	// The trace hook sees the TLS state as the connection is made, before
	// any request: the first leg's token can then carry channel bindings.
	trace := &httptrace.ClientTrace{TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
		if err == nil {
			ac.tls = &cs
		}
	}}
	ctx = httptrace.WithClientTrace(ctx, trace)
	scheme, addr := strings.ToLower(r.req.URL.Scheme), canonicalAddr(r.req.URL)
	var tunnel net.Conn
	if r.proxy != nil {
		if scheme == "https" {
			conn, err := r.tunnel(ctx, addr)
			if err != nil {
				return nil, err
			}
			tunnel = conn
			ctx = withDialled(ctx, addr, conn)
		} else {
			ac.viaProxy = true
		}
	}
	cc, err := t.hs.NewClientConn(ctx, scheme, addr)
	if err != nil {
		if tunnel != nil {
			tunnel.Close() // net/http may not have taken it
		}
		return nil, err
	}
	ac.cc = cc
	return ac, nil
}

// closeHook calls hook once, after the body is closed.
type closeHook struct {
	io.ReadCloser
	once sync.Once
	hook func()
}

func (c *closeHook) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(c.hook)
	return err
}
