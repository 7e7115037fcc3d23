//go:build integration

// This file reads the lab's environment and holds the helpers every test
// uses: Transports configured for the lab, requests with a leg trace,
// whoami, kinit, and the Apache access log.

package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
)

// requestTimeout bounds every request of the suite; the lab answers in
// milliseconds, so hitting it means something hangs.
const requestTimeout = 30 * time.Second

// labEnv is the lab's environment: the KEY=value lines of lab.env.
type labEnv map[string]string

var (
	labOnce sync.Once
	labVars labEnv
	labErr  error
)

// lab returns the lab's environment. It skips the test when LAB_ENV is
// unset, except under CI (CI=true), where a missing lab is a failure: the
// suite must not pass there without having run.
func lab(t testing.TB) labEnv {
	t.Helper()
	path := os.Getenv("LAB_ENV")
	if path == "" {
		const msg = "lab not up: run .ci/lab/up.sh and set LAB_ENV"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: the real-peer suite must run)")
		}
		t.Skip(msg)
	}
	labOnce.Do(func() { labVars, labErr = readLabEnv(path) })
	if labErr != nil {
		t.Fatalf("LAB_ENV: %v", labErr)
	}
	return labVars
}

// readLabEnv parses lab.env: KEY=value lines, never quoted, split at the
// first '='.
func readLabEnv(path string) (labEnv, error) {
	return readEnvFile(path,
		"LAB_DIR", "KRB5_CONFIG", "LAB_REALM", "LAB_USER", "LAB_PASSWORD", "LAB_USER2", "LAB_PASSWORD2",
		"LAB_NTLM_DOMAIN", "LAB_KEYTAB", "LAB_HTTP_HOST", "LAB_HTTP_SPN", "LAB_HTTP_URL", "LAB_HTTPS_URL",
		"LAB_CA_FILE", "LAB_PROXY_URL", "LAB_PROXY_OPEN_URL", "LAB_VERSIONS")
}

// readEnvFile parses a KEY=value file and checks that the required keys
// have values.
func readEnvFile(path string, required ...string) (labEnv, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := labEnv{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not KEY=value", path, i+1)
		}
		env[k] = v
	}
	for _, k := range required {
		if env[k] == "" {
			return nil, fmt.Errorf("%s: %s missing", path, k)
		}
	}
	return env, nil
}

// principal is alice's Kerberos principal, user@REALM.
func (e labEnv) principal() string { return e["LAB_USER"] + "@" + e["LAB_REALM"] }

// ntlmUser is alice's NTLM name, DOMAIN\user, as whoami reports it.
func (e labEnv) ntlmUser() string { return e["LAB_NTLM_DOMAIN"] + `\` + e["LAB_USER"] }

// url returns the lab's base URL for scheme "http" or "https".
func (e labEnv) url(scheme string) string {
	if scheme == "https" {
		return e["LAB_HTTPS_URL"]
	}
	return e["LAB_HTTP_URL"]
}

// baseTransport returns an *http.Transport that trusts only the lab CA and
// never uses a proxy from the environment.
func baseTransport(t testing.TB, e labEnv) *http.Transport {
	t.Helper()
	pem, err := os.ReadFile(e["LAB_CA_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", e["LAB_CA_FILE"])
	}
	ports := &portSet{m: map[string]bool{}}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	base := &http.Transport{
		Proxy: nil,
		// Note each connection's local port: Apache logs it, and other
		// clients may use the lab at the same time.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err == nil {
				_, port, _ := net.SplitHostPort(c.LocalAddr().String())
				ports.add(port)
			}
			return c, err
		},
		TLSClientConfig:       &tls.Config{RootCAs: pool},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConnsPerHost:   64,
	}
	t.Cleanup(base.CloseIdleConnections)
	dialedPorts.Store(base, ports)
	t.Cleanup(func() { dialedPorts.Delete(base) })
	return base
}

// portSet is the set of local ports a Base transport dialled from.
type portSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *portSet) add(port string) {
	s.mu.Lock()
	s.m[port] = true
	s.mu.Unlock()
}

// len returns how many connections were dialled.
func (s *portSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *portSet) has(port string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[port]
}

// dialedPorts maps a Base transport made by baseTransport to its portSet.
var dialedPorts sync.Map

// portsOf returns the local ports tr's Base dialled from.
func portsOf(t testing.TB, tr *negotiate.Transport) *portSet {
	t.Helper()
	v, ok := dialedPorts.Load(tr.Base)
	if !ok {
		t.Fatal("the Transport's Base was not made by baseTransport")
	}
	return v.(*portSet)
}

// newTransport returns a Transport for the lab with credentials c: the
// lab's krb5.conf, the lab CA, mutual authentication required.
func newTransport(t testing.TB, e labEnv, c *negotiate.Credentials) *negotiate.Transport {
	t.Helper()
	tr := &negotiate.Transport{
		Base:        baseTransport(t, e),
		Credentials: c,
		Krb5Config:  e["KRB5_CONFIG"],
		Mutual:      negotiate.MutualRequired,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// result is what one request through a Transport gave.
type result struct {
	resp    *http.Response // body already read and closed
	body    []byte
	bodyErr error // reading resp.Body failed
	legs    []negotiate.LegInfo
	err     error
}

// tokens counts the legs that carried a token.
func (r result) tokens() int {
	n := 0
	for _, l := range r.legs {
		if l.Sent != nil {
			n++
		}
	}
	return n
}

// schemes lists the scheme of every leg, "-" for a leg without a token,
// for messages.
func (r result) schemes() string {
	var s []string
	for _, l := range r.legs {
		if l.Scheme == negotiate.SchemeUnknown {
			s = append(s, "-")
		} else {
			s = append(s, l.Scheme.String())
		}
	}
	return strings.Join(s, ",")
}

// do sends one request through rt with a leg trace and reads the whole
// response body. body may be nil. setup, if not nil, may change the request
// before it is sent.
func do(t testing.TB, rt http.RoundTripper, method, u string, body io.Reader, setup func(*http.Request)) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var r result
	ctx = negotiate.WithClientTrace(ctx, &negotiate.ClientTrace{Leg: func(l negotiate.LegInfo) {
		// Keep only what the tests read; the hook must not keep the values.
		r.legs = append(r.legs, negotiate.LegInfo{
			Leg: l.Leg, Scheme: l.Scheme, Reused: l.Reused,
			Sent: bytes.Clone(l.Sent), Received: bytes.Clone(l.Received),
			Response: &http.Response{StatusCode: l.Response.StatusCode, Header: l.Response.Header.Clone()},
		})
	}})
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(req)
	}
	r.resp, r.err = rt.RoundTrip(req)
	if r.err != nil {
		return r
	}
	r.body, r.bodyErr = io.ReadAll(r.resp.Body)
	r.resp.Body.Close()
	return r
}

// whoami is the answer of a location's whoami script: REMOTE_USER and
// the scheme and mechanism ("Negotiate/krb5", "Negotiate/NTLM", "NTLM/NTLM").
type whoami struct{ user, mech string }

func (w whoami) String() string { return w.user + " " + w.mech }

// getWhoami GETs u (a .../whoami URL) through rt and requires a 200.
func getWhoami(t testing.TB, rt http.RoundTripper, u string) (whoami, result) {
	t.Helper()
	r := do(t, rt, "GET", u, nil, nil)
	if r.err != nil {
		t.Fatalf("GET %s: %v", u, r.err)
	}
	if r.resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d (legs %s), ResponseError %v; want 200", u, r.resp.StatusCode, r.schemes(), negotiate.ResponseError(r.resp))
	}
	if r.bodyErr != nil {
		t.Fatalf("GET %s: reading the body: %v", u, r.bodyErr)
	}
	return parseWhoami(r.body), r
}

func parseWhoami(b []byte) whoami {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	var w whoami
	if len(lines) > 0 {
		w.user = lines[0]
	}
	if len(lines) > 1 {
		w.mech = lines[1]
	}
	return w
}

// scratchCCache points KRB5CCNAME at a new, empty credential cache path for
// the rest of the test (no file exists there yet) and keeps the client
// keytab and the default cache out of reach. It returns the path.
func scratchCCache(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ccache")
	t.Setenv("KRB5CCNAME", "FILE:"+path)
	t.Setenv("KRB5_CLIENT_KTNAME", "")
	return path
}

// kinit runs the lab's MIT kinit for alice with her password into the
// credential cache at path.
func kinit(t testing.TB, e labEnv, path string) {
	t.Helper()
	kinitPath, err := exec.LookPath("kinit")
	if err != nil {
		t.Fatalf("kinit not found (the lab installs krb5-user): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kinitPath, e.principal())
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+e["KRB5_CONFIG"], "KRB5CCNAME=FILE:"+path)
	cmd.Stdin = strings.NewReader(e["LAB_PASSWORD"] + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit %s: %v\n%s", e.principal(), err, out)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("kinit wrote no cache at %s: %v", path, err)
	}
}

// accessLog is the lab Apache's access log.
type accessLog struct {
	path   string
	offset int64
}

// openAccessLog notes the end of Apache's access log, so that entries can
// later be read from there on.
func openAccessLog(t testing.TB, e labEnv) *accessLog {
	t.Helper()
	return openLog(t, filepath.Join(e["LAB_DIR"], "apache", "logs", "access.log"))
}

// openLog notes the end of the log file at path.
func openLog(t testing.TB, path string) *accessLog {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("access log: %v", err)
	}
	return &accessLog{path: path, offset: fi.Size()}
}

// logEntry is one access log line: "%h:%{remote}p %u %t \"%r\" %>s %b keepalive=%k".
type logEntry struct {
	port    string // the client's port: one per TCP connection
	user    string
	request string // "GET /krb/whoami HTTP/1.1"
	status  string
}

// entries returns the Apache entries written since openAccessLog whose
// request line contains substr and that came from one of ports, the
// connections of the Transport under test.
func (l *accessLog) entries(t testing.TB, ports *portSet, substr string, want int) []logEntry {
	t.Helper()
	var got []logEntry
	for _, line := range l.lines(t, func(line string) bool {
		e, ok := parseLogLine(line)
		return ok && ports.has(e.port) && strings.Contains(e.request, substr)
	}, want) {
		e, _ := parseLogLine(line)
		got = append(got, e)
	}
	return got
}

// lines returns the lines written since the log was opened for which match
// is true. A server writes an entry after the response, so it waits
// (boundedly) until want lines have appeared.
func (l *accessLog) lines(t testing.TB, match func(string) bool, want int) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = got[:0]
		f, err := os.Open(l.path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
			f.Close()
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if match(sc.Text()) {
				got = append(got, sc.Text())
			}
		}
		f.Close()
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func parseLogLine(s string) (logEntry, bool) {
	// 127.0.0.1:37358 alice@LAB.TEST [23/Nov/2026:22:10:33 +0000] "GET /krb/whoami HTTP/1.1" 200 2 keepalive=0
	addr, rest, ok := strings.Cut(s, " ")
	if !ok {
		return logEntry{}, false
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return logEntry{}, false
	}
	user, rest, _ := strings.Cut(rest, " ")
	q1 := strings.IndexByte(rest, '"')
	q2 := strings.LastIndexByte(rest, '"')
	if q1 < 0 || q2 <= q1 {
		return logEntry{}, false
	}
	fields := strings.Fields(rest[q2+1:])
	if len(fields) < 1 {
		return logEntry{}, false
	}
	return logEntry{port: addr[i+1:], user: user, request: rest[q1+1 : q2], status: fields[0]}, true
}

// hostPort returns the port of a base URL such as LAB_HTTP_URL.
func hostPort(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// final401 requires r to be a final 401 handed to the caller as a response,
// with a body the caller can read (the RoundTripper contract), and returns
// ResponseError's explanation.
func final401(t testing.TB, r result) error {
	t.Helper()
	if r.err != nil || r.resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("RoundTrip = %v, %v; want the final 401 as a response", r.resp, r.err)
	}
	if r.bodyErr != nil {
		t.Errorf("bug: the final 401's body cannot be read: %v", r.bodyErr)
	}
	return negotiate.ResponseError(r.resp)
}

// withCredentials returns a do setup that sends the request with c
// (negotiate.WithCredentials) instead of the Transport's credentials.
func withCredentials(c *negotiate.Credentials) func(*http.Request) {
	return func(req *http.Request) {
		*req = *req.WithContext(negotiate.WithCredentials(req.Context(), c))
	}
}
