package httptestutil

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf16"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/negotiate-go/negotiate/internal/krbacceptor"
	"github.com/negotiate-go/negotiate/internal/ntlmacceptor"
	"github.com/negotiate-go/negotiate/internal/spnego"
	"golang.org/x/crypto/md4"
)

// Config configures a Server. The zero value is an origin server over
// HTTP/1.1 that offers Negotiate and NTLM and knows no users.
type Config struct {
	// Users maps user names to passwords. A name may be `DOMAIN\user`,
	// which then matches only that domain, or a bare user, which matches
	// any domain. Names are case-insensitive, as Windows treats them.
	Users map[string]string

	// Domain is the server's NetBIOS domain, sent in the NTLM CHALLENGE;
	// "" means "TEST".
	Domain string

	// Schemes are the challenges of a bare 401, one WWW-Authenticate line
	// each, as IIS sends them. Nil means Negotiate then NTLM. When set, it
	// is also what the server accepts: a client's answer in a scheme not
	// listed is taken as no answer (a bare challenge again), so a test
	// sees a client that answers a scheme it was not offered fail. An
	// entry such as `Basic realm="test"` offers Basic, verified against
	// Users per request (Basic authenticates no connection).
	Schemes []string

	// Handler serves authenticated requests; nil means EchoHandler.
	// User(r.Context()) tells it who authenticated. A proxy has none.
	Handler http.Handler

	// Kerberos, if set, accepts Kerberos under Negotiate (raw or in
	// SPNEGO), with the keys of KerberosConfig.KDC or KerberosConfig.Keytab.
	// The server's URL then names the host "localhost" (unless the SPN's
	// host is 127.0.0.1), so that clients ask for a ticket for
	// HTTP/localhost, the default SPN.
	Kerberos *KerberosConfig

	// Proxy makes the server a forward proxy instead of an origin: it
	// demands authentication with 407 and Proxy-Authenticate, forwards
	// plain HTTP requests and opens CONNECT tunnels; see the package
	// documentation.
	Proxy bool

	// TLS chooses the certificate and TLS versions of NewTLSServer and
	// StartTLS. Nil means httptest's certificate (for 127.0.0.1 and ::1),
	// or, for a server whose URL names localhost (Kerberos) or that offers
	// HTTP/2, a generated SHA-256 RSA certificate for localhost, 127.0.0.1
	// and ::1 (NewCertificate). TLSOptions.Certificate serves a given one.
	TLS *TLSOptions

	// H2, on a TLS server, offers HTTP/2 beside HTTP/1.1 (ALPN) and answers
	// requests that arrive over HTTP/2 as IIS does; see H2Mode. The zero
	// value, H2Off, offers HTTP/1.1 only.
	H2 H2Mode

	// SPNEGORequireMIC demands the mechListMIC exchange whatever mechanism
	// is chosen, as gss-ntlmssp does.
	SPNEGORequireMIC bool

	// RequireNTLMVersion rejects a NEGOTIATE message without the Version
	// field, as gss-ntlmssp (behind Apache mod_auth_gssapi) does.
	RequireNTLMVersion bool

	// ExtendedProtection checks the channel bindings of clients on TLS
	// connections against the server's certificate, as IIS's Extended
	// Protection for Authentication does; see EPAMode.
	ExtendedProtection EPAMode

	// Faults injects misbehaviour for tests of a client's recovery.
	Faults Faults

	// Public, if set, says which requests are served without
	// authentication, whatever they carry, as a server with anonymous
	// access to some paths does.
	Public func(*http.Request) bool
}

// Faults make a Server misbehave in controlled, bounded ways.
type Faults struct {
	// CloseOnChallenge closes the connection after sending each of the
	// first CloseOnChallenge NTLM CHALLENGE messages ("Connection: close"),
	// so that handshake can never finish on that connection.
	CloseOnChallenge int
	// CloseOnBareChallenge closes the connection after each of the first
	// CloseOnBareChallenge challenges that carry no token (the answer to a
	// request without credentials), as some proxies do.
	CloseOnBareChallenge int
	// OmitFinalToken leaves out the final Negotiate token (the Kerberos
	// AP-REP of mutual authentication) on success.
	OmitFinalToken bool
	// CorruptFinalToken sends a final token with its last byte flipped.
	CorruptFinalToken bool
	// DropAfterHandler, if set, is asked about each request that is to be
	// served; when it says true, the handler runs (and reads the body, if
	// it does) but its answer is thrown away and the connection is reset:
	// a server that processed the request and then crashed or lost the
	// connection. Clients that must not run a request twice can be tested
	// with it.
	DropAfterHandler func(*http.Request) bool
}

// Stats counts what clients cost a Server.
type Stats struct {
	Connections     int64 // TCP connections accepted
	Challenges      int64 // 401 (or a proxy's 407) responses sent
	Handshakes      int64 // handshakes that authenticated a connection
	Rejections      int64 // handshakes that failed
	Authenticated   int64 // requests served to an authenticated client
	Unauthenticated int64 // requests that arrived with no credentials

	Tunnels   int64 // a proxy's CONNECT tunnels opened
	Forwarded int64 // plain HTTP requests a proxy forwarded

	HTTP1Requests int64 // requests received over HTTP/1.x
	HTTP2Requests int64 // requests (streams) received over HTTP/2 (Config.H2)
	HTTP2Resets   int64 // HTTP/2 streams reset with HTTP_1_1_REQUIRED
}

// A Server is an HTTP server on loopback that demands Windows-style
// authentication: NTLM under the NTLM scheme, and under Negotiate raw NTLM
// (as IIS accepts it), NTLM in SPNEGO, and Kerberos raw or in SPNEGO when
// Config.Kerberos is set. NTLM keeps authentication per TCP connection;
// Kerberos does when KerberosConfig.ConnectionBound is set. With
// Config.Proxy it is a forward proxy that demands the same with 407.
//
// Its embedded httptest.Server gives URL, Client, Certificate, Listener
// and the unstarted server's Config and TLS; Start, StartTLS and Close are
// Server's own, which apply the Config (URL host, certificate, HTTP/2).
//
// A Server is safe for concurrent use by multiple goroutines.
type Server struct {
	*httptest.Server

	cfg      Config
	acceptor *ntlmacceptor.Acceptor
	handler  http.Handler

	krbOnce   sync.Once
	krb       *krbacceptor.Acceptor
	krbKeytab *keytab.Keytab // parsed from KerberosConfig.Keytab or made by its KDC

	epa epaState // acceptors of TLS connections (epa.go)

	proxy proxyState // a proxy's upstream connections (proxy.go)

	connections, challenges, handshakes, rejections, authenticated, unauthenticated atomic.Int64
	tunnels, forwarded, h1, h2, h2Resets                                            atomic.Int64
	closeFaults, bareFaults                                                         atomic.Int64
}

// NewServer starts a Server over plain HTTP on loopback. The caller should
// call Close when done. Like httptest.NewServer, it panics if the server
// cannot start (no loopback port, or a Config it cannot honour, such as a
// keytab that does not parse).
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewTLSServer starts a Server over TLS, with the certificate Config.TLS
// describes; s.Client() trusts it. With Config.H2 it also speaks HTTP/2.
func NewTLSServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.StartTLS()
	return s
}

// NewUnstartedServer returns a Server that is not started yet, so that its
// Config (the http.Server: a handler to wrap, say) or TLS may be changed
// before Start or StartTLS. It panics if the Kerberos configuration cannot
// be used.
func NewUnstartedServer(cfg Config) *Server {
	s := &Server{cfg: cfg, handler: cfg.Handler}
	if s.handler == nil {
		s.handler = EchoHandler()
	}
	s.closeFaults.Store(int64(cfg.Faults.CloseOnChallenge))
	s.bareFaults.Store(int64(cfg.Faults.CloseOnBareChallenge))
	domain := cfg.Domain
	if domain == "" {
		domain = "TEST"
	}
	s.acceptor = &ntlmacceptor.Acceptor{
		Lookup:         s.lookup,
		NetBIOSDomain:  domain,
		RequireVersion: cfg.RequireNTLMVersion,
	}
	if cfg.Kerberos != nil {
		if err := s.setUpKerberos(); err != nil {
			panic(err)
		}
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.Server.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, &connState{conn: c})
	}
	s.Server.Config.ConnState = func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.connections.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.proxy.release(c)
		}
	}
	return s
}

// Start starts the server over plain HTTP.
func (s *Server) Start() {
	s.Server.Start()
	s.nameHost()
}

// StartTLS starts the server over TLS: with the certificate Config.TLS
// describes unless s.TLS was set, and offering HTTP/2 when Config.H2 asks.
// It panics if the certificate cannot be made.
func (s *Server) StartTLS() {
	if err := s.prepareTLS(); err != nil {
		panic(err)
	}
	s.Server.StartTLS()
	s.nameHost()
}

// Close stops the server and, for a proxy, its upstream connections.
func (s *Server) Close() {
	s.Server.Close()
	s.proxy.closeAll()
}

// urlHost is the host the server's URL names, "" for httptest's
// 127.0.0.1: a client asks for a ticket for HTTP/<host of the URL>, so a
// Kerberos server's URL names its SPN's host when that is 127.0.0.1, and
// localhost otherwise (the default SPN's host; a client of another SPN
// must be told it).
func (s *Server) urlHost() string {
	if s.cfg.Kerberos == nil {
		return ""
	}
	_, host, _ := strings.Cut(s.cfg.Kerberos.SPN, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "127.0.0.1" {
		return ""
	}
	return "localhost"
}

// nameHost rewrites the started server's URL to name urlHost.
func (s *Server) nameHost() {
	h := s.urlHost()
	if h == "" {
		return
	}
	_, port, err := net.SplitHostPort(s.Listener.Addr().String())
	if err != nil {
		return
	}
	scheme := "http"
	if s.TLS != nil {
		scheme = "https"
	}
	s.URL = scheme + "://" + net.JoinHostPort(h, port)
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	return Stats{
		Connections:     s.connections.Load(),
		Challenges:      s.challenges.Load(),
		Handshakes:      s.handshakes.Load(),
		Rejections:      s.rejections.Load(),
		Authenticated:   s.authenticated.Load(),
		Unauthenticated: s.unauthenticated.Load(),
		Tunnels:         s.tunnels.Load(),
		Forwarded:       s.forwarded.Load(),
		HTTP1Requests:   s.h1.Load(),
		HTTP2Requests:   s.h2.Load(),
		HTTP2Resets:     s.h2Resets.Load(),
	}
}

// lookup finds user's NT hash: `DOMAIN\user` entries match that domain
// only, bare entries any domain.
func (s *Server) lookup(user, domain string) ([]byte, bool) {
	for name, pass := range s.cfg.Users {
		d, u, ok := strings.Cut(name, `\`)
		if !ok {
			d, u = "", name
		}
		if strings.EqualFold(u, user) && (d == "" || strings.EqualFold(d, domain)) {
			return ntHash(pass), true
		}
	}
	return nil, false
}

// ntHash is MD4 of the UTF-16LE password (MS-NLMP §3.3.1).
func ntHash(password string) []byte {
	h := md4.New()
	for _, r := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(r), byte(r >> 8)})
	}
	return h.Sum(nil)
}

// connKey keys the *connState of a connection in request contexts.
type connKey struct{}

// connState is what a server remembers about one TCP connection.
type connState struct {
	mu     sync.Mutex
	ntlm   *ntlmacceptor.Context   // NTLM handshake in progress or just done
	spnego *spnego.AcceptorContext // SPNEGO exchange in progress
	krbRes *krbacceptor.Result     // Kerberos context of the SPNEGO exchange
	user   string                  // authenticated user, "" if none
	acc    *connAcceptors          // acceptors bound to this TLS connection (epa.go)
	conn   net.Conn                // the connection (a proxy pins an upstream to it)
}

// userKey keys the authenticated user in a handler's request context, and
// delegatedKey the client whose credentials were delegated with it.
type (
	userKey      struct{}
	delegatedKey struct{}
)

// Delegated returns the client principal whose Kerberos credentials (a
// forwarded TGT) came with the request whose context is ctx, or "". The
// server checked that the TGT is a forwarded ticket-granting ticket for
// the authenticated client.
func Delegated(ctx context.Context) string {
	d, _ := ctx.Value(delegatedKey{}).(string)
	return d
}

// User returns the user that authenticated the request whose context is
// ctx, or "": `DOMAIN\user` when the client named a domain (NTLM), the
// bare user when it named none, user@REALM for Kerberos.
func User(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.h1.Add(1)
	if s.cfg.Proxy {
		s.serveProxy(w, r)
		return
	}
	if s.cfg.Public != nil && s.cfg.Public(r) {
		s.serve(w, r)
		return
	}
	if r, ok := s.authenticate(w, r, originSide); ok {
		s.serve(w, r)
	}
}

// serve runs the handler, or, when Faults.DropAfterHandler says so, runs
// it into nothing and resets the connection.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if f := s.cfg.Faults.DropAfterHandler; f == nil || !f(r) {
		s.handler.ServeHTTP(w, r)
		return
	}
	s.handler.ServeHTTP(httptest.NewRecorder(), r)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // a reset, not an orderly close
	}
	conn.Close()
}

// acceptNTLM feeds token to the connection's NTLM context: a NEGOTIATE
// message starts a new one; an AUTHENTICATE message must follow a
// CHALLENGE sent on this same connection.
func (s *Server) acceptNTLM(cs *connState, token []byte) ([]byte, bool, error) {
	if len(token) >= 12 && string(token[:8]) == "NTLMSSP\x00" && token[8] == 1 {
		cs.ntlm = s.ntlmAcceptor(cs).NewContext()
	}
	if cs.ntlm == nil {
		return nil, false, fmt.Errorf("no NTLM handshake in progress on this connection")
	}
	return cs.ntlm.Accept(token)
}

// parseAuthorization splits an Authorization value into scheme and
// decoded token.
func parseAuthorization(v string) (scheme string, token []byte, ok bool) {
	scheme, b64, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found || (!strings.EqualFold(scheme, "NTLM") && !strings.EqualFold(scheme, "Negotiate") && !strings.EqualFold(scheme, "Basic")) {
		return "", nil, false
	}
	token, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(token) == 0 {
		return "", nil, false
	}
	return scheme, token, true
}

// EchoHandler returns a handler that answers every request with its body
// (byte for byte), and sets "X-User" to the authenticated user,
// "X-Delegated" to the client whose credentials were delegated (if any) and
// "X-Body-MD5" to the body's MD5, so tests can check what arrived.
func EchoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-User", User(r.Context()))
		if d := Delegated(r.Context()); d != "" {
			w.Header().Set("X-Delegated", d)
		}
		w.Header().Set("X-Body-MD5", fmt.Sprintf("%x", md5.Sum(body)))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	})
}
