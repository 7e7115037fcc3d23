// Package authscheme reads the authentication schemes of HTTP that package
// negotiate speaks, as golang.org/x/net/http/httpguts sits beside net/http:
// it parses the challenges of WWW-Authenticate and Proxy-Authenticate fields
// (RFC 7235 §2.1, §4.1, §4.3), chooses the one to answer, and describes
// Negotiate and NTLM tokens in plain words for diagnostics.
package authscheme

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// A Challenge is one challenge of a WWW-Authenticate or Proxy-Authenticate
// field (RFC 7235 §2.1, §4.1, §4.3).
//
// A challenge carries either a token68 or a list of auth-params, never both.
type Challenge struct {
	// Scheme is the authentication scheme as sent. Scheme names are
	// case-insensitive (RFC 7235 §2.1): compare them with strings.EqualFold,
	// or use Kind.
	Scheme string
	// Token68 is the token68 form (RFC 7235 §2.1), "" if absent. For
	// Negotiate and NTLM it is the base64 of the server's token (RFC 4559
	// §4); see Token.
	Token68 string
	// Params is the auth-param form: parameter names lower-cased (they are
	// case-insensitive), quoted-string values unescaped. It is nil if the
	// challenge has no parameters.
	Params map[string]string
}

// ParseChallenges parses every field line named name (e.g.
// "WWW-Authenticate" or "Proxy-Authenticate") in h and returns their
// challenges in order. IIS sends Negotiate and NTLM on two lines; other
// servers send several challenges in one. Several field lines make one list
// (RFC 7230 §3.2.2), but ParseChallenges parses each line on its own, so
// that a malformed line (an unterminated quoted-string, say) cannot swallow
// the next; a challenge never continues from one line onto the next.
//
// The grammar is RFC 7235 §2.1 and §4.1 with the list rules of RFC 7230 §7:
//
//	WWW-Authenticate = 1#challenge
//	challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param       = token BWS "=" BWS ( token / quoted-string )
//	token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// A comma followed by "token =" continues the parameters of the current
// challenge; a comma followed by any other token starts a new challenge.
// After a scheme, a token68 is recognised only when it is followed by the end
// of the line or a comma, so "realm=x" is a parameter while "YII=" is a
// token68 (an auth-param value is never empty).
//
// ParseChallenges is lenient where servers are sloppy and no other reading
// exists:
//   - empty list elements and runs of commas are skipped (RFC 7230 §7);
//   - a horizontal tab may stand for the space after the scheme;
//   - parameters may follow a comma directly after the scheme
//     ("Basic, realm=x"), as if a space preceded the comma;
//   - an empty field line yields no challenges.
//
// It is strict wherever a guess could be wrong: a parameter outside a
// challenge or after a token68, a missing comma, a repeated parameter name
// (RFC 7235 §2.1), an unterminated quoted-string or a control character make
// the field line malformed. The error wraps ErrMalformedChallenge and names
// the field, the line and the byte offset, never the value. Challenges of
// the other, well-formed lines are still returned with the error, so a
// caller may choose to answer one of them; a malformed line contributes none.
//
// Hostile input is bounded: fields of more than MaxChallengeBytes in all
// give no challenges and an error; a line with more than
// MaxChallengesPerLine challenges, or a token68 longer than
// MaxToken68Length, is malformed. Every such error wraps
// ErrMalformedChallenge.
func ParseChallenges(h http.Header, name string) ([]Challenge, error) {
	var (
		all      []Challenge
		firstErr error
	)
	lines := h.Values(name)
	total := 0
	for _, line := range lines {
		total += len(line)
	}
	if total > MaxChallengeBytes {
		return nil, fmt.Errorf("%w: %s fields larger than %d bytes",
			ErrMalformedChallenge, http.CanonicalHeaderKey(name), MaxChallengeBytes)
	}
	for n, line := range lines {
		cs, off, reason := parseChallengeLine(line)
		if reason != "" {
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: %s field line %d, offset %d: %s",
					ErrMalformedChallenge, http.CanonicalHeaderKey(name), n+1, off, reason)
			}
			continue
		}
		all = append(all, cs...)
	}
	return all, firstErr
}

// Limits on the challenges ParseChallenges reads. Servers send a few
// challenges of some hundred bytes (an NTLM CHALLENGE message, a Kerberos
// AP-REP); the limits leave room for far larger ones and keep a hostile
// header from costing more than a small multiple of its size.
const (
	// MaxChallengeBytes bounds the bytes of all field lines of one name
	// (all WWW-Authenticate lines of a response, say).
	MaxChallengeBytes = 64 << 10
	// MaxChallengesPerLine bounds the challenges of one field line.
	MaxChallengesPerLine = 32
	// MaxToken68Length bounds a challenge's token68 (base64 text, so
	// about 24 KiB of token).
	MaxToken68Length = 32 << 10
)

// parseChallengeLine parses one field line. On failure it returns the byte
// offset and a description of the problem; the description never quotes
// the input.
func parseChallengeLine(s string) (cs []Challenge, off int, reason string) {
	i := 0
	for {
		// Empty list elements and OWS around commas (RFC 7230 §7).
		for i < len(s) && (s[i] == ',' || isOWS(s[i])) {
			i++
		}
		if i == len(s) {
			return cs, 0, ""
		}
		start := i
		tok, j := scanToken(s, i)
		if tok == "" {
			return nil, i, "expected an authentication scheme or parameter"
		}
		if k := skipOWS(s, j); k < len(s) && s[k] == '=' {
			// "token =" after a comma: another auth-param of the current
			// challenge.
			if len(cs) == 0 {
				return nil, start, "auth-param before any authentication scheme"
			}
			c := &cs[len(cs)-1]
			if c.Token68 != "" {
				return nil, start, "auth-param after a token68"
			}
			if i, off, reason = parseParam(s, start, c); reason != "" {
				return nil, off, reason
			}
		} else {
			if len(cs) == MaxChallengesPerLine {
				return nil, start, "too many challenges"
			}
			cs = append(cs, Challenge{Scheme: tok})
			c := &cs[len(cs)-1]
			i = j
			k := skipOWS(s, j)
			switch {
			case k == len(s) || s[k] == ',':
				// A bare scheme (or one followed by parameters after a
				// comma, handled by the next turn of the loop).
				i = k
			case k == j:
				return nil, j, "expected a space after the authentication scheme"
			default:
				if t, m := scanToken68(s, k); t != "" {
					if m2 := skipOWS(s, m); m2 == len(s) || s[m2] == ',' {
						if len(t) > MaxToken68Length {
							return nil, k, "token68 too long"
						}
						c.Token68 = t
						i = m2
						break
					}
				}
				if i, off, reason = parseParam(s, k, c); reason != "" {
					return nil, off, reason
				}
			}
		}
		// Each element ends at the end of the line or at a comma.
		i = skipOWS(s, i)
		if i < len(s) && s[i] != ',' {
			return nil, i, "expected a comma between list elements"
		}
	}
}

// parseParam parses auth-param = token BWS "=" BWS ( token / quoted-string )
// (RFC 7235 §2.1) at s[i:] into c.Params and returns the offset after it.
func parseParam(s string, i int, c *Challenge) (next, off int, reason string) {
	name, j := scanToken(s, i)
	if name == "" {
		return 0, i, "expected a token68 or an auth-param"
	}
	j = skipOWS(s, j)
	if j == len(s) || s[j] != '=' {
		return 0, j, "expected '=' after the parameter name"
	}
	j = skipOWS(s, j+1)
	var value string
	if j < len(s) && s[j] == '"' {
		var reason string
		if value, next, reason = scanQuoted(s, j); reason != "" {
			return 0, next, reason
		}
	} else if value, next = scanToken(s, j); value == "" {
		return 0, j, "expected a token or quoted-string parameter value"
	}
	name = strings.ToLower(name)
	if _, dup := c.Params[name]; dup {
		// RFC 7235 §2.1: each parameter name MUST only occur once per
		// challenge; which one was meant cannot be known.
		return 0, i, "repeated parameter name"
	}
	if c.Params == nil {
		c.Params = make(map[string]string)
	}
	c.Params[name] = value
	return next, 0, ""
}

// scanToken returns the token (RFC 7230 §3.2.6) at s[i:], "" if there is
// none, and the offset after it.
func scanToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && httpguts.IsTokenRune(rune(s[j])) {
		j++
	}
	return s[i:j], j
}

// scanToken68 returns the token68 (RFC 7235 §2.1) at s[i:], "" if there is
// none, and the offset after it.
func scanToken68(s string, i int) (string, int) {
	j := i
	for j < len(s) && isToken68Char(s[j]) {
		j++
	}
	if j == i {
		return "", i
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	return s[i:j], j
}

// isToken68Char reports whether b may appear in a token68 before its
// trailing '=' padding (RFC 7235 §2.1).
func isToken68Char(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return b == '-' || b == '.' || b == '_' || b == '~' || b == '+' || b == '/'
}

// scanQuoted unescapes the quoted-string (RFC 7230 §3.2.6) that starts at
// s[i] == '"'. It returns the value and the offset after the closing quote,
// or the offset of the problem and its description.
func scanQuoted(s string, i int) (value string, next int, reason string) {
	var b strings.Builder
	plain := true // no quoted-pair seen: value is a substring of s
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			if plain {
				return s[i+1 : j], j + 1, ""
			}
			return b.String(), j + 1, ""
		case c == '\\':
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if j+1 == len(s) {
				return "", j, "unterminated quoted-string"
			}
			if !isQuotedText(s[j+1]) && s[j+1] != '"' && s[j+1] != '\\' {
				return "", j + 1, "invalid character in quoted-pair"
			}
			if plain {
				b.WriteString(s[i+1 : j])
				plain = false
			}
			j++
			b.WriteByte(s[j])
		case isQuotedText(c):
			if !plain {
				b.WriteByte(c)
			}
		default:
			return "", j, "control character in quoted-string"
		}
	}
	return "", len(s), "unterminated quoted-string"
}

// isQuotedText reports whether b is qdtext (RFC 7230 §3.2.6): HTAB, SP,
// visible ASCII other than '"' and '\', or obs-text.
func isQuotedText(b byte) bool {
	return b == '\t' || b == ' ' || b == 0x21 || (0x23 <= b && b <= 0x5b) ||
		(0x5d <= b && b <= 0x7e) || b >= 0x80
}

// isOWS reports whether b is optional whitespace (RFC 7230 §3.2.3).
func isOWS(b byte) bool { return b == ' ' || b == '\t' }

// skipOWS returns the offset of the first byte at or after i that is not OWS.
func skipOWS(s string, i int) int {
	for i < len(s) && isOWS(s[i]) {
		i++
	}
	return i
}

// Scheme identifies an authentication scheme package negotiate speaks.
// The zero value is Unknown.
type Scheme int

// The schemes package negotiate speaks.
const (
	Unknown   Scheme = iota // any scheme not listed below
	Basic                   // RFC 7617
	NTLM                    // MS-NTHT, raw NTLMSSP tokens
	Negotiate               // RFC 4559, SPNEGO (or raw Kerberos or NTLM) tokens
)

// Errors of the parser, for errors.Is. Package negotiate exports the same
// values.
var (
	// ErrMalformedChallenge: a WWW-Authenticate or Proxy-Authenticate
	// field does not follow RFC 7235, or passes the limits below.
	ErrMalformedChallenge = errors.New("negotiate: malformed challenge")
	// ErrMalformedToken: a token could not be decoded.
	ErrMalformedToken = gss.ErrMalformedToken
)

// String returns the scheme's name as sent on the wire: "Basic", "NTLM",
// "Negotiate", or "unknown" for any other value.
func (s Scheme) String() string {
	switch s {
	case Basic:
		return "Basic"
	case NTLM:
		return "NTLM"
	case Negotiate:
		return "Negotiate"
	}
	return "unknown"
}

// Kind returns the Scheme that c.Scheme names (see SchemeOf).
func (c Challenge) Kind() Scheme { return SchemeOf(c.Scheme) }

// SchemeOf returns the Scheme that name names, compared case-insensitively
// in ASCII (RFC 7235 §2.1), or Unknown.
func SchemeOf(name string) Scheme {
	for _, s := range [...]Scheme{Basic, NTLM, Negotiate} {
		if asciiEqualFold(name, s.String()) {
			return s
		}
	}
	return Unknown
}

// asciiEqualFold reports whether a and b are equal under ASCII case
// folding. Unlike strings.EqualFold it does not fold non-ASCII letters (the
// Kelvin sign would otherwise match "k"): scheme names are tokens.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Token decodes c.Token68 as standard base64, the encoding of Negotiate and
// NTLM tokens (RFC 4559 §4). Missing '=' padding is tolerated; padding that
// is present must be right. An empty token68 gives nil, nil. Bad base64
// gives an error wrapping ErrMalformedToken that does not contain the token.
func (c Challenge) Token() ([]byte, error) {
	if c.Token68 == "" {
		return nil, nil
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(c.Token68, "=") {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(c.Token68)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w: bad base64 in %s challenge at offset %d",
				ErrMalformedToken, c.Kind(), int64(ce))
		}
		return nil, fmt.Errorf("%w: bad base64 in %s challenge", ErrMalformedToken, c.Kind())
	}
	return b, nil
}

// Choose returns the challenge to answer from cs: the first challenge whose
// scheme is the earliest in prefer that any challenge offers. Basic is
// chosen only if allowBasic and overTLS are both true, because it sends the
// password in the clear. Unknown in prefer matches nothing. ok is
// false if no challenge fits.
func Choose(cs []Challenge, prefer []Scheme, allowBasic, overTLS bool) (c Challenge, ok bool) {
	for _, s := range prefer {
		if s == Unknown || (s == Basic && !(allowBasic && overTLS)) {
			continue
		}
		for _, c := range cs {
			if c.Kind() == s {
				return c, true
			}
		}
	}
	return Challenge{}, false
}
