// Tests of Extended Protection for Authentication: the real
// negotiate.Transport against Servers that check channel bindings, over
// TLS 1.2 and 1.3, with certificates signed with SHA-256, SHA-384 and
// SHA-1, with the bindings right, absent, and wrong (a TLS-terminating
// relay in between).

package httptestutil_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

const (
	epaRealm    = "EXAMPLE.TEST"
	epaKrbPass  = "s3cret-Kerberos"
	epaNTLMUser = `TEST\alice`
	epaNTLMPass = "Passw0rd!"
)

// epaMech is a way for the client to authenticate: a server of that kind
// and the credentials for it.
type epaMech struct {
	name  string
	start func(t *testing.T, k *kdc.KDC, mode httptestutil.EPAMode, opts httptestutil.TLSOptions) *httptestutil.Server
	creds func() *negotiate.Credentials
	user  string // X-User on success
}

var epaMechs = []epaMech{
	{
		name: "NTLM",
		start: func(t *testing.T, _ *kdc.KDC, mode httptestutil.EPAMode, opts httptestutil.TLSOptions) *httptestutil.Server {
			s := httptestutil.NewTLSServer(httptestutil.Config{
				Users:              map[string]string{epaNTLMUser: epaNTLMPass},
				Schemes:            []string{"NTLM"},
				ExtendedProtection: mode,
				TLS:                &opts,
			})
			t.Cleanup(s.Close)
			return s
		},
		creds: func() *negotiate.Credentials { return negotiate.Password(epaNTLMUser, epaNTLMPass) },
		user:  epaNTLMUser,
	},
	{
		// 127.0.0.1 has no SPN, so the client falls back to NTLM inside
		// SPNEGO, the server requiring the mechListMIC.
		name: "SPNEGO-NTLM",
		start: func(t *testing.T, _ *kdc.KDC, mode httptestutil.EPAMode, opts httptestutil.TLSOptions) *httptestutil.Server {
			s := httptestutil.NewTLSServer(httptestutil.Config{
				Users:              map[string]string{epaNTLMUser: epaNTLMPass},
				Schemes:            []string{"Negotiate"},
				SPNEGORequireMIC:   true,
				ExtendedProtection: mode,
				TLS:                &opts,
			})
			t.Cleanup(s.Close)
			return s
		},
		creds: func() *negotiate.Credentials { return negotiate.Password(epaNTLMUser, epaNTLMPass) },
		user:  epaNTLMUser,
	},
	{
		name: "Kerberos",
		start: func(t *testing.T, k *kdc.KDC, mode httptestutil.EPAMode, opts httptestutil.TLSOptions) *httptestutil.Server {
			s := httptestutil.NewTLSServer(httptestutil.Config{
				Kerberos:           &httptestutil.KerberosConfig{KDC: k},
				Schemes:            []string{"Negotiate"},
				ExtendedProtection: mode,
				TLS:                &opts,
			})
			t.Cleanup(s.Close)
			return s
		},
		creds: func() *negotiate.Credentials { return negotiate.Password("alice@"+epaRealm, epaKrbPass) },
		user:  "alice@" + epaRealm,
	},
}

func epaKDC(t *testing.T) *kdc.KDC {
	t.Helper()
	k := kdc.New(t, epaRealm, nil)
	k.AddUser("alice", epaKrbPass)
	return k
}

// epaTransport returns a Transport that trusts roots and speaks HTTP/1.1.
func epaTransport(t *testing.T, k *kdc.KDC, c *negotiate.Credentials, roots []*x509.Certificate, disableCB bool) *negotiate.Transport {
	t.Helper()
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	tr := &negotiate.Transport{
		Base:                   &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		Credentials:            c,
		Krb5Config:             k.Krb5ConfPath(),
		DisableChannelBindings: disableCB,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// get sends a GET through tr and returns the response with its body read.
func get(t *testing.T, tr http.RoundTripper, url string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// checkOutcome checks that resp is a success as user, or, if wantReason is
// not "", a rejection whose X-Auth-Failure-Reason is wantReason and which
// the client reports as negotiate.ErrRejected.
func checkOutcome(t *testing.T, resp *http.Response, user, wantReason string) {
	t.Helper()
	if wantReason == "" {
		if resp.StatusCode != 200 || resp.Header.Get("X-User") != user {
			t.Fatalf("status %d user %q; want 200 %q (client: %v; server: %q)", resp.StatusCode, resp.Header.Get("X-User"), user,
				negotiate.ResponseError(resp), resp.Header.Get("X-Auth-Failure"))
		}
		return
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d; want 401 (%s)", resp.StatusCode, wantReason)
	}
	if got := resp.Header.Get("X-Auth-Failure-Reason"); got != wantReason {
		t.Errorf("X-Auth-Failure-Reason = %q; want %q (X-Auth-Failure %q)", got, wantReason, resp.Header.Get("X-Auth-Failure"))
	}
	wantText := map[string]string{
		httptestutil.ReasonChannelBindingsMissing:  "channel bindings required but absent",
		httptestutil.ReasonChannelBindingsMismatch: "channel bindings do not match",
	}[wantReason]
	if got := resp.Header.Get("X-Auth-Failure"); !strings.Contains(got, wantText) {
		t.Errorf("X-Auth-Failure = %q; want it to contain %q", got, wantText)
	}
	if err := negotiate.ResponseError(resp); !errors.Is(err, negotiate.ErrRejected) {
		t.Errorf("ResponseError = %v; want ErrRejected", err)
	}
}

var (
	epaVersions = []struct {
		name string
		v    uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}
	epaAlgs = []x509.SignatureAlgorithm{x509.SHA256WithRSA, x509.ECDSAWithSHA384, x509.SHA1WithRSA}
)

// TestEPABindings runs every mechanism, TLS version and certificate kind
// against a server that requires bindings: the client's bindings are
// accepted, and a client that sends none is rejected as "missing".
func TestEPABindings(t *testing.T) {
	k := epaKDC(t)
	for _, m := range epaMechs {
		for _, ver := range epaVersions {
			for _, alg := range epaAlgs {
				t.Run(m.name+"/"+ver.name+"/"+alg.String(), func(t *testing.T) {
					s := m.start(t, k, httptestutil.EPARequire, httptestutil.TLSOptions{SignatureAlgorithm: alg, Version: ver.v})
					if got := s.Certificate().SignatureAlgorithm; got != alg {
						t.Fatalf("server certificate signed with %v; want %v", got, alg)
					}
					tr := epaTransport(t, k, m.creds(), []*x509.Certificate{s.Certificate()}, false)
					resp := get(t, tr, s.URL)
					if resp.TLS == nil || resp.TLS.Version != ver.v {
						t.Fatalf("TLS state %v; want version %x", resp.TLS, ver.v)
					}
					checkOutcome(t, resp, m.user, "")

					tr = epaTransport(t, k, m.creds(), []*x509.Certificate{s.Certificate()}, true)
					checkOutcome(t, get(t, tr, s.URL), m.user, httptestutil.ReasonChannelBindingsMissing)
				})
			}
		}
	}
}

// TestEPAModes checks what each mode accepts: the client's own bindings,
// none (DisableChannelBindings), and bindings of another certificate (a
// TLS-terminating relay between client and server).
func TestEPAModes(t *testing.T) {
	k := epaKDC(t)
	type want struct{ right, absent, relayed string } // "" accepted, else the reason
	const (
		ok       = ""
		missing  = httptestutil.ReasonChannelBindingsMissing
		mismatch = httptestutil.ReasonChannelBindingsMismatch
	)
	tests := []struct {
		mech string
		mode httptestutil.EPAMode
		want want
	}{
		{"NTLM", httptestutil.EPARequire, want{ok, missing, mismatch}},
		{"NTLM", httptestutil.EPAAllow, want{ok, ok, mismatch}},
		// Off checks nothing, like IIS with Extended Protection off.
		{"NTLM", httptestutil.EPAOff, want{ok, ok, ok}},
		{"SPNEGO-NTLM", httptestutil.EPARequire, want{ok, missing, mismatch}},
		{"SPNEGO-NTLM", httptestutil.EPAAllow, want{ok, ok, mismatch}},
		{"Kerberos", httptestutil.EPARequire, want{ok, missing, mismatch}},
		{"Kerberos", httptestutil.EPAAllow, want{ok, ok, mismatch}},
		{"Kerberos", httptestutil.EPAOff, want{ok, ok, ok}},
	}
	for _, tt := range tests {
		var m epaMech
		for _, mm := range epaMechs {
			if mm.name == tt.mech {
				m = mm
			}
		}
		t.Run(tt.mech+"/"+tt.mode.String(), func(t *testing.T) {
			s := m.start(t, k, tt.mode, httptestutil.TLSOptions{})
			roots := []*x509.Certificate{s.Certificate()}
			checkOutcome(t, get(t, epaTransport(t, k, m.creds(), roots, false), s.URL), m.user, tt.want.right)
			checkOutcome(t, get(t, epaTransport(t, k, m.creds(), roots, true), s.URL), m.user, tt.want.absent)

			relayURL, relayCert := startRelay(t, s)
			tr := epaTransport(t, k, m.creds(), []*x509.Certificate{relayCert}, false)
			checkOutcome(t, get(t, tr, relayURL), m.user, tt.want.relayed)

			// Through the relay without bindings is "absent", not "wrong".
			tr = epaTransport(t, k, m.creds(), []*x509.Certificate{relayCert}, true)
			checkOutcome(t, get(t, tr, relayURL), m.user, tt.want.absent)
		})
	}
}

// TestEPAPlainHTTP checks that Extended Protection leaves plain HTTP alone:
// no channel, no bindings expected or sent.
func TestEPAPlainHTTP(t *testing.T) {
	s := httptestutil.NewServer(httptestutil.Config{
		Users:              map[string]string{epaNTLMUser: epaNTLMPass},
		Schemes:            []string{"NTLM"},
		ExtendedProtection: httptestutil.EPARequire,
	})
	t.Cleanup(s.Close)
	tr := &negotiate.Transport{Base: &http.Transport{}, Credentials: negotiate.Password(epaNTLMUser, epaNTLMPass)}
	t.Cleanup(tr.CloseIdleConnections)
	checkOutcome(t, get(t, tr, s.URL), epaNTLMUser, "")
}

// TestEPAWarmConnection checks that a connection authenticated with the
// right bindings stays authenticated: later requests need no handshake.
func TestEPAWarmConnection(t *testing.T) {
	k := epaKDC(t)
	s := epaMechs[0].start(t, k, httptestutil.EPARequire, httptestutil.TLSOptions{SignatureAlgorithm: x509.ECDSAWithSHA384})
	tr := epaTransport(t, k, epaMechs[0].creds(), []*x509.Certificate{s.Certificate()}, false)
	for i := range 3 {
		if resp := get(t, tr, s.URL); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d; want 200 (%v)", i, resp.StatusCode, negotiate.ResponseError(resp))
		}
	}
	if st := s.Stats(); st.Handshakes != 1 || st.Authenticated != 3 {
		t.Errorf("Stats = %+v; want 1 handshake and 3 authenticated requests", st)
	}
}

func TestNewCertificate(t *testing.T) {
	tests := []struct {
		alg     x509.SignatureAlgorithm
		keyType string
	}{
		{0, "*rsa.PublicKey"}, // the default is SHA256WithRSA
		{x509.SHA256WithRSA, "*rsa.PublicKey"},
		{x509.SHA1WithRSA, "*rsa.PublicKey"},
		{x509.SHA384WithRSA, "*rsa.PublicKey"},
		{x509.ECDSAWithSHA256, "*ecdsa.PublicKey"},
		{x509.ECDSAWithSHA384, "*ecdsa.PublicKey"},
	}
	for _, tt := range tests {
		c, err := httptestutil.NewCertificate(tt.alg, "localhost")
		if err != nil {
			t.Fatalf("NewCertificate(%v) = %v", tt.alg, err)
		}
		want := tt.alg
		if want == 0 {
			want = x509.SHA256WithRSA
		}
		if c.Leaf.SignatureAlgorithm != want || fmt.Sprintf("%T", c.Leaf.PublicKey) != tt.keyType {
			t.Errorf("NewCertificate(%v) = %v %s; want %v %s", tt.alg, c.Leaf.SignatureAlgorithm, fmt.Sprintf("%T", c.Leaf.PublicKey), want, tt.keyType)
		}
		if err := c.Leaf.VerifyHostname("localhost"); err != nil {
			t.Errorf("NewCertificate(%v): %v", tt.alg, err)
		}
		if err := c.Leaf.VerifyHostname("127.0.0.1"); err != nil {
			t.Errorf("NewCertificate(%v): %v", tt.alg, err)
		}
	}
	if _, err := httptestutil.NewCertificate(x509.PureEd25519); err == nil {
		t.Errorf("NewCertificate(PureEd25519) = nil error; want one (no hash for tls-server-end-point)")
	}
}

// startRelay starts a TLS-terminating relay in front of s, as a
// TLS-intercepting middlebox: it presents a certificate of its own to the
// client and opens one TLS connection to s per client connection, so
// connection-bound authentication still works through it. It returns the
// relay's URL (same host name as s.URL) and its certificate.
func startRelay(t *testing.T, s *httptestutil.Server) (string, *x509.Certificate) {
	t.Helper()
	cert, err := httptestutil.NewCertificate(x509.SHA256WithRSA, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := s.Listener.Addr().String()
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				down := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
				down.SetDeadline(time.Now().Add(30 * time.Second))
				if err := down.Handshake(); err != nil {
					return
				}
				d := &net.Dialer{Timeout: 5 * time.Second}
				up, err := tls.DialWithDialer(d, "tcp", upstream, &tls.Config{RootCAs: pool, ServerName: "localhost"})
				if err != nil {
					return
				}
				track(up)
				defer up.Close()
				up.SetDeadline(time.Now().Add(30 * time.Second))
				done := make(chan struct{}, 2)
				go func() { io.Copy(up, down); up.CloseWrite(); done <- struct{}{} }()
				go func() { io.Copy(down, up); down.CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	host := strings.TrimPrefix(s.URL, "https://")
	host, _, _ = net.SplitHostPort(host)
	return "https://" + net.JoinHostPort(host, port), cert.Leaf
}
