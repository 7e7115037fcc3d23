// This file prints the legs of a request for -v, as curl -v prints its
// exchanges: "> " request headers, "< " response headers, "* " notes. Every
// token is decoded on the lines after its header (authscheme.DescribeToken),
// and the header itself shows only the token's size: a Kerberos token can be
// replayed for minutes, and Basic credentials are the password.

package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/authscheme"
)

// A tracer receives the legs of the request. It always keeps what the
// failure messages need (the mechanism of the last token sent), and prints
// the legs when verbose.
type tracer struct {
	w       io.Writer
	verbose bool

	legs          int
	lastMech      string // "Kerberos", "NTLM" or "" for the last token sent
	lastProxyMech string // the same for the proxy
	kerberosSent  bool   // the last token sent was a Kerberos AP-REQ
	mutualAsked   bool   // ... asking the server to prove its identity
	apRepReceived bool   // the last response carried a Kerberos AP-REP
}

// leg is the negotiate.ClientTrace hook.
func (t *tracer) leg(l negotiate.LegInfo) {
	t.legs++
	sentDesc, sentErr := describe(l.Scheme, l.Sent)
	recvDesc, recvErr := describe(l.Scheme, l.Received)
	psentDesc, psentErr := describe(l.ProxyScheme, l.ProxySent)
	precvDesc, precvErr := describe(l.ProxyScheme, l.ProxyReceived)
	if l.ProxySent != nil {
		t.lastProxyMech = mechOf(l.ProxyScheme, psentDesc)
	}
	if l.Sent != nil {
		t.lastMech = mechOf(l.Scheme, sentDesc)
		t.kerberosSent = strings.Contains(sentDesc, "Kerberos AP-REQ")
		t.mutualAsked = t.kerberosSent && strings.Contains(sentDesc, "mutual-required")
	}
	t.apRepReceived = strings.Contains(recvDesc, "Kerberos AP-REP")
	if !t.verbose {
		return
	}

	w := t.w
	switch {
	case l.Reused:
		fmt.Fprintf(w, "* request %d: on a kept authenticated connection\n", t.legs)
	case l.Leg == 0:
		fmt.Fprintf(w, "* request %d: without credentials\n", t.legs)
	case l.Sent != nil && l.ProxySent != nil:
		fmt.Fprintf(w, "* request %d: %s leg %d to the proxy, with the server's %s token\n", t.legs, l.ProxyScheme, l.Leg, l.Scheme)
	case l.ProxySent != nil:
		fmt.Fprintf(w, "* request %d: %s leg %d to the proxy\n", t.legs, l.ProxyScheme, l.Leg)
	default:
		fmt.Fprintf(w, "* request %d: %s leg %d\n", t.legs, l.Scheme, l.Leg)
	}
	req := l.Request
	fmt.Fprintf(w, "> %s %s %s\n", req.Method, req.URL.RequestURI(), "HTTP/1.1")
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	fmt.Fprintf(w, "> Host: %s\n", host)
	if req.ContentLength > 0 {
		fmt.Fprintf(w, "> Content-Length: %d\n", req.ContentLength)
	}
	printHeaders(w, "> ", req.Header)
	printToken(w, "Authorization", sentDesc, sentErr)
	printToken(w, "Proxy-Authorization", psentDesc, psentErr)
	fmt.Fprintln(w, ">")

	resp := l.Response
	fmt.Fprintf(w, "< %s %s\n", resp.Proto, resp.Status)
	printHeaders(w, "< ", resp.Header)
	printToken(w, "WWW-Authenticate", recvDesc, recvErr)
	printToken(w, "Proxy-Authenticate", precvDesc, precvErr)
	fmt.Fprintln(w, "<")
}

// finish notes, for -v, what became of Kerberos mutual authentication once
// the Transport has handed over a response (it does so only when the
// policy was met).
func (t *tracer) finish(o *options, resp *http.Response) {
	if t.verbose && t.legs == 0 {
		// The Transport traces the legs of authentication; a request it
		// passed through untouched is shown here.
		t.leg(negotiate.LegInfo{Request: resp.Request, Response: resp})
	}
	if !t.verbose || !t.kerberosSent || resp.StatusCode == http.StatusUnauthorized {
		return
	}
	switch {
	case !t.mutualAsked:
		fmt.Fprintln(t.w, "* mutual authentication: not requested (--mutual disabled)")
	case t.apRepReceived && negotiate.ResponseError(resp) == nil:
		fmt.Fprintln(t.w, "* mutual authentication: verified (the server's AP-REP proved its identity)")
	default:
		fmt.Fprintf(t.w, "* mutual authentication: the server sent no AP-REP; accepted as --mutual %s allows\n", o.mutual)
	}
}

// describe decodes a token for display; nil gives "".
func describe(scheme negotiate.Scheme, tok []byte) (string, error) {
	if tok == nil || scheme == negotiate.SchemeUnknown || scheme == negotiate.SchemeBasic {
		return "", nil
	}
	return authscheme.DescribeToken(scheme.String(), tok)
}

// mechOf names the mechanism of a token from its description.
func mechOf(scheme negotiate.Scheme, desc string) string {
	switch {
	case strings.Contains(desc, "Kerberos"):
		return "Kerberos"
	case strings.Contains(desc, "NTLM "):
		return "NTLM"
	}
	return scheme.String()
}

// printToken prints the description of the token in header, each line
// after "*   ".
func printToken(w io.Writer, header, desc string, err error) {
	if desc != "" || err != nil {
		fmt.Fprintf(w, "* %s token:\n", header)
	}
	for line := range strings.Lines(desc) {
		fmt.Fprintf(w, "*   %s", line)
	}
	if err != nil {
		fmt.Fprintf(w, "*   (token not decoded: %v)\n", err)
	}
}

// authHeaders carry credentials or tokens; only their scheme and size are
// shown.
var authHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Www-Authenticate":    true,
	"Proxy-Authenticate":  true,
}

// printHeaders prints h sorted by name, tokens replaced by their size.
func printHeaders(w io.Writer, prefix string, h http.Header) {
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			if authHeaders[name] {
				v = redact(name, v)
			}
			fmt.Fprintf(w, "%s%s: %s\n", prefix, displayName(name), v)
		}
	}
}

// displayName spells a canonical header name as the RFCs do where Go's
// canonical form differs.
func displayName(name string) string {
	if name == "Www-Authenticate" {
		return "WWW-Authenticate"
	}
	return name
}

// redact returns an authentication header's value with every token68
// replaced by "<N bytes>". Authorization values are "scheme token"; the
// challenges of WWW-Authenticate are parsed as negotiate.ParseChallenges
// reads them, and their parameters (realm="...") kept.
func redact(name, v string) string {
	if name == "Authorization" || name == "Proxy-Authorization" {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
		if !ok {
			return scheme
		}
		c := authscheme.Challenge{Scheme: scheme, Token68: strings.TrimSpace(tok)}
		return scheme + " " + tokenSize(c)
	}
	cs, err := authscheme.ParseChallenges(http.Header{name: {v}}, name)
	if err != nil {
		return fmt.Sprintf("<malformed, %d characters>", len(v))
	}
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		switch {
		case c.Token68 != "":
			parts = append(parts, c.Scheme+" "+tokenSize(c))
		case len(c.Params) > 0:
			ps := make([]string, 0, len(c.Params))
			for _, k := range slices.Sorted(maps.Keys(c.Params)) {
				ps = append(ps, fmt.Sprintf("%s=%q", k, c.Params[k]))
			}
			parts = append(parts, c.Scheme+" "+strings.Join(ps, ", "))
		default:
			parts = append(parts, c.Scheme)
		}
	}
	return strings.Join(parts, ", ")
}

// tokenSize is "<N bytes>" for c's token, or the token68's length in
// characters when it is not base64.
func tokenSize(c authscheme.Challenge) string {
	b, err := c.Token()
	if err != nil {
		return fmt.Sprintf("<%d characters, not base64>", len(c.Token68))
	}
	return fmt.Sprintf("<%d bytes>", len(b))
}
