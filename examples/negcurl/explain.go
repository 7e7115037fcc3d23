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
	"strings"
	"time"

	"github.com/negotiate-go/negotiate"
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
	if errors.Is(err, negotiate.ErrRejected) && ae.Op != "acquire credentials" {
		mech := p.mech
		if mech == "" {
			mech = ae.Scheme
		}
		rejected = fmt.Sprintf("%s rejected the %s credentials for %s", p.name, mech, who)
		switch {
		case o.noChannelBinding && c.url.Scheme == "https" && !ae.Proxy:
			rejected += ": this connection sent no channel bindings (--no-channel-binding), which a server requiring Extended Protection refuses"
		case mech == "NTLM":
			rejected += ": check the user name (DOMAIN\\user) and the password"
		default:
			rejected += ": check the user name and the password"
		}
	}

	// Why Kerberos failed or was not used. When NTLM stood in for it and
	// was rejected too, the Kerberos cause leads if Kerberos was what the
	// user meant (--negotiate, a user@REALM name, a ticket cache or
	// keytab); otherwise the NTLM rejection does.
	if why, ok := kerberosCause(err, ae, p); ok {
		switch {
		case rejected == "":
			return exitAuth, why
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
			return exitAuth, "no Kerberos credentials: run kinit or pass " + p.flag
		}
		return exitAuth, fmt.Sprintf("no credentials fit what %s %s asks for (%s): pass %s user:password", p.name, host, offered(resp, ae), p.flag)

	case errors.Is(err, negotiate.ErrRejected): // by the KDC
		what := "password"
		if o.keytab != "" && !ae.Proxy {
			what = "keys in keytab " + o.keytab
		}
		return exitAuth, fmt.Sprintf("the KDC rejected the %s for %s: check the %s", what, who, what)

	case errors.Is(err, negotiate.ErrUnsupportedScheme):
		msg := fmt.Sprintf("%s %s offers only %s, which negcurl may not use here", p.name, host, offered(resp, ae))
		if c.url.Scheme == "http" {
			msg += " (Basic is used only over https, or with --basic --insecure-basic)"
		} else {
			msg += " (for Basic, pass --basic or --anyauth)"
		}
		return exitAuth, msg

	case errors.Is(err, negotiate.ErrHostNotAllowed):
		return exitAuth, fmt.Sprintf("credentials were not sent to %s, reached by a redirect: pass --location-trusted to allow it", host)
	}
	// The rest (a malformed challenge, too many legs, a lost connection)
	// is said well enough by the error itself, which holds no secret.
	return exitAuth, strings.TrimPrefix(err.Error(), "negotiate: ")
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
		if ae.Op != "acquire credentials" {
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
	cs, _ := negotiate.ParseChallenges(resp.Header, name)
	if len(cs) == 0 {
		return fmt.Sprintf("the %s answered %s with no challenge to answer", peer, resp.Status)
	}
	var names []string
	basic := false
	for _, ch := range cs {
		names = append(names, ch.Scheme)
		basic = basic || ch.Kind() == negotiate.SchemeBasic
	}
	who := peer + " " + c.url.Host
	if peer == "proxy" {
		who = "the proxy"
	}
	msg := fmt.Sprintf("%s offers only %s, which negcurl may not use here", who, strings.Join(names, ", "))
	if basic && c.url.Scheme == "http" {
		msg += " (Basic is used only over https, or with --basic --insecure-basic)"
	} else if basic {
		msg += " (for Basic, pass --basic or --anyauth)"
	}
	return msg
}

// offered lists the schemes the server's last response offered.
func offered(resp *http.Response, ae *negotiate.AuthError) string {
	if resp == nil {
		resp = ae.Response
	}
	if resp == nil {
		return "authentication"
	}
	name := "Www-Authenticate"
	if ae.Proxy {
		name = "Proxy-Authenticate"
	}
	cs, _ := negotiate.ParseChallenges(resp.Header, name)
	var names []string
	for _, ch := range cs {
		names = append(names, ch.Scheme)
	}
	if len(names) == 0 {
		return "authentication"
	}
	return strings.Join(names, ", ")
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
		return exitConnection, fmt.Sprintf("cannot connect to %s: %v", host, opErr.Err)
	}
	return exitConnection, fmt.Sprintf("request to %s failed: %v", host, err)
}
