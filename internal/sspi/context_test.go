// Tests of the context loop against the fake table: status sequences,
// buffers, errors at each call, mutual authentication, cancellation, and
// every handle given back on every path.

package sspi

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/internal/gss"
)

var (
	apReq   = []byte("krb5-ap-req")
	apRep   = []byte("krb5-ap-rep")
	ntlmNeg = []byte("NTLMSSP\x00\x01negotiate")
	ntlmAut = []byte("NTLMSSP\x00\x03authenticate")
)

func flip(b []byte) []byte {
	out := bytes.Clone(b)
	for i := range out {
		out[i] ^= 0xFF
	}
	return out
}

// step is one Step call of a scripted exchange and what it must give.
type step struct {
	in       []byte
	wantOut  []byte
	wantCont bool
}

func TestStepSequences(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		negotiated string
		legs       []fakeLeg
		steps      []step
		wantErr    error // sentinel the last step's error wraps; nil: success
		wantFunc   string
		completes  int
		ntlm       bool
		mutual     bool
	}{
		{
			name:   "Kerberos CONTINUE_NEEDED then OK with mutual auth",
			cfg:    Config{Package: PackageKerberos, Mutual: true, RequireMutual: true},
			legs:   []fakeLeg{{status: StatusContinueNeeded, token: apReq}, {status: StatusOK, attrs: RetMutualAuth}},
			steps:  []step{{nil, apReq, true}, {apRep, nil, false}},
			mutual: true,
		},
		{
			name:  "NTLM three legs",
			cfg:   Config{Package: PackageNTLM, Mutual: true, RequireMutual: true},
			legs:  []fakeLeg{{status: StatusContinueNeeded, token: ntlmNeg}, {status: StatusOK, token: ntlmAut}},
			steps: []step{{nil, ntlmNeg, true}, {[]byte("challenge"), ntlmAut, false}},
			ntlm:  true,
		},
		{
			name:       "Negotiate chose NTLM: no mutual auth needed",
			cfg:        Config{Package: PackageNegotiate, Mutual: true, RequireMutual: true},
			negotiated: PackageNTLM,
			legs:       []fakeLeg{{status: StatusContinueNeeded, token: ntlmNeg}, {status: StatusOK, token: ntlmAut}},
			steps:      []step{{nil, ntlmNeg, true}, {[]byte("challenge"), ntlmAut, false}},
			ntlm:       true,
		},
		{
			name:       "Negotiate without NEGOTIATION_INFO: NTLM told by its tokens",
			cfg:        Config{Package: PackageNegotiate, Mutual: true, RequireMutual: true},
			negotiated: "",
			legs:       []fakeLeg{{status: StatusContinueNeeded, token: ntlmNeg}, {status: StatusOK, token: ntlmAut}},
			steps:      []step{{nil, ntlmNeg, true}, {[]byte("challenge"), ntlmAut, false}},
			ntlm:       true,
		},
		{
			name:      "COMPLETE_NEEDED: the completed token is sent",
			cfg:       Config{Package: PackageNTLM},
			legs:      []fakeLeg{{status: StatusCompleteNeeded, token: ntlmAut}},
			steps:     []step{{nil, flip(ntlmAut), false}},
			completes: 1,
			ntlm:      true,
		},
		{
			name:      "COMPLETE_AND_CONTINUE then OK",
			cfg:       Config{Package: PackageKerberos, Mutual: true, RequireMutual: true},
			legs:      []fakeLeg{{status: StatusCompleteAndContinue, token: apReq}, {status: StatusOK, attrs: RetMutualAuth}},
			steps:     []step{{nil, flip(apReq), true}, {apRep, nil, false}},
			completes: 1,
			mutual:    true,
		},
		{
			name:      "CompleteAuthToken fails",
			cfg:       Config{Package: PackageNTLM},
			legs:      []fakeLeg{{status: StatusCompleteNeeded, token: ntlmAut, complete: StatusInternalError}},
			steps:     []step{{in: nil}},
			wantFunc:  "CompleteAuthToken",
			completes: 1,
		},
		{
			name:     "first call: SEC_E_LOGON_DENIED",
			cfg:      Config{Package: PackageKerberos},
			legs:     []fakeLeg{{status: StatusLogonDenied}},
			steps:    []step{{in: nil}},
			wantErr:  gss.ErrRejected,
			wantFunc: "InitializeSecurityContextW",
		},
		{
			name:     "first call: SEC_E_NO_AUTHENTICATING_AUTHORITY",
			cfg:      Config{Package: PackageKerberos},
			legs:     []fakeLeg{{status: StatusNoAuthenticatingAuthority}},
			steps:    []step{{in: nil}},
			wantErr:  gss.ErrKDCUnreachable,
			wantFunc: "InitializeSecurityContextW",
		},
		{
			name:    "first call: SEC_E_TARGET_UNKNOWN",
			cfg:     Config{Package: PackageKerberos},
			legs:    []fakeLeg{{status: StatusTargetUnknown}},
			steps:   []step{{in: nil}},
			wantErr: gss.ErrUnknownPrincipal,
		},
		{
			name:    "first call: SEC_E_TIME_SKEW",
			cfg:     Config{Package: PackageKerberos},
			legs:    []fakeLeg{{status: StatusTimeSkew}},
			steps:   []step{{in: nil}},
			wantErr: gss.ErrClockSkew,
		},
		{
			name:    "first call: SEC_E_NO_CREDENTIALS",
			cfg:     Config{Package: PackageNegotiate},
			legs:    []fakeLeg{{status: StatusNoCredentials}},
			steps:   []step{{in: nil}},
			wantErr: gss.ErrNoCredentials,
		},
		{
			name:    "first call: SEC_I_INCOMPLETE_CREDENTIALS",
			cfg:     Config{Package: PackageNegotiate},
			legs:    []fakeLeg{{status: StatusIncompleteCredentials}},
			steps:   []step{{in: nil}},
			wantErr: gss.ErrNoCredentials,
		},
		{
			name:     "second call: SEC_E_INVALID_TOKEN",
			cfg:      Config{Package: PackageNTLM},
			legs:     []fakeLeg{{status: StatusContinueNeeded, token: ntlmNeg}, {status: StatusInvalidToken}},
			steps:    []step{{nil, ntlmNeg, true}, {in: []byte("garbage")}},
			wantErr:  gss.ErrMalformedToken,
			wantFunc: "InitializeSecurityContextW",
		},
		{
			name:    "mutual required, Kerberos completes without ISC_RET_MUTUAL_AUTH",
			cfg:     Config{Package: PackageKerberos, Mutual: true, RequireMutual: true},
			legs:    []fakeLeg{{status: StatusOK, token: apReq}},
			steps:   []step{{in: nil}},
			wantErr: gss.ErrMutualAuth,
		},
		{
			name:    "mutual required, Negotiate's Kerberos completes without it",
			cfg:     Config{Package: PackageNegotiate, Mutual: true, RequireMutual: true},
			legs:    []fakeLeg{{status: StatusContinueNeeded, token: apReq}, {status: StatusOK}},
			steps:   []step{{nil, apReq, true}, {in: apRep}},
			wantErr: gss.ErrMutualAuth,
		},
		{
			name:  "mutual optional, Kerberos completes without it",
			cfg:   Config{Package: PackageKerberos, Mutual: true},
			legs:  []fakeLeg{{status: StatusOK, token: apReq}},
			steps: []step{{nil, apReq, false}},
		},
		{
			name:    "DisableNTLM and Negotiate falls back to NTLM",
			cfg:     Config{Package: PackageNegotiate, DisableNTLM: true},
			legs:    []fakeLeg{{status: StatusContinueNeeded, token: append([]byte("spnego-wrapper"), ntlmNeg...)}},
			steps:   []step{{in: nil}},
			wantErr: gss.ErrUnsupportedMech,
		},
		{
			name:     "token larger than cbMaxToken",
			cfg:      Config{Package: PackageKerberos},
			legs:     []fakeLeg{{status: StatusContinueNeeded, token: make([]byte, 1001)}},
			steps:    []step{{in: nil}},
			wantFunc: "InitializeSecurityContextW",
		},
		{
			name:    "empty server token on a later leg",
			cfg:     Config{Package: PackageNTLM},
			legs:    []fakeLeg{{status: StatusContinueNeeded, token: ntlmNeg}},
			steps:   []step{{nil, ntlmNeg, true}, {in: []byte{}}},
			wantErr: gss.ErrMalformedToken,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(tt.legs...)
			f.negotiated = tt.negotiated
			if tt.negotiated == "" && tt.cfg.Package == PackageNegotiate && !strings.Contains(tt.name, "NEGOTIATION_INFO") {
				f.negotiated = PackageKerberos
			}
			c, err := New(f, tt.cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			failing := tt.wantErr != nil || tt.wantFunc != ""
			for i, s := range tt.steps {
				out, cont, err := c.Step(context.Background(), s.in)
				last := i == len(tt.steps)-1
				if last && failing {
					if err == nil {
						t.Fatalf("step %d: Step = %q, %v, nil; want an error", i+1, out, cont)
					}
					if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
						t.Errorf("step %d: Step error = %v; want one wrapping %v", i+1, err, tt.wantErr)
					}
					var se *Error
					if tt.wantFunc != "" && (!errors.As(err, &se) || se.Func != tt.wantFunc) {
						t.Errorf("step %d: Step error = %v; want an *Error from %s", i+1, err, tt.wantFunc)
					}
					break
				}
				if err != nil {
					t.Fatalf("step %d: Step: %v", i+1, err)
				}
				if !bytes.Equal(out, s.wantOut) || cont != s.wantCont {
					t.Fatalf("step %d: Step(%q) = %q, %v; want %q, %v", i+1, s.in, out, cont, s.wantOut, s.wantCont)
				}
			}
			if f.completes != tt.completes {
				t.Errorf("CompleteAuthToken calls = %d; want %d", f.completes, tt.completes)
			}
			if !failing {
				if got := c.NTLM(); got != tt.ntlm {
					t.Errorf("NTLM() = %v; want %v", got, tt.ntlm)
				}
				if got := c.MutualAuthenticated(); got != tt.mutual {
					t.Errorf("MutualAuthenticated() = %v; want %v", got, tt.mutual)
				}
				if _, _, err := c.Step(context.Background(), []byte("more")); err == nil {
					t.Errorf("Step after completion succeeded; want an error")
				}
			}
			// No Close: completion and failure free everything themselves.
			f.checkFreed(t)
		})
	}
}

func TestNewFailures(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*fakeAPI)
		cfg      Config
		wantFunc string
		wantErr  error
	}{
		{"QuerySecurityPackageInfoW fails", func(f *fakeAPI) { f.queryErr = StatusSecpkgNotFound }, Config{Package: PackageKerberos}, "QuerySecurityPackageInfoW", gss.ErrUnsupportedMech},
		{"AcquireCredentialsHandleW fails", func(f *fakeAPI) { f.acquireErr = StatusNoCredentials }, Config{Package: PackageKerberos}, "AcquireCredentialsHandleW", gss.ErrNoCredentials},
		{"unknown package", nil, Config{Package: "Digest"}, "", nil},
		{"NUL in the password", nil, Config{Package: PackageNTLM, Identity: &Identity{User: "u", Password: "a\x00b"}}, "", gss.ErrNoCredentials},
		{"NUL in the target", nil, Config{Package: PackageNTLM, Target: "HTTP/a\x00b"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			c, err := New(f, tt.cfg)
			if err == nil {
				c.Close()
				t.Fatalf("New(%+v) succeeded; want an error", tt.cfg.Package)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("New error = %v; want one wrapping %v", err, tt.wantErr)
			}
			var se *Error
			if tt.wantFunc != "" && (!errors.As(err, &se) || se.Func != tt.wantFunc) {
				t.Errorf("New error = %v; want an *Error from %s", err, tt.wantFunc)
			}
			if strings.Contains(err.Error(), "a\x00b") {
				t.Errorf("New error %q contains the secret", err)
			}
			f.checkFreed(t)
		})
	}
}

func TestBuffersAndRequirements(t *testing.T) {
	cb := &gss.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}
	tests := []struct {
		name     string
		cfg      Config
		maxToken uint32
		wantOut  int
		wantReq  uint32
	}{
		{"mutual, bindings", Config{Package: PackageNegotiate, Target: "HTTP/www.example.test", Mutual: true, ChannelBindings: cb}, 12000, 12000, ReqConnection | ReqMutualAuth},
		{"no mutual, no bindings", Config{Package: PackageNTLM, Target: "HTTP/www.example.test"}, 2888, 2888, ReqConnection},
		{"NTLM, bindings from the second call", Config{Package: PackageNTLM, Target: "HTTP/www.example.test", ChannelBindings: cb}, 2888, 2888, ReqConnection},
		{"cbMaxToken zero", Config{Package: PackageKerberos}, 0, defaultMaxToken, ReqConnection},
		{"cbMaxToken absurd", Config{Package: PackageKerberos}, 1 << 30, maxTokenLimit, ReqConnection},
		{"delegation", Config{Package: PackageNegotiate, Target: "HTTP/www.example.test", Mutual: true, Delegate: true}, 12000, 12000, ReqConnection | ReqMutualAuth | ReqDelegate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(fakeLeg{status: StatusContinueNeeded, token: apReq}, fakeLeg{status: StatusOK, attrs: RetMutualAuth})
			f.maxToken = tt.maxToken
			c, err := New(f, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Step(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Step(context.Background(), apRep); err != nil {
				t.Fatal(err)
			}
			if len(f.calls) != 2 {
				t.Fatalf("%d InitializeSecurityContext calls; want 2", len(f.calls))
			}
			wantBind := MarshalBindings(tt.cfg.ChannelBindings)
			for i, call := range f.calls {
				if call.first != (i == 0) {
					t.Errorf("call %d: first = %v", i+1, call.first)
				}
				if call.target != tt.cfg.Target {
					t.Errorf("call %d: target = %q; want %q", i+1, call.target, tt.cfg.Target)
				}
				if call.req != tt.wantReq {
					t.Errorf("call %d: fContextReq = %#x; want %#x", i+1, call.req, tt.wantReq)
				}
				if call.req&ReqAllocateMemory != 0 || (call.req&ReqDelegate != 0) != tt.cfg.Delegate {
					t.Errorf("call %d: fContextReq = %#x asks for allocated memory, or for delegation unasked", i+1, call.req)
				}
				if call.outLen != tt.wantOut {
					t.Errorf("call %d: output buffer %d bytes; want %d", i+1, call.outLen, tt.wantOut)
				}
				var want []Buffer
				if i == 1 {
					want = append(want, Buffer{Type: BufferToken, Data: apRep})
				}
				if wantBind != nil && (i > 0 || tt.cfg.Package != PackageNTLM) {
					want = append(want, Buffer{Type: BufferChannelBindings, Data: wantBind})
				}
				if fmt.Sprint(call.in) != fmt.Sprint(want) {
					t.Errorf("call %d: input buffers %v; want %v", i+1, call.in, want)
				}
			}
			f.checkFreed(t)
		})
	}
}

func TestMarshalBindings(t *testing.T) {
	data := []byte("tls-server-end-point:ABC")
	got := MarshalBindings(&gss.ChannelBindings{ApplicationData: data})
	want := make([]byte, 32)
	binary.LittleEndian.PutUint32(want[24:], uint32(len(data)))
	binary.LittleEndian.PutUint32(want[28:], 32)
	want = append(want, data...)
	if !bytes.Equal(got, want) {
		t.Errorf("MarshalBindings = %x; want %x", got, want)
	}
	if got := MarshalBindings(nil); got != nil {
		t.Errorf("MarshalBindings(nil) = %x; want nil", got)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
		is   error
	}{
		{&Error{"InitializeSecurityContextW", 0x8009030C}, "negotiate: InitializeSecurityContextW failed: 0x8009030C SEC_E_LOGON_DENIED (credentials rejected)", gss.ErrRejected},
		{&Error{"AcquireCredentialsHandleW", 0x8009030E}, "negotiate: AcquireCredentialsHandleW failed: 0x8009030E SEC_E_NO_CREDENTIALS (no credentials)", gss.ErrNoCredentials},
		{&Error{"InitializeSecurityContextW", 0x80091234}, "negotiate: InitializeSecurityContextW failed: 0x80091234", nil},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
		if got := tt.err.Unwrap(); got != tt.is {
			t.Errorf("%v.Unwrap() = %v; want %v", tt.err, got, tt.is)
		}
	}
	if got, want := StatusContinueNeeded.String(), "SEC_I_CONTINUE_NEEDED"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
	if got, want := Status(0x80091234).String(), "0x80091234"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

func TestIdentityHidesPassword(t *testing.T) {
	for _, id := range []*Identity{{User: "alice", Domain: "LAB", Password: "s3cret"}, {User: "alice@lab.test", Password: "s3cret"}, nil} {
		for _, s := range []string{id.String(), fmt.Sprintf("%#v", id), fmt.Sprintf("%v", id)} {
			if strings.Contains(s, "s3cret") {
				t.Errorf("%q shows the password", s)
			}
		}
	}
}

// waitFreed waits, boundedly, for everything f handed out to come back.
func waitFreed(t testing.TB, f *fakeAPI, gc bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if gc {
			runtime.GC()
		}
		if creds, ctxs, mems := f.held(); creds+ctxs+mems == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	f.checkFreed(t)
}

func TestCancelDuringCall(t *testing.T) {
	f := newFake(fakeLeg{status: StatusContinueNeeded, token: apReq})
	f.block = make(chan struct{})
	f.entered = make(chan struct{}, 1)
	c, err := New(f, Config{Package: PackageKerberos})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Step(ctx, nil)
		errc <- err
	}()
	<-f.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Step after cancel = %v; want context.Canceled", err)
	}
	if _, _, err := c.Step(context.Background(), apRep); err == nil {
		t.Errorf("Step on a cancelled context succeeded; want an error")
	}
	// The call returns later, with a new context handle: it must be freed.
	close(f.block)
	waitFreed(t, f, false)
}

func TestCancelBeforeStep(t *testing.T) {
	f := newFake(fakeLeg{status: StatusContinueNeeded, token: apReq})
	c, err := New(f, Config{Package: PackageKerberos})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Step(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Step = %v; want context.Canceled", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("%d InitializeSecurityContext calls on a cancelled context; want 0", len(f.calls))
	}
	f.checkFreed(t)
}

func TestCloseMidHandshake(t *testing.T) {
	f := newFake(fakeLeg{status: StatusContinueNeeded, token: ntlmNeg}, fakeLeg{status: StatusOK, token: ntlmAut})
	c, err := New(f, Config{Package: PackageNTLM})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Step(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if creds, ctxs, _ := f.held(); creds != 1 || ctxs != 1 {
		t.Fatalf("held mid-handshake: %d credentials, %d contexts; want 1, 1", creds, ctxs)
	}
	c.Close()
	c.Close()
	if _, _, err := c.Step(context.Background(), []byte("challenge")); err == nil {
		t.Errorf("Step after Close succeeded; want an error")
	}
	f.checkFreed(t)
}

func TestCleanupOnAbandon(t *testing.T) {
	f := newFake(fakeLeg{status: StatusContinueNeeded, token: apReq})
	func() {
		c, err := New(f, Config{Package: PackageKerberos})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Step(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}()
	// Dropped without Close, as a caller that stops mid-handshake does.
	waitFreed(t, f, true)
}

func TestCheckMutual(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		legs     []fakeLeg
		sawToken bool
		wantErr  bool
	}{
		{"required, server sent no final token", Config{Package: PackageKerberos, Mutual: true, RequireMutual: true}, []fakeLeg{{status: StatusContinueNeeded, token: apReq}}, false, true},
		{"optional, server sent no final token", Config{Package: PackageKerberos, Mutual: true}, []fakeLeg{{status: StatusContinueNeeded, token: apReq}}, false, false},
		{"disabled", Config{Package: PackageKerberos}, []fakeLeg{{status: StatusOK, token: apReq}}, false, false},
		{"required, NTLM", Config{Package: PackageNTLM, Mutual: true, RequireMutual: true}, []fakeLeg{{status: StatusOK, token: ntlmAut}}, false, false},
		{"required, verified", Config{Package: PackageKerberos, Mutual: true, RequireMutual: true}, []fakeLeg{{status: StatusOK, token: apReq, attrs: RetMutualAuth}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(tt.legs...)
			c, err := New(f, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, _, err := c.Step(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			err = c.CheckMutual(tt.sawToken)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, gss.ErrMutualAuth)) {
				t.Errorf("CheckMutual(%v) = %v; want error %v (ErrMutualAuth)", tt.sawToken, err, tt.wantErr)
			}
		})
	}
}

// TestNoLeaks runs 10,000 handshakes that end every way a handshake can
// (success, failure at each call, Close mid-way, cancellation) and counts
// what the fake handed out against what came back.
func TestNoLeaks(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	f := newFake()
	scripts := [][]fakeLeg{
		{{status: StatusContinueNeeded, token: apReq}, {status: StatusOK, attrs: RetMutualAuth}},
		{{status: StatusLogonDenied}},
		{{status: StatusContinueNeeded, token: ntlmNeg}, {status: StatusInvalidToken}},
		{{status: StatusCompleteAndContinue, token: apReq}, {status: StatusCompleteNeeded, attrs: RetMutualAuth}},
		{{status: StatusCompleteNeeded, token: apReq, complete: StatusInternalError}},
		{{status: StatusContinueNeeded, token: apReq}, {status: StatusOK, attrs: RetMutualAuth}}, // closed mid-way
		{{status: StatusOK, token: apReq}}, // mutual auth missing
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range n {
		k := i % (len(scripts) + 1)
		ctx := context.Background()
		if k == len(scripts) {
			ctx, k = cancelled, 0
		}
		f.mu.Lock()
		f.legs = scripts[k]
		f.mu.Unlock()
		c, err := New(f, Config{Package: PackageNegotiate, Mutual: true, RequireMutual: true, Target: "HTTP/x"})
		if err != nil {
			t.Fatal(err)
		}
		out, cont, err := c.Step(ctx, nil)
		if k == 5 {
			c.Close()
			continue
		}
		if err == nil && cont {
			_, _, _ = c.Step(ctx, apRep)
		}
		_ = out
	}
	f.checkFreed(t)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == 0 || len(f.ids) != n {
		t.Errorf("%d credentials acquired; want %d", len(f.ids), n)
	}
}
