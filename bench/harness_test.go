// This file holds the benchmark harness: the servers on loopback, the client
// cases (the unauthenticated baseline, our Transport, go-ntlmssp's
// Negotiator), the fixed worker pool that drives them and the server-side
// counters the benchmarks report.

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

const (
	realm    = "EXAMPLE.TEST"
	user     = "alice"
	password = "bench-Passw0rd"
	// ntlmUser is how the NTLM clients type the user: the domain the
	// test server announces (httptestutil's default, "TEST"), as IIS users
	// would type it.
	ntlmUser = `TEST\` + user

	postSize = 64 << 10

	// maxIdle is every client's idle-connection limit per host, so that
	// at the highest concurrency no client churns connections because of
	// net/http's default of 2 (our Transport's default is 64 as well).
	maxIdle = 64

	// runTimeout bounds every request of one benchmark run, so a client
	// that hangs (a handshake split across pooled connections, say)
	// fails instead of stalling the run.
	runTimeout = 2 * time.Minute
)

// concurrencies are the numbers of workers of the benchmarks: concurrency C
// means C goroutines sharing one client, each sending its next request as
// soon as its last response has been read, until b.N requests are done.
var concurrencies = []int{1, 8, 64}

// A serverKind names the test server a client case runs against.
type serverKind int

const (
	plainServer    serverKind = iota // httptest.Server with EchoHandler, no authentication
	ntlmServer                       // httptestutil.NewServer: IIS-like, connection-bound NTLM
	krbServer                        // httptestutil.NewServer with Kerberos: a token on every request, like Apache's Kerberos locations
	krbBoundServer                   // the same, connection-bound (KerberosConfig.ConnectionBound), like IIS
)

// env is what a client case is set up against.
type env struct {
	url  string
	kdc  *kdc.KDC        // the shared KDC
	base *http.Transport // a fresh plain transport, the case's own
}

// A client sends requests; *http.Client is one.
type client interface {
	Do(*http.Request) (*http.Response, error)
	CloseIdleConnections()
}

// A clientCase is one column of the benchmark table.
type clientCase struct {
	name   string
	server serverKind
	setup  func(tb testing.TB, e *env) client
}

// cases are the clients benchmarked, in the order of the table's columns.
// The first is the baseline the others are compared with.
// gokrb5peer_test.go appends gokrb5's SPNEGO client.
var cases = []clientCase{
	{"baseline", plainServer, func(_ testing.TB, e *env) client {
		return &http.Client{Transport: e.base}
	}},
	{"ntlm", ntlmServer, func(tb testing.TB, e *env) client {
		return ours(tb, e, negotiate.Password(ntlmUser, password))
	}},
	{"go-ntlmssp", ntlmServer, func(_ testing.TB, e *env) client {
		return &basicAuthClient{&http.Client{Transport: ntlmssp.Negotiator{RoundTripper: e.base}}, e.base}
	}},
	{"krb", krbServer, func(tb testing.TB, e *env) client {
		return ours(tb, e, negotiate.Password(user+"@"+realm, password))
	}},
	{"krb-bound", krbBoundServer, func(tb testing.TB, e *env) client {
		return ours(tb, e, negotiate.Password(user+"@"+realm, password))
	}},
	// Without mutual authentication, as gokrb5's client works: the server
	// builds no AP-REP and the client verifies none. It shows what the
	// default (required) costs, and compares like with like.
	{"krb-nomutual", krbServer, func(tb testing.TB, e *env) client {
		c := ours(tb, e, negotiate.Password(user+"@"+realm, password)).(*http.Client)
		c.Transport.(*negotiate.Transport).Mutual = negotiate.MutualDisabled
		return c
	}},
}

// ours returns our Transport with creds, over e's base transport.
func ours(tb testing.TB, e *env, creds *negotiate.Credentials) client {
	tb.Helper()
	tr := &negotiate.Transport{Base: e.base, Credentials: creds, Krb5Config: e.kdc.Krb5ConfPath()}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// basicAuthClient is go-ntlmssp's client: its Negotiator takes the
// credentials of each request from req.SetBasicAuth.
type basicAuthClient struct {
	*http.Client
	base *http.Transport // the Negotiator's, which has no CloseIdleConnections
}

func (c *basicAuthClient) Do(req *http.Request) (*http.Response, error) {
	req.SetBasicAuth(ntlmUser, password)
	return c.Client.Do(req)
}

func (c *basicAuthClient) CloseIdleConnections() { c.base.CloseIdleConnections() }

// newKDC starts the KDC the Kerberos cases share, with the benchmark user.
func newKDC(tb testing.TB) *kdc.KDC {
	tb.Helper()
	k := kdc.New(tb, realm, nil)
	k.AddUser(user, password)
	return k
}

// counts are a server's counters that the metrics are made of.
type counts struct {
	conns      int64 // TCP connections accepted
	roundTrips int64 // requests answered, 401s included
	handshakes int64 // handshakes that authenticated a connection or a request
}

func (c counts) sub(d counts) counts {
	return counts{c.conns - d.conns, c.roundTrips - d.roundTrips, c.handshakes - d.handshakes}
}

// newServer starts a server of kind on loopback, closed when tb ends, and
// returns its URL and a function reading its counters.
func newServer(tb testing.TB, kind serverKind, k *kdc.KDC) (string, func() counts) {
	tb.Helper()
	users := map[string]string{user: password}
	var s *httptestutil.Server
	switch kind {
	case plainServer:
		return newPlainServer(tb)
	case ntlmServer:
		s = httptestutil.NewServer(httptestutil.Config{Users: users})
		tb.Cleanup(s.Close)
	case krbServer:
		s = httptestutil.NewServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{KDC: k}})
		tb.Cleanup(s.Close)
	case krbBoundServer:
		s = httptestutil.NewServer(httptestutil.Config{
			Kerberos: &httptestutil.KerberosConfig{KDC: k, ConnectionBound: true},
		})
		tb.Cleanup(s.Close)
	default:
		tb.Fatalf("unknown server kind %d", kind)
	}
	return s.URL, func() counts {
		st := s.Stats()
		// Every request gets one answer: a 401 (counted as a challenge)
		// or the handler's (counted as authenticated).
		return counts{conns: st.Connections, roundTrips: st.Challenges + st.Authenticated, handshakes: st.Handshakes}
	}
}

// newPlainServer starts the baseline's server: EchoHandler on
// httptest.NewServer, counting connections and requests the way
// httptestutil.Server does (atomic adds), so the counting costs the same.
func newPlainServer(tb testing.TB) (string, func() counts) {
	tb.Helper()
	var conns, reqs atomic.Int64
	echo := httptestutil.EchoHandler()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		echo.ServeHTTP(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	tb.Cleanup(s.Close)
	return s.URL, func() counts { return counts{conns: conns.Load(), roundTrips: reqs.Load()} }
}

// newBase returns the plain transport a case's client is built on.
func newBase(tb testing.TB) *http.Transport {
	tb.Helper()
	b := &http.Transport{MaxIdleConnsPerHost: maxIdle}
	tb.Cleanup(b.CloseIdleConnections)
	return b
}

// A sender sends one request and checks its answer.
type sender struct {
	c       client
	ctx     context.Context
	url     string
	method  string
	payload []byte // nil for GET
}

// errStatus and errBody are failures of requests that got an answer.
var (
	errStatus = errors.New("status is not 200")
	errBody   = errors.New("echoed body has the wrong length")
)

// send makes one request, reads the whole answer and checks it: a 200 whose
// body is the payload's length (EchoHandler echoes the body).
func (s *sender) send() error {
	var body io.Reader
	if s.payload != nil {
		body = bytes.NewReader(s.payload)
	}
	req, err := http.NewRequestWithContext(s.ctx, s.method, s.url, body)
	if err != nil {
		return err
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: %d", errStatus, resp.StatusCode)
	case n != int64(len(s.payload)):
		return fmt.Errorf("%w: %d", errBody, n)
	}
	return nil
}

// drive sends n requests from conc workers and returns how many failed and
// the first failure. It never stops early: a failure is counted, not fatal.
func drive(n, conc int, send func() error) (failed int64, first error) {
	var next, fails atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := send(); err != nil {
					fails.Add(1)
					once.Do(func() { first = err })
				}
			}
		})
	}
	wg.Wait()
	return fails.Load(), first
}

// runCase benchmarks one client case: a fresh server and client, one
// untimed warm-up wave of conc requests (logins, tickets and the first
// handshakes; the round-trip tests count those), then b.N timed requests.
func runCase(b *testing.B, cc clientCase, k *kdc.KDC, method string, payload []byte, conc int) {
	url, stats := newServer(b, cc.server, k)
	c := cc.setup(b, &env{url: url, kdc: k, base: newBase(b)})
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	s := &sender{c: c, ctx: ctx, url: url, method: method, payload: payload}

	tgs0 := k.Stats().TGSRequests
	coldFailed, coldErr := drive(conc, conc, s.send)
	if coldFailed > 0 {
		b.Logf("warm-up: %d of %d requests failed; first: %v", coldFailed, conc, coldErr)
	}
	before := stats()
	cpu0, cpuOK := processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	failed, first := drive(b.N, conc, s.send)
	b.StopTimer()
	cpu1, _ := processCPU()
	d := stats().sub(before)

	n := float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "req/s")
	if cpuOK {
		// Client and server together: they share the process.
		b.ReportMetric(float64(cpu1-cpu0)/n, "cpu-ns/req")
	}
	b.ReportMetric(100*float64(failed)/n, "fail-%")
	// The warm-up wave is where a client that splits a handshake across
	// pooled connections fails most: every connection is new.
	b.ReportMetric(100*float64(coldFailed)/float64(conc), "cold-fail-%")
	b.ReportMetric(float64(d.roundTrips)/n, "RTs/req")
	b.ReportMetric(float64(d.handshakes)/n, "handshakes/req")
	b.ReportMetric(float64(d.conns)/n, "conns/req")
	if cc.server == krbServer || cc.server == krbBoundServer {
		// Warm-up included: a client should ask for one ticket in all.
		b.ReportMetric(float64(k.Stats().TGSRequests-tgs0), "TGS/run")
	}
	if failed > 0 {
		b.Logf("%d of %d requests failed; first: %v", failed, b.N, first)
	}
}

// BenchmarkRoundTrip runs every client case at every concurrency, for a GET
// and for a POST of 64 KiB. Sub-benchmarks are named
// op=…/conc=…/client=… so that benchstat -col /client puts the clients
// side by side and compares each with the baseline.
func BenchmarkRoundTrip(b *testing.B) {
	k := newKDC(b)
	payload := make([]byte, postSize)
	for i := range payload {
		payload[i] = byte(i)
	}
	ops := []struct {
		name, method string
		payload      []byte
	}{
		{"GET", http.MethodGet, nil},
		{"POST64K", http.MethodPost, payload},
	}
	for _, op := range ops {
		for _, conc := range concurrencies {
			for _, cc := range cases {
				b.Run(fmt.Sprintf("op=%s/conc=%d/client=%s", op.name, conc, cc.name), func(b *testing.B) {
					runCase(b, cc, k, op.method, op.payload, conc)
				})
			}
		}
	}
}
