package negotiate_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// TestSlogTrace runs NTLM, Kerberos and Basic handshakes with SlogTrace
// logging to a buffer, and checks that every leg is logged with its tokens
// decoded, and that no password, token (raw, base64 or hex) or Basic
// credential appears in the log.
func TestSlogTrace(t *testing.T) {
	k := newKDC(t, nil)
	krbSrv := kerberosServer(t, k, httptestutil.Config{})
	ntlmSrv := newNTLMServer(t, httptestutil.Config{})
	basicSrv := httptestutil.NewTLSServer(httptestutil.Config{Users: users, Schemes: []string{`Basic realm="t"`}})
	t.Cleanup(basicSrv.Close)

	basicTr := newTransport(t, basicSrv, negotiate.Password("bob", "hunter2"))
	basicTr.AllowBasic = true
	proxy := httptestutil.NewServer(httptestutil.Config{Proxy: true, Users: map[string]string{`TEST\carol`: "pr0xy-pass"}})
	t.Cleanup(proxy.Close)
	proxyURL, _ := url.Parse(proxy.URL)
	proxyTr := &negotiate.Transport{
		Base:             &http.Transport{Proxy: http.ProxyURL(proxyURL)},
		Credentials:      alice(),
		ProxyCredentials: negotiate.Password(`TEST\carol`, "pr0xy-pass"),
	}
	t.Cleanup(proxyTr.CloseIdleConnections)
	tests := []struct {
		name     string
		tr       *negotiate.Transport
		url      string
		secret   string
		wantLogs []string
	}{
		{"NTLM", newTransport(t, ntlmSrv, alice()), ntlmSrv.URL, "Passw0rd!",
			[]string{"NTLM NEGOTIATE", "NTLM CHALLENGE", "NTLM AUTHENTICATE", `user: \"alice\"`, "status=401", "status=200"}},
		{"Kerberos", krbTransport(t, k, krbAlice()), krbSrv.URL, krbPass,
			[]string{"scheme=Negotiate", "Kerberos AP-REQ: ticket for HTTP/localhost@EXAMPLE.TEST", "Kerberos AP-REP", "status=200"}},
		{"proxy", proxyTr, ntlmSrv.URL, "pr0xy-pass",
			[]string{"proxy_scheme=NTLM", `proxy_sent="NTLM AUTHENTICATE`, `user: \"carol\"`, "proxy_received=", "scheme=NTLM", `user: \"alice\"`}},
		{"Basic", basicTr, basicSrv.URL, "hunter2",
			[]string{"scheme=Basic", "sent=redacted", "status=200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			logged := negotiate.SlogTrace(logger)
			var tokens [][]byte
			trace := &negotiate.ClientTrace{Leg: func(l negotiate.LegInfo) {
				for _, tok := range [][]byte{l.Sent, l.Received, l.ProxySent, l.ProxyReceived} {
					if len(tok) > 0 {
						tokens = append(tokens, tok)
					}
				}
				logged.Leg(l)
			}}
			req, err := http.NewRequestWithContext(negotiate.WithClientTrace(context.Background(), trace), "GET", tt.url+"/path?q=1", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tt.tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d (%v)", resp.StatusCode, negotiate.ResponseError(resp))
			}
			log := buf.String()
			if n := strings.Count(log, `msg="negotiate leg"`); n == 0 || n != strings.Count(log, "\n") {
				t.Errorf("%d leg lines in a %d-line log", n, strings.Count(log, "\n"))
			}
			for _, want := range append(tt.wantLogs, "level=DEBUG", "url="+tt.url+"/path ") {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(log, tt.secret) || strings.Contains(log, "q=1") {
				t.Errorf("log contains the password or the query:\n%s", log)
			}
			if len(tokens) == 0 && tt.name != "Basic" { // hooks get no Basic token
				t.Fatal("no tokens traced")
			}
			for _, tok := range tokens {
				for _, enc := range []string{base64.StdEncoding.EncodeToString(tok), base64.RawStdEncoding.EncodeToString(tok), hex.EncodeToString(tok)} {
					if len(enc) >= 12 && strings.Contains(log, enc[:12]) {
						t.Errorf("log contains an encoded %d-byte token", len(tok))
					}
				}
				if len(tok) >= 16 && strings.Contains(log, string(tok[len(tok)-16:])) {
					t.Errorf("log contains raw bytes of a %d-byte token", len(tok))
				}
			}
		})
	}
}

// TestSlogTraceQuietAboveDebug: a logger above debug level gets nothing.
func TestSlogTraceQuietAboveDebug(t *testing.T) {
	s := newNTLMServer(t, httptestutil.Config{})
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := negotiate.WithClientTrace(context.Background(), negotiate.SlogTrace(logger))
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
	resp, err := newTransport(t, s, alice()).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || buf.Len() != 0 {
		t.Errorf("status %d, log %q; want 200 and nothing logged", resp.StatusCode, buf.String())
	}
}
