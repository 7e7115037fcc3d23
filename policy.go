// This file holds the credential policy: which credentials a request
// uses and which origins may receive them.

package negotiate

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// credentialsKey keys per-request credentials in a request context.
type credentialsKey struct{}

// WithCredentials returns a copy of ctx that makes a [Transport] use c for
// requests sent with it, instead of Transport.Credentials; a nil c sends
// them with no credentials. A service acting for many users may make a
// Credentials per request: requests whose credentials have equal values
// share authenticated connections and Kerberos tickets, and a connection
// authenticated with one identity never carries a request of another (see
// [Credentials] for what an identity is).
func WithCredentials(ctx context.Context, c *Credentials) context.Context {
	return context.WithValue(ctx, credentialsKey{}, c)
}

func (t *Transport) credentialsFor(req *http.Request) *Credentials {
	if c, ok := req.Context().Value(credentialsKey{}).(*Credentials); ok {
		return c
	}
	return t.Credentials
}

// hostAllowed reports whether credentials may be sent for req.
//
// The default policy: credentials go to the origin the caller asked for. A
// request that http.Client made by following a redirect (req.Response is
// set) gets credentials only if it goes to the same origin (scheme, host
// and port, RFC 6454) as the request the caller made, or if TrustHost
// allows its host; and never over plain HTTP once any request of the chain
// went over HTTPS, whatever TrustHost says: a redirect from https://h to
// http://h would otherwise put NTLM or Basic credentials on the wire in
// the clear. So a 302 to another origin that challenges gets no
// credentials.
func (t *Transport) hostAllowed(req *http.Request) bool {
	if req.Response == nil {
		return true
	}
	plain := !strings.EqualFold(req.URL.Scheme, "https")
	first := req
	for {
		if plain && strings.EqualFold(first.URL.Scheme, "https") {
			return false
		}
		if first.Response == nil || first.Response.Request == nil {
			break
		}
		first = first.Response.Request
	}
	if originOf(first.URL) == originOf(req.URL) {
		return true
	}
	return t.TrustHost != nil && t.TrustHost(strings.ToLower(req.URL.Hostname()))
}

// canonicalAddr returns u's host:port, lower-cased, with the scheme's
// default port filled in.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// originOf returns the origin (RFC 6454) of u: scheme://host:port.
func originOf(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + canonicalAddr(u)
}
