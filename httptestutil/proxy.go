package httptestutil

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// A Proxy is a forward HTTP proxy on loopback that demands authentication
// with 407 and Proxy-Authenticate, verified by the same server-side code as
// Server (NTLM, and Kerberos when Config.Kerberos is set), and kept per
// client TCP connection as Squid keeps NTLM and Negotiate. It forwards
// plain HTTP requests in absolute form, each client connection pinned to
// its own upstream connection (so an origin's connection-bound NTLM
// survives the proxy), and opens CONNECT tunnels.
//
// Config.Handler is not used. A Proxy is safe for concurrent use by
// multiple goroutines.
type Proxy struct {
	*httptest.Server

	// CloseOnBareChallenge closes the client connection after each of the
	// first CloseOnBareChallenge 407 answers that carry no token (the
	// answer to a request without credentials), as some proxies do. Set
	// it before Start.
	CloseOnBareChallenge int

	auth *Server // the authentication machinery and its counters

	bare, tunnels, forwarded atomic.Int64
	upstreamMu               sync.Mutex
	upstreams                map[net.Conn]*http.Transport
}

// ProxyStats counts what clients cost a Proxy.
type ProxyStats struct {
	Stats           // connections, challenges, handshakes, rejections, ...
	Tunnels   int64 // CONNECT tunnels opened
	Forwarded int64 // plain HTTP requests forwarded
}

// NewProxy starts a Proxy on 127.0.0.1; its URL is the proxy URL.
func NewProxy(cfg Config) *Proxy {
	p := NewUnstartedProxy(cfg)
	p.Start()
	return p
}

// NewKerberosProxy starts a Proxy that accepts Kerberos for HTTP/localhost
// with keys from k (and NTLM for cfg.Users if any); its URL names the host
// "localhost" so that clients ask for that SPN. It is closed when tb's test
// ends.
func NewKerberosProxy(tb testing.TB, k *kdc.KDC, cfg Config) *Proxy {
	tb.Helper()
	p := NewUnstartedProxy(withKerberos(k, cfg))
	p.Start()
	p.URL = strings.Replace(p.URL, "127.0.0.1", "localhost", 1)
	tb.Cleanup(p.Close)
	return p
}

// NewUnstartedProxy returns a Proxy that is not started yet.
func NewUnstartedProxy(cfg Config) *Proxy {
	p := &Proxy{auth: NewUnstartedServer(cfg), upstreams: make(map[net.Conn]*http.Transport)}
	p.Server = p.auth.Server
	p.auth.onBareChallenge = func(h http.Header) {
		if p.bare.Add(1) <= int64(p.CloseOnBareChallenge) {
			h.Set("Connection", "close")
		}
	}
	p.Server.Config.Handler = http.HandlerFunc(p.serveHTTP)
	connState := p.Server.Config.ConnState
	p.Server.Config.ConnState = func(c net.Conn, st http.ConnState) {
		connState(c, st)
		if st == http.StateClosed || st == http.StateHijacked {
			p.upstreamMu.Lock()
			if tr := p.upstreams[c]; tr != nil {
				tr.CloseIdleConnections()
				delete(p.upstreams, c)
			}
			p.upstreamMu.Unlock()
		}
	}
	connContext := p.Server.Config.ConnContext
	p.Server.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(connContext(ctx, c), netConnKey{}, c)
	}
	return p
}

type netConnKey struct{}

// Stats returns the counts so far.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{Stats: p.auth.Stats(), Tunnels: p.tunnels.Load(), Forwarded: p.forwarded.Load()}
}

// Close stops the proxy and its upstream connections.
func (p *Proxy) Close() {
	p.Server.Close()
	p.upstreamMu.Lock()
	for c, tr := range p.upstreams {
		tr.CloseIdleConnections()
		delete(p.upstreams, c)
	}
	p.upstreamMu.Unlock()
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	r, ok := p.auth.authenticate(w, r, proxySide)
	if !ok {
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	p.forward(w, r, User(r.Context()))
}

// hopByHop are the fields a proxy does not forward (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Authenticate", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward sends a plain HTTP request on, over the client connection's own
// upstream connection.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, user string) {
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "absolute http:// URL expected", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	resp, err := p.upstream(r).RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.forwarded.Add(1)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	for _, h := range hopByHop {
		if h != "Proxy-Authenticate" {
			w.Header().Del(h)
		}
	}
	w.Header().Set("X-Proxy-User", user)
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// upstream returns the transport pinned to r's client connection: one
// upstream connection per origin, as Squid pins connections that carry
// connection-bound authentication.
func (p *Proxy) upstream(r *http.Request) *http.Transport {
	c := r.Context().Value(netConnKey{}).(net.Conn)
	p.upstreamMu.Lock()
	defer p.upstreamMu.Unlock()
	tr := p.upstreams[c]
	if tr == nil {
		tr = &http.Transport{MaxConnsPerHost: 1, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
		p.upstreams[c] = tr
	}
	return tr
}

// tunnel answers CONNECT: a byte pipe to r.Host.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	up, err := net.DialTimeout("tcp", r.Host, 10*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	p.tunnels.Add(1)
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		up.Close()
		return
	}
	go pipe(up, brw.Reader, conn)
	pipe(conn, up, up)
}

// pipe copies src to dst, then closes both ends it was given.
func pipe(dst net.Conn, src io.Reader, srcConn net.Conn) {
	io.Copy(dst, src)
	dst.Close()
	srcConn.Close()
}
