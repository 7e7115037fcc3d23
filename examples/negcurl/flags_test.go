package main

// Tests of the authentication flags against servers and proxies offering
// every combination of schemes, of combined short flags, and of the note
// about a proxy the environment names but Go skips.

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// schemeOrder is the order in which curl (and negcurl) prefer schemes.
var schemeOrder = []string{"Negotiate", "NTLM", "Basic"}

// subsets returns every non-empty subset of schemeOrder, in that order.
func subsets() [][]string {
	var out [][]string
	for mask := 1; mask < 1<<len(schemeOrder); mask++ {
		var s []string
		for i, name := range schemeOrder {
			if mask&(1<<i) != 0 {
				s = append(s, name)
			}
		}
		out = append(out, s)
	}
	return out
}

// expected returns the scheme a client allowing allowed uses with a peer
// offering offered: the first of schemeOrder in both, "" if none.
func expected(allowed, offered []string) string {
	for _, s := range schemeOrder {
		if slices.Contains(allowed, s) && slices.Contains(offered, s) {
			return s
		}
	}
	return ""
}

// schemesSent returns the schemes of the header field name that -v output
// shows sent, in order, without repeats.
func schemesSent(stderr, name string) []string {
	var out []string
	re := regexp.MustCompile(`(?m)^> ` + name + `: (\w+) <`)
	for _, m := range re.FindAllStringSubmatch(stderr, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestServerSchemeFlags runs each server flag against TLS servers offering
// every combination of Negotiate, NTLM and Basic, with credentials good
// for all three, and checks the scheme used: the best the server offers
// among those the flags allow, as curl picks it; or, when none fits, a
// message naming the flag that would.
func TestServerSchemeFlags(t *testing.T) {
	k := kdc.New(t, realm, nil)
	k.AddUser("alice", krbPass)
	conf := k.Krb5ConfPath()
	flagSets := []struct {
		flags   []string
		allowed []string
	}{
		{nil, []string{"Negotiate", "NTLM"}},
		{[]string{"--negotiate"}, []string{"Negotiate"}},
		{[]string{"--ntlm"}, []string{"NTLM"}},
		{[]string{"--basic"}, []string{"Basic"}},
		{[]string{"--anyauth"}, schemeOrder},
		{[]string{"--ntlm", "--negotiate"}, []string{"Negotiate", "NTLM"}},
		{[]string{"--basic", "--ntlm"}, []string{"NTLM", "Basic"}},
		{[]string{"--negotiate", "--basic"}, []string{"Negotiate", "Basic"}},
	}
	for _, offered := range subsets() {
		var challenges []string
		for _, s := range offered {
			if s == "Basic" {
				s = `Basic realm="test"`
			}
			challenges = append(challenges, s)
		}
		s := httptestutil.NewTLSServer(httptestutil.Config{
			Kerberos: &httptestutil.KerberosConfig{KDC: k},
			Users:    map[string]string{krbUser: krbPass},
			Schemes:  challenges,
		})
		t.Cleanup(s.Close)
		for _, fs := range flagSets {
			name := fmt.Sprintf("offers %s, flags %s", strings.Join(offered, "+"), strings.Join(fs.flags, " "))
			t.Run(name, func(t *testing.T) {
				args := append([]string{"-kv", "-u", krbUser + ":" + krbPass, "--krb5-config", conf, s.URL}, fs.flags...)
				r := negcurl(t, runOpts{}, args...)
				want := expected(fs.allowed, offered)
				if want == "" {
					r.check(t, 4, `(?m)^negcurl: server localhost:\d+ offers `+strings.Join(offered, ", ")+`, which .* (allow|by default): pass --`)
					if got := schemesSent(r.stderr, "Authorization"); len(got) != 0 {
						t.Errorf("sent %v; want nothing", got)
					}
					return
				}
				r.check(t, 0, "")
				if got := schemesSent(r.stderr, "Authorization"); !slices.Equal(got, []string{want}) {
					t.Errorf("sent %v; want [%s]\n%s", got, want, r.stderr)
				}
			})
		}
	}
}

// TestProxySchemeFlags runs each proxy flag against proxies offering every
// combination of Negotiate, NTLM and Basic: one flag wins (anyauth, then
// negotiate, then ntlm), and Basic is never sent to a proxy.
func TestProxySchemeFlags(t *testing.T) {
	k := kdc.New(t, realm, nil)
	k.AddUser("alice", krbPass)
	conf := k.Krb5ConfPath()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("origin")) }))
	t.Cleanup(origin.Close)
	flagSets := []struct {
		flags   []string
		allowed []string
	}{
		{nil, []string{"Negotiate", "NTLM"}},
		{[]string{"--proxy-negotiate"}, []string{"Negotiate"}},
		{[]string{"--proxy-ntlm"}, []string{"NTLM"}},
		{[]string{"--proxy-anyauth"}, []string{"Negotiate", "NTLM"}},
		{[]string{"--proxy-ntlm", "--proxy-negotiate"}, []string{"Negotiate"}},
		{[]string{"--proxy-ntlm", "--proxy-anyauth"}, []string{"Negotiate", "NTLM"}},
		// The server flags leave the proxy alone.
		{[]string{"--ntlm"}, []string{"Negotiate", "NTLM"}},
	}
	for _, offered := range subsets() {
		var challenges []string
		for _, s := range offered {
			if s == "Basic" {
				s = `Basic realm="proxy"`
			}
			challenges = append(challenges, s)
		}
		p := httptestutil.NewServer(httptestutil.Config{
			Proxy:    true,
			Kerberos: &httptestutil.KerberosConfig{KDC: k},
			Users:    map[string]string{krbUser: krbPass},
			Schemes:  challenges,
		})
		t.Cleanup(p.Close)
		for _, fs := range flagSets {
			name := fmt.Sprintf("offers %s, flags %s", strings.Join(offered, "+"), strings.Join(fs.flags, " "))
			t.Run(name, func(t *testing.T) {
				args := append([]string{"-v", "-x", p.URL, "-U", krbUser + ":" + krbPass, "--krb5-config", conf, origin.URL}, fs.flags...)
				r := negcurl(t, runOpts{}, args...)
				want := expected(fs.allowed, offered)
				if want == "" {
					r.check(t, 4, `(?m)^negcurl: proxy localhost:\d+ offers `+strings.Join(offered, ", ")+`, which `)
					if got := schemesSent(r.stderr, "Proxy-Authorization"); len(got) != 0 {
						t.Errorf("sent %v; want nothing", got)
					}
					return
				}
				r.check(t, 0, "")
				if r.stdout != "origin" {
					t.Errorf("stdout %q; want the origin's body", r.stdout)
				}
				if got := schemesSent(r.stderr, "Proxy-Authorization"); !slices.Equal(got, []string{want}) {
					t.Errorf("sent %v; want [%s]\n%s", got, want, r.stderr)
				}
			})
		}
	}
}

// TestProxyNTLMChosen is the case users met: --proxy-ntlm against a proxy
// offering Negotiate, NTLM and Basic uses NTLM, and a wrong password ends
// with a line naming the proxy and NTLM, and no word about Kerberos.
func TestProxyNTLMChosen(t *testing.T) {
	const proxyUser, proxyPass = `LAB\carol`, "proxy-Pa55word"
	k := kdc.New(t, realm, nil)
	p := httptestutil.NewServer(httptestutil.Config{
		Proxy:    true,
		Kerberos: &httptestutil.KerberosConfig{KDC: k},
		Users:    map[string]string{proxyUser: proxyPass},
		Schemes:  []string{"Negotiate", "NTLM", `Basic realm="proxy"`},
	})
	t.Cleanup(p.Close)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("origin")) }))
	t.Cleanup(origin.Close)
	args := []string{"-v", "--proxy-ntlm", "-x", p.URL, "--krb5-config", k.Krb5ConfPath(), origin.URL}
	r := negcurl(t, runOpts{}, append(args, "-U", proxyUser+":"+proxyPass)...)
	r.check(t, 0, `\* request \d+: NTLM leg 1 to the proxy`)
	if got := schemesSent(r.stderr, "Proxy-Authorization"); !slices.Equal(got, []string{"NTLM"}) {
		t.Errorf("sent %v; want [NTLM]", got)
	}
	r = negcurl(t, runOpts{}, append(args, "-U", proxyUser+":wrong-"+krbSecret)...)
	r.check(t, 4, `(?m)^negcurl: proxy localhost:\d+ rejected the NTLM credentials for LAB\\carol: check the user name \(DOMAIN\\user\) and the password\n\z`)
	if strings.Contains(r.stderr, "Kerberos") {
		t.Errorf("the failure mentions Kerberos although NTLM was asked for:\n%s", r.stderr)
	}
}

// TestExtendedProtectionHint: a rejection over https names Extended
// Protection and the flag to test it; the flag then shows the cause.
func TestExtendedProtectionHint(t *testing.T) {
	s := httptestutil.NewTLSServer(httptestutil.Config{Users: map[string]string{ntlmUser: ntlmPass}})
	t.Cleanup(s.Close)
	negcurl(t, runOpts{}, "-k", "--ntlm", "-u", ntlmUser+":wrong-"+krbSecret, s.URL).check(t, 4,
		`rejected the NTLM credentials for LAB\\bob: check the user name \(DOMAIN\\user\) and the password; or, over https, the server requires Extended Protection .*: try --no-channel-binding to test\n$`)
	epa := httptestutil.NewTLSServer(httptestutil.Config{Users: map[string]string{ntlmUser: ntlmPass}, ExtendedProtection: httptestutil.EPARequire})
	t.Cleanup(epa.Close)
	negcurl(t, runOpts{}, "-k", "--ntlm", "--no-channel-binding", "-u", ntlmUser+":"+ntlmPass, epa.URL).check(t, 4,
		`this connection sent no channel bindings \(--no-channel-binding\), which a server requiring Extended Protection refuses\n$`)
	negcurl(t, runOpts{}, "-k", "--ntlm", "-u", ntlmUser+":"+ntlmPass, epa.URL).check(t, 0, "")
}

func TestSplitShortFlags(t *testing.T) {
	o := &options{}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	for _, n := range []string{"s", "S", "v", "k", "L", "i", "verbose", "spn"} {
		fs.Bool(n, false, "")
	}
	for _, n := range []string{"o", "u", "X", "H", "d", "m", "noproxy"} {
		fs.StringVar(&o.output, n, "", "")
	}
	tests := []struct {
		in, want string
	}{
		{"-sv URL", "-s -v URL"},
		{"-kv URL", "-k -v URL"},
		{"-sSL URL", "-s -S -L URL"},
		{"-sSo out URL", "-s -S -o out URL"},
		{"-sSoout URL", "-s -S -o out URL"},
		{"-XPOST -d@f URL", "-X POST -d @f URL"},
		{"-u: URL", "-u : URL"},
		{"-verbose -spn URL", "-verbose -spn URL"},
		{"--noproxy=x -v URL", "--noproxy=x -v URL"},
		{"-H -sv URL", "-H -sv URL"}, // a value, not flags
		{"-sz URL", "-sz URL"},       // an unknown letter: left for the error
		{"-- -sv", "-- -sv"},         // after --, nothing is a flag
		{"URL -vk", "URL -v -k"},     // after the URL too
		{"-m 0.5 -is URL", "-m 0.5 -i -s URL"},
	}
	for _, tt := range tests {
		got := strings.Join(splitShortFlags(fs, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("splitShortFlags(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestCombinedShortFlags runs the binary with the combinations curl users
// type.
func TestCombinedShortFlags(t *testing.T) {
	tlsSrv := httptestutil.NewTLSServer(httptestutil.Config{Users: map[string]string{ntlmUser: ntlmPass}})
	t.Cleanup(tlsSrv.Close)
	creds := ntlmUser + ":" + ntlmPass
	negcurl(t, runOpts{}, "-kv", "-u", creds, tlsSrv.URL).check(t, 0, `(?m)^> Authorization: NTLM <`)
	if r := negcurl(t, runOpts{}, "-ksv", "-u", ntlmUser+":wrong", tlsSrv.URL); r.code != 4 || !strings.Contains(r.stderr, "* request 1") || strings.Contains(r.stderr, "negcurl:") {
		t.Errorf("-ksv with a wrong password: exit %d, stderr:\n%s\nwant 4, -v output and no message", r.code, r.stderr)
	}
	mux := http.NewServeMux()
	mux.Handle("/moved", httptestutil.EchoHandler())
	mux.Handle("/", http.RedirectHandler("/moved", http.StatusFound))
	s, _ := newNTLMServer(t, httptestutil.Config{Handler: mux})
	out := filepath.Join(t.TempDir(), "out")
	r := negcurl(t, runOpts{}, "-sSLio", out, "-u", creds, s.URL)
	r.check(t, 0, "")
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "X-User: "+ntlmUser) {
		t.Errorf("-sSLio: output %q, %v; want the followed response's head", b, err)
	}
}

// TestProxySkippedNote: with HTTP_PROXY set and a loopback target, Go's
// rule skips the proxy; -v says so, and -U without -v warns.
func TestProxySkippedNote(t *testing.T) {
	s, _ := newNTLMServer(t, httptestutil.Config{})
	env := []string{"HTTP_PROXY=http://user:Pa55word@proxy.invalid:3128"}
	creds := []string{"-u", ntlmUser + ":" + ntlmPass, s.URL}
	negcurl(t, runOpts{env: env}, append([]string{"-v"}, creds...)...).check(t, 0,
		`(?m)^\* HTTP_PROXY \(http://user:xxxxx@proxy\.invalid:3128\) not used for 127\.0\.0\.1: Go never takes the environment's proxy to a loopback host; pass -x to use it$`)
	negcurl(t, runOpts{env: env}, append([]string{"-U", "bob:x"}, creds...)...).check(t, 0,
		`(?m)^negcurl: warning: -U not used: HTTP_PROXY .* not used for 127\.0\.0\.1`)
	negcurl(t, runOpts{env: []string{"HTTP_PROXY=http://proxy.invalid:3128", "NO_PROXY=example.test"}}, "-v", "--noproxy", "127.0.0.1", "-u", ntlmUser+":"+ntlmPass, s.URL).check(t, 0,
		`(?m)^\* HTTP_PROXY \(http://proxy\.invalid:3128\) not used for 127\.0\.0\.1: --noproxy lists it$`)
}

// TestKerberosRejectedByServer: a server whose keytab holds an old key
// rejects the ticket the KDC issued; the password was right, so the
// message points at the server's keytab, not at the password.
func TestKerberosRejectedByServer(t *testing.T) {
	k := kdc.New(t, realm, nil)
	k.AddUser("alice", krbPass)
	stale := k.AddService("HTTP/localhost")
	k.AddService("HTTP/localhost") // the key changes; the server keeps the old one
	s := httptestutil.NewServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{SPN: "HTTP/localhost", Keytab: stale}})
	t.Cleanup(s.Close)
	negcurl(t, runOpts{}, "--negotiate", "-u", krbUser+":"+krbPass, "--krb5-config", k.Krb5ConfPath(), s.URL).check(t, 4,
		`^negcurl: server localhost:\d+ rejected the Kerberos ticket for alice@EXAMPLE\.TEST: its keytab may lack the current key of its service principal, or the principal belongs to another account: check the server's keytab \(klist -k\) and --spn\n$`)
}

func TestNoProxyMatcher(t *testing.T) {
	tests := []struct {
		list, host string
		want       bool
	}{
		{"*", "anything.example", true},
		{"example.com", "example.com", true},
		{"example.com", "www.example.com", true},
		{".example.com", "www.example.com", true},
		{"example.com", "notexample.com", false},
		{"10.0.0.5", "10.0.0.5", true},
		{"10.0.0.5", "10.0.0.50", false},
		{"192.168.0.0/16", "192.168.4.2", true},
		{"192.168.0.0/16", "192.169.0.1", false},
		{"::1", "::1", true},
		{"[::1]", "::1", true},
		{"localhost, 127.0.0.0/8", "127.0.0.1", true},
		{"", "example.com", false},
	}
	for _, tt := range tests {
		if got := noProxyMatcher(tt.list)(tt.host); got != tt.want {
			t.Errorf("noProxyMatcher(%q)(%q) = %v; want %v", tt.list, tt.host, got, tt.want)
		}
	}
}

// TestProxyUnreachable: a proxy that does not answer is named as the
// party, not the origin behind it.
func TestProxyUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, target := range []string{"http://127.0.0.1:9/", "https://127.0.0.1:9/"} {
		negcurl(t, runOpts{}, "-x", "http://"+addr, "-u", ntlmUser+":"+ntlmPass, target).check(t, 3,
			`^negcurl: cannot connect to proxy 127\.0\.0\.1:\d+ \(for 127\.0\.0\.1:9\): .*refused\n$`)
	}
}
