// Tests of the at-most-once guarantee: a handler that counts executions
// per request id sees a request that is not idempotent at most once, and
// with the caller's body, whatever the network does (late answers, resets
// after the body was read, resets mid-handshake, a success to a leg sent
// without the body).

package negotiate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// execLog is a handler that counts executions per X-Request-Id and keeps
// the bodies it was given.
type execLog struct {
	mu     sync.Mutex
	runs   map[string]int
	bodies map[string][]string
	delay  time.Duration // how long each execution takes before answering
}

func newExecLog(delay time.Duration) *execLog {
	return &execLog{runs: map[string]int{}, bodies: map[string][]string{}, delay: delay}
}

func (l *execLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get("X-Request-Id")
	l.mu.Lock()
	l.runs[id]++
	l.bodies[id] = append(l.bodies[id], string(body))
	l.mu.Unlock()
	if l.delay > 0 && r.Method != http.MethodGet {
		time.Sleep(l.delay)
	}
	w.Header().Set("X-Runs", fmt.Sprint(l.count(id)))
	w.Write(body)
}

func (l *execLog) count(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.runs[id]
}

// checkOnce fails unless request id ran at most once, and only with body.
func (l *execLog) checkOnce(t testing.TB, id, body string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.runs[id]; n > 1 {
		t.Errorf("request %s ran %d times; want at most once", id, n)
	}
	for _, b := range l.bodies[id] {
		if b != body {
			t.Errorf("request %s ran with a body of %d bytes; want the caller's %d", id, len(b), len(body))
		}
	}
}

// call sends method to url with body and the request id, and returns what
// came back (the body read and closed).
func call(t testing.TB, tr http.RoundTripper, method, url, id, body string) (*http.Response, error) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := mustRequest(t, method, url, r)
	req.Header.Set("X-Request-Id", id)
	resp, err := tr.RoundTrip(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// warm authenticates a connection of tr to s, so the next request goes on
// a kept connection.
func warm(t testing.TB, tr http.RoundTripper, s *httptestutil.Server) {
	t.Helper()
	resp, err := call(t, tr, "GET", s.URL+"/warm", "warm", "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("warm-up GET = %v, %v; want 200", resp, err)
	}
}

var nonIdempotent = []string{"POST", "DELETE", "PATCH"}

// TestAtMostOnceLateResponse: a handler slower than ResponseHeaderTimeout,
// on a new handshake and on a kept connection: the request runs once and
// the caller gets net/http's timeout (context.DeadlineExceeded).
func TestAtMostOnceLateResponse(t *testing.T) {
	log := newExecLog(600 * time.Millisecond)
	s := newNTLMServer(t, httptestutil.Config{Handler: log})
	for _, warmed := range []bool{false, true} {
		for _, m := range nonIdempotent {
			name := fmt.Sprintf("%s/warm=%v", m, warmed)
			t.Run(name, func(t *testing.T) {
				tr := newTransport(t, s, alice())
				tr.Base.ResponseHeaderTimeout = 200 * time.Millisecond
				if warmed {
					warm(t, tr, s)
				}
				_, err := call(t, tr, m, s.URL+"/late", name, "payload "+name)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s = %v; want an error wrapping context.DeadlineExceeded", name, err)
				}
				log.checkOnce(t, name, "payload "+name)
			})
		}
	}
}

// TestAtMostOnceDrop: the server reads the body, runs the handler and
// resets the connection before answering, on the handshake's last leg
// (mid-handshake) and on a kept connection.
func TestAtMostOnceDrop(t *testing.T) {
	log := newExecLog(0)
	drop := func(r *http.Request) bool { return strings.HasPrefix(r.Header.Get("X-Request-Id"), "drop") }
	s := newNTLMServer(t, httptestutil.Config{Handler: log, Faults: httptestutil.Faults{DropAfterHandler: drop}})
	for _, warmed := range []bool{false, true} {
		for _, m := range nonIdempotent {
			id := fmt.Sprintf("drop-%s-warm=%v", m, warmed)
			t.Run(id, func(t *testing.T) {
				tr := newTransport(t, s, alice())
				if warmed {
					warm(t, tr, s)
				}
				resp, err := call(t, tr, m, s.URL+"/drop", id, "body of "+id)
				if err == nil {
					t.Errorf("%s = %d; want an error (the connection was reset)", id, resp.StatusCode)
				} else if strings.Contains(err.Error(), "connection lost during the handshake") {
					t.Errorf("%s = %v; want the real cause, not a lost handshake", id, err)
				}
				log.checkOnce(t, id, "body of "+id)
			})
		}
	}
}

// TestResendIdempotent: what net/http resends is resent: a GET, and a POST
// with an Idempotency-Key, reset after the handler ran once, succeed on the
// second try.
func TestResendIdempotent(t *testing.T) {
	log := newExecLog(0)
	var mu sync.Mutex
	dropped := map[string]bool{}
	drop := func(r *http.Request) bool {
		id := r.Header.Get("X-Request-Id")
		mu.Lock()
		defer mu.Unlock()
		if id == "" || id == "warm" || dropped[id] {
			return false
		}
		dropped[id] = true
		return true
	}
	s := newNTLMServer(t, httptestutil.Config{Handler: log, Faults: httptestutil.Faults{DropAfterHandler: drop}})
	for _, c := range []struct {
		method, key string
	}{{"GET", ""}, {"POST", "Idempotency-Key"}, {"DELETE", "X-Idempotency-Key"}} {
		id := c.method + c.key
		t.Run(id, func(t *testing.T) {
			tr := newTransport(t, s, alice())
			warm(t, tr, s)
			req := mustRequest(t, c.method, s.URL+"/again", nil)
			req.Header.Set("X-Request-Id", id)
			if c.key != "" {
				req.Header.Set(c.key, id)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("%s = %v; want it resent and 200", id, err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || log.count(id) != 2 {
				t.Fatalf("%s = %d after %d runs; want 200 after 2", id, resp.StatusCode, log.count(id))
			}
		})
	}
}

// TestBodylessLegAnswered: an origin known to want NTLM serves some paths
// without authentication. The first NTLM leg of a request to such a path
// is served as the request: it must run once, with the caller's body, or
// not be sent again (ErrBodyNotSent) when its body could not go on it.
func TestBodylessLegAnswered(t *testing.T) {
	log := newExecLog(0)
	s := newNTLMServer(t, httptestutil.Config{Handler: log, Public: func(r *http.Request) bool {
		return strings.HasPrefix(r.URL.Path, "/public")
	}})
	big := strings.Repeat("b", 200<<10)
	cases := []struct {
		name, method, body string
		oneShot            bool
		wantErr            error
	}{
		{"POST small body", "POST", "small body", false, nil},
		{"POST no body", "POST", "", false, nil},
		{"DELETE no body", "DELETE", "", false, nil},
		{"PATCH small body", "PATCH", "patch", false, nil},
		{"GET", "GET", "", false, nil},
		{"POST large body", "POST", big, false, negotiate.ErrBodyNotSent},
		{"POST one-shot body", "POST", "one shot", true, negotiate.ErrBodyNotSent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTransport(t, s, alice())
			warm(t, tr, s) // the origin is now known to want NTLM
			tr.CloseIdleConnections()
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
				if c.oneShot {
					tr.MaxBodyBuffer = -1
					body = onlyReader{body}
				}
			}
			req := mustRequest(t, c.method, s.URL+"/public", body)
			req.Header.Set("X-Request-Id", c.name)
			resp, err := tr.RoundTrip(req)
			if c.wantErr != nil {
				var ae *negotiate.AuthError
				if !errors.Is(err, c.wantErr) || !errors.As(err, &ae) || ae.Response == nil || ae.Response.StatusCode != 200 {
					t.Fatalf("%s = %v, %v; want an AuthError wrapping %v with the 200", c.name, resp, err, c.wantErr)
				}
				if n := log.count(c.name); n > 1 {
					t.Errorf("%s ran %d times; want at most once", c.name, n)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s = %v; want 200", c.name, err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Equal(got, []byte(c.body)) {
				t.Errorf("%s = %d, %d bytes; want 200 and the body back", c.name, resp.StatusCode, len(got))
			}
			if c.method == "GET" {
				return // idempotent: it may run again
			}
			log.checkOnce(t, c.name, c.body)
		})
	}
}

// TestContextEndIsTheCause: a dial that fails because the request's
// context ended reports the context's error, not only the dial's.
func TestContextEndIsTheCause(t *testing.T) {
	s := newNTLMServer(t, httptestutil.Config{})
	for _, c := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr2 := newTransport(t, s, alice())
			warm(t, tr2, s) // the origin is known: the handshake dials at once
			tr2.CloseIdleConnections()
			tr2.Base.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				<-ctx.Done()
				return nil, errors.New("dial failed") // a dialer that hides why
			}
			ctx, cancel := c.ctx()
			defer cancel()
			req := mustRequest(t, "POST", s.URL+"/x", strings.NewReader("data")).WithContext(ctx)
			_, err := tr2.RoundTrip(req)
			if !errors.Is(err, c.want) {
				t.Errorf("%s: RoundTrip = %v; want an error wrapping %v", c.name, err, c.want)
			}
		})
	}
}
