package main

// These tests build the negcurl binary once and run it, as a user would,
// against the test servers of package httptestutil and the in-process KDC:
// exit status, stdout and stderr are what they check.

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// binary is the negcurl built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "negcurl-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "negcurl")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	realm     = "EXAMPLE.TEST"
	ntlmUser  = `LAB\bob`
	ntlmPass  = "ntlm-Pa55word"
	krbUser   = "alice@" + realm
	krbPass   = "krb-Pa55word"
	krbSecret = "Pa55word" // in both passwords: must never be printed
)

// result is one run of negcurl.
type result struct {
	code           int
	stdout, stderr string
}

// runOpts are what a run needs beside its arguments.
type runOpts struct {
	env   []string // added to a clean environment
	stdin []byte
}

// negcurl runs the binary with args and a clean environment: no proxy
// variables, and Kerberos pointed at nothing unless env says otherwise.
func negcurl(t testing.TB, ro runOpts, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	dir := t.TempDir()
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"KRB5CCNAME=FILE:" + filepath.Join(dir, "no-ccache"),
		"KRB5_CLIENT_KTNAME=" + filepath.Join(dir, "no-keytab"),
		"KRB5_CONFIG=" + filepath.Join(dir, "no-krb5.conf"),
	}, ro.env...)
	cmd.Stdin = bytes.NewReader(ro.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("negcurl %q: %v (stderr: %s)", args, err, stderr.String())
		}
		code = ee.ExitCode()
	}
	return result{code, stdout.String(), stderr.String()}
}

// check fails the test unless r has the exit code and stderr matches re.
func (r result) check(t testing.TB, code int, re string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d; want %d\nstderr:\n%s", r.code, code, r.stderr)
	}
	if re != "" && !regexp.MustCompile(re).MatchString(r.stderr) {
		t.Errorf("stderr does not match %q:\n%s", re, r.stderr)
	}
	if strings.Contains(r.stderr, krbSecret) || strings.Contains(r.stdout, krbSecret) {
		t.Errorf("output contains the password:\n%s", r.stderr)
	}
}

// recorder wraps a Server's handler before it starts, recording every
// token in Authorization and WWW-Authenticate headers.
type recorder struct {
	mu     sync.Mutex
	tokens []string // base64, as on the wire
}

func (rec *recorder) add(v string) {
	if _, tok, ok := strings.Cut(v, " "); ok && len(tok) > 8 {
		rec.mu.Lock()
		rec.tokens = append(rec.tokens, tok)
		rec.mu.Unlock()
	}
}

func (rec *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, v := range r.Header.Values("Authorization") {
			rec.add(v)
		}
		h.ServeHTTP(headerSpy{w, rec}, r)
	})
}

// headerSpy records the WWW-Authenticate tokens a handler sends.
type headerSpy struct {
	http.ResponseWriter
	rec *recorder
}

func (s headerSpy) WriteHeader(code int) {
	for _, v := range s.Header().Values("Www-Authenticate") {
		s.rec.add(v)
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s headerSpy) Write(b []byte) (int, error) { return s.ResponseWriter.Write(b) }

// newNTLMServer starts an NTLM (and NTLM-in-Negotiate) server that knows
// ntlmUser, recording the tokens.
func newNTLMServer(t testing.TB, cfg httptestutil.Config) (*httptestutil.Server, *recorder) {
	t.Helper()
	if cfg.Users == nil {
		cfg.Users = map[string]string{ntlmUser: ntlmPass}
	}
	s := httptestutil.NewUnstartedServer(cfg)
	rec := &recorder{}
	s.Config.Handler = rec.wrap(s.Config.Handler)
	s.Start()
	t.Cleanup(s.Close)
	return s, rec
}

// newKerberos starts a KDC that knows alice and a Kerberos server, and
// returns the server and the krb5.conf path.
func newKerberos(t testing.TB, opts *kdc.Options, cfg httptestutil.Config) (*kdc.KDC, *httptestutil.Server, string) {
	t.Helper()
	k := kdc.New(t, realm, opts)
	k.AddUser("alice", krbPass)
	var kc httptestutil.KerberosConfig
	if cfg.Kerberos != nil {
		kc = *cfg.Kerberos
	}
	kc.KDC = k
	cfg.Kerberos = &kc
	s := httptestutil.NewServer(cfg)
	t.Cleanup(s.Close)
	return k, s, k.Krb5ConfPath()
}

func TestNTLM(t *testing.T) {
	s, rec := newNTLMServer(t, httptestutil.Config{})
	r := negcurl(t, runOpts{}, "-v", "-i", "-u", ntlmUser+":"+ntlmPass, s.URL+"/hello")
	r.check(t, 0, "")
	if !strings.Contains(r.stdout, "X-User: "+ntlmUser) {
		t.Errorf("stdout lacks the authenticated user; got:\n%s", r.stdout)
	}
	for _, want := range []string{
		"> Authorization: NTLM <",
		"NTLM NEGOTIATE", "NTLM CHALLENGE", "NTLM AUTHENTICATE",
		"flags: 0x", "UNICODE", `domain: "LAB" user: "bob"`,
		"MsvAvNbDomainName=", "MIC: true", "channel bindings: false",
		"< WWW-Authenticate: NTLM <",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("-v output lacks %q", want)
		}
	}
	if len(rec.tokens) < 3 {
		t.Fatalf("recorded %d tokens; want at least 3", len(rec.tokens))
	}
	for _, tok := range rec.tokens {
		if strings.Contains(r.stderr, tok[:12]) {
			t.Errorf("-v output contains the base64 of a token (%d characters)", len(tok))
		}
	}
	if strings.Contains(r.stderr, ntlmPass) {
		t.Errorf("-v output contains the password")
	}
}

func TestPasswordFromStdin(t *testing.T) {
	s, _ := newNTLMServer(t, httptestutil.Config{})
	r := negcurl(t, runOpts{stdin: []byte(ntlmPass + "\n")}, "--ntlm", "-i", "-u", ntlmUser, s.URL)
	r.check(t, 0, "")
	if !strings.Contains(r.stdout, "X-User: "+ntlmUser) {
		t.Errorf("stdout lacks the authenticated user; got:\n%s", r.stdout)
	}
	r = negcurl(t, runOpts{}, "--ntlm", "-u", ntlmUser, s.URL)
	r.check(t, 2, "no password on stdin")
}

func TestKerberos(t *testing.T) {
	k, s, conf := newKerberos(t, nil, httptestutil.Config{})
	dir := t.TempDir()
	ccache := filepath.Join(dir, "ccache")
	if err := k.WriteCCache(ccache, "alice", krbPass); err != nil {
		t.Fatal(err)
	}
	keytab := filepath.Join(dir, "alice.keytab")
	if err := k.WriteKeytab(keytab, "alice"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"password", nil, []string{"-u", krbUser + ":" + krbPass}},
		{"ticket cache (-u :)", []string{"KRB5CCNAME=FILE:" + ccache}, []string{"-u", ":"}},
		{"keytab", nil, []string{"-u", krbUser, "--keytab", keytab}},
		{"KRB5_CONFIG", []string{"KRB5_CONFIG=" + conf, "KRB5CCNAME=FILE:" + ccache}, []string{"-u", ":", "--negotiate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-v", "-i", s.URL}, tt.args...)
			if !strings.HasPrefix(tt.name, "KRB5_CONFIG") {
				args = append(args, "--krb5-config", conf)
			}
			r := negcurl(t, runOpts{env: tt.env}, args...)
			r.check(t, 0, `(?s)Kerberos AP-REQ: ticket for HTTP/localhost@EXAMPLE\.TEST.*mutual-required.*Kerberos AP-REP.*mutual authentication: verified`)
			if !strings.Contains(r.stdout, "X-User: "+krbUser) {
				t.Errorf("stdout lacks the authenticated user; got:\n%s", r.stdout)
			}
			if regexp.MustCompile(`Negotiate [A-Za-z0-9+/]{12}`).MatchString(r.stderr) {
				t.Errorf("-v output contains a Negotiate token's base64:\n%s", r.stderr)
			}
		})
	}
}

func TestKerberosMutual(t *testing.T) {
	_, s, conf := newKerberos(t, nil, httptestutil.Config{Faults: httptestutil.Faults{OmitFinalToken: true}})
	args := []string{"-u", krbUser + ":" + krbPass, "--krb5-config", conf, s.URL}
	negcurl(t, runOpts{}, args...).check(t, 5, `^negcurl: server localhost:\d+ did not prove its identity: it sent no final Kerberos token \(AP-REP\); if this server never sends one, try --mutual optional\n$`)
	negcurl(t, runOpts{}, append(args, "-v", "--mutual", "optional")...).check(t, 0, "mutual authentication: the server sent no AP-REP; accepted as --mutual optional allows")
	negcurl(t, runOpts{}, append(args, "-v", "--mutual", "disabled")...).check(t, 0, "mutual authentication: not requested")
}

func TestAuthFailures(t *testing.T) {
	ntlmSrv, _ := newNTLMServer(t, httptestutil.Config{})
	_, krbSrv, conf := newKerberos(t, nil, httptestutil.Config{})
	_, skewSrv, skewConf := newKerberos(t, &kdc.Options{ClockOffset: 7*time.Minute + 12*time.Second}, httptestutil.Config{})
	ipURL := strings.Replace(krbSrv.URL, "localhost", "127.0.0.1", 1)
	alice := krbUser + ":" + krbPass
	tests := []struct {
		name string
		args []string
		want string // the whole stderr line
	}{
		{"wrong NTLM password", []string{"--ntlm", "-u", ntlmUser + ":wrong-" + krbSecret, ntlmSrv.URL},
			`server 127\.0\.0\.1:\d+ rejected the NTLM credentials for LAB\\bob: check the user name \(DOMAIN\\user\) and the password`},
		{"wrong Kerberos password", []string{"-u", krbUser + ":wrong-" + krbSecret, "--krb5-config", conf, krbSrv.URL},
			`the KDC rejected the password for alice@EXAMPLE\.TEST: check the password`},
		{"no Kerberos credentials", []string{"-u", ":", "--krb5-config", conf, krbSrv.URL},
			`no Kerberos credentials for server localhost:\d+ \(-u :\): run kinit, or pass -u user\[:password\]`},
		{"no credentials at all", []string{ntlmSrv.URL},
			`server 127\.0\.0\.1:\d+ asks for Negotiate, NTLM and no credentials were given: pass -u user\[:password\], or -u : for the Kerberos ticket cache`},
		{"clock skew", []string{"-u", alice, "--krb5-config", skewConf, skewSrv.URL},
			`clock skew of 7m1[12]s with the KDC exceeds 5m \(its clock is ahead of this one's\): set the clocks right \(NTP\)`},
		{"unknown SPN", []string{"-u", alice, "--krb5-config", conf, "--negotiate", "--spn", "HTTP/nowhere.example.test", krbSrv.URL},
			`service principal HTTP/nowhere\.example\.test is unknown to realm EXAMPLE\.TEST: use the host name or --spn \(NTLM, tried instead, was rejected for alice@EXAMPLE\.TEST\)`},
		{"IP literal", []string{"-u", alice, "--krb5-config", conf, ipURL},
			`no Kerberos service principal fits 127\.0\.0\.1, an IP address: use the host name, or --spn HTTP/<host name> \(NTLM, tried instead, was rejected for alice@EXAMPLE\.TEST\)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			negcurl(t, runOpts{}, tt.args...).check(t, 4, "^negcurl: "+tt.want+"\n$")
		})
	}
}

func TestUsageErrors(t *testing.T) {
	s, _ := newNTLMServer(t, httptestutil.Config{})
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no URL given"},
		{[]string{"--no-such-flag", s.URL}, "flag provided but not defined"},
		{[]string{s.URL, s.URL}, "one URL at a time"},
		{[]string{"--delegation", "sometimes", s.URL}, `--delegation "sometimes": want none, policy or always`},
		{[]string{"-U", ":x", s.URL}, "-U: empty user name"},
		{[]string{"--mutual", "sometimes", s.URL}, `--mutual "sometimes": want required, optional or disabled`},
		{[]string{"--basic", "-u", "bob:x", s.URL}, "--basic over plain http would send the password in the clear"},
		{[]string{"--keytab", "/nonexistent", s.URL}, "--keytab needs -u user"},
		{[]string{"ftp://example.test/"}, "unsupported protocol"},
		{[]string{"-H", "NoColon", s.URL}, "want 'Name: value'"},
	}
	for _, tt := range tests {
		negcurl(t, runOpts{}, tt.args...).check(t, 2, regexp.QuoteMeta(tt.want))
	}
	if r := negcurl(t, runOpts{}, "-h"); r.code != 0 || !strings.Contains(r.stdout, "Exit status") {
		t.Errorf("negcurl -h: exit status %d, stdout %q; want 0 and the usage", r.code, r.stdout)
	}

}

func TestConnectionFailures(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	negcurl(t, runOpts{}, "http://"+addr+"/").check(t, 3, `^negcurl: cannot connect to 127\.0\.0\.1:\d+: .*refused`)
	// -s silences the message, not the exit status; -S brings it back.
	if r := negcurl(t, runOpts{}, "-s", "http://"+addr+"/"); r.code != 3 || r.stderr != "" {
		t.Errorf("negcurl -s: exit status %d, stderr %q; want 3 and nothing", r.code, r.stderr)
	}
	negcurl(t, runOpts{}, "-s", "-S", "http://"+addr+"/").check(t, 3, "cannot connect")

	// A server that never answers: --max-time ends the wait.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	negcurl(t, runOpts{}, "--max-time", "0.3", slow.URL).check(t, 3, `operation timed out after 300ms \(--max-time\)`)

	// TLS with a certificate negcurl does not trust, then with -k.
	tlsSrv := httptestutil.NewTLSServer(httptestutil.Config{Users: map[string]string{ntlmUser: ntlmPass}})
	t.Cleanup(tlsSrv.Close)
	negcurl(t, runOpts{}, "-u", ntlmUser+":"+ntlmPass, tlsSrv.URL).check(t, 3, "is not trusted: pass --cacert FILE")
	negcurl(t, runOpts{}, "-k", "-u", ntlmUser+":"+ntlmPass, tlsSrv.URL).check(t, 0, "")
}

func TestHTTPStatus(t *testing.T) {
	s, _ := newNTLMServer(t, httptestutil.Config{Handler: http.NotFoundHandler()})
	negcurl(t, runOpts{}, "-u", ntlmUser+":"+ntlmPass, s.URL).check(t, 1, `^negcurl: the server answered 404 Not Found\n$`)
}

func TestDataBinary(t *testing.T) {
	s, _ := newNTLMServer(t, httptestutil.Config{})
	body := make([]byte, 200<<10)
	rand.Read(body)
	copy(body, "line one\r\nline two\n\x00") // CR, LF and NUL must survive
	file := filepath.Join(t.TempDir(), "body.bin")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	creds := ntlmUser + ":" + ntlmPass
	tests := []struct {
		name  string
		stdin []byte
		args  []string
		want  []byte
	}{
		{"@file", nil, []string{"--data-binary", "@" + file}, body},
		{"@- (stdin)", body, []string{"--data-binary", "@-"}, body},
		{"-d joins with &", nil, []string{"-d", "a=1", "-d", "b=2"}, []byte("a=1&b=2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-u", creds, s.URL + "/echo"}, tt.args...)
			r := negcurl(t, runOpts{stdin: tt.stdin}, args...)
			r.check(t, 0, "")
			if !bytes.Equal([]byte(r.stdout), tt.want) {
				t.Errorf("echoed body: %d bytes, equal %v; want the %d bytes sent", len(r.stdout), false, len(tt.want))
			}
		})
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	negcurl(t, runOpts{}, "-u", creds, "--data-binary", "@"+file, "-o", out, s.URL).check(t, 0, "")
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, body) {
		t.Errorf("-o file: %d bytes, %v; want the %d bytes sent", len(got), err, len(body))
	}
	negcurl(t, runOpts{}, "-u", creds, "--data-binary", "@"+file+".missing", s.URL).check(t, 6, "cannot read data")
}

// TestProxy sends a Kerberos request through a forwarding proxy given
// with -x, and around it with --noproxy.
func TestProxy(t *testing.T) {
	_, s, conf := newKerberos(t, nil, httptestutil.Config{})
	var proxied atomic.Int64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		proxied.Add(1)
		r.Out.URL = r.In.URL // a forward proxy: the request names the origin
	}}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	args := []string{"-u", krbUser + ":" + krbPass, "--krb5-config", conf, "-x", ps.URL, s.URL}
	negcurl(t, runOpts{}, args...).check(t, 0, "")
	if proxied.Load() == 0 {
		t.Errorf("no request went through the -x proxy")
	}
	proxied.Store(0)
	negcurl(t, runOpts{}, append(args, "--noproxy", "localhost")...).check(t, 0, "")
	if n := proxied.Load(); n != 0 {
		t.Errorf("%d requests went through the proxy despite --noproxy", n)
	}
}

// TestProxyAuth authenticates to a proxy (407) with -U, with the proxy
// URL's user info, and fails in plain words without them.
func TestProxyAuth(t *testing.T) {
	const proxyUser, proxyPass = `LAB\carol`, "proxy-Pa55word"
	origin, _ := newNTLMServer(t, httptestutil.Config{})
	ntlmProxy := httptestutil.NewServer(httptestutil.Config{Proxy: true, Users: map[string]string{proxyUser: proxyPass}})
	t.Cleanup(ntlmProxy.Close)
	k := kdc.New(t, realm, nil)
	k.AddUser("alice", krbPass)
	krbProxy := httptestutil.NewServer(httptestutil.Config{Proxy: true, Kerberos: &httptestutil.KerberosConfig{KDC: k}})
	t.Cleanup(krbProxy.Close)
	conf := k.Krb5ConfPath()
	userinfo := strings.Replace(ntlmProxy.URL, "http://", "http://LAB%5Ccarol:"+proxyPass+"@", 1)
	server := []string{"-u", ntlmUser + ":" + ntlmPass, origin.URL}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"NTLM proxy, -U", []string{"-v", "-x", ntlmProxy.URL, "-U", proxyUser + ":" + proxyPass},
			0, `(?s)Proxy-Authorization: NTLM <\d+ bytes>.*Proxy-Authorization token:\n\*   NTLM AUTHENTICATE\n.*user: "carol".*X-User: LAB\\bob`},
		{"NTLM proxy, user info in -x", []string{"-x", userinfo}, 0, ""},
		{"Kerberos proxy, -U", []string{"-v", "-x", krbProxy.URL, "-U", krbUser + ":" + krbPass, "--krb5-config", conf},
			0, `(?s)Proxy-Authorization: Negotiate <\d+ bytes>.*Kerberos AP-REQ: ticket for HTTP/localhost@EXAMPLE\.TEST`},
		{"wrong proxy password", []string{"-x", ntlmProxy.URL, "-U", proxyUser + ":wrong-" + krbSecret},
			4, `^negcurl: proxy 127\.0\.0\.1:\d+ rejected the NTLM credentials for LAB\\carol: check the user name \(DOMAIN\\user\) and the password \(Kerberos was not used: no Kerberos service principal fits 127\.0\.0\.1, an IP address: give the proxy by its host name in -x\)\n$`},
		{"no proxy credentials", []string{"-x", ntlmProxy.URL},
			4, `^negcurl: proxy 127\.0\.0\.1:\d+ asks for Negotiate, NTLM and no credentials were given: pass -U user\[:password\], or -U : for the Kerberos ticket cache\n$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := negcurl(t, runOpts{}, append(append([]string{"-i"}, tt.args...), server...)...)
			r.check(t, tt.code, tt.want)
			if strings.Contains(r.stderr+r.stdout, proxyPass) {
				t.Errorf("output contains the proxy password")
			}
		})
	}
}

// TestRedirect: credentials stay with the host asked for unless
// --location-trusted.
func TestRedirect(t *testing.T) {
	target, _ := newNTLMServer(t, httptestutil.Config{})
	// "localhost" is another host than the "127.0.0.1" negcurl is given.
	moved := strings.Replace(target.URL, "127.0.0.1", "localhost", 1) + "/moved"
	front := httptest.NewServer(http.RedirectHandler(moved, http.StatusFound))
	t.Cleanup(front.Close)
	creds := ntlmUser + ":" + ntlmPass
	negcurl(t, runOpts{}, "-u", creds, front.URL).check(t, 0, "")
	negcurl(t, runOpts{}, "-L", "-u", creds, front.URL).check(t, 4,
		`^negcurl: credentials were not sent to localhost:\d+, reached by a redirect: pass --location-trusted to allow it\n$`)
	r := negcurl(t, runOpts{}, "--location-trusted", "-i", "-u", creds, front.URL)
	r.check(t, 0, "")
	if !strings.Contains(r.stdout, "X-User: "+ntlmUser) {
		t.Errorf("stdout lacks the authenticated user; got:\n%s", r.stdout)
	}
}

// TestInsecureBasic: --basic over plain http only with --insecure-basic,
// and then the credentials arrive; -v shows their size, not them.
func TestInsecureBasic(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "bob" || p != ntlmPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte("hello bob"))
	}))
	t.Cleanup(s.Close)
	negcurl(t, runOpts{}, "--basic", "-u", "bob:"+ntlmPass, s.URL).check(t, 2, "would send the password in the clear")
	r := negcurl(t, runOpts{}, "-v", "--basic", "--insecure-basic", "-u", "bob:"+ntlmPass, s.URL)
	r.check(t, 0, `> Authorization: Basic <\d+ bytes>`)
	if r.stdout != "hello bob" || strings.Contains(r.stderr, ntlmPass) {
		t.Errorf("stdout %q; want the body, and no password in -v output", r.stdout)
	}
	negcurl(t, runOpts{}, s.URL).check(t, 4, `server 127\.0\.0\.1:\d+ offers Basic, which negcurl does not use by default: pass --basic --insecure-basic \(the password then travels in the clear\)`)
}

func TestDelegation(t *testing.T) {
	k, s, conf := newKerberos(t, nil, httptestutil.Config{})
	args := func(mode string) []string {
		return []string{"-i", "--krb5-config", conf, "-u", krbUser + ":" + krbPass, "--delegation", mode, s.URL}
	}
	for _, tt := range []struct {
		mode, want string
	}{
		{"none", ""},
		{"policy", ""}, // the service is not trusted for delegation
		{"always", krbUser},
	} {
		r := negcurl(t, runOpts{}, args(tt.mode)...)
		r.check(t, 0, "")
		got := ""
		if m := regexp.MustCompile(`(?m)^X-Delegated: (\S+)`).FindStringSubmatch(r.stdout); m != nil {
			got = m[1]
		}
		if got != tt.want {
			t.Errorf("--delegation %s: delegated %q; want %q", tt.mode, got, tt.want)
		}
	}
	k.SetForwardable("alice", false)
	negcurl(t, runOpts{}, args("always")...).check(t, 4, "cannot delegate: the Kerberos ticket-granting ticket is not forwardable")
}
