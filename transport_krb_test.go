package negotiate_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/authscheme"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

const (
	realm   = "EXAMPLE.TEST"
	krbPass = "s3cret-Kerberos"
)

func newKDC(t testing.TB, opts *kdc.Options) *kdc.KDC {
	t.Helper()
	k := kdc.New(t, realm, opts)
	k.AddUser("alice", krbPass)
	return k
}

func krbTransport(t testing.TB, k *kdc.KDC, c *negotiate.Credentials) *negotiate.Transport {
	t.Helper()
	tr := &negotiate.Transport{Base: &http.Transport{}, Credentials: c, Krb5Config: k.Krb5ConfPath()}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func krbAlice() *negotiate.Credentials { return negotiate.Password("alice@"+realm, krbPass) }

// legsOf sends req through tr and returns the response and the legs seen.
func legsOf(t testing.TB, tr http.RoundTripper, method, url string, body io.Reader) (*http.Response, []negotiate.LegInfo, error) {
	t.Helper()
	var legs []negotiate.LegInfo
	ctx := negotiate.WithClientTrace(context.Background(), &negotiate.ClientTrace{Leg: func(l negotiate.LegInfo) { legs = append(legs, l) }})
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, legs, err
}

func TestKerberosMutualAuth(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{})
	tr := krbTransport(t, k, krbAlice())
	resp, legs, err := legsOf(t, tr, "GET", s.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-User") != "alice@"+realm {
		t.Fatalf("status %d user %q; want 200 alice@%s (%v)", resp.StatusCode, resp.Header.Get("X-User"), realm, negotiate.ResponseError(resp))
	}
	if len(legs) != 2 || legs[1].Scheme != negotiate.SchemeNegotiate || legs[1].Received == nil {
		t.Fatalf("legs = %d; want the unauthenticated try and one Negotiate leg answered with a final token", len(legs))
	}
	// A warm origin: the token goes on the first try, one round trip.
	resp, legs, err = legsOf(t, tr, "POST", s.URL, strings.NewReader("warm"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("warm request: %v %v", err, resp)
	}
	if len(legs) != 1 || legs[0].Sent == nil {
		t.Fatalf("warm request took %d legs; want 1 carrying a token", len(legs))
	}
	if st := k.Stats(); st.TGSRequests != 1 {
		t.Errorf("TGS requests = %d; want 1 (the ticket is cached)", st.TGSRequests)
	}
}

func TestKerberosMutualPolicy(t *testing.T) {
	tests := []struct {
		name   string
		faults httptestutil.Faults
		policy negotiate.MutualAuth
		ok     bool
	}{
		{"no token, required", httptestutil.Faults{OmitFinalToken: true}, negotiate.MutualRequired, false},
		{"no token, optional", httptestutil.Faults{OmitFinalToken: true}, negotiate.MutualOptional, true},
		{"no token, disabled", httptestutil.Faults{OmitFinalToken: true}, negotiate.MutualDisabled, true},
		{"forged token, required", httptestutil.Faults{CorruptFinalToken: true}, negotiate.MutualRequired, false},
		{"forged token, optional", httptestutil.Faults{CorruptFinalToken: true}, negotiate.MutualOptional, false},
		{"forged token, disabled", httptestutil.Faults{CorruptFinalToken: true}, negotiate.MutualDisabled, true},
		{"good token, required", httptestutil.Faults{}, negotiate.MutualRequired, true},
	}
	k := newKDC(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kerberosServer(t, k, httptestutil.Config{Faults: tt.faults})
			tr := krbTransport(t, k, krbAlice())
			tr.Mutual = tt.policy
			body := &countingBody{Reader: strings.NewReader("x")}
			req := mustRequest(t, "POST", s.URL, body)
			resp, err := tr.RoundTrip(req)
			if tt.ok {
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("RoundTrip = %v, %v; want 200", resp, err)
				}
				resp.Body.Close()
			} else {
				if !errors.Is(err, negotiate.ErrMutualAuth) {
					t.Fatalf("err = %v; want ErrMutualAuth", err)
				}
				var ae *negotiate.AuthError
				if !errors.As(err, &ae) || ae.Response == nil || ae.Op != "verify server" {
					t.Fatalf("AuthError = %+v; want the response kept and op \"verify server\"", ae)
				}
			}
			if n := body.closes.Load(); n != 1 {
				t.Errorf("body closed %d times; want 1", n)
			}
		})
	}
}

func TestKerberosFailures(t *testing.T) {
	t.Run("clock skew with the KDC", func(t *testing.T) {
		k := newKDC(t, &kdc.Options{ClockOffset: 20 * time.Minute})
		s := kerberosServer(t, k, httptestutil.Config{})
		resp, _, err := legsOf(t, krbTransport(t, k, krbAlice()), "GET", s.URL, nil)
		err = authFailure(t, resp, err, 401)
		if !errors.Is(err, negotiate.ErrClockSkew) || !strings.Contains(err.Error(), "skew") {
			t.Fatalf("err = %v; want ErrClockSkew", err)
		}
	})
	t.Run("clock skew with the server", func(t *testing.T) {
		k := newKDC(t, nil)
		s := kerberosServer(t, k, httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{ClockOffset: time.Hour}})
		resp, _, err := legsOf(t, krbTransport(t, k, krbAlice()), "GET", s.URL, nil)
		if err != nil {
			t.Fatalf("RoundTrip: %v; want the 401", err)
		}
		if ferr := negotiate.ResponseError(resp); resp.StatusCode != 401 || !errors.Is(ferr, negotiate.ErrClockSkew) {
			t.Fatalf("status %d, ResponseError %v; want 401, ErrClockSkew", resp.StatusCode, ferr)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		k := newKDC(t, nil)
		s := kerberosServer(t, k, httptestutil.Config{})
		resp, _, err := legsOf(t, krbTransport(t, k, negotiate.Password("alice@"+realm, "wrong")), "GET", s.URL, nil)
		err = authFailure(t, resp, err, 401)
		if !errors.Is(err, negotiate.ErrRejected) {
			t.Fatalf("err = %v; want ErrRejected", err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error %q contains the password", err)
		}
	})
	t.Run("unknown SPN", func(t *testing.T) {
		k := newKDC(t, nil)
		s := kerberosServer(t, k, httptestutil.Config{})
		tr := krbTransport(t, k, krbAlice())
		tr.DisableNTLM = true
		tr.SPN.Hosts = map[string]string{"localhost": "HTTP/nowhere.example.test"}
		resp, _, err := legsOf(t, tr, "GET", s.URL, nil)
		err = authFailure(t, resp, err, 401)
		if !errors.Is(err, negotiate.ErrUnknownPrincipal) || !strings.Contains(err.Error(), "HTTP/nowhere.example.test") {
			t.Fatalf("err = %v; want ErrUnknownPrincipal naming the SPN", err)
		}
	})
	t.Run("IP literal", func(t *testing.T) {
		k := newKDC(t, nil)
		s := kerberosServer(t, k, httptestutil.Config{})
		tr := krbTransport(t, k, krbAlice())
		tr.DisableNTLM = true
		resp, _, err := legsOf(t, tr, "GET", strings.Replace(s.URL, "localhost", "127.0.0.1", 1), nil)
		err = authFailure(t, resp, err, 401)
		if !errors.Is(err, negotiate.ErrNoSPN) {
			t.Fatalf("err = %v; want ErrNoSPN", err)
		}
	})
	t.Run("KDC down", func(t *testing.T) {
		k := newKDC(t, nil)
		s := kerberosServer(t, k, httptestutil.Config{})
		k.SetDown(true)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
		start := time.Now()
		tr := krbTransport(t, k, krbAlice())
		tr.DisableNTLM = true
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		err = authFailure(t, resp, err, 401)
		if !errors.Is(err, negotiate.ErrKDCUnreachable) {
			t.Fatalf("err = %v; want ErrKDCUnreachable", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v; the request's deadline was 500ms", d)
		}
	})
}

// TestNegotiateFallsBackToNTLM: when Kerberos cannot work, NTLM is used:
// raw when the server offers it, inside SPNEGO with the mechListMIC when it
// offers only Negotiate.
func TestNegotiateFallsBackToNTLM(t *testing.T) {
	k := newKDC(t, nil)
	// bob has an NTLM account but is unknown to the KDC.
	creds := negotiate.Password(`TEST\bob`, "hunter2")
	for _, tt := range []struct {
		name    string
		schemes []string
		want    string // scheme of the token that authenticated
	}{
		{"raw NTLM offered", []string{"Negotiate", "NTLM"}, "NTLM"},
		{"only Negotiate", []string{"Negotiate"}, "Negotiate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := kerberosServer(t, k, httptestutil.Config{Users: users, Schemes: tt.schemes, SPNEGORequireMIC: true})
			tr := krbTransport(t, k, creds)
			for i := 0; i < 3; i++ {
				resp, legs, err := legsOf(t, tr, "POST", s.URL, strings.NewReader("body"))
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("request %d: %v %v (%v)", i, err, resp, negotiate.ResponseError(resp))
				}
				if resp.Header.Get("X-User") != `TEST\bob` {
					t.Fatalf("user %q; want TEST\\bob", resp.Header.Get("X-User"))
				}
				if i == 0 && legs[len(legs)-1].Scheme.String() != tt.want {
					t.Errorf("authenticated with %q; want %q", legs[len(legs)-1].Scheme, tt.want)
				}
			}
			if st := s.Stats(); st.Handshakes != 1 {
				t.Errorf("handshakes = %d; want 1 (NTLM binds the connection)", st.Handshakes)
			}
		})
	}
}

// TestFallbackFailureExplainsKerberos: when NTLM stands in for Kerberos and
// is rejected too, the error says why Kerberos was not used.
func TestFallbackFailureExplainsKerberos(t *testing.T) {
	k := newKDC(t, nil)
	for _, schemes := range [][]string{{"Negotiate", "NTLM"}, {"Negotiate"}} {
		s := kerberosServer(t, k, httptestutil.Config{Users: users, Schemes: schemes})
		resp, _, err := legsOf(t, krbTransport(t, k, negotiate.Password(`TEST\bob`, "wrong")), "GET", s.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		ferr := negotiate.ResponseError(resp)
		if !errors.Is(ferr, negotiate.ErrRejected) || !errors.Is(ferr, negotiate.ErrUnknownPrincipal) {
			t.Errorf("%v: ResponseError = %v; want ErrRejected and, for Kerberos, ErrUnknownPrincipal", schemes, ferr)
		}
	}
}

// TestKerberosConcurrentColdStart: 64 concurrent cold requests to one host
// cost one TGS exchange.
func TestKerberosConcurrentColdStart(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{})
	tr := krbTransport(t, k, krbAlice())
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _, err := legsOf(t, tr, "GET", s.URL, nil)
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	if st := k.Stats(); st.TGSRequests != 1 || st.ASRequests > 2 {
		t.Errorf("KDC saw %d AS and %d TGS requests; want 1 login (2 AS with pre-auth) and 1 TGS", st.ASRequests, st.TGSRequests)
	}
}

func TestKerberosConnectionBound(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{ConnectionBound: true}})
	tr := krbTransport(t, k, krbAlice())
	for i := 0; i < 20; i++ {
		if resp, _, err := legsOf(t, tr, "GET", s.URL, nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, err, resp)
		}
	}
	if st := s.Stats(); st.Handshakes != 1 || st.Authenticated != 20 {
		t.Errorf("stats = %+v; want 1 handshake, 20 authenticated", st)
	}
}

func TestKerberosExpiredTicket(t *testing.T) {
	k := newKDC(t, &kdc.Options{TicketLifetime: 2 * time.Second})
	s := kerberosServer(t, k, httptestutil.Config{})
	tr := krbTransport(t, k, krbAlice())
	if resp, _, err := legsOf(t, tr, "GET", s.URL, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first: %v %v", err, resp)
	}
	time.Sleep(2500 * time.Millisecond)
	if resp, _, err := legsOf(t, tr, "GET", s.URL, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after expiry: %v %v (%v)", err, resp, negotiate.ResponseError(resp))
	}
	if st := k.Stats(); st.TGSRequests < 2 {
		t.Errorf("TGS requests = %d; want a new ticket after expiry", st.TGSRequests)
	}
}

func TestKerberosCredentialSources(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{})
	dir := t.TempDir()
	ccache := filepath.Join(dir, "cc")
	if err := k.WriteCCache(ccache, "alice", krbPass); err != nil {
		t.Fatal(err)
	}
	kt := filepath.Join(dir, "alice.keytab")
	if err := k.WriteKeytab(kt, "alice"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5CCNAME", "FILE:"+ccache)
	for _, tt := range []struct {
		name  string
		creds *negotiate.Credentials
	}{
		{"ccache", negotiate.CCache(ccache)},
		{"keytab", negotiate.Keytab("alice@"+realm, kt)},
		{"default (KRB5CCNAME)", negotiate.DefaultCredentials()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, err := legsOf(t, krbTransport(t, k, tt.creds), "GET", s.URL, nil)
			if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-User") != "alice@"+realm {
				t.Fatalf("RoundTrip = %v, %v; want 200 as alice", resp, err)
			}
		})
	}
	t.Run("no default credentials", func(t *testing.T) {
		t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(dir, "missing"))
		t.Setenv("KRB5_CLIENT_KTNAME", filepath.Join(dir, "missing.keytab"))
		resp, _, err := legsOf(t, krbTransport(t, k, negotiate.DefaultCredentials()), "GET", s.URL, nil)
		err = authFailure(t, resp, err, 401)
		if !errors.Is(err, negotiate.ErrNoCredentials) {
			t.Fatalf("err = %v; want ErrNoCredentials", err)
		}
	})
}

func TestPreemptive(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{})
	tr := krbTransport(t, k, krbAlice())
	tr.Preemptive = true
	resp, legs, err := legsOf(t, tr, "GET", s.URL, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("RoundTrip = %v, %v", resp, err)
	}
	if len(legs) != 1 || legs[0].Scheme != negotiate.SchemeNegotiate || legs[0].Received == nil {
		t.Fatalf("%d legs; want one, carrying a token on the first try and answered with the server's", len(legs))
	}
	// An origin that wants no authentication answers without a token:
	// the response is taken as it is, mutual authentication required or
	// not.
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("open")) }))
	t.Cleanup(open.Close)
	resp, legs, err = legsOf(t, tr, "GET", strings.Replace(open.URL, "127.0.0.1", "localhost", 1), nil)
	if err != nil || resp.StatusCode != 200 || len(legs) != 1 {
		t.Fatalf("open origin: %v, %v, %d legs; want 200 in one leg", resp, err, len(legs))
	}
}

// TestKerberosFailureRemembered: once the KDC has failed to answer, new
// connections fall back to NTLM at once rather than waiting for it again.
func TestKerberosFailureRemembered(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{Users: users})
	k.SetDown(true)
	tr := krbTransport(t, k, negotiate.Password(`TEST\bob`, "hunter2"))
	tr.MaxIdleConnsPerOrigin = 1
	for i := 0; i < 4; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
		// Two requests at once: the second needs a new connection.
		var wg sync.WaitGroup
		for j := 0; j < 2; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := tr.RoundTrip(req.Clone(ctx))
				if err != nil {
					t.Errorf("round %d: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("round %d: status %d", i, resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		cancel()
	}
	if d := k.Stats().Dropped; d > 2 {
		t.Errorf("the KDC was asked %d times; want the failure remembered after the first tries", d)
	}
}

// TestKerberosRC4Service: an RC4-only service account (RC4-HMAC ticket and
// session key, as Active Directory issues for one) behind a SPNEGO acceptor
// that demands the mechListMIC, which RC4 signs with RFC 4757 MIC tokens.
func TestKerberosRC4Service(t *testing.T) {
	k := newKDC(t, nil)
	s := kerberosServer(t, k, httptestutil.Config{
		Schemes:          []string{"Negotiate"},
		SPNEGORequireMIC: true,
		Kerberos:         &httptestutil.KerberosConfig{SPN: "HTTP/localhost", Keytab: k.AddService("HTTP/localhost", kdc.RC4HMAC)},
	})
	tr := krbTransport(t, k, krbAlice())
	tr.DisableNTLM = true
	resp, legs, err := legsOf(t, tr, "GET", s.URL, nil)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-User") != "alice@"+realm {
		t.Fatalf("RoundTrip = %v, %v; want 200 as alice", resp, err)
	}
	var descs []string
	for _, l := range legs {
		if l.Sent != nil {
			d, err := authscheme.DescribeToken("Negotiate", l.Sent)
			if err != nil {
				t.Fatal(err)
			}
			descs = append(descs, d)
		}
	}
	// The AP-REQ with an RC4 ticket, then the 37-byte RFC 4757 mechListMIC
	// the acceptor asked for.
	if len(descs) != 2 || !strings.Contains(descs[0], "arcfour-hmac (23)") || !strings.Contains(descs[1], "mechListMIC=37 bytes") {
		t.Errorf("tokens sent:\n%s\nwant an RC4 AP-REQ, then an RFC 4757 mechListMIC", strings.Join(descs, "\n"))
	}
}

// TestDelegation: the Transport's policy decides whether the service gets a
// forwarded TGT for the user, and a TGT that cannot be forwarded fails a
// demand for delegation instead of falling back to NTLM.
func TestDelegation(t *testing.T) {
	k := newKDC(t, nil)
	trusted := kerberosServer(t, k, httptestutil.Config{})
	k.SetOKAsDelegate("HTTP/localhost", true)
	for _, tt := range []struct {
		policy  negotiate.Delegation
		trusted bool
		want    string
	}{
		{negotiate.DelegateNone, true, ""},
		{negotiate.DelegatePolicy, true, "alice@" + realm},
		{negotiate.DelegatePolicy, false, ""},
		{negotiate.DelegateAlways, false, "alice@" + realm},
	} {
		k.SetOKAsDelegate("HTTP/localhost", tt.trusted)
		tr := krbTransport(t, k, krbAlice())
		tr.Delegation = tt.policy
		resp, _, err := legsOf(t, tr, "GET", trusted.URL, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v (ok-as-delegate %v): %v %v", tt.policy, tt.trusted, resp, err)
		}
		if got := resp.Header.Get("X-Delegated"); got != tt.want {
			t.Errorf("%v (ok-as-delegate %v): delegated %q; want %q", tt.policy, tt.trusted, got, tt.want)
		}
	}

	// A user whose TGT is not forwardable, with NTLM credentials too: the
	// demand for delegation fails, rather than NTLM quietly standing in.
	k.SetForwardable("alice", false)
	s := kerberosServer(t, k, httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{SPN: "HTTP/localhost", Keytab: k.Keytab("HTTP/localhost")}, Users: map[string]string{"alice": krbPass}})
	tr := krbTransport(t, k, krbAlice())
	tr.Delegation = negotiate.DelegateAlways
	resp, _, err := legsOf(t, tr, "GET", s.URL, nil)
	err = authFailure(t, resp, err, 401)
	if !errors.Is(err, negotiate.ErrNotForwardable) {
		t.Fatalf("err = %v; want ErrNotForwardable", err)
	}
}
