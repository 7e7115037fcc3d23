// A fake secur32 table for the tests: scripted InitializeSecurityContext
// results per leg, a record of every call, and counts of every handle and
// context buffer handed out and given back.

package sspi

import (
	"bytes"
	"sync"
	"testing"
)

// fakeLeg is one scripted InitializeSecurityContext result.
type fakeLeg struct {
	status   Status
	attrs    uint32
	token    []byte
	complete Status // CompleteAuthToken's status, when status asks for it
}

// iscCall records one InitializeSecurityContext call.
type iscCall struct {
	first  bool
	target string
	req    uint32
	in     []Buffer
	outLen int
}

type fakeAPI struct {
	maxToken   uint32
	queryErr   Status
	acquireErr Status
	negotiated string // NegotiatedPackage's answer; "" fails it
	legs       []fakeLeg
	block      chan struct{} // if not nil, InitializeSecurityContext waits on it
	entered    chan struct{} // if not nil, told when a call starts

	mu        sync.Mutex
	next      uintptr
	creds     map[Handle]bool
	ctxs      map[Handle]int // context handle -> next leg
	mems      map[ContextBuffer]bool
	calls     []iscCall
	completes int
	ids       []*Identity
	bad       []string // misuse seen: freeing what was not handed out
}

func newFake(legs ...fakeLeg) *fakeAPI {
	return &fakeAPI{maxToken: 1000, negotiated: PackageKerberos, legs: legs}
}

func (f *fakeAPI) handle() Handle {
	f.next++
	return Handle{Lower: f.next, Upper: 0xF00D}
}

func (f *fakeAPI) QuerySecurityPackageInfo(pkg string) (PackageInfo, ContextBuffer, Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queryErr != 0 {
		return PackageInfo{}, 0, f.queryErr
	}
	mem := f.alloc()
	return PackageInfo{Name: pkg, MaxToken: f.maxToken}, mem, StatusOK
}

func (f *fakeAPI) alloc() ContextBuffer {
	if f.mems == nil {
		f.mems = make(map[ContextBuffer]bool)
	}
	f.next++
	m := ContextBuffer(f.next)
	f.mems[m] = true
	return m
}

func (f *fakeAPI) AcquireCredentialsHandle(pkg string, id *Identity) (Handle, Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, id)
	if f.acquireErr != 0 {
		return Handle{}, f.acquireErr
	}
	if f.creds == nil {
		f.creds = make(map[Handle]bool)
	}
	h := f.handle()
	f.creds[h] = true
	return h, StatusOK
}

func (f *fakeAPI) InitializeSecurityContext(cred Handle, ctx *Handle, target string, req uint32, in, out []Buffer) (Handle, uint32, Status) {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	call := iscCall{first: ctx == nil, target: target, req: req, outLen: -1}
	for _, b := range in {
		call.in = append(call.in, Buffer{Type: b.Type, Data: bytes.Clone(b.Data)})
	}
	if len(out) > 0 {
		call.outLen = len(out[0].Data)
	}
	f.calls = append(f.calls, call)
	if !f.creds[cred] {
		f.bad = append(f.bad, "InitializeSecurityContext with a credentials handle not held")
		return Handle{}, 0, StatusInvalidHandle
	}
	var h Handle
	leg := 0
	if ctx == nil {
		h = f.handle()
	} else {
		h = *ctx
		var ok bool
		if leg, ok = f.ctxs[h]; !ok {
			f.bad = append(f.bad, "InitializeSecurityContext with a context handle not held")
			return Handle{}, 0, StatusInvalidHandle
		}
	}
	if leg >= len(f.legs) {
		return Handle{}, 0, StatusOutOfSequence
	}
	l := f.legs[leg]
	if !l.status.Failed() {
		if len(l.token) > len(out[0].Data) {
			return Handle{}, 0, StatusBufferTooSmall
		}
		out[0].Data = out[0].Data[:copy(out[0].Data, l.token)]
		if ctx == nil {
			if f.ctxs == nil {
				f.ctxs = make(map[Handle]int)
			}
		}
		f.ctxs[h] = leg + 1
	}
	return h, l.attrs, l.status
}

func (f *fakeAPI) CompleteAuthToken(ctx Handle, out []Buffer) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.completes++
	leg, ok := f.ctxs[ctx]
	if !ok {
		f.bad = append(f.bad, "CompleteAuthToken with a context handle not held")
		return StatusInvalidHandle
	}
	l := f.legs[leg-1]
	if l.complete.Failed() {
		return l.complete
	}
	// Completing changes the token, as a checksum would: what is sent
	// must be the completed token.
	for i := range out[0].Data {
		out[0].Data[i] ^= 0xFF
	}
	return StatusOK
}

func (f *fakeAPI) NegotiatedPackage(ctx Handle) (string, ContextBuffer, Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.ctxs[ctx]; !ok {
		f.bad = append(f.bad, "QueryContextAttributes with a context handle not held")
		return "", 0, StatusInvalidHandle
	}
	if f.negotiated == "" {
		return "", 0, StatusUnsupportedFunction
	}
	return f.negotiated, f.alloc(), StatusOK
}

func (f *fakeAPI) FreeContextBuffer(mem ContextBuffer) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.mems[mem] {
		f.bad = append(f.bad, "FreeContextBuffer of memory not handed out")
		return StatusInvalidHandle
	}
	delete(f.mems, mem)
	return StatusOK
}

func (f *fakeAPI) DeleteSecurityContext(ctx Handle) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.ctxs[ctx]; !ok {
		f.bad = append(f.bad, "DeleteSecurityContext of a context handle not held")
		return StatusInvalidHandle
	}
	delete(f.ctxs, ctx)
	return StatusOK
}

func (f *fakeAPI) FreeCredentialsHandle(cred Handle) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.creds[cred] {
		f.bad = append(f.bad, "FreeCredentialsHandle of a handle not held")
		return StatusInvalidHandle
	}
	delete(f.creds, cred)
	return StatusOK
}

// held returns how many credentials handles, context handles and context
// buffers are outstanding.
func (f *fakeAPI) held() (creds, ctxs, mems int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.creds), len(f.ctxs), len(f.mems)
}

// checkFreed fails t if anything handed out was not given back, or
// something was freed that was not handed out.
func (f *fakeAPI) checkFreed(t testing.TB) {
	t.Helper()
	if creds, ctxs, mems := f.held(); creds+ctxs+mems != 0 {
		t.Errorf("held after the context: %d credentials, %d contexts, %d context buffers; want none", creds, ctxs, mems)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.bad {
		t.Errorf("misuse: %s", b)
	}
}
