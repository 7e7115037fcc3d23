// This file parses negcurl's command line (curl's flag names) and turns it
// into a negotiate.Transport, an http.Client and the request.

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/negotiate-go/negotiate"
	"golang.org/x/net/http/httpproxy"
)

// errHelp is returned by parseArgs for -h; run then prints the usage.
var errHelp = flag.ErrHelp

// options are the parsed command line.
type options struct {
	url string

	user, proxyUser string // -u, -U as given (user[:password])
	userSet         bool
	negotiate, ntlm bool
	anyauth, basic  bool
	insecureBasic   bool

	proxy, noproxy                bool // whether -x, --noproxy were given
	proxyURL, noproxyList         string
	proxyNegotiate, proxyNTLM     bool
	proxyAnyauth                  bool
	method                        string
	headers                       []string
	data                          dataList
	output                        string
	include, silent, showError    bool
	location, locationTrusted     bool
	cacert                        string
	insecure                      bool
	maxTime                       time.Duration
	spn, mutual, keytab, krb5conf string
	delegation                    string
	impersonate                   string
	noChannelBinding, http11      bool
	verbose                       bool
	ccache, principal             string // --ccache, --principal: see ccache.go
}

// A dataPart is one -d or --data-binary argument.
type dataPart struct {
	value  string
	binary bool // --data-binary: sent as is; -d strips CR and LF from @file
}

// dataList collects -d and --data-binary in order, as curl joins them.
type dataList struct {
	parts  *[]dataPart
	binary bool
}

func (d dataList) String() string { return "" }
func (d dataList) Set(v string) error {
	*d.parts = append(*d.parts, dataPart{value: v, binary: d.binary})
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// usageText is what -h prints. Each flag takes one or two dashes.
const usageText = `usage: negcurl [flags] URL

Flags may come before or after the URL; short flags combine as in curl (-sSL,
-kv, -sSo FILE).

Server authentication
  -u, --user USER[:PASSWORD]  credentials; the password is asked for when missing.
                              USER is DOMAIN\user, user@REALM or user.
                              -u : uses the Kerberos ticket cache (KRB5CCNAME) or
                              client keytab (KRB5_CLIENT_KTNAME) of the environment
      --negotiate, --ntlm, --basic  allow this scheme; several add up, and the
                              best the server offers is used (Negotiate, NTLM,
                              Basic). Basic only over https unless --insecure-basic
      --anyauth               allow every scheme, Basic included over https
                              (none of these: Negotiate and NTLM)
Proxy
  -x, --proxy URL             proxy (default: HTTP_PROXY, HTTPS_PROXY, NO_PROXY)
  -U, --proxy-user USER[:PASSWORD]  proxy credentials; -U : for the ticket cache
      --proxy-negotiate       use only Negotiate with the proxy
      --proxy-ntlm            use only NTLM with the proxy
      --proxy-anyauth         Negotiate or NTLM, the best the proxy offers (the
                              default); one of these three, in this order, wins
      --noproxy LIST          hosts reached directly (comma-separated, * for all)
Request and response
  -X, --request METHOD        -H, --header 'Name: value' (repeatable)
  -d, --data DATA|@FILE       POST data (@FILE without CR and LF; joined with &)
      --data-binary DATA|@FILE|@-  POST data as is (@- reads stdin)
  -o, --output FILE           -i, --include (status line and headers)
  -s, --silent (no error message)   -S, --show-error (with -s)
  -L, --location              follow redirects; credentials stay with the host
      --location-trusted      follow redirects, credentials to any host
      --cacert FILE           -k, --insecure      --http1.1
  -m, --max-time SECONDS
Kerberos
      --spn SPN               service principal for the URL's host (HTTP/name)
      --mutual required|optional|disabled   mutual authentication (required)
      --keytab FILE           keys of -u USER
      --ccache NAME           ticket cache (FILE:, DIR:, KEYRING:, KCM:); implies -u :
      --principal NAME@REALM  that principal's cache of the collection; implies -u :
      --krb5-config FILE      krb5.conf (default: KRB5_CONFIG, /etc/krb5.conf)
      --delegation none|policy|always   Kerberos credential delegation (none)
      --impersonate USER      act as USER through -u's (or --keytab's) service
                              account: constrained delegation (S4U2Self+S4U2Proxy)
      --no-channel-binding    send no TLS channel bindings
Diagnostics
  -v, --verbose               every leg's headers, each token decoded; no secret

Exit status: 0 success, 1 HTTP status >= 400, 2 usage, 3 connection,
4 authentication, 5 mutual authentication, 6 local file error.
`

// parseArgs parses args; flags may follow the URL, as with curl.
func parseArgs(args []string) (*options, error) {
	o := &options{}
	var parts []dataPart
	var headers stringList
	var maxTime float64
	fs := flag.NewFlagSet("negcurl", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the error, and -h the usage
	fs.Usage = func() {}
	str := func(p *string, names []string, usage string) {
		for _, n := range names {
			fs.StringVar(p, n, "", usage)
		}
	}
	boolean := func(p *bool, names []string, usage string) {
		for _, n := range names {
			fs.BoolVar(p, n, false, usage)
		}
	}
	str(&o.user, []string{"u", "user"}, "`user[:password]` for the server; -u : for default (Kerberos) credentials")
	boolean(&o.negotiate, []string{"negotiate"}, "use Negotiate (SPNEGO: Kerberos, or NTLM inside it)")
	boolean(&o.ntlm, []string{"ntlm"}, "use NTLM")
	boolean(&o.basic, []string{"basic"}, "use Basic (only over https unless --insecure-basic)")
	boolean(&o.anyauth, []string{"anyauth"}, "use what the server offers, best first (the default; adds Basic over https)")
	boolean(&o.insecureBasic, []string{"insecure-basic"}, "allow --basic over plain http: the password travels in the clear")
	str(&o.proxyURL, []string{"x", "proxy"}, "use the proxy at `URL` (default: the proxy environment variables)")
	str(&o.proxyUser, []string{"U", "proxy-user"}, "`user[:password]` for the proxy; -U : for default (Kerberos) credentials")
	boolean(&o.proxyNegotiate, []string{"proxy-negotiate"}, "use only Negotiate with the proxy")
	boolean(&o.proxyNTLM, []string{"proxy-ntlm"}, "use only NTLM with the proxy")
	boolean(&o.proxyAnyauth, []string{"proxy-anyauth"}, "use Negotiate or NTLM with the proxy, the best it offers (the default)")
	str(&o.noproxyList, []string{"noproxy"}, "comma-separated `hosts` reached without the proxy (* for all)")
	str(&o.method, []string{"X", "request"}, "request `METHOD`")
	fs.Var(&headers, "H", "add a request `header` 'Name: value' (repeatable)")
	fs.Var(&headers, "header", "add a request `header` 'Name: value' (repeatable)")
	for _, n := range []string{"d", "data"} {
		fs.Var(dataList{parts: &parts}, n, "send `DATA` in a POST (@FILE reads it, without CR and LF)")
	}
	fs.Var(dataList{parts: &parts, binary: true}, "data-binary", "send `DATA` as is (@FILE, or @- for stdin)")
	str(&o.output, []string{"o", "output"}, "write the body to `FILE` instead of stdout")
	boolean(&o.include, []string{"i", "include"}, "include the response's status line and headers in the output")
	boolean(&o.silent, []string{"s", "silent"}, "print no error message (the exit status still tells)")
	boolean(&o.showError, []string{"S", "show-error"}, "with -s, still print error messages")
	boolean(&o.location, []string{"L", "location"}, "follow redirects (credentials stay with the first host)")
	boolean(&o.locationTrusted, []string{"location-trusted"}, "follow redirects and send credentials to any host")
	str(&o.cacert, []string{"cacert"}, "trust the CA certificates in PEM `FILE`")
	boolean(&o.insecure, []string{"k", "insecure"}, "do not verify the server's TLS certificate")
	fs.Float64Var(&maxTime, "max-time", 0, "give up after `SECONDS`")
	fs.Float64Var(&maxTime, "m", 0, "give up after `SECONDS`")
	str(&o.spn, []string{"spn"}, "Kerberos service principal `SPN` for the URL's host (e.g. HTTP/web.example.com)")
	str(&o.mutual, []string{"mutual"}, "Kerberos mutual authentication: required, optional or disabled (default required)")
	str(&o.keytab, []string{"keytab"}, "Kerberos keytab `FILE` holding the keys of -u user")
	str(&o.ccache, []string{"ccache"}, "Kerberos ticket cache `NAME` (as KRB5CCNAME takes it); implies -u :")
	str(&o.principal, []string{"principal"}, "use the cache of `NAME@REALM` from the collection; implies -u :")
	str(&o.krb5conf, []string{"krb5-config"}, "Kerberos configuration `FILE` (default: KRB5_CONFIG, else /etc/krb5.conf)")
	str(&o.delegation, []string{"delegation"}, "Kerberos credential delegation: none, policy (only to services trusted for delegation) or always")
	str(&o.impersonate, []string{"impersonate"}, "act as `USER` through the service account of -u or --keytab (Kerberos constrained delegation, S4U2Self and S4U2Proxy)")
	boolean(&o.noChannelBinding, []string{"no-channel-binding"}, "send no TLS channel bindings (for TLS-intercepting middleboxes)")
	boolean(&o.http11, []string{"http1.1"}, "use HTTP/1.1 only")
	boolean(&o.verbose, []string{"v", "verbose"}, "print every leg's request and response headers, tokens decoded")

	// Parse, taking each non-flag argument as the URL, so that flags may
	// follow it. A bounded loop: every turn consumes at least one argument.
	args = splitShortFlags(fs, args)
	var urls []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) > 0 {
			urls = append(urls, args[0])
			args = args[1:]
		}
	}
	switch len(urls) {
	case 0:
		return nil, errors.New("no URL given")
	case 1:
		o.url = urls[0]
	default:
		return nil, fmt.Errorf("one URL at a time (got %d)", len(urls))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "u", "user":
			o.userSet = true
		case "x", "proxy":
			o.proxy = true
		case "noproxy":
			o.noproxy = true
		}
	})
	o.headers = headers
	o.data = dataList{parts: &parts}
	if maxTime < 0 {
		return nil, fmt.Errorf("--max-time %v: must not be negative", maxTime)
	}
	o.maxTime = durationOf(maxTime)
	if o.locationTrusted {
		o.location = true
	}
	if o.mutual == "" {
		o.mutual = "required"
	}
	if _, err := o.mutualPolicy(); err != nil {
		return nil, err
	}
	if _, err := o.delegationPolicy(); err != nil {
		return nil, err
	}
	if o.keytab != "" && !o.userSet {
		return nil, errors.New("--keytab needs -u user: the principal whose keys the keytab holds")
	}
	if o.keytab != "" && strings.Contains(o.user, ":") {
		return nil, errors.New("--keytab takes -u user without a password: the keys come from the keytab")
	}
	if err := o.checkCCache(); err != nil {
		return nil, err
	}
	return o, nil
}

// delegationPolicy maps --delegation onto negotiate.Delegation, with curl's
// names; no flag means none.
func (o *options) delegationPolicy() (negotiate.Delegation, error) {
	switch o.delegation {
	case "", "none":
		return negotiate.DelegateNone, nil
	case "policy":
		return negotiate.DelegatePolicy, nil
	case "always":
		return negotiate.DelegateAlways, nil
	}
	return 0, fmt.Errorf("--delegation %q: want none, policy or always", o.delegation)
}

// mutualPolicy maps --mutual onto negotiate.MutualAuth.
func (o *options) mutualPolicy() (negotiate.MutualAuth, error) {
	switch o.mutual {
	case "required":
		return negotiate.MutualRequired, nil
	case "optional":
		return negotiate.MutualOptional, nil
	case "disabled":
		return negotiate.MutualDisabled, nil
	}
	return 0, fmt.Errorf("--mutual %q: want required, optional or disabled", o.mutual)
}

// A fileError is a local file that could not be read (exit status 6).
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// client is what setup builds from the options.
type client struct {
	opts       *options
	url        *url.URL
	transport  *negotiate.Transport
	client     *http.Client
	creds      *negotiate.Credentials
	proxyCreds *negotiate.Credentials // -U
	password   string                 // for --basic over plain http, sent by negcurl itself
	proxyNote  string                 // why a configured proxy is not used for the URL, "" if it is or none is
	body       []byte
	hasBody    bool
}

// setup builds the Transport, the http.Client and the request body. It
// reads the password (from the terminal or stdin) when -u lacks one.
func (o *options) setup(stdin *os.File, in *bufio.Reader, stderr io.Writer) (*client, error) {
	c := &client{opts: o}
	raw := o.url
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw // as curl does
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad URL %q", o.url)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported protocol %q: http and https only", u.Scheme)
	}
	// user:password in the URL, as curl takes it, when -u is absent.
	if u.User != nil {
		if !o.userSet {
			o.user, o.userSet = u.User.Username(), true
			if p, ok := u.User.Password(); ok {
				o.user += ":" + p
			}
		}
		u.User = nil
	}
	c.url = u
	overTLS := u.Scheme == "https"

	stdinTaken := false
	for _, p := range *o.data.parts {
		if p.binary && p.value == "@-" {
			stdinTaken = true
		}
	}

	// Credentials.
	if o.userSet {
		name, pass, hasPass := strings.Cut(o.user, ":")
		switch {
		case name == "" && !hasPass:
			return nil, errors.New("-u: empty user name")
		case name == "" && pass == "":
			c.creds = o.cacheCredentials()
		case name == "":
			return nil, errors.New("-u :password: a password needs a user name")
		case o.keytab != "":
			c.creds = negotiate.Keytab(name, o.keytab)
		default:
			if !hasPass {
				if stdinTaken {
					return nil, errors.New("-u without a password and --data-binary @- both need stdin; put the password in -u")
				}
				pass, err = readPassword(stdin, in, stderr, fmt.Sprintf("Enter host password for user '%s':", name))
				if err != nil {
					return nil, err
				}
			}
			c.creds = negotiate.Password(name, pass)
			c.password = pass
		}
	}

	if !o.userSet && (o.ccache != "" || o.principal != "") {
		c.creds = o.cacheCredentials()
	}
	if o.impersonate != "" {
		// The service account's credentials get the user's tickets
		// (MS-SFU); only Kerberos can use them.
		if c.creds == nil {
			return nil, errors.New("--impersonate needs the service account's credentials: -u service[:password], -u service --keytab FILE, or -u :")
		}
		c.creds = negotiate.Impersonate(c.creds, o.impersonate)
		c.password = ""
	}

	if o.proxyUser != "" {
		name, pass, hasPass := strings.Cut(o.proxyUser, ":")
		switch {
		case name == "" && pass == "" && hasPass:
			c.proxyCreds = negotiate.DefaultCredentials()
		case name == "":
			return nil, errors.New("-U: empty user name")
		default:
			if !hasPass {
				if stdinTaken {
					return nil, errors.New("-U without a password and --data-binary @- both need stdin; put the password in -U")
				}
				pass, err = readPassword(stdin, in, stderr, fmt.Sprintf("Enter proxy password for user '%s':", name))
				if err != nil {
					return nil, err
				}
			}
			c.proxyCreds = negotiate.Password(name, pass)
		}
	}

	mutual, _ := o.mutualPolicy()
	delegation, _ := o.delegationPolicy()
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{InsecureSkipVerify: o.insecure}
	if o.cacert != "" {
		pem, err := os.ReadFile(o.cacert)
		if err != nil {
			return nil, &fileError{fmt.Errorf("cannot read --cacert: %v", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", o.cacert)
		}
		base.TLSClientConfig.RootCAs = pool
	}
	if o.http11 {
		var p http.Protocols
		p.SetHTTP1(true)
		base.Protocols = &p
		base.ForceAttemptHTTP2 = false
	}
	proxy, err := o.proxyFunc()
	if err != nil {
		return nil, err
	}
	base.Proxy = proxy
	c.proxyNote = o.proxySkipped(u, proxy)

	t := &negotiate.Transport{
		Base:                   base,
		Credentials:            c.creds,
		ProxyCredentials:       c.proxyCreds,
		Krb5Config:             o.krb5conf,
		Mutual:                 mutual,
		Delegation:             delegation,
		DisableChannelBindings: o.noChannelBinding,
	}
	if o.spn != "" {
		t.SPN.Hosts = map[string]string{strings.ToLower(u.Hostname()): o.spn}
	}
	if o.locationTrusted {
		t.TrustHost = func(string) bool { return true }
	}
	t.Preference = o.preference()
	t.ProxyPreference = o.proxyPreference()
	t.AllowBasic = slices.Contains(t.Preference, negotiate.SchemeBasic)
	if o.basic {
		if c.password == "" && (c.creds == nil || o.keytab != "" || strings.HasPrefix(o.user, ":")) {
			return nil, errors.New("--basic needs -u user:password")
		}
		if !overTLS && !o.insecureBasic {
			return nil, errors.New("--basic over plain http would send the password in the clear: use https, or add --insecure-basic")
		}
	}
	c.transport = t

	c.client = &http.Client{Transport: t}
	if !o.location {
		c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}

	if len(*o.data.parts) > 0 {
		body, err := o.readData(in)
		if err != nil {
			return nil, err
		}
		c.body, c.hasBody = body, true
	}
	return c, nil
}

// readData joins the -d and --data-binary arguments with '&', as curl does.
func (o *options) readData(stdin io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	for i, p := range *o.data.parts {
		if i > 0 {
			buf.WriteByte('&')
		}
		if !strings.HasPrefix(p.value, "@") {
			buf.WriteString(p.value)
			continue
		}
		var b []byte
		var err error
		if name := p.value[1:]; name == "-" {
			b, err = io.ReadAll(stdin)
		} else {
			b, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, &fileError{fmt.Errorf("cannot read data %s: %v", p.value, err)}
		}
		if !p.binary {
			b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"), nil)
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// proxyFunc decides the proxy of each request: -x with --noproxy, else the
// proxy environment variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) as
// golang.org/x/net/http/httpproxy reads them, with --noproxy overriding
// NO_PROXY.
func (o *options) proxyFunc() (func(*http.Request) (*url.URL, error), error) {
	if !o.proxy {
		cfg := httpproxy.FromEnvironment()
		if o.noproxy {
			cfg.NoProxy = o.noproxyList
		}
		f := cfg.ProxyFunc()
		return func(r *http.Request) (*url.URL, error) { return f(r.URL) }, nil
	}
	if o.proxyURL == "" {
		return nil, nil // -x "": no proxy, as curl
	}
	raw := o.proxyURL
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	pu, err := url.Parse(raw)
	if err != nil || pu.Host == "" {
		return nil, fmt.Errorf("bad proxy URL %q", o.proxyURL)
	}
	// User info in the URL authenticates to the proxy (the Transport
	// takes it) unless -U names other credentials.
	skip := noProxyMatcher(o.noproxyList)
	// An explicit -x applies to loopback too, unlike httpproxy, so that a
	// local proxy can be used (and tested) as curl allows.
	return func(r *http.Request) (*url.URL, error) {
		if skip(r.URL.Hostname()) {
			return nil, nil
		}
		return pu, nil
	}, nil
}

// proxySkipped says why the proxy that -x or the environment names is not
// used for u, or "" when it is used or none is named. It keeps the user
// from wondering why -U did nothing: Go's proxy rule (httpproxy) never
// proxies a loopback host, where curl would.
func (o *options) proxySkipped(u *url.URL, proxy func(*http.Request) (*url.URL, error)) string {
	var named, env string
	if o.proxy {
		named = o.proxyURL
	} else {
		cfg := httpproxy.FromEnvironment()
		named, env = cfg.HTTPProxy, "HTTP_PROXY"
		if u.Scheme == "https" {
			named, env = cfg.HTTPSProxy, "HTTPS_PROXY"
		}
	}
	if named == "" || proxy == nil {
		return ""
	}
	if pu, err := proxy(&http.Request{URL: u}); err != nil || pu != nil {
		return ""
	}
	host := u.Hostname()
	shown := named
	if pu, err := url.Parse(named); err == nil && pu.User != nil {
		shown = pu.Redacted()
	}
	what := "proxy " + shown
	if env != "" {
		what = fmt.Sprintf("%s (%s)", env, shown)
	}
	switch {
	case o.noproxy:
		return fmt.Sprintf("%s not used for %s: --noproxy lists it", what, host)
	case o.proxy:
		return ""
	case isLoopback(host):
		return fmt.Sprintf("%s not used for %s: Go never takes the environment's proxy to a loopback host; pass -x to use it", what, host)
	}
	return fmt.Sprintf("%s not used for %s: NO_PROXY lists it", what, host)
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// noProxyMatcher returns curl's --noproxy test: "*" matches every host;
// otherwise a host matches a listed name or is a subdomain of it (a leading
// dot is ignored); IP addresses match exactly, or by CIDR block
// (192.168.0.0/16), as curl 7.86 and later match them.
func noProxyMatcher(list string) func(host string) bool {
	var names []string
	var blocks []*net.IPNet
	for n := range strings.SplitSeq(list, ",") {
		n = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(n), "."))
		if _, block, err := net.ParseCIDR(n); err == nil {
			blocks = append(blocks, block)
			continue
		}
		if n != "" {
			names = append(names, strings.Trim(n, "[]"))
		}
	}
	return func(host string) bool {
		host = strings.ToLower(host)
		ip := net.ParseIP(host)
		for _, n := range names {
			if n == "*" || host == n || (ip == nil && strings.HasSuffix(host, "."+n)) {
				return true
			}
		}
		for _, b := range blocks {
			if ip != nil && b.Contains(ip) {
				return true
			}
		}
		return false
	}
}

// newRequest makes the request from the options.
func (c *client) newRequest(ctx context.Context) (*http.Request, error) {
	o := c.opts
	method := o.method
	if method == "" {
		method = "GET"
		if c.hasBody {
			method = "POST"
		}
	}
	var body io.Reader
	if c.hasBody {
		body = bytes.NewReader(c.body) // replayable: http.NewRequest sets GetBody
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "negcurl")
	req.Header.Set("Accept", "*/*")
	if c.hasBody {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	replaced := map[string]bool{} // -H replaces negcurl's own value, then adds
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("-H %q: want 'Name: value'", h)
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Host"):
			req.Host = value
		case value == "":
			req.Header.Del(name) // curl: "Name:" removes a header
		default:
			if k := http.CanonicalHeaderKey(name); !replaced[k] {
				req.Header.Del(k)
				replaced[k] = true
			}
			req.Header.Add(name, value)
		}
	}
	if o.basic && c.url.Scheme == "http" && o.insecureBasic {
		// The Transport sends Basic only over TLS; with --insecure-basic
		// negcurl sends it itself, pre-emptively, as curl --basic does.
		user, _, _ := strings.Cut(o.user, ":")
		req.SetBasicAuth(user, c.password)
	}
	return req, nil
}
