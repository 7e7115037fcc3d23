// This file is the proxy mode of a Server (Config.Proxy): a forward HTTP
// proxy that demands authentication with 407 and Proxy-Authenticate,
// verified by the same server-side code as an origin (NTLM, and Kerberos
// when Config.Kerberos is set) and kept per client TCP connection as Squid
// keeps NTLM and Negotiate. It forwards plain HTTP requests in absolute
// form, each client connection pinned to its own upstream connection (so an
// origin's connection-bound NTLM survives the proxy), and opens CONNECT
// tunnels.

package httptestutil

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// proxyState holds a proxy's upstream transports, one per client
// connection.
type proxyState struct {
	mu        sync.Mutex
	upstreams map[net.Conn]*http.Transport
}

// release closes the upstream connections pinned to client connection c.
func (p *proxyState) release(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tr := p.upstreams[c]; tr != nil {
		tr.CloseIdleConnections()
		delete(p.upstreams, c)
	}
}

// closeAll closes every upstream connection.
func (p *proxyState) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, tr := range p.upstreams {
		tr.CloseIdleConnections()
		delete(p.upstreams, c)
	}
}

func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request) {
	r, ok := s.authenticate(w, r, proxySide)
	if !ok {
		return
	}
	if r.Method == http.MethodConnect {
		s.tunnel(w, r)
		return
	}
	s.forward(w, r, User(r.Context()))
}

// hopByHop are the fields a proxy does not forward (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Authenticate", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward sends a plain HTTP request on, over the client connection's own
// upstream connection.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, user string) {
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "absolute http:// URL expected", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	resp, err := s.upstream(r).RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	s.forwarded.Add(1)
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
func (s *Server) upstream(r *http.Request) *http.Transport {
	c := r.Context().Value(connKey{}).(*connState).conn
	p := &s.proxy
	p.mu.Lock()
	defer p.mu.Unlock()
	tr := p.upstreams[c]
	if tr == nil {
		if p.upstreams == nil {
			p.upstreams = make(map[net.Conn]*http.Transport)
		}
		tr = &http.Transport{MaxConnsPerHost: 1, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
		p.upstreams[c] = tr
	}
	return tr
}

// tunnel answers CONNECT: a byte pipe to r.Host.
func (s *Server) tunnel(w http.ResponseWriter, r *http.Request) {
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
	s.tunnels.Add(1)
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
