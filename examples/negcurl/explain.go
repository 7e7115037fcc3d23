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
	who := "(no credentials)"
	if c.creds != nil {
		who = c.creds.String()
	}

	// Kerberos causes first: when NTLM stood in for Kerberos and failed
	// too, the Kerberos cause is the one to fix.
	fallback := ""
	if ae.Scheme == "NTLM" || t.lastMech == "NTLM" {
		if errors.Is(err, negotiate.ErrRejected) {
			fallback = fmt.Sprintf(" (NTLM, tried instead, was rejected for %s)", who)
		} else {
			fallback = " (NTLM was tried instead)"
		}
	}
	switch {
	case errors.Is(err, negotiate.ErrMutualAuth):
		what := "its final Kerberos token (AP-REP) did not verify"
		if !t.apRepReceived {
			what = "it sent no final Kerberos token (AP-REP)"
		}
		msg := fmt.Sprintf("server %s did not prove its identity: %s", host, what)
		if o.mutual == "required" && !t.apRepReceived {
			msg += "; if this server never sends one, try --mutual optional"
		}
		return exitMutual, msg

	case errors.Is(err, negotiate.ErrClockSkew):
		peer := "the KDC"
		if ae.Op != "acquire credentials" {
			peer = "server " + host
		}
		if d, ok := negotiate.ClockSkew(err); ok {
			side := "ahead of"
			if d < 0 {
				side, d = "behind", -d
			}
			return exitAuth, fmt.Sprintf("clock skew of %v with %s exceeds 5m (its clock is %s this one's): set the clocks right (NTP)",
				d.Round(time.Second), peer, side)
		}
		return exitAuth, fmt.Sprintf("clock skew with %s exceeds the Kerberos limit (usually 5m): set the clocks right (NTP)", peer)

	case errors.Is(err, negotiate.ErrUnknownPrincipal):
		p, _ := negotiate.UnknownPrincipal(err)
		name, realm, _ := strings.Cut(p, "@")
		if realm == "" {
			realm = "the KDC's realm"
		}
		if strings.Contains(name, "/") {
			return exitAuth, fmt.Sprintf("service principal %s is unknown to realm %s: use the host name or --spn%s", name, realm, fallback)
		}
		return exitAuth, fmt.Sprintf("user %s is unknown to realm %s: check the name in -u%s", name, realm, fallback)

	case errors.Is(err, negotiate.ErrNoSPN):
		h := c.url.Hostname()
		return exitAuth, fmt.Sprintf("no Kerberos service principal fits %s, an IP address: use the host name, or --spn HTTP/<host name>%s", h, fallback)

	case errors.Is(err, negotiate.ErrKDCUnreachable):
		return exitAuth, "no KDC of the realm answered: check --krb5-config (or KRB5_CONFIG) and that the KDC is reachable" + fallback

	case errors.Is(err, negotiate.ErrCredentialsExpired):
		return exitAuth, fmt.Sprintf("the Kerberos credentials of %s have expired: run kinit again (or change the expired password)", who)

	case errors.Is(err, negotiate.ErrNoCredentials):
		switch {
		case c.creds == nil:
			return exitAuth, fmt.Sprintf("server %s asks for %s and no credentials were given: pass -u user[:password], or -u : for the Kerberos ticket cache",
				host, offered(resp, ae))
		case o.keytab != "":
			return exitAuth, fmt.Sprintf("no usable key for %s in keytab %s: check the principal and the keytab (klist -k)", who, o.keytab)
		case o.userSet && strings.HasPrefix(o.user, ":"):
			return exitAuth, "no Kerberos credentials: run kinit or pass -u"
		}
		return exitAuth, fmt.Sprintf("no credentials fit what server %s asks for (%s): pass -u user:password", host, offered(resp, ae))

	case errors.Is(err, negotiate.ErrRejected):
		if ae.Op == "acquire credentials" {
			what := "password"
			if o.keytab != "" {
				what = "keys in keytab " + o.keytab
			}
			return exitAuth, fmt.Sprintf("the KDC rejected the %s for %s: check the %s", what, who, what)
		}
		mech := t.lastMech
		if mech == "" {
			mech = ae.Scheme
		}
		msg := fmt.Sprintf("server rejected the %s credentials for %s", mech, who)
		if o.noChannelBinding && c.url.Scheme == "https" {
			msg += ": this connection sent no channel bindings (--no-channel-binding), which a server requiring Extended Protection refuses"
		} else if mech == "NTLM" {
			msg += ": check the user name (DOMAIN\\user) and the password"
		} else {
			msg += ": check the user name and the password"
		}
		return exitAuth, msg

	case errors.Is(err, negotiate.ErrUnsupportedScheme):
		msg := fmt.Sprintf("server %s offers only %s, which negcurl may not use here", host, offered(resp, ae))
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
