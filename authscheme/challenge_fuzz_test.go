// Fuzz test of ParseChallenges: it must never panic, and what it returns
// must satisfy the invariants of RFC 7235's grammar and survive a round trip
// through a canonical serialisation.

package authscheme

import (
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// errShape is the only form a ParseChallenges error may take: field, line,
// offset and a fixed description, nothing copied from the value.
var errShape = regexp.MustCompile(`^negotiate: malformed challenge: Www-Authenticate (?:field line ([12]), offset (\d+): [a-z0-9' =-]+|fields larger than \d+ bytes)$`)

func FuzzParseChallenges(f *testing.F) {
	seeds := [][2]string{
		{"Negotiate", "NTLM"},
		{"Negotiate, NTLM", ""},
		{"Negotiate " + apRepToken, ""},
		{"NTLM " + ntlmType2Token, "Basic realm=\"x\""},
		{`Basic realm="x", charset="UTF-8"`, "Negotiate " + requestMIC},
		{`Digest realm="a,b", nonce="abc", qop=auth, Negotiate`, ""},
		{", ,Negotiate , ,", "negotiate, NEGOTIATE"},
		{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`, ""},
		{`Basic, realm="x", NTLM`, `Basic , realm="x"`},
		{"Basic realm=", "Basic realm= , NTLM"},
		{`Basic realm="x`, `Basic realm="a\"b\\c"`},
		{`Negotiate YQ==, realm="x"`, `realm="x"`},
		{"Negotiate\tYQ==", "Neg\x00otiate"},
		{"Basic realm=\"caf\xc3\xa9\"", "X a-._~+/9="},
		{`Basic realm="x", REALM="y"`, "Basic =x"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{"Www-Authenticate": {a, b}}
		got, err := ParseChallenges(h, "WWW-Authenticate")
		if err != nil {
			m := errShape.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("ParseChallenges(%q, %q) error %q has the wrong form", a, b, err)
			}
			line := a
			if m[1] == "2" {
				line = b
			}
			if off, _ := strconv.Atoi(m[2]); off > len(line) {
				t.Fatalf("ParseChallenges(%q, %q) error %q: offset beyond the line", a, b, err)
			}
		}
		checkChallenges(t, got)
		for _, c := range got {
			if tok, err := c.Token(); err != nil && !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("Token(%q) error = %v; want ErrMalformedToken", c.Token68, err)
			} else if err == nil && (tok == nil) != (c.Token68 == "") {
				t.Fatalf("Token(%q) = %x; nil exactly when the token68 is empty", c.Token68, tok)
			}
		}

		// The lines are independent lists: parsing them together gives the
		// challenges of each well-formed line, in order.
		var want []Challenge
		for _, l := range []string{a, b} {
			cs, err := ParseChallenges(http.Header{"Www-Authenticate": {l}}, "WWW-Authenticate")
			if err == nil {
				want = append(want, cs...)
			} else if cs != nil {
				t.Fatalf("ParseChallenges(%q) = %v with error %v; want nil", l, cs, err)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseChallenges(%q, %q) = %#v; want each line's %#v", a, b, got, want)
		}

		// Round trip: the canonical form parses to the same challenges.
		if len(got) == 0 {
			return
		}
		s := formatChallenges(got)
		again, err := ParseChallenges(http.Header{"Www-Authenticate": {s}}, "WWW-Authenticate")
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("ParseChallenges(%q) = %#v, %v; want %#v (from %q, %q)", s, again, err, got, a, b)
		}
	})
}

// checkChallenges fails t unless every challenge is one the grammar allows.
func checkChallenges(t *testing.T, cs []Challenge) {
	t.Helper()
	for _, c := range cs {
		if !isToken(c.Scheme) {
			t.Fatalf("scheme %q is not a token", c.Scheme)
		}
		if c.Token68 != "" && c.Params != nil {
			t.Fatalf("challenge %#v has both a token68 and params", c)
		}
		if c.Token68 != "" {
			body := strings.TrimRight(c.Token68, "=")
			if body == "" || strings.IndexFunc(body, func(r rune) bool { return r > 0x7f || !isToken68Char(byte(r)) }) >= 0 {
				t.Fatalf("token68 %q is not a token68", c.Token68)
			}
		}
		if c.Params != nil && len(c.Params) == 0 {
			t.Fatalf("challenge %#v has an empty, non-nil Params", c)
		}
		for name := range c.Params {
			if !isToken(name) || name != strings.ToLower(name) {
				t.Fatalf("param name %q is not a lower-case token", name)
			}
		}
	}
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return true
}

// formatChallenges writes cs as one field value, params sorted by name and
// every value quoted.
func formatChallenges(cs []Challenge) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Scheme)
		if c.Token68 != "" {
			b.WriteString(" " + c.Token68)
		}
		names := make([]string, 0, len(c.Params))
		for n := range c.Params {
			names = append(names, n)
		}
		slices.Sort(names)
		for j, n := range names {
			if j == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteString(", ")
			}
			b.WriteString(n + `="`)
			for k := 0; k < len(c.Params[n]); k++ {
				if ch := c.Params[n][k]; ch == '"' || ch == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(c.Params[n][k])
			}
			b.WriteByte('"')
		}
	}
	return b.String()
}
