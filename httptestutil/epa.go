// This file makes a Server enforce Extended Protection for Authentication
// (channel binding to TLS) as IIS does, and starts servers over TLS with
// certificates of a chosen signature algorithm and a chosen TLS version.

package httptestutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krbacceptor"
	"github.com/negotiate-go/negotiate/internal/ntlmacceptor"
)

// EPAMode is a Server's Extended Protection for Authentication setting,
// named after IIS's (extendedProtection tokenChecking None, Allow,
// Require). It matters on TLS connections only: over plain HTTP there is
// no channel to bind to.
//
// On a TLS connection the expected channel bindings are
// "tls-server-end-point:" and the hash of the certificate the server
// presents (RFC 5929 §4.1), computed by the server itself.
type EPAMode int

const (
	// EPAOff does not check channel bindings, as IIS with Extended
	// Protection off: right, wrong and absent bindings all pass.
	EPAOff EPAMode = iota
	// EPAAllow accepts a client that sends no bindings and rejects one
	// that sends wrong bindings, with NTLM and with Kerberos.
	EPAAllow
	// EPARequire rejects a client that sends no bindings or wrong ones,
	// and requires the NTLM MIC (without which NTLM bindings could be
	// stripped unnoticed).
	EPARequire
)

func (m EPAMode) String() string {
	switch m {
	case EPAOff:
		return "Off"
	case EPAAllow:
		return "Allow"
	case EPARequire:
		return "Require"
	}
	return fmt.Sprintf("EPAMode(%d)", int(m))
}

// Failure reasons a Server puts in the X-Auth-Failure-Reason header of a
// rejection, next to the error text in X-Auth-Failure, so that tests can
// tell which Extended Protection check failed.
const (
	ReasonChannelBindingsMissing  = "channel-bindings-missing"
	ReasonChannelBindingsMismatch = "channel-bindings-mismatch"
	ReasonMICMissing              = "mic-missing"
	ReasonMICMismatch             = "mic-mismatch"
)

// failureReason maps an acceptor's error to one of the Reason* values, or "".
func failureReason(err error) string {
	switch {
	case errors.Is(err, ntlmacceptor.ErrChannelBindingsMissing), errors.Is(err, krbacceptor.ErrChannelBindingsMissing):
		return ReasonChannelBindingsMissing
	case errors.Is(err, ntlmacceptor.ErrChannelBindingsMismatch), errors.Is(err, krbacceptor.ErrChannelBindingsMismatch):
		return ReasonChannelBindingsMismatch
	case errors.Is(err, ntlmacceptor.ErrMICMissing):
		return ReasonMICMissing
	case errors.Is(err, ntlmacceptor.ErrMICMismatch):
		return ReasonMICMismatch
	}
	return ""
}

// setFailureReason sets X-Auth-Failure-Reason for err, if it has a reason.
func setFailureReason(h http.Header, err error) {
	if r := failureReason(err); r != "" {
		h.Set("X-Auth-Failure-Reason", r)
	}
}

// epaState holds a Server's acceptors for TLS connections, one set per
// expected bindings value (one per certificate the server presents): the
// Kerberos acceptor's fields are fixed after its first use, and its replay
// cache should span every connection that expects the same bindings.
type epaState struct {
	mu  sync.Mutex
	set map[string]*connAcceptors
}

// connAcceptors are the acceptors a connection's handshakes use.
type connAcceptors struct {
	ntlm *ntlmacceptor.Acceptor
	krb  *krbacceptor.Acceptor // nil: the server's own (no bindings)
}

// bindConnection chooses, on the first request of a TLS connection, the
// acceptors that expect that connection's channel bindings.
func (s *Server) bindConnection(cs *connState, r *http.Request) {
	if cs.acc != nil || r.TLS == nil {
		return
	}
	// A server that cannot tell its certificate expects no bindings: an
	// NTLM client that sends some is then rejected with a mismatch, which
	// a test will show.
	cb, _ := s.serverBindings(r.TLS)
	var key string
	if cb != nil {
		key = string(cb.ApplicationData)
	}
	s.epa.mu.Lock()
	defer s.epa.mu.Unlock()
	if a, ok := s.epa.set[key]; ok {
		cs.acc = a
		return
	}
	if s.epa.set == nil {
		s.epa.set = make(map[string]*connAcceptors)
	}
	mode := s.cfg.ExtendedProtection
	n := *s.acceptor
	n.ChannelBindings = cb
	n.RequireChannelBindings = mode == EPARequire
	n.IgnoreChannelBindings = mode == EPAOff
	n.RequireMIC = n.RequireMIC || mode == EPARequire
	a := &connAcceptors{ntlm: &n}
	if s.cfg.Kerberos != nil && mode != EPAOff {
		base := s.kerberosAcceptor()
		a.krb = &krbacceptor.Acceptor{
			Keytab:                 base.Keytab,
			SPN:                    base.SPN,
			MaxSkew:                base.MaxSkew,
			Now:                    base.Now,
			ChannelBindings:        cb,
			RequireChannelBindings: mode == EPARequire,
		}
	}
	s.epa.set[key] = a
	cs.acc = a
}

// ntlmAcceptor returns the NTLM acceptor for connection cs.
func (s *Server) ntlmAcceptor(cs *connState) *ntlmacceptor.Acceptor {
	if cs.acc != nil {
		return cs.acc.ntlm
	}
	return s.acceptor
}

// kerberosAcceptorFor returns the Kerberos acceptor for connection cs.
func (s *Server) kerberosAcceptorFor(cs *connState) *krbacceptor.Acceptor {
	if cs.acc != nil && cs.acc.krb != nil {
		return cs.acc.krb
	}
	return s.kerberosAcceptor()
}

// serverBindings returns the tls-server-end-point bindings of the
// certificate the server presents on a connection in state st.
func (s *Server) serverBindings(st *tls.ConnectionState) (*gss.ChannelBindings, error) {
	leaf, err := s.leafFor(st)
	if err != nil {
		return nil, err
	}
	return endPointBindings(leaf), nil
}

// leafFor finds the certificate the server presented on a connection:
// the one GetCertificate gives for the client's server name, else the
// first configured certificate valid for that name, else the first.
func (s *Server) leafFor(st *tls.ConnectionState) (*x509.Certificate, error) {
	cfg := s.TLS
	if cfg == nil {
		return nil, errors.New("httptestutil: server has no TLS configuration")
	}
	var chosen *tls.Certificate
	if cfg.GetCertificate != nil {
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: st.ServerName})
		if err != nil {
			return nil, err
		}
		chosen = c
	}
	if chosen == nil {
		for i := range cfg.Certificates {
			c := &cfg.Certificates[i]
			if chosen == nil {
				chosen = c
			}
			if st.ServerName == "" {
				break
			}
			if l, err := leafOf(c); err == nil && l.VerifyHostname(st.ServerName) == nil {
				chosen = c
				break
			}
		}
	}
	if chosen == nil {
		return nil, errors.New("httptestutil: server has no certificate")
	}
	return leafOf(chosen)
}

func leafOf(c *tls.Certificate) (*x509.Certificate, error) {
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	if len(c.Certificate) == 0 {
		return nil, errors.New("httptestutil: empty certificate chain")
	}
	return x509.ParseCertificate(c.Certificate[0])
}

// endPointBindings computes the tls-server-end-point bindings of cert
// (RFC 5929 §4.1) independently of the client's code: the certificate's
// signature hash, with SHA-256 for MD5 and SHA-1 and for anything else
// this server does not single out.
func endPointBindings(cert *x509.Certificate) *gss.ChannelBindings {
	var sum []byte
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h := sha512.Sum384(cert.Raw)
		sum = h[:]
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h := sha512.Sum512(cert.Raw)
		sum = h[:]
	default:
		h := sha256.Sum256(cert.Raw)
		sum = h[:]
	}
	return &gss.ChannelBindings{ApplicationData: append([]byte("tls-server-end-point:"), sum...)}
}

// TLSOptions choose the certificate and protocol version of a TLS Server
// (Config.TLS).
type TLSOptions struct {
	// SignatureAlgorithm signs the server's generated self-signed
	// certificate. RSA algorithms (x509.SHA256WithRSA, x509.SHA1WithRSA,
	// ...) use a 2048-bit RSA key; ECDSA ones a curve of matching size
	// (P-384 for x509.ECDSAWithSHA384). Zero means x509.SHA256WithRSA.
	SignatureAlgorithm x509.SignatureAlgorithm
	// Version pins the TLS version: tls.VersionTLS12 or tls.VersionTLS13.
	// Zero allows both.
	Version uint16
	// Certificate, if set, is served instead of a generated one.
	Certificate *tls.Certificate
}

// prepareTLS sets up the unstarted server's TLS from the Config: the
// certificate Config.TLS describes, unless the caller set s.TLS or
// httptest's own certificate will do (no TLS options, a URL naming
// 127.0.0.1, no HTTP/2), and HTTP/2 when Config.H2 asks.
func (s *Server) prepareTLS() error {
	if s.TLS == nil && (s.cfg.TLS != nil || s.urlHost() != "" || s.cfg.H2 != H2Off) {
		var opts TLSOptions
		if s.cfg.TLS != nil {
			opts = *s.cfg.TLS
		}
		if err := s.configureTLS(opts); err != nil {
			return err
		}
	}
	if s.cfg.H2 != H2Off {
		s.setUpH2()
	}
	return nil
}

// configureTLS sets the unstarted server's TLS configuration from opts.
func (s *Server) configureTLS(opts TLSOptions) error {
	var cert tls.Certificate
	if opts.Certificate != nil {
		cert = *opts.Certificate
	} else {
		c, err := NewCertificate(opts.SignatureAlgorithm, "localhost")
		if err != nil {
			return err
		}
		cert = c
	}
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   tls.VersionTLS13,
	}
	if opts.Version != 0 {
		s.TLS.MinVersion, s.TLS.MaxVersion = opts.Version, opts.Version
	}
	return nil
}

// Keys are made once per process: RSA key generation is slow, and the
// certificates, not the keys, are what tests vary.
var (
	keysMu sync.Mutex
	keys   = map[string]crypto.Signer{}
)

func testKey(kind string) (crypto.Signer, error) {
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[kind]; ok {
		return k, nil
	}
	var k crypto.Signer
	var err error
	switch kind {
	case "rsa":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p521":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	default:
		err = fmt.Errorf("httptestutil: no key of kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	keys[kind] = k
	return k, nil
}

// NewCertificate makes a self-signed server certificate signed with alg
// (zero means x509.SHA256WithRSA) for the given host names and for
// 127.0.0.1 and ::1, valid from an hour ago for a day. It is its own
// issuer, so a client trusts it by adding it to its root pool; it also
// carries the CA basic constraint for clients that insist.
func NewCertificate(alg x509.SignatureAlgorithm, hosts ...string) (tls.Certificate, error) {
	if alg == x509.UnknownSignatureAlgorithm {
		alg = x509.SHA256WithRSA
	}
	var kind string
	switch alg {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		kind = "rsa"
	case x509.ECDSAWithSHA1, x509.ECDSAWithSHA256:
		kind = "p256"
	case x509.ECDSAWithSHA384:
		kind = "p384"
	case x509.ECDSAWithSHA512:
		kind = "p521"
	default:
		return tls.Certificate{}, fmt.Errorf("httptestutil: cannot make a certificate signed with %v", alg)
	}
	key, err := testKey(kind)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "negotiate test server", Organization: []string{"httptestutil"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    alg,
		DNSNames:              hosts,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("httptestutil: creating a %v certificate: %w", alg, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	if leaf.SignatureAlgorithm != alg {
		return tls.Certificate{}, fmt.Errorf("httptestutil: certificate signed with %v; want %v", leaf.SignatureAlgorithm, alg)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
