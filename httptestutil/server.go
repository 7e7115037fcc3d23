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

	"github.com/negotiate-go/negotiate/internal/krbacceptor"
	"github.com/negotiate-go/negotiate/internal/ntlmacceptor"
	"github.com/negotiate-go/negotiate/internal/spnego"
	"golang.org/x/crypto/md4"
)

// Config configures a Server. The zero value offers Negotiate and NTLM and
// knows no users.
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
	// User(r.Context()) tells it who authenticated.
	Handler http.Handler

	// Kerberos, if set, accepts Kerberos under Negotiate (raw or in
	// SPNEGO). NewKerberosServer fills it from a kdc.KDC.
	Kerberos *KerberosConfig

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
	Challenges      int64 // 401 responses sent
	Handshakes      int64 // handshakes that authenticated a connection
	Rejections      int64 // handshakes that failed
	Authenticated   int64 // requests served to an authenticated client
	Unauthenticated int64 // requests that arrived with no credentials
}

// A Server is an HTTP server on loopback that demands Windows-style
// authentication: NTLM under the NTLM scheme, and under Negotiate raw NTLM
// (as IIS accepts it), NTLM in SPNEGO, and Kerberos raw or in SPNEGO when
// Config.Kerberos is set. NTLM keeps authentication per TCP connection;
// Kerberos does when KerberosConfig.ConnectionBound is set.
//
// A Server is safe for concurrent use by multiple goroutines.
type Server struct {
	*httptest.Server

	cfg      Config
	acceptor *ntlmacceptor.Acceptor
	handler  http.Handler

	krbOnce sync.Once
	krb     *krbacceptor.Acceptor

	// onBareChallenge, if set, sees the header of each bare challenge
	// before it is sent (the Proxy's CloseOnBareChallenge).
	onBareChallenge func(http.Header)

	epa epaState // acceptors of TLS connections (epa.go)

	connections, challenges, handshakes, rejections, authenticated, unauthenticated atomic.Int64
	closeFaults                                                                     atomic.Int64
}

// NewServer starts a Server over plain HTTP on 127.0.0.1. The caller should
// call Close when done.
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewTLSServer starts a Server over TLS; s.Client() trusts its certificate.
func NewTLSServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.StartTLS()
	return s
}

// NewUnstartedServer returns a Server whose embedded httptest.Server is not
// started yet, so that its Config or TLS may be changed first.
func NewUnstartedServer(cfg Config) *Server {
	s := &Server{cfg: cfg, handler: cfg.Handler}
	if s.handler == nil {
		s.handler = EchoHandler()
	}
	s.closeFaults.Store(int64(cfg.Faults.CloseOnChallenge))
	domain := cfg.Domain
	if domain == "" {
		domain = "TEST"
	}
	s.acceptor = &ntlmacceptor.Acceptor{
		Lookup:         s.lookup,
		NetBIOSDomain:  domain,
		RequireVersion: cfg.RequireNTLMVersion,
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.Server.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, new(connState))
	}
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.connections.Add(1)
		}
	}
	return s
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
