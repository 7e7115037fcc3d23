//go:build integration

// At most once against Apache: a request that is not idempotent, on a warm
// NTLM connection, whose handler takes longer than ResponseHeaderTimeout,
// runs exactly once; a body shorter than its ContentLength never reaches
// the server. The lab's /ntlm/slow records each run's X-Request-Id and
// /open/runs?ID counts them (.ci/lab/up.sh).

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
)

// runs returns how many times the lab's slow handler ran for id, skipping
// the test on a lab that predates the slow handler.
func runs(t testing.TB, e labEnv, id string) int {
	t.Helper()
	r := do(t, http.DefaultTransport.(*http.Transport).Clone(), "GET", e.url("http")+"/open/runs?"+id, nil, nil)
	if r.err != nil {
		t.Fatalf("GET /open/runs: %v", r.err)
	}
	if r.resp.StatusCode == http.StatusNotFound {
		t.Skip("this lab has no /open/runs (started before up.sh had it)")
	}
	s := strings.TrimSpace(string(r.body))
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("GET /open/runs?%s = %q; want a count", id, s)
	}
	return n
}

func TestAtMostOnceSlowHandler(t *testing.T) {
	e := lab(t)
	runs(t, e, "probe") // skips on an old lab
	for _, scheme := range []string{"http", "https"} {
		for _, method := range []string{"POST", "DELETE", "PATCH"} {
			t.Run(scheme+"/"+method, func(t *testing.T) {
				tr := newTransport(t, e, ntlmCredentials(e, "nthash"))
				tr.Base.ResponseHeaderTimeout = 400 * time.Millisecond
				// Warm: an authenticated NTLM connection is kept. A cold
				// handshake (three CGI answers) can pass the 400 ms on a
				// busy machine; a GET may simply be tried again.
				var r result
				for try := 0; try < 5; try++ {
					if r = do(t, tr, "GET", e.url(scheme)+"/ntlm/whoami", nil, nil); r.err == nil {
						break
					}
				}
				if r.err != nil || r.resp.StatusCode != 200 {
					t.Fatalf("warm-up: %v, %v", r.resp, r.err)
				}
				id := fmt.Sprintf("aoo-%s-%s-%d", scheme, method, time.Now().UnixNano())
				start := time.Now()
				r = do(t, tr, method, e.url(scheme)+"/ntlm/slow", strings.NewReader("payload"), func(req *http.Request) {
					req.Header.Set("X-Request-Id", id)
				})
				if !errors.Is(r.err, context.DeadlineExceeded) {
					t.Errorf("%s = %v, %v; want net/http's timeout (context.DeadlineExceeded)", method, r.resp, r.err)
				}
				if d := time.Since(start); d > 1200*time.Millisecond {
					t.Errorf("%s took %v; want the 400 ms ResponseHeaderTimeout, not the handler's 1.5 s", method, d)
				}
				time.Sleep(2 * time.Second) // let any second run be logged
				if n := runs(t, e, id); n != 1 {
					t.Errorf("%s ran %d times on Apache; want exactly once", method, n)
				}
			})
		}
	}
}

// onlyBody hides every method but Read and Close, so net/http sets no
// GetBody.
type onlyBody struct{ io.Reader }

func (onlyBody) Close() error { return nil }

func TestBodyShorterThanDeclared(t *testing.T) {
	e := lab(t)
	runs(t, e, "probe")
	tr := newTransport(t, e, ntlmCredentials(e, "nthash"))
	for _, round := range []string{"cold", "warm"} {
		id := fmt.Sprintf("short-%s-%d", round, time.Now().UnixNano())
		r := do(t, tr, "POST", e.url("https")+"/ntlm/slow", nil, func(req *http.Request) {
			req.Body = onlyBody{bytes.NewReader(bytes.Repeat([]byte("s"), 50000))}
			req.GetBody = nil
			req.ContentLength = 100000
			req.Header.Set("X-Request-Id", id)
		})
		if !errors.Is(r.err, negotiate.ErrBodyLength) {
			t.Errorf("%s: 50,000 bytes declared as 100,000 = %v, %v; want ErrBodyLength", round, r.resp, r.err)
		}
		time.Sleep(500 * time.Millisecond)
		if n := runs(t, e, id); n != 0 {
			t.Errorf("%s: the server ran the request %d times; want never", round, n)
		}
		// Warm the connection for the next round.
		if r := do(t, tr, "GET", e.url("https")+"/ntlm/whoami", nil, nil); r.err != nil || r.resp.StatusCode != 200 {
			t.Fatalf("GET whoami: %v, %v", r.resp, r.err)
		}
	}
}
