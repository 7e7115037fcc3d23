// This file holds the request body's way through a handshake: read ahead,
// replayed on each leg, or sent once, and closed exactly once.

package negotiate

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// DefaultMaxBodyBuffer is the MaxBodyBuffer of a Transport that sets none.
const DefaultMaxBodyBuffer = 8 << 20

// A replayBody gives each leg of a handshake its own copy of the request
// body. It owns the caller's body and closes it exactly once (close).
//
// Three cases, in order of preference:
//   - the request has GetBody: every leg gets a fresh body from it;
//   - the body fits in the buffer limit: it is read once and each leg gets
//     a reader over the bytes;
//   - it does not fit: it can travel once (oneShot). The Transport then
//     sends it only on the leg expected to be the last one, and on an
//     unknown origin asks for "100-continue" first, so that a 401 arrives
//     before any of it is sent. If it is needed again after it was read,
//     the leg fails with ErrBodyNotReplayable; nothing is ever sent
//     truncated.
type replayBody struct {
	orig    io.ReadCloser
	getBody func() (io.ReadCloser, error)
	buf     []byte
	// oneShot is the unbuffered remainder, read through at most once.
	oneShot   *oneShotBody
	length    int64 // ContentLength of the original request
	closeOnce sync.Once
}

// newReplayBody prepares req's body for replay, reading at most limit+1
// bytes ahead when the request has no GetBody. A negative limit buffers
// nothing.
func newReplayBody(req *http.Request, limit int64) (*replayBody, error) {
	rb := &replayBody{orig: req.Body, length: req.ContentLength}
	if req.Body == nil || req.Body == http.NoBody {
		rb.orig = nil
		return rb, nil
	}
	if req.GetBody != nil {
		rb.getBody = req.GetBody
		return rb, nil
	}
	if limit < 0 {
		limit = 0
	}
	if req.ContentLength > limit {
		rb.oneShot = &oneShotBody{r: req.Body}
		return rb, nil
	}
	var b bytes.Buffer
	n, err := io.Copy(&b, io.LimitReader(req.Body, limit+1))
	if err != nil {
		rb.close()
		return nil, err
	}
	if req.ContentLength > 0 && n != req.ContentLength && n <= limit {
		// net/http refuses such a body too, but only once it has sent
		// what there was; here nothing has been sent yet.
		rb.close()
		return nil, fmt.Errorf("%w: http: ContentLength=%d with Body length %d", ErrBodyLength, req.ContentLength, n)
	}
	if n > limit {
		rb.oneShot = &oneShotBody{r: io.MultiReader(bytes.NewReader(b.Bytes()), req.Body)}
		return rb, nil
	}
	rb.buf = b.Bytes()
	rb.length = n
	return rb, nil
}

// empty reports whether the request has no body at all.
func (rb *replayBody) empty() bool {
	return rb.orig == nil && rb.getBody == nil && rb.oneShot == nil
}

// replayable reports whether the body can be sent any number of times.
func (rb *replayBody) replayable() bool { return rb.oneShot == nil }

// consumed reports whether a one-shot body has already been read from.
func (rb *replayBody) consumed() bool { return rb.oneShot != nil && rb.oneShot.touched() }

// set gives leg its own copy of the body, or ErrBodyNotReplayable.
func (rb *replayBody) set(leg *http.Request) error {
	switch {
	case rb.empty():
		leg.Body, leg.GetBody, leg.ContentLength = http.NoBody, nil, 0
		return nil
	case rb.getBody != nil:
		body, err := rb.getBody()
		if err != nil {
			return err
		}
		leg.Body, leg.GetBody, leg.ContentLength = body, rb.getBody, rb.length
	case rb.buf != nil:
		buf := rb.buf
		leg.Body = io.NopCloser(bytes.NewReader(buf))
		leg.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
		leg.ContentLength = int64(len(buf))
		if leg.ContentLength == 0 {
			leg.Body = http.NoBody
		}
	default:
		if rb.oneShot.touched() {
			return ErrBodyNotReplayable
		}
		leg.Body, leg.GetBody, leg.ContentLength = rb.oneShot, nil, rb.length
	}
	return nil
}

// setEmpty gives leg no body: for legs that are sure to be rejected (the
// first NTLM leg), as curl does, so a large body crosses the wire once;
// bodylessLeg (resend.go) says when.
func setEmpty(leg *http.Request) {
	leg.Body, leg.GetBody, leg.ContentLength = http.NoBody, nil, 0
	leg.TransferEncoding = nil
}

// close closes the caller's body, once.
func (rb *replayBody) close() {
	rb.closeOnce.Do(func() {
		if rb.orig != nil {
			rb.orig.Close()
		}
	})
}

// oneShotBody is the unbuffered body: legs may read it but not close it (the
// replayBody closes the original once), and it remembers whether anything
// was read, so an untouched body can still be sent after a 401 that arrived
// before it (Expect: 100-continue).
type oneShotBody struct {
	mu   sync.Mutex
	r    io.Reader
	read bool
}

func (o *oneShotBody) Read(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.read = true
	return o.r.Read(p)
}

func (o *oneShotBody) Close() error { return nil }

func (o *oneShotBody) touched() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.read
}
