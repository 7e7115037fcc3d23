// This file holds SlogTrace: a ready ClientTrace that logs every leg with
// log/slog, tokens decoded as DescribeToken decodes them, so a service gets
// what negcurl -v shows in its own logs.

package negotiate

import (
	"context"
	"fmt"
	"github.com/negotiate-go/negotiate/authscheme"
	"log/slog"
	"strings"
)

// SlogTrace returns a ClientTrace that logs each leg of a request to
// logger (slog.Default() if nil) at debug level, with the message
// "negotiate leg" and these attributes: leg, method, url (without user
// info or query), status, reused, and for the origin and the proxy the
// scheme and the tokens sent and received, decoded by [authscheme.DescribeToken].
//
// Tokens are never logged raw nor in base64 (a Kerberos token can be
// replayed for minutes), and Basic credentials, which are the password,
// only as "redacted". Nothing is decoded when the logger does not log at
// debug level. Use it as:
//
//	ctx = negotiate.WithClientTrace(ctx, negotiate.SlogTrace(logger))
func SlogTrace(logger *slog.Logger) *ClientTrace {
	if logger == nil {
		logger = slog.Default()
	}
	return &ClientTrace{Leg: func(l LegInfo) {
		ctx := context.Background()
		if l.Request != nil {
			ctx = l.Request.Context()
		}
		if !logger.Enabled(ctx, slog.LevelDebug) {
			return
		}
		attrs := []slog.Attr{slog.Int("leg", l.Leg)}
		if r := l.Request; r != nil && r.URL != nil {
			u := *r.URL
			u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
			attrs = append(attrs, slog.String("method", r.Method), slog.String("url", u.String()))
		}
		if l.Response != nil {
			attrs = append(attrs, slog.Int("status", l.Response.StatusCode))
		}
		attrs = append(attrs, slog.Bool("reused", l.Reused))
		attrs = appendTokens(attrs, "", l.Scheme, l.Sent, l.Received)
		attrs = appendTokens(attrs, "proxy_", l.ProxyScheme, l.ProxySent, l.ProxyReceived)
		logger.LogAttrs(ctx, slog.LevelDebug, "negotiate leg", attrs...)
	}}
}

// appendTokens adds the scheme and the decoded tokens of one side, with
// keys prefixed by prefix ("" for the origin, "proxy_" for the proxy).
func appendTokens(attrs []slog.Attr, prefix string, scheme Scheme, sent, received []byte) []slog.Attr {
	if scheme == SchemeUnknown && sent == nil && received == nil {
		return attrs
	}
	if scheme != SchemeUnknown {
		attrs = append(attrs, slog.String(prefix+"scheme", scheme.String()))
	}
	if sent != nil || scheme == SchemeBasic {
		// Hooks get no Basic token (it is the password), only its scheme.
		attrs = append(attrs, slog.String(prefix+"sent", describeForLog(scheme, sent)))
	}
	if received != nil {
		attrs = append(attrs, slog.String(prefix+"received", describeForLog(scheme, received)))
	}
	return attrs
}

// describeForLog returns DescribeToken's description on one line, its
// lines joined with "; ". Basic credentials are "redacted".
func describeForLog(scheme Scheme, token []byte) string {
	if scheme == SchemeBasic {
		return "redacted"
	}
	desc, err := authscheme.DescribeToken(scheme.String(), token)
	var lines []string
	for line := range strings.Lines(desc) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if err != nil {
		// DescribeToken's errors never hold the token.
		lines = append(lines, fmt.Sprintf("undecodable %d-byte token: %v", len(token), err))
	}
	return strings.Join(lines, "; ")
}
