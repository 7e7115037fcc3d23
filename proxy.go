// This file holds proxy authentication: which proxy a request takes, the
// credentials for it, and HTTPS through an authenticating proxy, for which
// the CONNECT handshake runs here because net/http closes the connection on
// any answer to CONNECT but 200.

package negotiate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
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
// the clear); none for HTTPS, which dialTunnel reaches through CONNECT.
func (t *Transport) hsProxy(req *http.Request) (*url.URL, error) {
	if req.URL.Scheme == "https" || t.base.Proxy == nil {
		return nil, nil
	}
	u, _, err := t.proxyFor(req)
	return u, err
}

// tunnelKey keys a *tunnelPlan in the context given to NewClientConn.
type tunnelKey struct{}

// A tunnelPlan asks the handshake transport's dialer for a CONNECT tunnel
// to target through the request's proxy.
type tunnelPlan struct {
	r      *roundTrip
	target string // host:port
	err    error  // why the tunnel failed, kept whole for RoundTrip
}

// hsDial is the DialContext of the handshake transport.
func (t *Transport) hsDial(ctx context.Context, network, addr string) (net.Conn, error) {
	if plan, ok := ctx.Value(tunnelKey{}).(*tunnelPlan); ok && plan.target == addr {
		conn, err := plan.r.dialTunnel(ctx, plan.target)
		plan.err = err
		return conn, err
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

// The timeouts of Base that bound a CONNECT, as net/http's bound a request.
// Both match context.DeadlineExceeded, as net/http's timeout awaiting
// response headers does.
var (
	errProxyTLSTimeout     = fmt.Errorf("negotiate: TLS handshake timeout with the proxy: %w", context.DeadlineExceeded)
	errConnectHeadsTimeout = fmt.Errorf("negotiate: timeout awaiting the proxy's response headers to CONNECT: %w", context.DeadlineExceeded)
)

// tunnelWatch bounds the CONNECT exchanges on a proxy connection: each
// read of an answer by Base's ResponseHeaderTimeout, everything by the
// request's deadline, and the request's cancellation interrupts any of it.
type tunnelWatch struct {
	ctx     context.Context
	rht     time.Duration
	conn    net.Conn
	stop    func() bool // stops the cancellation watch of conn
	timeout bool        // the latest read passed ResponseHeaderTimeout
}

// watch makes the watch cover conn (a new connection to the proxy).
func (w *tunnelWatch) watch(conn net.Conn) {
	w.release()
	w.conn = conn
	w.stop = context.AfterFunc(w.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// release ends the watch of the current connection and clears its
// deadlines, as the tunnel is handed over.
func (w *tunnelWatch) release() {
	if w.stop != nil {
		w.stop()
		w.stop = nil
		w.conn.SetDeadline(time.Time{})
	}
}

// arm sets the deadlines for one CONNECT exchange.
func (w *tunnelWatch) arm() {
	deadline, ok := w.ctx.Deadline()
	if ok {
		w.conn.SetWriteDeadline(deadline)
	}
	w.timeout = false
	if w.rht > 0 {
		if d := time.Now().Add(w.rht); !ok || d.Before(deadline) {
			deadline, ok = d, true
			w.timeout = true
		}
	}
	if ok {
		w.conn.SetReadDeadline(deadline)
	}
}

// cause returns what ended an exchange that failed with err: the request's
// context, Base's ResponseHeaderTimeout, or err itself.
func (w *tunnelWatch) cause(err error) error {
	if c := context.Cause(w.ctx); c != nil {
		return fmt.Errorf("%w: %w", c, err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	if w.timeout {
		return fmt.Errorf("%w: %w", errConnectHeadsTimeout, err)
	}
	// The connection's deadline is the context's, which may fire a moment
	// before the context itself says so.
	if d, ok := w.ctx.Deadline(); ok && !time.Now().Before(d) {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// dialTunnel opens a tunnel to target through the proxy with CONNECT,
// running the proxy's handshake on the CONNECT requests themselves: several
// legs on one connection while the proxy keeps it, a new connection when it
// closes it. The origin's TLS then runs inside the tunnel, so channel
// bindings bind to the origin's certificate.
func (r *roundTrip) dialTunnel(ctx context.Context, target string) (net.Conn, error) {
	p := &slot{proxy: true}
	defer func() { p.close() }()
	// startErr: the known proxy's context could not start; the first
	// CONNECT goes without a token, and its 407 is the answer.
	var startErr error
	if v, ok := r.t.known.Get(r.memoryKey(p)); ok && r.proxyCreds != nil {
		if err := r.start(p, v.scheme, nil); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			startErr = err
		}
	}
	conn, err := r.dialProxy(ctx)
	if err != nil {
		return nil, err
	}
	w := &tunnelWatch{ctx: ctx, rht: r.t.base.ResponseHeaderTimeout}
	w.watch(conn)
	defer w.release()
	lr := &limitReader{r: conn, n: -1}
	br := bufio.NewReader(lr)
	restarted := false
	for {
		w.arm()
		req := &http.Request{
			Method: http.MethodConnect,
			URL:    &url.URL{Opaque: target},
			Host:   target,
			Header: make(http.Header),
		}
		p.apply(req)
		if err := req.Write(conn); err != nil {
			conn.Close()
			return nil, r.slotErr(p, p.scheme, p.legs, OpConnect, 0, w.cause(err))
		}
		resp, err := readConnectResponse(br, lr, r.t.maxHeaderBytes(), req)
		if err != nil {
			conn.Close()
			return nil, r.slotErr(p, p.scheme, p.legs, OpConnect, 0, w.cause(err))
		}
		r.traceLeg(nil, p, req, resp, false)
		if resp.StatusCode == http.StatusOK {
			if p.started() {
				if err := r.verifyFinal(p, resp); err != nil {
					conn.Close()
					return nil, r.slotErr(p, p.scheme, 0, OpVerifyServer, resp.StatusCode, err)
				}
			}
			w.release()
			if br.Buffered() > 0 {
				return &bufferedConn{Conn: conn, r: br}, nil
			}
			return conn, nil
		}
		fail := func(op Op, cause error) error {
			conn.Close()
			var e *AuthError
			if !errors.As(cause, &e) {
				e = r.slotErr(p, p.scheme, p.legs, op, resp.StatusCode, cause)
			}
			e.StatusCode = resp.StatusCode
			e.Response = keepBody(resp)
			return e
		}
		if resp.StatusCode != http.StatusProxyAuthRequired {
			return nil, fail(OpConnect, fmt.Errorf("the proxy refused to connect to %s: %s", target, resp.Status))
		}
		if p.legs >= r.t.maxLegs() {
			return nil, fail(OpReadChallenge, ErrTooManyLegs)
		}
		if !p.started() {
			if startErr != nil {
				return nil, fail(OpAcquireCredentials, startErr)
			}
			scheme, cs, ok := r.chooseFor(p, resp)
			if !ok {
				cause := ErrUnsupportedScheme
				if r.box.err != nil {
					cause = r.box.err.Err
				}
				return nil, fail(OpChooseScheme, cause)
			}
			r.remember(p, scheme, cs)
			if err := r.start(p, scheme, nil); err != nil {
				if ctx.Err() != nil {
					conn.Close()
					return nil, err
				}
				return nil, fail(OpAcquireCredentials, err)
			}
		} else {
			cs, err := r.challenges(p, resp)
			tok, found, terr := tokenFor(cs, p.scheme)
			switch {
			case err != nil:
				return nil, fail(OpReadChallenge, err)
			case terr != nil:
				return nil, fail(OpReadChallenge, terr)
			case !found || len(tok) == 0 || !p.cont:
				return nil, fail(OpReadChallenge, p.sec.Explain(ErrRejected))
			}
			out, cont, err := p.sec.Step(ctx, tok)
			if err != nil {
				return nil, fail(OpInitializeContext, p.sec.Explain(err))
			}
			p.out, p.cont = out, cont
		}
		if !discard(resp) {
			// The proxy closes the connection after this answer. Its
			// first, bare challenge costs nothing; a connection-bound
			// handshake must start over, once.
			conn.Close()
			if !resend(ctx, r.req, r.body, refused) {
				// The proxy refused the CONNECT, and the request may not
				// go again: its context ended meanwhile.
				cause := context.Cause(ctx)
				if cause == nil {
					cause = ErrBodyNotReplayable
				}
				return nil, r.slotErr(p, p.scheme, p.legs, OpConnect, resp.StatusCode, cause)
			}
			if p.legs > 0 && p.cont {
				if restarted {
					return nil, r.slotErr(p, p.scheme, p.legs, OpSend, resp.StatusCode, ErrConnectionLost)
				}
				restarted = true
				scheme := p.scheme
				p.close()
				*p = slot{proxy: true}
				if err := r.start(p, scheme, nil); err != nil {
					return nil, err
				}
			}
			if conn, err = r.dialProxy(ctx); err != nil {
				return nil, err
			}
			w.watch(conn)
			lr = &limitReader{r: conn, n: -1}
			br = bufio.NewReader(lr)
		}
	}
}

// bufferedConn is a tunnel whose first bytes were read ahead with the
// proxy's answer.
type bufferedConn struct {
	net.Conn
	r  *bufio.Reader
	mu sync.Mutex
}

func (c *bufferedConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.r.Read(b)
}

// readConnectResponse reads the proxy's answer to a CONNECT, its header
// bounded by lr (see limitReader), as net/http bounds a response's header
// by MaxResponseHeaderBytes.
func readConnectResponse(br *bufio.Reader, lr *limitReader, max int64, req *http.Request) (*http.Response, error) {
	lr.n = max
	resp, err := http.ReadResponse(br, req)
	lr.n = -1
	if err != nil && lr.hit {
		return nil, fmt.Errorf("%w: the proxy's answer to CONNECT has a header larger than %d bytes", ErrMalformedChallenge, max)
	}
	return resp, err
}

// limitReader reads from r at most n bytes while n >= 0 (a header is being
// read), without limit while n < 0.
type limitReader struct {
	r   io.Reader
	n   int64
	hit bool // the limit was reached
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		l.hit = true
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// maxHeaderBytes is the bound of a response header read here: Base's
// MaxResponseHeaderBytes, or net/http's default of 10 MiB.
func (t *Transport) maxHeaderBytes() int64 {
	if n := t.base.MaxResponseHeaderBytes; n > 0 {
		return n
	}
	return 10 << 20
}

// keepBody reads what is left of resp's body, up to drainLimit, so that
// resp can be handed to the caller after its connection is closed.
func keepBody(resp *http.Response) *http.Response {
	b, err := io.ReadAll(io.LimitReader(resp.Body, drainLimit+1))
	resp.Body.Close()
	var rest io.Reader = bytes.NewReader(b)
	if err == nil && len(b) > drainLimit {
		rest = io.MultiReader(bytes.NewReader(b[:drainLimit]), errReader{io.ErrUnexpectedEOF})
	} else if err != nil {
		rest = io.MultiReader(rest, errReader{err})
	}
	resp.Body = io.NopCloser(rest)
	return resp
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// connectAnswer turns the failure of a proxy's authentication on CONNECT
// into the 407 it ended with, so that a proxy refusing the credentials
// gives the same answer over HTTPS as over HTTP (see the package
// documentation): the response, and ResponseError saying why.
func (r *roundTrip) connectAnswer(err error) (*http.Response, bool) {
	var ae *AuthError
	if !errors.As(err, &ae) || !ae.Proxy || ae.Response == nil ||
		ae.StatusCode != http.StatusProxyAuthRequired || ae.Op == OpConnect {
		return nil, false
	}
	resp := ae.Response
	ae.Response = nil
	r.box.err = ae
	resp.Request = r.req.WithContext(r.ctx)
	return resp, true
}
