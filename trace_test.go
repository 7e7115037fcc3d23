package negotiate_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// TestTraceRedactsBasic: a trace of a Basic authentication shows neither
// the password nor its base64 encoding, yet the leg went out with them.
func TestTraceRedactsBasic(t *testing.T) {
	const user, pass = "alice", "Passw0rd!"
	wire := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok && u == user && p == pass {
			w.Write([]byte("ok"))
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(s.Close)
	tr := &negotiate.Transport{
		Base:        s.Client().Transport.(*http.Transport).Clone(),
		Credentials: negotiate.Password(user, pass),
		AllowBasic:  true,
		Preference:  []negotiate.Scheme{negotiate.SchemeBasic},
	}
	t.Cleanup(tr.CloseIdleConnections)
	var seen []string
	trace := &negotiate.ClientTrace{Leg: func(l negotiate.LegInfo) {
		seen = append(seen, fmt.Sprintf("%v %s %q %q %q %q", l.Request.Header, l.Scheme, l.Sent, l.Received, l.ProxySent, l.ProxyReceived))
	}}
	req := mustRequest(t, "GET", s.URL, nil)
	req = req.WithContext(negotiate.WithClientTrace(req.Context(), trace))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d; want 200 (%v)", resp.StatusCode, negotiate.ResponseError(resp))
	}
	all := strings.Join(seen, "\n")
	if len(seen) < 2 || !strings.Contains(all, "Basic [redacted]") {
		t.Errorf("trace = %s; want the Basic leg with its credentials redacted", all)
	}
	for _, secret := range []string{pass, wire} {
		if strings.Contains(all, secret) {
			t.Errorf("trace contains a secret: %s", all)
		}
	}
	if req.Header.Get("Authorization") != "" {
		t.Errorf("the caller's request was changed")
	}
}
