// This file turns a failed request into an exit status and one line in
// plain words: the cause, and what to try. It reads only what the public
// API exposes (the Err* sentinels, *negotiate.AuthError, ClockSkew,
// UnknownPrincipal) and never prints a secret.

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/authscheme"
)

// explain returns the exit status and the message for err, an error from
// http.Client.Do or negotiate.ResponseError; resp is the response when
// there is one.
func explain(err error, resp *http.Response, o *options, c *client, t *tracer) (int, string) {
	var ae *negotiate.AuthError
	if !errors.As(err, &ae) {
		return explainConnection(err, o, c)
	}
	host := ae.Host
	if host == "" {
		host = c.url.Host
	}
	// The peer that challenged: the server, or the proxy (407).
	p := peerInfo{name: "server", host: host, creds: c.creds, mech: t.lastMech, flag: "-u", user: o.user, negotiate: o.negotiate}
	if ae.Proxy {
		p = peerInfo{name: "proxy", host: host, creds: c.proxyCreds, mech: t.lastProxyMech, flag: "-U", user: o.proxyUser, negotiate: o.proxyNegotiate}
	}
	who := "(no credentials)"
	if p.creds != nil {
		who = p.creds.String()
	}
	p.who = who

	if errors.Is(err, negotiate.ErrMutualAuth) {
		what := "its final Kerberos token (AP-REP) did not verify"
		if !t.apRepReceived {
			what = "it sent no final Kerberos token (AP-REP)"
		}
		msg := fmt.Sprintf("%s %s did not prove its identity: %s", p.name, host, what)
		if o.mutual == "required" && !t.apRepReceived {
			msg += "; if this server never sends one, try --mutual optional"
		}
		return exitMutual, msg
	}

	// Constrained delegation (--impersonate) refused by the KDC.
	for _, e := range []error{negotiate.ErrNoProtocolTransition, negotiate.ErrUserNotDelegable, negotiate.ErrDelegationNotAllowed} {
		if errors.Is(err, e) {
			return exitAuth, fmt.Sprintf("the KDC refused constrained delegation for %s (KDC_ERR_BADOPTION): %s", who, strings.TrimPrefix(e.Error(), "negotiate: kerberos: "))
		}
	}

	// A rejection by the server or proxy (not by the KDC).
	rejected := ""
	if errors.Is(err, negotiate.ErrRejected) && fmt.Sprint(ae.Op) != "acquire credentials" {
		rejected = p.rejection(o, c, ae)
	}

	// Why Kerberos failed or was not used. When NTLM stood in for it and
	// was rejected too, the Kerberos cause leads if Kerberos was what the
	// user meant (--negotiate, a user@REALM name, a ticket cache or
	// keytab); otherwise the NTLM rejection does. When NTLM was the only
	// scheme asked for, Kerberos is not mentioned.
	if why, ok := kerberosCause(err, ae, p); ok {
		switch {
		case rejected == "":
			return exitAuth, why
		case o.ntlmOnly(ae.Proxy):
			return exitAuth, rejected
		case p.kerberosMeant(o):
			return exitAuth, fmt.Sprintf("%s (NTLM, tried instead, was rejected for %s)", why, who)
		default:
			return exitAuth, fmt.Sprintf("%s (Kerberos was not used: %s)", rejected, why)
		}
	}
	if rejected != "" {
		return exitAuth, rejected
	}

	switch {
	case errors.Is(err, negotiate.ErrNotForwardable):
		return exitAuth, "cannot delegate: the Kerberos ticket-granting ticket is not forwardable: run kinit -f, or use --delegation policy"
	case errors.Is(err, negotiate.ErrNoCredentials):
		switch {
		case p.creds == nil:
			return exitAuth, fmt.Sprintf("%s %s asks for %s and no credentials were given: pass %s user[:password], or %s : for the Kerberos ticket cache",
				p.name, host, offered(resp, ae), p.flag, p.flag)
		case o.keytab != "" && !ae.Proxy:
			return exitAuth, fmt.Sprintf("no usable key for %s in keytab %s: check the principal and the keytab (klist -k)", who, o.keytab)
		case strings.HasPrefix(p.user, ":"):
			return exitAuth, fmt.Sprintf("no Kerberos credentials for %s %s (%s :): run kinit, or pass %s user[:password]", p.name, host, p.flag, p.flag)
		}
		return exitAuth, fmt.Sprintf("no credentials fit what %s %s asks for (%s): pass %s user:password", p.name, host, offered(resp, ae), p.flag)

	case errors.Is(err, negotiate.ErrRejected): // by the KDC
		what := "password"
		if o.keytab != "" && !ae.Proxy {
			what = "keys in keytab " + o.keytab
		}
		msg := fmt.Sprintf("the KDC rejected the %s for %s", what, who)
		if ae.Proxy {
			msg += fmt.Sprintf(" (Kerberos for proxy %s)", host)
		}
		return exitAuth, fmt.Sprintf("%s: check the %s", msg, what)

	case errors.Is(err, negotiate.ErrUnsupportedScheme):
		return exitAuth, notAllowed(o, c, p.name, host, ae.Proxy, offeredSchemes(resp, ae))

	case errors.Is(err, negotiate.ErrHostNotAllowed):
		return exitAuth, fmt.Sprintf("credentials were not sent to %s, reached by a redirect: pass --location-trusted to allow it", host)
	}
	// The rest (a malformed challenge, too many legs, a lost connection)
	// is said well enough by the error itself, which holds no secret.
	return exitAuth, strings.TrimPrefix(err.Error(), "negotiate: ")
}

// rejection says that the peer rejected the credentials, with the
// mechanism, the likely cause and what to try.
func (p peerInfo) rejection(o *options, c *client, ae *negotiate.AuthError) string {
	mech := p.mech
	if mech == "" {
		mech = fmt.Sprint(ae.Scheme)
	}
	// Channel bindings go to the origin over https (through a proxy's
	// tunnel too), never to a proxy.
	overTLS := c.url.Scheme == "https" && !ae.Proxy
	var msg string
	switch mech {
	case "Kerberos":
		// The KDC issued the ticket, so the password was right: the
		// server could not use the ticket.
		msg = fmt.Sprintf("%s %s rejected the Kerberos ticket for %s: its keytab may lack the current key of its service principal, or the principal belongs to another account: check the server's keytab (klist -k) and --spn", p.name, p.host, p.who)
	case "NTLM":
		msg = fmt.Sprintf("%s %s rejected the NTLM credentials for %s: check the user name (DOMAIN\\user) and the password", p.name, p.host, p.who)
	default:
		msg = fmt.Sprintf("%s %s rejected the %s credentials for %s: check the user name and the password", p.name, p.host, mech, p.who)
	}
	switch {
	case !overTLS || mech == "Basic":
	case o.noChannelBinding:
		msg += "; this connection sent no channel bindings (--no-channel-binding), which a server requiring Extended Protection refuses"
	default:
		msg += "; or, over https, the server requires Extended Protection and a TLS-inspecting middlebox changed the certificate: try --no-channel-binding to test"
	}
	return msg
}

// notAllowed explains a challenge in schemes the flags do not allow, and
// names the flag that would.
func notAllowed(o *options, c *client, peer, host string, proxy bool, schemes []string) string {
	if len(schemes) == 0 {
		return fmt.Sprintf("%s %s asks for authentication in no scheme negcurl knows", peer, host)
	}
	msg := fmt.Sprintf("%s %s offers %s", peer, host, strings.Join(schemes, ", "))
	if f := o.schemeFlags(proxy); f != "" {
		msg += ", which " + f + " does not allow"
	} else {
		msg += ", which negcurl does not use by default"
	}
	var hints []string
	for _, sc := range schemes {
		f := flagFor(sc, proxy)
		switch {
		case f == "" || slices.Contains(hints, f):
		case f == "--basic" && c.url.Scheme == "http":
			hints = append(hints, "--basic --insecure-basic (the password then travels in the clear)")
		default:
			hints = append(hints, f)
		}
	}
	switch {
	case len(hints) > 0:
		msg += ": pass " + strings.Join(hints, " or ")
	case proxy:
		msg += ": negcurl authenticates to proxies with Negotiate or NTLM only"
	}
	return msg
}

// peerInfo is what a message needs about the peer that challenged.
type peerInfo struct {
	name, host string // "server" or "proxy", and its host:port
	creds      *negotiate.Credentials
	mech       string // mechanism of the last token sent to it
	flag, user string // "-u" or "-U", and its argument
	negotiate  bool   // --negotiate or --proxy-negotiate
	who        string // the identity, as the user typed it
}

// kerberosMeant reports whether the user asked for Kerberos rather than
// NTLM: --negotiate, a ticket cache (-u :), a keytab, or a user@REALM name.
func (p peerInfo) kerberosMeant(o *options) bool {
	name, _, _ := strings.Cut(p.user, ":")
	return p.negotiate || name == "" || (p.flag == "-u" && o.keytab != "") || strings.Contains(name, "@")
}

// kerberosCause explains a Kerberos failure in err, if there is one.
func kerberosCause(err error, ae *negotiate.AuthError, p peerInfo) (string, bool) {
	switch {
	case errors.Is(err, negotiate.ErrClockSkew):
		with := "the KDC"
		if fmt.Sprint(ae.Op) != "acquire credentials" {
			with = p.name + " " + p.host
		}
		if d, ok := negotiate.ClockSkew(err); ok {
			side := "ahead of"
			if d < 0 {
				side, d = "behind", -d
			}
			return fmt.Sprintf("clock skew of %v with %s exceeds 5m (its clock is %s this one's): set the clocks right (NTP)",
				d.Round(time.Second), with, side), true
		}
		return fmt.Sprintf("clock skew with %s exceeds the Kerberos limit (usually 5m): set the clocks right (NTP)", with), true

	case errors.Is(err, negotiate.ErrUnknownPrincipal):
		pr, _ := negotiate.UnknownPrincipal(err)
		name, realm, _ := strings.Cut(pr, "@")
		if realm == "" {
			realm = "the KDC's realm"
		}
		if strings.Contains(name, "/") {
			return fmt.Sprintf("service principal %s is unknown to realm %s: use the host name or --spn", name, realm), true
		}
		return fmt.Sprintf("user %s is unknown to realm %s: check the name in %s", name, realm, p.flag), true

	case errors.Is(err, negotiate.ErrNoSPN):
		h, _, serr := net.SplitHostPort(p.host)
		if serr != nil {
			h = p.host
		}
		hint := "use the host name, or --spn HTTP/<host name>"
		if p.name == "proxy" {
			hint = "give the proxy by its host name in -x"
		}
		return fmt.Sprintf("no Kerberos service principal fits %s, an IP address: %s", h, hint), true

	case errors.Is(err, negotiate.ErrKDCUnreachable):
		return "no KDC of the realm answered: check --krb5-config (or KRB5_CONFIG) and that the KDC is reachable", true

	case errors.Is(err, negotiate.ErrCredentialsExpired):
		return fmt.Sprintf("the Kerberos credentials of %s have expired: run kinit again (or change the expired password)", p.who), true
	}
	return "", false
}

// unanswered explains a final 401 or 407 that the Transport did not try
// to answer (it offered no scheme negcurl may use).
func unanswered(resp *http.Response, c *client) string {
	peer, name := "server", "Www-Authenticate"
	if resp.StatusCode == http.StatusProxyAuthRequired {
		peer, name = "proxy", "Proxy-Authenticate"
	}
	cs, _ := authscheme.ParseChallenges(resp.Header, name)
	if len(cs) == 0 {
		return fmt.Sprintf("the %s answered %s with no challenge to answer", peer, resp.Status)
	}
	var names []string
	for _, ch := range cs {
		names = append(names, ch.Scheme)
	}
	host := c.url.Host
	if peer == "proxy" {
		host = "(unknown)" // the proxy's address is not in the response
		if pu := c.proxyFor(); pu != nil {
			host = pu.Host
		}
	}
	return notAllowed(c.opts, c, peer, host, peer == "proxy", names)
}

// offered lists the schemes the server's last response offered.
func offered(resp *http.Response, ae *negotiate.AuthError) string {
	names := offeredSchemes(resp, ae)
	if len(names) == 0 {
		return "authentication"
	}
	return strings.Join(names, ", ")
}

// offeredSchemes returns the schemes the server's last response offered.
func offeredSchemes(resp *http.Response, ae *negotiate.AuthError) []string {
	if resp == nil {
		resp = ae.Response
	}
	if resp == nil {
		return nil
	}
	name := "Www-Authenticate"
	if ae.Proxy {
		name = "Proxy-Authenticate"
	}
	cs, _ := authscheme.ParseChallenges(resp.Header, name)
	var names []string
	for _, ch := range cs {
		names = append(names, ch.Scheme)
	}
	return names
}

// explainConnection covers failures before any response: DNS, TCP, TLS,
// proxies and --max-time.
func explainConnection(err error, o *options, c *client) (int, string) {
	host := c.url.Host
	var (
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		certErr    *tls.CertificateVerificationError
		dnsErr     *net.DNSError
		opErr      *net.OpError
		recordErr  tls.RecordHeaderError
		isDeadline = errors.Is(err, context.DeadlineExceeded)
	)
	switch {
	case isDeadline && o.maxTime > 0:
		return exitConnection, fmt.Sprintf("operation timed out after %v (--max-time)", o.maxTime)
	case errors.As(err, &unknownCA), errors.As(err, &certErr):
		return exitConnection, fmt.Sprintf("the TLS certificate of %s is not trusted: pass --cacert FILE with its CA (or -k to skip the check)", host)
	case errors.As(err, &hostErr):
		return exitConnection, fmt.Sprintf("the TLS certificate of %s is not valid for that name: %v", host, hostErr)
	case errors.As(err, &recordErr):
		return exitConnection, fmt.Sprintf("%s did not answer in TLS: is it plain http?", host)
	case errors.As(err, &dnsErr):
		return exitConnection, fmt.Sprintf("cannot resolve host %s: %v", dnsErr.Name, dnsErr.Err)
	case errors.As(err, &opErr):
		// The innermost OpError holds the cause ("connect: connection
		// refused"); net/http wraps a proxy's as "proxyconnect".
		inner := opErr
		for {
			var next *net.OpError
			if !errors.As(inner.Err, &next) {
				break
			}
			inner = next
		}
		if pu := c.proxyFor(); pu != nil && (opErr.Op == "proxyconnect" || strings.Contains(err.Error(), pu.Host)) {
			return exitConnection, fmt.Sprintf("cannot connect to proxy %s (for %s): %v", pu.Host, host, inner.Err)
		}
		return exitConnection, fmt.Sprintf("cannot connect to %s: %v", host, inner.Err)
	}
	return exitConnection, fmt.Sprintf("request to %s failed: %v", host, err)
}

// proxyFor returns the proxy the request goes through, nil if none.
func (c *client) proxyFor() *url.URL {
	if c.transport == nil || c.transport.Base == nil || c.transport.Base.Proxy == nil {
		return nil
	}
	pu, err := c.transport.Base.Proxy(&http.Request{URL: c.url})
	if err != nil {
		return nil
	}
	return pu
}
