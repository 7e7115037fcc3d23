// Tests that a request body is the caller's or nothing: a body of the wrong
// length is refused before anything is sent, and the caller's body is
// closed exactly once whichever way RoundTrip returns.

package negotiate_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// TestBodyLength: a body shorter or longer than its ContentLength never
// reaches the handler; RoundTrip fails with ErrBodyLength and net/http's
// words.
func TestBodyLength(t *testing.T) {
	log := newExecLog(0)
	s := newNTLMServer(t, httptestutil.Config{Handler: log})
	cases := []struct {
		name     string
		declared int64
		actual   int
		warm     bool
	}{
		{"shorter", 100000, 50000, false},
		{"shorter, warm", 100000, 50000, true},
		{"longer", 10, 50, false},
		{"longer, warm", 10, 50, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTransport(t, s, alice())
			if c.warm {
				warm(t, tr, s)
			}
			before := s.Stats()
			body := &countingBody{Reader: onlyReader{bytes.NewReader(bytes.Repeat([]byte("x"), c.actual))}}
			req := mustRequest(t, "POST", s.URL+"/len", body)
			req.ContentLength = c.declared
			req.Header.Set("X-Request-Id", c.name)
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s = %d; want ErrBodyLength", c.name, resp.StatusCode)
			}
			if !errors.Is(err, negotiate.ErrBodyLength) || !strings.Contains(err.Error(), "ContentLength=") {
				t.Errorf("%s = %v; want ErrBodyLength with net/http's words", c.name, err)
			}
			if n := log.count(c.name); n != 0 {
				t.Errorf("%s ran %d times; want never", c.name, n)
			}
			if after := s.Stats(); after != before {
				t.Errorf("server stats went from %+v to %+v; want nothing sent", before, after)
			}
			if n := body.closes.Load(); n != 1 {
				t.Errorf("body closed %d times; want 1", n)
			}
		})
	}
}

// errReader fails on its first read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read failed") }

// TestBodyClosedOnEveryReturn: every way out of RoundTrip, success or
// error, closes the caller's body once.
func TestBodyClosedOnEveryReturn(t *testing.T) {
	log := newExecLog(0)
	drop := func(r *http.Request) bool { return r.URL.Path == "/drop" }
	s := newNTLMServer(t, httptestutil.Config{Handler: log, Faults: httptestutil.Faults{DropAfterHandler: drop},
		Public: func(r *http.Request) bool { return r.URL.Path == "/public" }})
	bad, _ := forever(t, "NTLM !!!")
	closed := httptestutil.NewServer(httptestutil.Config{})
	closedURL := closed.URL
	closed.Close()
	cases := []struct {
		name  string
		setup func(tr *negotiate.Transport, req *http.Request) *http.Request
	}{
		{"success", nil},
		{"success, warm", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			warm(t, tr, s)
			return req
		}},
		{"rejected", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			tr.Credentials = negotiate.Password(`TEST\alice`, "nope")
			return req
		}},
		{"no credentials", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			tr.Credentials = nil
			return req
		}},
		{"malformed challenge", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			req.URL, _ = url.Parse(bad.URL)
			return req
		}},
		{"caller's Authorization", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			req.Header.Set("Authorization", "Bearer x")
			return req
		}},
		{"not http", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			req.URL.Scheme = "ftp"
			return req
		}},
		{"Base.Proxy error", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			tr.Base.Proxy = func(*http.Request) (*url.URL, error) { return nil, errors.New("no proxy for you") }
			return req
		}},
		{"wrong length", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			req.ContentLength = 100
			return req
		}},
		{"body read error", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			req.Body.(*countingBody).Reader = errReader{}
			return req
		}},
		{"context done", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			return req.WithContext(ctx)
		}},
		{"context done, warm", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			warm(t, tr, s)
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			return req.WithContext(ctx)
		}},
		{"dial refused", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			req.URL, _ = url.Parse(closedURL)
			return req
		}},
		{"dial refused, known origin", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			warm(t, tr, s)
			s.CloseClientConnections()
			tr.CloseIdleConnections()
			tr.Base.DialContext = func(context.Context, string, string) (_ net.Conn, err error) {
				return nil, errors.New("dial refused")
			}
			return req
		}},
		{"reset after the handler", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			req.URL.Path = "/drop"
			return req
		}},
		{"reset after the handler, warm", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			warm(t, tr, s)
			req.URL.Path = "/drop"
			return req
		}},
		{"late answer", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			ctx, cancel := context.WithTimeout(req.Context(), time.Millisecond)
			t.Cleanup(cancel)
			return req.WithContext(ctx)
		}},
		{"body not sent", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			warm(t, tr, s)
			tr.MaxBodyBuffer = -1
			req.URL.Path = "/public"
			return req
		}},
		{"one-shot body needed twice", func(tr *negotiate.Transport, req *http.Request) *http.Request {
			tr.MaxBodyBuffer = -1
			return req
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTransport(t, s, alice())
			body := &countingBody{Reader: onlyReader{strings.NewReader("data")}}
			req := mustRequest(t, "POST", s.URL+"/echo", body)
			if c.setup != nil {
				req = c.setup(tr, req)
			}
			resp, err := tr.RoundTrip(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			deadline := time.Now().Add(2 * time.Second)
			for body.closes.Load() == 0 && time.Now().Before(deadline) {
				// net/http may close it on its own goroutine.
				time.Sleep(5 * time.Millisecond)
			}
			if n := body.closes.Load(); n != 1 {
				t.Errorf("%s (err %v): body closed %d times; want 1", c.name, err, n)
			}
		})
	}
}
