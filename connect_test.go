// Tests that a CONNECT tunnel through a proxy honours the request's context
// and Base's timeouts: nothing blocks past them.

package negotiate_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
)

// silentProxy accepts connections and never answers; it is closed when the
// test ends.
func silentProxy(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestConnectHonoursDeadlines(t *testing.T) {
	addr := silentProxy(t)
	cases := []struct {
		name    string
		scheme  string // the proxy URL's scheme
		setup   func(*http.Transport) (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"context deadline", "http", func(*http.Transport) (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, context.DeadlineExceeded},
		{"context canceled", "http", func(*http.Transport) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"ResponseHeaderTimeout", "http", func(b *http.Transport) (context.Context, context.CancelFunc) {
			b.ResponseHeaderTimeout = 300 * time.Millisecond
			return context.WithCancel(context.Background())
		}, context.DeadlineExceeded},
		{"TLSHandshakeTimeout to an https proxy", "https", func(b *http.Transport) (context.Context, context.CancelFunc) {
			b.TLSHandshakeTimeout = 300 * time.Millisecond
			return context.WithCancel(context.Background())
		}, context.DeadlineExceeded},
		{"context deadline, https proxy", "https", func(*http.Transport) (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pu := &url.URL{Scheme: c.scheme, Host: addr}
			base := &http.Transport{Proxy: http.ProxyURL(pu)}
			ctx, cancel := c.setup(base)
			defer cancel()
			tr := &negotiate.Transport{Base: base, Credentials: alice(), ProxyCredentials: bob()}
			t.Cleanup(tr.CloseIdleConnections)
			req := mustRequest(t, "GET", "https://origin.invalid/", nil).WithContext(ctx)
			start := time.Now()
			resp, err := tr.RoundTrip(req)
			took := time.Since(start)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s: status %d; want an error", c.name, resp.StatusCode)
			}
			if !errors.Is(err, c.wantErr) || took > time.Second {
				t.Errorf("%s = %v after %v; want an error wrapping %v within a second", c.name, err, took, c.wantErr)
			}
		})
	}
}
