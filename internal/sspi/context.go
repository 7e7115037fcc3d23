// This file holds the client context loop: credentials acquired once,
// one InitializeSecurityContextW call per leg with an output buffer of the
// package's cbMaxToken, CompleteAuthToken when asked, the mutual
// authentication check, and every handle given back on every path.

package sspi

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// Bounds on cbMaxToken. Packages report 12,000 (NTLM, old Kerberos) to
// 48,000 bytes (Kerberos since Windows 8); an answer of zero gets the
// larger one, and no answer may make us allocate more than maxTokenLimit per
// leg.
const (
	defaultMaxToken = 48000
	maxTokenLimit   = 1 << 20
)

// Config says what a Context authenticates as and to.
type Config struct {
	// Package is PackageNegotiate, PackageKerberos or PackageNTLM.
	Package string
	// Identity is the explicit credentials; nil means the logged-on user.
	Identity *Identity
	// Target is the SPN ("HTTP/host"); "" passes none (NTLM only).
	Target string
	// Mutual asks for mutual authentication (ISC_REQ_MUTUAL_AUTH).
	Mutual bool
	// RequireMutual fails a Kerberos context that completes without the
	// server proving its identity (no ISC_RET_MUTUAL_AUTH).
	RequireMutual bool
	// ChannelBindings, if not nil, go to every call as a
	// SECBUFFER_CHANNEL_BINDINGS buffer.
	ChannelBindings *gss.ChannelBindings
	// DisableNTLM fails, before it is sent, any token that carries NTLM
	// (the Negotiate package falling back to it).
	DisableNTLM bool
	// Delegate asks to delegate the user's credentials (ISC_REQ_DELEGATE).
	// Windows delegates only to services trusted for delegation
	// (ok-as-delegate), whatever is asked.
	Delegate bool
}

// Context is a client security context on an SSPI package. It implements
// gss.Context. Its handles are freed when the context completes or fails,
// when Close is called, and, as a last resort, when it is garbage
// collected.
type Context struct {
	api      API
	cfg      Config
	maxToken uint32
	bindings []byte // SEC_CHANNEL_BINDINGS, or nil
	h        *handles

	legs     int
	complete bool
	attrs    uint32 // ISC_RET_* of the last call
	used     string // the package in use, once known
	sawNTLM  bool   // a token carried an NTLM message
	err      error  // the failure that ended the context
}

// handles owns the credentials and context handles. It is separate from
// Context so that the cleanup run on a lost Context, and a call still running
// when Step gave up on it, can free them without keeping the Context alive.
type handles struct {
	mu        sync.Mutex
	api       API
	cred      Handle
	ctx       Handle
	hasCred   bool
	hasCtx    bool
	running   bool // an InitializeSecurityContext call is under way
	abandoned bool // free the handles when that call returns
}

// release frees the handles that are held; the caller holds mu.
func (h *handles) release() {
	if h.hasCtx {
		h.hasCtx = false
		h.api.DeleteSecurityContext(h.ctx)
	}
	if h.hasCred {
		h.hasCred = false
		h.api.FreeCredentialsHandle(h.cred)
	}
}

// close frees the handles now, or when the call under way returns.
func (h *handles) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running {
		h.abandoned = true
		return
	}
	h.release()
}

// New acquires credentials for cfg and returns a context ready for its
// first Step.
func New(api API, cfg Config) (*Context, error) {
	switch cfg.Package {
	case PackageNegotiate, PackageKerberos, PackageNTLM:
	default:
		return nil, fmt.Errorf("negotiate: unknown SSPI package %q", cfg.Package)
	}
	if strings.IndexByte(cfg.Target, 0) >= 0 {
		return nil, errors.New("negotiate: target name contains NUL")
	}
	if id := cfg.Identity; id != nil && strings.ContainsRune(id.User+id.Domain+id.Password, 0) {
		return nil, fmt.Errorf("%w: user, domain or password contains NUL", gss.ErrNoCredentials)
	}
	info, mem, st := api.QuerySecurityPackageInfo(cfg.Package)
	if mem != 0 {
		api.FreeContextBuffer(mem)
	}
	if st.Failed() {
		return nil, &Error{Func: "QuerySecurityPackageInfoW", Status: uint32(st)}
	}
	maxToken := info.MaxToken
	if maxToken == 0 {
		maxToken = defaultMaxToken
	}
	maxToken = min(maxToken, maxTokenLimit)
	cred, st := api.AcquireCredentialsHandle(cfg.Package, cfg.Identity)
	if st.Failed() {
		return nil, &Error{Func: "AcquireCredentialsHandleW", Status: uint32(st)}
	}
	h := &handles{api: api, cred: cred, hasCred: true}
	c := &Context{api: api, cfg: cfg, maxToken: maxToken, h: h}
	if cfg.Package != PackageNegotiate {
		c.used = cfg.Package
	}
	if cfg.ChannelBindings != nil {
		c.bindings = MarshalBindings(cfg.ChannelBindings)
	}
	runtime.AddCleanup(c, (*handles).close, h)
	return c, nil
}

// MarshalBindings returns cb as a SEC_CHANNEL_BINDINGS structure followed
// by its data, the content of a SECBUFFER_CHANNEL_BINDINGS buffer: eight
// 32-bit little-endian fields (initiator address type, length and offset,
// acceptor address type, length and offset, application data length and
// offset), all zero but the application data's, which follows at offset 32.
// A nil cb gives nil.
func MarshalBindings(cb *gss.ChannelBindings) []byte {
	if cb == nil {
		return nil
	}
	const header = 32
	b := make([]byte, header, header+len(cb.ApplicationData))
	binary.LittleEndian.PutUint32(b[24:], uint32(len(cb.ApplicationData)))
	binary.LittleEndian.PutUint32(b[28:], header)
	return append(b, cb.ApplicationData...)
}

// Step runs one leg: InitializeSecurityContextW with the server's token (nil
// on the first leg). The call runs on its own goroutine so that a cancelled
// ctx returns at once; the handles are then freed when the call returns.
func (c *Context) Step(ctx context.Context, in []byte) (out []byte, continueNeeded bool, err error) {
	if c.err != nil {
		return nil, false, c.err
	}
	if c.complete {
		return nil, false, errors.New("negotiate: SSPI context already complete")
	}
	if c.legs > 0 && len(in) == 0 {
		return c.fail(fmt.Errorf("%w: empty token from the server", gss.ErrMalformedToken))
	}
	if err := ctx.Err(); err != nil {
		return c.fail(err)
	}
	var inBufs []Buffer
	if len(in) > 0 {
		inBufs = append(inBufs, Buffer{Type: BufferToken, Data: bytes.Clone(in)})
	}
	// Kerberos binds the channel in its first token, so the bindings go
	// to every call; NTLM binds it in AUTHENTICATE only, and Wine's NTLM
	// fails a first call that has input buffers but no token.
	if c.bindings != nil && (c.legs > 0 || c.cfg.Package != PackageNTLM) {
		inBufs = append(inBufs, Buffer{Type: BufferChannelBindings, Data: bytes.Clone(c.bindings)})
	}
	outBufs := []Buffer{{Type: BufferToken, Data: make([]byte, c.maxToken)}}
	req := ReqConnection
	if c.cfg.Mutual {
		req |= ReqMutualAuth
	}
	if c.cfg.Delegate {
		req |= ReqDelegate
	}

	h := c.h
	h.mu.Lock()
	if !h.hasCred {
		h.mu.Unlock()
		return c.fail(errors.New("negotiate: SSPI context closed"))
	}
	h.running = true
	cred, first := h.cred, !h.hasCtx
	var prev *Handle
	if !first {
		hc := h.ctx
		prev = &hc
	}
	h.mu.Unlock()

	type result struct {
		attrs  uint32
		status Status
	}
	done := make(chan result, 1)
	go func() {
		newCtx, attrs, st := c.api.InitializeSecurityContext(cred, prev, c.cfg.Target, req, inBufs, outBufs)
		h.mu.Lock()
		h.running = false
		if first && !st.Failed() {
			h.ctx, h.hasCtx = newCtx, true
		}
		if h.abandoned {
			h.release()
		}
		h.mu.Unlock()
		done <- result{attrs, st}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		h.mu.Lock()
		if h.running {
			h.abandoned = true
			h.mu.Unlock()
			c.err = ctx.Err()
			return nil, false, c.err
		}
		h.mu.Unlock()
		r = <-done
	}
	c.legs++
	return c.after(r.status, r.attrs, outBufs)
}

// after handles an InitializeSecurityContextW result.
func (c *Context) after(st Status, attrs uint32, outBufs []Buffer) ([]byte, bool, error) {
	var cont bool
	switch st {
	case StatusOK, StatusCompleteNeeded:
	case StatusContinueNeeded, StatusCompleteAndContinue:
		cont = true
	default:
		return c.fail(&Error{Func: "InitializeSecurityContextW", Status: uint32(st)})
	}
	if st == StatusCompleteNeeded || st == StatusCompleteAndContinue {
		// The package wants the token finished (a checksum, say) before
		// it is sent (InitializeSecurityContext, "Remarks").
		c.h.mu.Lock()
		hc := c.h.ctx
		ok := c.h.hasCtx
		c.h.mu.Unlock()
		if !ok {
			return c.fail(errors.New("negotiate: SSPI asked to complete a token without a context"))
		}
		if cst := c.api.CompleteAuthToken(hc, outBufs); cst.Failed() {
			return c.fail(&Error{Func: "CompleteAuthToken", Status: uint32(cst)})
		}
	}
	var out []byte
	for _, b := range outBufs {
		if b.Type == BufferToken && len(b.Data) > 0 {
			if len(b.Data) > int(c.maxToken) {
				return c.fail(fmt.Errorf("negotiate: SSPI wrote %d bytes into a %d-byte buffer", len(b.Data), c.maxToken))
			}
			out = bytes.Clone(b.Data)
		}
	}
	c.attrs = attrs
	if carriesNTLM(out) {
		c.sawNTLM = true
		if c.cfg.DisableNTLM {
			return c.fail(fmt.Errorf("%w: the SSPI package chose NTLM, which is disabled", gss.ErrUnsupportedMech))
		}
	}
	if cont {
		return out, true, nil
	}
	c.complete = true
	c.learnPackage()
	if err := c.checkMutual(); err != nil {
		return c.fail(err)
	}
	// The HTTP exchange needs nothing of a complete context.
	c.h.close()
	return out, false, nil
}

// carriesNTLM reports whether a token holds an NTLM message, raw or inside
// SPNEGO: its "NTLMSSP\0" signature (MS-NLMP §2.2.1).
func carriesNTLM(tok []byte) bool { return bytes.Contains(tok, []byte("NTLMSSP\x00")) }

// learnPackage finds which package the Negotiate package chose.
func (c *Context) learnPackage() {
	if c.used != "" {
		return
	}
	c.h.mu.Lock()
	hc, ok := c.h.ctx, c.h.hasCtx
	c.h.mu.Unlock()
	if ok {
		name, mem, st := c.api.NegotiatedPackage(hc)
		if mem != 0 {
			c.api.FreeContextBuffer(mem)
		}
		if !st.Failed() && name != "" {
			c.used = name
			return
		}
	}
	// Without SECPKG_ATTR_NEGOTIATION_INFO, the tokens tell.
	if c.sawNTLM {
		c.used = PackageNTLM
	} else {
		c.used = PackageKerberos
	}
}

// kerberos reports whether the context is (or, before it completes, may
// be) Kerberos, the one package with mutual authentication.
func (c *Context) kerberos() bool {
	if c.used != "" {
		return strings.EqualFold(c.used, PackageKerberos)
	}
	return !c.sawNTLM
}

// checkMutual applies RequireMutual to a complete context.
func (c *Context) checkMutual() error {
	if !c.cfg.Mutual || !c.cfg.RequireMutual || !c.kerberos() || c.attrs&RetMutualAuth != 0 {
		return nil
	}
	return fmt.Errorf("%w: the %s context completed without ISC_RET_MUTUAL_AUTH", gss.ErrMutualAuth, c.used)
}

// CheckMutual applies the mutual-authentication policy once the server has
// accepted the request: under RequireMutual, a Kerberos context must have
// completed with the server's proof. sawToken says whether the server's
// answer carried a final token.
func (c *Context) CheckMutual(sawToken bool) error {
	if !c.cfg.Mutual || !c.cfg.RequireMutual || !c.kerberos() {
		return nil
	}
	if c.complete && c.attrs&RetMutualAuth != 0 {
		return nil
	}
	if !sawToken {
		return fmt.Errorf("%w: the server sent no final token", gss.ErrMutualAuth)
	}
	return fmt.Errorf("%w: the final token did not complete the context", gss.ErrMutualAuth)
}

// MutualAuthenticated reports whether the context completed with the
// server's proof of identity (ISC_RET_MUTUAL_AUTH).
func (c *Context) MutualAuthenticated() bool { return c.complete && c.attrs&RetMutualAuth != 0 }

// NTLM reports whether the context is NTLM: the NTLM package, or the
// Negotiate package once it chose NTLM (connection-bound, like raw NTLM).
func (c *Context) NTLM() bool {
	if c.used != "" {
		return strings.EqualFold(c.used, PackageNTLM)
	}
	return c.sawNTLM
}

// Package returns the package in use: the configured one, or for Negotiate
// the one it chose, "" while that is unknown.
func (c *Context) Package() string { return c.used }

// Close frees the context's handles (at once, or when a call still under
// way returns). It is safe to call more than once.
func (c *Context) Close() error {
	c.h.close()
	return nil
}

// fail ends the context with err, freeing its handles.
func (c *Context) fail(err error) ([]byte, bool, error) {
	c.err = err
	c.h.close()
	return nil, false, err
}
