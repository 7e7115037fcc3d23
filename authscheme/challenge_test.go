// Tests of challenge parsing and scheme choice against headers that real
// servers (IIS, Apache mod_auth_gssapi, Squid) send, and against the
// malformed inputs the grammar of RFC 7235 rules out.

package authscheme

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Tokens as servers send them: a Kerberos AP-REP wrapped in SPNEGO
// (negState accept-completed), an NTLM CHALLENGE and the SPNEGO
// request-mic token Apache + gss-ntlmssp sends to steer to NTLM.
const (
	apRepToken     = "oYG2MIGzoAMKAQChCwYJKoZIgvcSAQICooGeBIGbYIGYBgkqhkiG9xIBAgICAG+BiDCBhaADAgEFoQMCAQ+ieTB3oAMCARKicARuXl6/9H8z"
	ntlmType2Token = "TlRMTVNTUAACAAAADAAMADgAAAAFgomiESIzRFVmd4gAAAAAAAAAAIoAigBEAAAABgGxHQAAAA9UAEUAUwBUAE4AVAAyAAwAVABFAFMAVABOAFQA"
	requestMIC     = "oRUwE6ADCgEDoQwGCisGAQQBgjcCAgo="
)

func header(name string, lines ...string) http.Header {
	h := make(http.Header)
	for _, l := range lines {
		h.Add(name, l)
	}
	return h
}

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []Challenge
	}{
		{"IIS two lines", []string{"Negotiate", "NTLM"},
			[]Challenge{{Scheme: "Negotiate"}, {Scheme: "NTLM"}}},
		{"one line", []string{"Negotiate, NTLM"},
			[]Challenge{{Scheme: "Negotiate"}, {Scheme: "NTLM"}}},
		{"AP-REP", []string{"Negotiate " + apRepToken},
			[]Challenge{{Scheme: "Negotiate", Token68: apRepToken}}},
		{"NTLM type 2", []string{"NTLM " + ntlmType2Token},
			[]Challenge{{Scheme: "NTLM", Token68: ntlmType2Token}}},
		{"padding", []string{"Negotiate " + requestMIC},
			[]Challenge{{Scheme: "Negotiate", Token68: requestMIC}}},
		{"double padding then scheme", []string{"Negotiate YQ==, NTLM"},
			[]Challenge{{Scheme: "Negotiate", Token68: "YQ=="}, {Scheme: "NTLM"}}},
		{"token68 with trailing OWS", []string{"NTLM YWJj \t"},
			[]Challenge{{Scheme: "NTLM", Token68: "YWJj"}}},
		{"token68 all token68 chars", []string{"X a-._~+/9="},
			[]Challenge{{Scheme: "X", Token68: "a-._~+/9="}}},
		{"Basic", []string{`Basic realm="x", charset="UTF-8"`},
			[]Challenge{{Scheme: "Basic", Params: map[string]string{"realm": "x", "charset": "UTF-8"}}}},
		{"Digest comma in quotes then Negotiate",
			[]string{`Digest realm="a,b", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop=auth, Negotiate`},
			[]Challenge{
				{Scheme: "Digest", Params: map[string]string{"realm": "a,b", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093", "qop": "auth"}},
				{Scheme: "Negotiate"},
			}},
		{"Squid three schemes", []string{`Negotiate`, `NTLM`, `Basic realm="Squid proxy-caching web server"`},
			[]Challenge{{Scheme: "Negotiate"}, {Scheme: "NTLM"},
				{Scheme: "Basic", Params: map[string]string{"realm": "Squid proxy-caching web server"}}}},
		{"case variants", []string{"negotiate, NEGOTIATE", "nTlM"},
			[]Challenge{{Scheme: "negotiate"}, {Scheme: "NEGOTIATE"}, {Scheme: "nTlM"}}},
		{"empty elements", []string{", ,Negotiate , ,", " , "},
			[]Challenge{{Scheme: "Negotiate"}}},
		{"empty line", []string{""}, nil},
		{"no header", nil, nil},
		{"param name case and BWS", []string{`Basic REALM = "x" ,Charset= utf-8`},
			[]Challenge{{Scheme: "Basic", Params: map[string]string{"realm": "x", "charset": "utf-8"}}}},
		{"quoted-pair", []string{`Basic realm="a\"b\\c\d"`},
			[]Challenge{{Scheme: "Basic", Params: map[string]string{"realm": `a"b\cd`}}}},
		{"empty quoted value", []string{`Basic realm=""`},
			[]Challenge{{Scheme: "Basic", Params: map[string]string{"realm": ""}}}},
		{"obs-text in quotes", []string{"Basic realm=\"caf\xc3\xa9\""},
			[]Challenge{{Scheme: "Basic", Params: map[string]string{"realm": "caf\xc3\xa9"}}}},
		{"token68 vs param: equals then end", []string{"Basic realm="},
			[]Challenge{{Scheme: "Basic", Token68: "realm="}}},
		{"token68 then OWS and comma", []string{"Basic realm= , NTLM"},
			[]Challenge{{Scheme: "Basic", Token68: "realm="}, {Scheme: "NTLM"}}},
		{"param with BWS after equals", []string{"Basic realm= x"},
			[]Challenge{{Scheme: "Basic", Params: map[string]string{"realm": "x"}}}},
		{"token68 vs param: bare token", []string{"Basic realm, NTLM"},
			[]Challenge{{Scheme: "Basic", Token68: "realm"}, {Scheme: "NTLM"}}},
		{"RFC 7235 empty param before first", []string{`Basic , realm="x"`},
			[]Challenge{{Scheme: "Basic", Params: map[string]string{"realm": "x"}}}},
		{"lenient comma right after scheme", []string{`Basic, realm="x", NTLM`},
			[]Challenge{{Scheme: "Basic", Params: map[string]string{"realm": "x"}}, {Scheme: "NTLM"}}},
		{"lenient tab after scheme", []string{"Negotiate\t" + requestMIC},
			[]Challenge{{Scheme: "Negotiate", Token68: requestMIC}}},
		{"several spaces", []string{"Negotiate   YQ==   ,   NTLM   "},
			[]Challenge{{Scheme: "Negotiate", Token68: "YQ=="}, {Scheme: "NTLM"}}},
		{"RFC 7235 §4.1 example", []string{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`},
			[]Challenge{
				{Scheme: "Newauth", Params: map[string]string{"realm": "apps", "type": "1", "title": `Login to "apps"`}},
				{Scheme: "Basic", Params: map[string]string{"realm": "simple"}},
			}},
		{"Bearer then Negotiate token", []string{`Bearer realm="r", error="invalid_token", Negotiate YQ==`},
			[]Challenge{
				{Scheme: "Bearer", Params: map[string]string{"realm": "r", "error": "invalid_token"}},
				{Scheme: "Negotiate", Token68: "YQ=="},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenges(header("WWW-Authenticate", tt.lines...), "www-authenticate")
			if err != nil {
				t.Fatalf("ParseChallenges(%q) error: %v", tt.lines, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseChallenges(%q) = %#v; want %#v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseChallengesErrors(t *testing.T) {
	tests := []struct {
		line   string
		offset int
	}{
		{`realm="x"`, 0},                  // param with no scheme
		{`Negotiate YQ==, realm="x"`, 16}, // param after token68
		{`Basic realm="x" charset="y"`, 16},
		{`Basic realm="x`, 14},             // unterminated
		{`Basic realm="x\`, 14},            // unterminated after backslash
		{"Basic realm=\"a\x01b\"", 14},     // control character
		{"Basic realm=\"a\\\x01\"", 15},    // control character in quoted-pair
		{`Basic realm="x", realm="y"`, 17}, // repeated name
		{`Basic realm="x", REALM="y"`, 17}, // repeated name, other case
		{`Basic realm=a/b`, 13},            // '/' not a token char, and not token68 either
		{`Negotiate"x"`, 9},                // no space after scheme
		{`Basic realm x`, 12},              // expected '='
		{`Basic realm= ;`, 13},             // no value
		{`"Negotiate"`, 0},                 // quoted scheme
		{`Negotiate YQ== YQ==`, 13},        // two token68s
		{"Negotiate \xc3\xa9", 10},         // non-ASCII
		{`Basic =x`, 0},                    // "Basic" = x is a param, with no scheme before it
		{`Basic , =x`, 8},                  // no param name
		{`Basic a=b=`, 9},                  // junk after value
		{"Neg\x00otiate", 3},               // NUL
	}
	for _, tt := range tests {
		h := header("Proxy-Authenticate", "NTLM", tt.line, "Negotiate")
		got, err := ParseChallenges(h, "Proxy-Authenticate")
		if !errors.Is(err, ErrMalformedChallenge) {
			t.Errorf("ParseChallenges(%q) error = %v; want ErrMalformedChallenge", tt.line, err)
			continue
		}
		msg := err.Error()
		if want := "Proxy-Authenticate field line 2, offset " + strconv.Itoa(tt.offset) + ":"; !strings.Contains(msg, want) {
			t.Errorf("ParseChallenges(%q) error = %q; want it to contain %q", tt.line, msg, want)
		}
		// The well-formed lines still count; the malformed one adds nothing.
		want := []Challenge{{Scheme: "NTLM"}, {Scheme: "Negotiate"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseChallenges(%q) = %#v; want %#v", tt.line, got, want)
		}
	}
}

// TestParseChallengesErrorHidesValue checks that no part of a malformed
// header value (which may hold a token) appears in the error.
func TestParseChallengesErrorHidesValue(t *testing.T) {
	const secret = "c2VjcmV0c2VjcmV0c2VjcmV0"
	for _, line := range []string{
		"Negotiate " + secret + " junk",
		`Basic realm="` + secret,
		secret + `="x"`,
		"Negotiate " + secret + ", realm=x",
	} {
		_, err := ParseChallenges(header("WWW-Authenticate", line), "WWW-Authenticate")
		if err == nil {
			t.Errorf("ParseChallenges(%q) = nil error; want one", line)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "junk") {
			t.Errorf("ParseChallenges(%q) error %q echoes the value", line, msg)
		}
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		scheme string
		want   Scheme
	}{
		{"Negotiate", Negotiate},
		{"negotiate", Negotiate},
		{"NEGOTIATE", Negotiate},
		{"NTLM", NTLM},
		{"ntlm", NTLM},
		{"Basic", Basic},
		{"BASIC", Basic},
		{"Digest", Unknown},
		{"Kerberos", Unknown},
		{"", Unknown},
		{"Negotiat", Unknown},
		{"Ba\u017fic", Unknown}, // long s folds to s under Unicode, not ASCII
		{"NTLM ", Unknown},
	}
	for _, tt := range tests {
		if got := (Challenge{Scheme: tt.scheme}).Kind(); got != tt.want {
			t.Errorf("Challenge{Scheme: %q}.Kind() = %v; want %v", tt.scheme, got, tt.want)
		}
	}
}

func TestSchemeString(t *testing.T) {
	tests := []struct {
		s    Scheme
		want string
	}{
		{Unknown, "unknown"},
		{Basic, "Basic"},
		{NTLM, "NTLM"},
		{Negotiate, "Negotiate"},
		{Scheme(42), "unknown"},
		{Scheme(-1), "unknown"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Scheme(%d).String() = %q; want %q", int(tt.s), got, tt.want)
		}
	}
}

func TestToken(t *testing.T) {
	raw := []byte{0xa1, 0x15, 0x30, 0x13, 0xa0, 0x03, 0x0a, 0x01, 0x03}
	tests := []struct {
		token68 string
		want    []byte
		wantErr bool
	}{
		{"", nil, false},
		{base64.StdEncoding.EncodeToString(raw), raw, false},
		{base64.RawStdEncoding.EncodeToString(raw), raw, false}, // missing padding tolerated
		{"YQ==", []byte("a"), false},
		{"YQ", []byte("a"), false},
		{"YWI=", []byte("ab"), false},
		{"YWI", []byte("ab"), false},
		{"YWJj", []byte("abc"), false},
		{"YQ=", nil, true},   // wrong padding
		{"YQ===", nil, true}, // too much padding
		{"Y", nil, true},     // impossible length
		{"YW-j", nil, true},  // URL alphabet is not RFC 4559's
		{"YW_j", nil, true},
		{"YW.j", nil, true},
		{"YW~j", nil, true},
	}
	for _, tt := range tests {
		got, err := Challenge{Scheme: "Negotiate", Token68: tt.token68}.Token()
		if tt.wantErr {
			if !errors.Is(err, ErrMalformedToken) {
				t.Errorf("Token(%q) error = %v; want ErrMalformedToken", tt.token68, err)
			} else if strings.Contains(err.Error(), tt.token68) {
				t.Errorf("Token(%q) error %q echoes the token", tt.token68, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("Token(%q) = %x, %v; want %x, nil", tt.token68, got, err, tt.want)
		}
	}
}

func TestTokenOfParsedChallenges(t *testing.T) {
	cs, err := ParseChallenges(header("WWW-Authenticate", "Negotiate "+requestMIC), "WWW-Authenticate")
	if err != nil || len(cs) != 1 {
		t.Fatalf("ParseChallenges = %v, %v; want one challenge", cs, err)
	}
	got, err := cs[0].Token()
	want, _ := base64.StdEncoding.DecodeString(requestMIC)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Token() = %x, %v; want %x, nil", got, err, want)
	}
}

func TestChoose(t *testing.T) {
	basic := Challenge{Scheme: "Basic", Params: map[string]string{"realm": "r"}}
	ntlm := Challenge{Scheme: "NTLM"}
	nego := Challenge{Scheme: "negotiate"}
	nego2 := Challenge{Scheme: "Negotiate", Token68: "YQ=="}
	digest := Challenge{Scheme: "Digest", Params: map[string]string{"realm": "r"}}
	all := []Challenge{basic, digest, ntlm, nego, nego2}

	tests := []struct {
		name       string
		cs         []Challenge
		prefer     []Scheme
		allowBasic bool
		overTLS    bool
		want       Challenge
		wantOK     bool
	}{
		{"default picks Negotiate", all, defaultOrder, true, true, nego, true},
		{"first of a kind wins", []Challenge{nego2, nego}, defaultOrder, false, false, nego2, true},
		{"NTLM over Basic", []Challenge{basic, ntlm}, defaultOrder, true, true, ntlm, true},
		{"NTLM first if preferred", all, []Scheme{NTLM, Negotiate}, false, false, ntlm, true},
		{"Basic over TLS when allowed", []Challenge{digest, basic}, defaultOrder, true, true, basic, true},
		{"no Basic without TLS", []Challenge{digest, basic}, defaultOrder, true, false, Challenge{}, false},
		{"no Basic unless allowed", []Challenge{basic}, defaultOrder, false, true, Challenge{}, false},
		{"Basic not preferred", []Challenge{basic}, []Scheme{Negotiate}, true, true, Challenge{}, false},
		{"unknown only", []Challenge{digest}, defaultOrder, true, true, Challenge{}, false},
		{"Unknown matches nothing", []Challenge{digest}, []Scheme{Unknown}, true, true, Challenge{}, false},
		{"no challenges", nil, defaultOrder, true, true, Challenge{}, false},
		{"no preference", all, nil, true, true, Challenge{}, false},
	}
	for _, tt := range tests {
		got, ok := Choose(tt.cs, tt.prefer, tt.allowBasic, tt.overTLS)
		if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Choose(%v, %v, %v, %v) = %v, %v; want %v, %v",
				tt.name, tt.cs, tt.prefer, tt.allowBasic, tt.overTLS, got, ok, tt.want, tt.wantOK)
		}
	}
}

// defaultOrder is package negotiate's default preference.
var defaultOrder = []Scheme{Negotiate, NTLM, Basic}
