package negotiate_test

// Tests of DescribeToken, ClockSkew and UnknownPrincipal on tokens and
// errors from real handshakes against the test servers and KDC.

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/authscheme"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// describeLegs runs one GET to url through tr and returns the legs seen,
// the RoundTrip error and the response's ResponseError.
func describeLegs(t testing.TB, tr *negotiate.Transport, url string) (legs []negotiate.LegInfo, err, respErr error) {
	t.Helper()
	ctx := negotiate.WithClientTrace(context.Background(), &negotiate.ClientTrace{Leg: func(l negotiate.LegInfo) {
		l.Sent = append([]byte(nil), l.Sent...)
		l.Received = append([]byte(nil), l.Received...)
		legs = append(legs, l)
	}})
	req, rerr := http.NewRequestWithContext(ctx, "GET", url, nil)
	if rerr != nil {
		t.Fatal(rerr)
	}
	resp, err := tr.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		respErr = negotiate.ResponseError(resp)
	}
	return legs, err, respErr
}

// checkNoSecret fails if desc holds the password or the base64 of a token.
func checkNoSecret(t testing.TB, desc, password string, token []byte) {
	t.Helper()
	if strings.Contains(desc, password) {
		t.Errorf("description contains the password:\n%s", desc)
	}
	if b := base64.StdEncoding.EncodeToString(token); len(b) > 8 && strings.Contains(desc, b[:len(b)/2]) {
		t.Errorf("description contains the token's base64:\n%s", desc)
	}
}

func TestDescribeTokenHandshakes(t *testing.T) {
	const ntlmPass, krbPassword = "ntlm-Secret-1", "krb-Secret-2"
	k := kdc.New(t, "EXAMPLE.TEST", nil)
	k.AddUser("alice", krbPassword)
	bob := map[string]string{`LAB\bob`: ntlmPass}
	both := kerberosServer(t, k, httptestutil.Config{Users: bob})
	// Offering only Negotiate makes NTLM travel inside SPNEGO; requiring
	// the mechListMIC makes it show. (Each server re-keys HTTP/localhost:
	// only the last one started can take Kerberos.)
	negOnly := kerberosServer(t, k, httptestutil.Config{Users: bob, Schemes: []string{"Negotiate"}, SPNEGORequireMIC: true})
	tests := []struct {
		name     string
		s        *httptestutil.Server
		creds    *negotiate.Credentials
		password string
		want     []string // in the descriptions of the legs, in order
	}{
		{"raw NTLM", both, negotiate.Password(`LAB\bob`, ntlmPass), ntlmPass,
			[]string{"NTLM NEGOTIATE", "NTLM CHALLENGE", "MsvAvNbDomainName=", "NTLM AUTHENTICATE", `domain: "LAB" user: "bob"`, "MIC: true", "channel bindings: false", `target name: "HTTP/localhost"`}},
		{"NTLM in SPNEGO", negOnly, negotiate.Password(`LAB\bob`, ntlmPass), ntlmPass,
			[]string{"SPNEGO negTokenInit", "  NTLM NEGOTIATE", "negState=request-mic supportedMech=NTLMSSP", "  NTLM CHALLENGE", "  NTLM AUTHENTICATE", "mechListMIC="}},
		{"Kerberos", negOnly, negotiate.Password("alice@EXAMPLE.TEST", krbPassword), krbPassword,
			[]string{"SPNEGO negTokenInit mechTypes=[MS-Kerberos Kerberos NTLMSSP]", "  Kerberos AP-REQ: ticket for HTTP/localhost@EXAMPLE.TEST", "mutual-required", "supportedMech=MS-Kerberos", "  Kerberos AP-REP", "negState=accept-completed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &negotiate.Transport{Base: &http.Transport{}, Credentials: tt.creds, Krb5Config: k.Krb5ConfPath()}
			t.Cleanup(tr.CloseIdleConnections)
			legs, err, respErr := describeLegs(t, tr, tt.s.URL)
			if err != nil || respErr != nil {
				t.Fatalf("request failed: %v %v", err, respErr)
			}
			var all strings.Builder
			for _, l := range legs {
				for _, tok := range [][]byte{l.Sent, l.Received} {
					if len(tok) == 0 {
						continue
					}
					d, err := authscheme.DescribeToken(l.Scheme.String(), tok)
					if err != nil {
						t.Fatalf("DescribeToken(%q, leg %d token) = %v", l.Scheme, l.Leg, err)
					}
					checkNoSecret(t, d, tt.password, tok)
					all.WriteString(d)
				}
			}
			got, at := all.String(), 0
			for _, w := range tt.want {
				i := strings.Index(got[at:], w)
				if i < 0 {
					t.Fatalf("descriptions lack %q (in order); got:\n%s", w, got)
				}
				at += i
			}
		})
	}
}

func TestDescribeTokenErrors(t *testing.T) {
	tests := []struct {
		scheme    string
		token     []byte
		malformed bool
	}{
		{"NTLM", nil, true},
		{"Negotiate", []byte{}, true},
		{"NTLM", []byte("NTLMSSP\x00\x09\x00\x00\x00"), true},
		{"NTLM", []byte("not ntlm at all"), true},
		{"Negotiate", []byte{0x60, 0x80, 0x01}, true},
		{"Negotiate", []byte{0xa1, 0x03, 0x30, 0x01, 0x00}, true},
		{"Basic", []byte("alice:secret"), false},
		{"Digest", []byte("x"), false},
	}
	for _, tt := range tests {
		d, err := authscheme.DescribeToken(tt.scheme, tt.token)
		if err == nil {
			t.Errorf("DescribeToken(%q, %q) = %q, nil; want an error", tt.scheme, tt.token, d)
			continue
		}
		if got := errors.Is(err, negotiate.ErrMalformedToken); got != tt.malformed {
			t.Errorf("DescribeToken(%q, %q) error %v: malformed = %v; want %v", tt.scheme, tt.token, err, got, tt.malformed)
		}
		if tt.scheme == "Basic" && (strings.Contains(err.Error(), "secret") || strings.Contains(d, "secret")) {
			t.Errorf("DescribeToken(Basic) reveals the password: %q, %v", d, err)
		}
	}
}

func TestDescribeTokenSchemeCase(t *testing.T) {
	// gss-ntlmssp's steering reply (FIELD-NOTES): request-mic, NTLMSSP.
	tok, err := base64.StdEncoding.DecodeString("oRUwE6ADCgEDoQwGCisGAQQBgjcCAgo=")
	if err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"Negotiate", "negotiate", "NEGOTIATE"} {
		d, err := authscheme.DescribeToken(scheme, tok)
		if want := "SPNEGO negTokenResp negState=request-mic supportedMech=NTLMSSP\n"; err != nil || d != want {
			t.Errorf("DescribeToken(%q, steering token) = %q, %v; want %q", scheme, d, err, want)
		}
	}
}

func TestClockSkewAndUnknownPrincipal(t *testing.T) {
	const offset = 7*time.Minute + 12*time.Second
	skewed := kdc.New(t, "EXAMPLE.TEST", &kdc.Options{ClockOffset: offset})
	skewed.AddUser("alice", "pw")
	k := kdc.New(t, "EXAMPLE.TEST", nil)
	k.AddUser("alice", "pw")
	alice := negotiate.Password("alice@EXAMPLE.TEST", "pw")
	tests := []struct {
		name      string
		k         *kdc.KDC
		spn       string
		wantSkew  time.Duration // 0: none reported
		wantPrinc string        // "": none reported
	}{
		{"skew with the KDC", skewed, "", offset, ""},
		{"unknown SPN", k, "HTTP/nowhere.example.test", 0, "HTTP/nowhere.example.test@EXAMPLE.TEST"},
		{"success", k, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kerberosServer(t, tt.k, httptestutil.Config{})
			tr := &negotiate.Transport{Base: &http.Transport{}, Credentials: alice, Krb5Config: tt.k.Krb5ConfPath(), DisableNTLM: true}
			if tt.spn != "" {
				tr.SPN.Hosts = map[string]string{"localhost": tt.spn}
			}
			t.Cleanup(tr.CloseIdleConnections)
			_, err, respErr := describeLegs(t, tr, s.URL)
			if err == nil {
				err = respErr
			}
			d, ok := negotiate.ClockSkew(err)
			// The KDC's clock is offset by a fixed amount; the rest is the
			// time the exchange took, well under a few seconds.
			if ok != (tt.wantSkew != 0) || (ok && (d-tt.wantSkew).Abs() > 5*time.Second) {
				t.Errorf("ClockSkew(%v) = %v, %v; want about %v", err, d, ok, tt.wantSkew)
			}
			p, ok := negotiate.UnknownPrincipal(err)
			if ok != (tt.wantPrinc != "") || p != tt.wantPrinc {
				t.Errorf("UnknownPrincipal(%v) = %q, %v; want %q", err, p, ok, tt.wantPrinc)
			}
		})
	}
	for _, err := range []error{nil, negotiate.ErrClockSkew, negotiate.ErrUnknownPrincipal, errors.New("x")} {
		if d, ok := negotiate.ClockSkew(err); ok {
			t.Errorf("ClockSkew(%v) = %v, true; want false", err, d)
		}
		if p, ok := negotiate.UnknownPrincipal(err); ok {
			t.Errorf("UnknownPrincipal(%v) = %q, true; want false", err, p)
		}
	}
}

func FuzzDescribeToken(f *testing.F) {
	for _, s := range []string{
		"TlRMTVNTUAABAAAAFYKI4gAAAAAoAAAAAAAAACgAAAAKAHxPAAAADw==",
		"oRUwE6ADCgEDoQwGCisGAQQBgjcCAgo=",
		"YIIBADAGBgRVBQIC", "oQcwBaADCgEA",
	} {
		b, _ := base64.StdEncoding.DecodeString(s)
		f.Add("Negotiate", b)
		f.Add("NTLM", b)
	}
	f.Fuzz(func(t *testing.T, scheme string, token []byte) {
		d, err := authscheme.DescribeToken(scheme, token)
		if err == nil && d == "" {
			t.Errorf("DescribeToken(%q, %x) = \"\", nil; want a description or an error", scheme, token)
		}
		if err == nil && !strings.HasSuffix(d, "\n") {
			t.Errorf("DescribeToken(%q, %x) = %q; want whole lines", scheme, token, d)
		}
	})
}
