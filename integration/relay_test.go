//go:build integration

// A loopback relay in front of the lab's Apache that can rewrite responses,
// to show what the Transport does with answers a real server would not
// give. Each client connection gets its own connection to Apache, so
// connection-bound authentication (NTLM, /krb-conn/) works through it.

package integration

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

type relayConnKey struct{}

// roundTripperFunc is an http.RoundTripper made of a function.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// startRelay starts a relay to the lab's plain-HTTP Apache that passes each
// response through modify (nil: as is) and returns a base URL for it that
// names the lab host, so that the SPN stays HTTP/www.lab.test.
func startRelay(t testing.TB, e labEnv, modify func(*http.Response) error) string {
	t.Helper()
	target, err := url.Parse(e["LAB_HTTP_URL"])
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		backends = map[net.Conn]*http.Transport{}
	)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = modify
	rp.Transport = roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return req.Context().Value(relayConnKey{}).(*http.Transport).RoundTrip(req)
	})
	srv := &http.Server{
		Handler: rp,
		// One upstream connection per client connection.
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			b := &http.Transport{Proxy: nil, MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, ResponseHeaderTimeout: requestTimeout}
			mu.Lock()
			backends[c] = b
			mu.Unlock()
			return context.WithValue(ctx, relayConnKey{}, b)
		},
		ConnState: func(c net.Conn, s http.ConnState) {
			if s != http.StateClosed && s != http.StateHijacked {
				return
			}
			mu.Lock()
			b := backends[c]
			delete(backends, c)
			mu.Unlock()
			if b != nil {
				b.CloseIdleConnections()
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, b := range backends {
			b.CloseIdleConnections()
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "http://" + e["LAB_HTTP_HOST"] + ":" + port
}
