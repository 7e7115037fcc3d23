// This file holds the way to a proxy: which proxy a request takes, the
// credentials for it, and the dial hook of the handshake transport, which
// hands net/http a CONNECT tunnel the Transport opened itself (tunnel.go).

package negotiate

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// proxyFor returns the proxy Base chooses for req (user info removed) and
// the credentials for it: ProxyCredentials, else the proxy URL's user info.
func (t *Transport) proxyFor(req *http.Request) (*url.URL, *Credentials, error) {
	if t.base.Proxy == nil {
		return nil, nil, nil
	}
	u, err := t.base.Proxy(req)
	if err != nil || u == nil {
		return nil, nil, err
	}
	creds := t.ProxyCredentials
	if u.User != nil {
		if creds == nil {
			// A fresh value each time: identities are values, so
			// connections authenticated with it are shared all the same.
			pass, _ := u.User.Password()
			creds = Password(u.User.Username(), pass)
		}
		stripped := *u
		stripped.User = nil
		u = &stripped
	}
	return u, creds, nil
}

// hsProxy is the Proxy func of the handshake transport: Base's choice for
// plain HTTP, with user info removed (net/http would send it as Basic in
// the clear); none for HTTPS, reached through a CONNECT tunnel
// (tunnel.go).
func (t *Transport) hsProxy(req *http.Request) (*url.URL, error) {
	if req.URL.Scheme == "https" || t.base.Proxy == nil {
		return nil, nil
	}
	u, _, err := t.proxyFor(req)
	return u, err
}

// dialledKey keys a *dialled in the context given to NewClientConn.
type dialledKey struct{}

// A dialled is a connection already made for one NewClientConn call: a
// CONNECT tunnel that the Transport opened and authenticated itself
// (tunnel.go), because net/http gives up on a 407 to CONNECT. It is the
// one seam between the Transport and the handshake transport's dialer, as
// net/http takes no dialer per call.
type dialled struct {
	addr string
	conn net.Conn
}

// withDialled returns ctx carrying conn as the connection NewClientConn
// should use for addr.
func withDialled(ctx context.Context, addr string, conn net.Conn) context.Context {
	return context.WithValue(ctx, dialledKey{}, &dialled{addr: addr, conn: conn})
}

// hsDial is the DialContext of the handshake transport: the connection
// the context carries for addr (a tunnel), else a direct dial.
func (t *Transport) hsDial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d, ok := ctx.Value(dialledKey{}).(*dialled); ok && d.addr == addr && d.conn != nil {
		conn := d.conn
		d.conn = nil // a connection serves one dial
		return conn, nil
	}
	return t.dialDirect(ctx, network, addr)
}

func (t *Transport) dialDirect(ctx context.Context, network, addr string) (net.Conn, error) {
	if t.base.DialContext != nil {
		return t.base.DialContext(ctx, network, addr)
	}
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return d.DialContext(ctx, network, addr)
}

// dialProxy opens a connection to the request's proxy, with TLS for an
// https:// proxy.
func (r *roundTrip) dialProxy(ctx context.Context) (net.Conn, error) {
	addr := canonicalAddr(r.proxy)
	conn, err := r.t.dialDirect(ctx, "tcp", addr)
	if err != nil || r.proxy.Scheme != "https" {
		return conn, err
	}
	cfg := &tls.Config{}
	if r.t.base.TLSClientConfig != nil {
		cfg = r.t.base.TLSClientConfig.Clone()
	}
	cfg.ServerName = r.proxy.Hostname()
	cfg.NextProtos = nil
	tc := tls.Client(conn, cfg)
	hctx := ctx
	if d := r.t.base.TLSHandshakeTimeout; d > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeoutCause(ctx, d, errProxyTLSTimeout)
		defer cancel()
	}
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		if cause := context.Cause(hctx); cause != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: %w", cause, err)
		}
		return nil, err
	}
	return tc, nil
}
