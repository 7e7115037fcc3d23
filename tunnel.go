// This file holds HTTPS through a proxy: the CONNECT tunnel, whose proxy
// handshake the Transport runs itself (net/http closes the connection on any
// answer to CONNECT but 200) through the leg engine (legs.go), bounded by the
// request's context and Base's timeouts. The tunnel is made before
// NewClientConn, which then runs the origin's TLS inside it (proxy.go's dial
// hook), so channel bindings bind to the origin's certificate.

package negotiate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

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

// tunnel opens a tunnel to target through the request's proxy with
// CONNECT, running the proxy's handshake on the CONNECT requests: several
// legs on one connection while the proxy keeps it, a new connection when it
// closes it (once more after its first, bare challenge, and once after any
// other).
func (r *roundTrip) tunnel(ctx context.Context, target string) (net.Conn, error) {
	var budget restartBudget
	for {
		p := &slot{proxy: true}
		conn, err := r.tunnelOnce(ctx, target, p)
		p.close()
		re, ok := err.(*restartError)
		if !ok {
			return conn, err
		}
		// The proxy closed the connection after a 407: the CONNECT was
		// refused, so it may go again while the request's context lives.
		if cause := context.Cause(ctx); cause != nil {
			return nil, r.errAt(p, p.scheme, p.legs, OpConnect, http.StatusProxyAuthRequired, cause)
		}
		if !budget.take(re.bare) {
			return nil, r.errAt(p, p.scheme, p.legs, OpSend, http.StatusProxyAuthRequired, ErrConnectionLost)
		}
	}
}

// tunnelOnce runs the proxy's handshake over one new connection to it.
func (r *roundTrip) tunnelOnce(ctx context.Context, target string, p *slot) (net.Conn, error) {
	if v, ok := r.t.known.Get(r.memoryKey(p)); ok && r.proxyCreds != nil {
		if err := r.startKnown(p, v.scheme, nil); err != nil {
			return nil, err
		}
	}
	conn, err := r.dialProxy(ctx)
	if err != nil {
		return nil, err
	}
	w := &tunnelWire{r: r, target: target, proxyConn: conn,
		watch: &tunnelWatch{ctx: ctx, rht: r.t.base.ResponseHeaderTimeout}}
	w.watch.watch(conn)
	defer w.watch.release()
	w.lr = &limitReader{r: conn, n: -1}
	w.br = bufio.NewReader(w.lr)
	if _, err := r.drive(w, &slot{}, p); err != nil {
		return nil, err
	}
	return w.tunnel, nil
}

// tunnelWire carries the CONNECT legs of a proxy's handshake on one
// connection to the proxy; the origin's slot stays empty.
type tunnelWire struct {
	r         *roundTrip
	target    string // host:port
	proxyConn net.Conn
	watch     *tunnelWatch
	lr        *limitReader
	br        *bufio.Reader
	tunnel    net.Conn // the tunnel, once the proxy answered 200
}

func (w *tunnelWire) leg(o, p *slot) (*http.Request, bool, error) {
	w.watch.arm()
	return &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: w.target},
		Host:   w.target,
		Header: make(http.Header),
	}, true, nil
}

func (w *tunnelWire) send(l *http.Request, o, p *slot) (*http.Response, error) {
	r := w.r
	if err := l.Write(w.proxyConn); err != nil {
		w.close()
		return nil, r.errAt(p, p.scheme, p.legs, OpConnect, 0, w.watch.cause(err))
	}
	resp, err := readConnectResponse(w.br, w.lr, r.t.maxHeaderBytes(), l)
	if err != nil {
		w.close()
		return nil, r.errAt(p, p.scheme, p.legs, OpConnect, 0, w.watch.cause(err))
	}
	return resp, nil
}

func (w *tunnelWire) challenger(resp *http.Response, o, p *slot) *slot {
	if resp.StatusCode == http.StatusProxyAuthRequired {
		return p
	}
	return nil
}

// accepted takes the tunnel on a 200, its proxy verified if it sent a
// final token; any other answer is the proxy's refusal to connect.
func (w *tunnelWire) accepted(resp *http.Response, _ bool, o, p *slot) (*http.Response, error) {
	r := w.r
	if resp.StatusCode != http.StatusOK {
		return nil, w.fail(resp, r.errAt(p, p.scheme, p.legs, OpConnect, resp.StatusCode,
			fmt.Errorf("the proxy refused to connect to %s: %s", w.target, resp.Status)))
	}
	if err := r.verifyFinals(resp, p); err != nil {
		w.close()
		return nil, err
	}
	w.watch.release()
	w.tunnel = w.proxyConn
	if w.br.Buffered() > 0 {
		w.tunnel = &bufferedConn{Conn: w.proxyConn, r: w.br}
	}
	return resp, nil
}

// refused ends the tunnel on a 407 that cannot be met: the error carries
// the 407 and why (newConn's caller turns it into the answer, connectAnswer).
func (w *tunnelWire) refused(resp *http.Response, p *slot) (*http.Response, error) {
	e := w.r.box.err
	if e == nil {
		e = w.r.errAt(p, p.scheme, p.legs, OpChooseScheme, resp.StatusCode, ErrUnsupportedScheme)
	}
	return nil, w.fail(resp, e)
}

// fail closes the connection and returns e carrying resp, its body kept.
func (w *tunnelWire) fail(resp *http.Response, e *AuthError) error {
	w.close()
	e.StatusCode = resp.StatusCode
	e.Response = keepBody(resp)
	return e
}

func (w *tunnelWire) conn() *authConn { return nil }
func (w *tunnelWire) close()          { w.proxyConn.Close() }

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
