package ntlm_test

// The client against the independent acceptor (internal/ntlmacceptor) across
// the option matrix, and against github.com/Azure/go-ntlmssp v0.1.1.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/ntlm"
	"github.com/negotiate-go/negotiate/internal/ntlmacceptor"
)

var table = map[string]string{"alice": "s3cret!", "Bob": "pässwörd€"}

func lookup(user, _ string) ([]byte, bool) {
	for u, p := range table {
		if strings.EqualFold(u, user) {
			return ntlm.NTHash(p), true
		}
	}
	return nil, false
}

var (
	tlsA = &gss.ChannelBindings{ApplicationData: []byte("tls-server-end-point:AAAA")}
	tlsB = &gss.ChannelBindings{ApplicationData: []byte("tls-server-end-point:BBBB")}
)

// handshake runs NEGOTIATE, CHALLENGE, AUTHENTICATE; tamper, if set, may
// change the AUTHENTICATE message before the acceptor sees it.
func handshake(t *testing.T, cfg ntlm.Config, a *ntlmacceptor.Acceptor, tamper func([]byte)) (*ntlm.Client, *ntlmacceptor.Context, error) {
	t.Helper()
	cl, err := ntlm.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient = %v", err)
	}
	ctx := context.Background()
	neg, cont, err := cl.Step(ctx, nil)
	if err != nil || !cont {
		t.Fatalf("Step(nil) = continue %t, %v; want true, nil", cont, err)
	}
	ac := a.NewContext()
	chal, done, err := ac.Accept(neg)
	if err != nil || done {
		t.Fatalf("Accept(NEGOTIATE) = done %t, %v; want false, nil", done, err)
	}
	auth, cont, err := cl.Step(ctx, chal)
	if err != nil || cont {
		t.Fatalf("Step(CHALLENGE) = continue %t, %v; want false, nil", cont, err)
	}
	if tamper != nil {
		tamper(auth)
	}
	_, done, err = ac.Accept(auth)
	if err == nil && !done {
		t.Fatalf("Accept(AUTHENTICATE) = done false, nil error")
	}
	return cl, ac, err
}

func TestClientAgainstAcceptor(t *testing.T) {
	base := ntlm.Config{User: "alice", Domain: "EXAMPLE", Password: "s3cret!", Workstation: "WS1"}
	with := func(f func(*ntlm.Config)) ntlm.Config { c := base; f(&c); return c }
	micOffset := 72
	tests := []struct {
		name     string
		cfg      ntlm.Config
		acceptor ntlmacceptor.Acceptor
		tamper   func([]byte)
		want     error
		wantCB   bool
	}{
		{name: "password", cfg: base},
		{name: "nt hash", cfg: with(func(c *ntlm.Config) { c.Password, c.NTHash = "", ntlm.NTHash("s3cret!") })},
		{name: "no domain", cfg: with(func(c *ntlm.Config) { c.Domain = "" })},
		{name: "dns domain", cfg: with(func(c *ntlm.Config) { c.Domain = "example.test" })},
		{name: "user case", cfg: with(func(c *ntlm.Config) { c.User = "ALICE" })},
		{name: "unicode password", cfg: ntlm.Config{User: "bob", Password: "pässwörd€"}},
		{name: "no workstation", cfg: with(func(c *ntlm.Config) { c.Workstation = "" })},
		{name: "wrong password", cfg: with(func(c *ntlm.Config) { c.Password = "s3cret?" }), want: ntlmacceptor.ErrWrongPassword},
		{name: "wrong hash", cfg: with(func(c *ntlm.Config) { c.Password, c.NTHash = "", make([]byte, 16) }), want: ntlmacceptor.ErrWrongPassword},
		{name: "unknown user", cfg: with(func(c *ntlm.Config) { c.User = "mallory" }), want: ntlmacceptor.ErrUnknownUser},
		{name: "require MIC", cfg: base, acceptor: ntlmacceptor.Acceptor{RequireMIC: true}},
		{name: "MIC tampered", cfg: base, tamper: func(b []byte) { b[micOffset] ^= 1 }, want: ntlmacceptor.ErrMICMismatch},
		{name: "flags tampered", cfg: base, tamper: func(b []byte) { b[60] &^= 0x10 /* SIGN */ }, want: ntlmacceptor.ErrMICMismatch},
		{name: "workstation tampered", cfg: base, tamper: func(b []byte) { tamperWorkstation(b) }, want: ntlmacceptor.ErrMICMismatch},
		{name: "NT response tampered", cfg: base, tamper: func(b []byte) { tamperNT(b) }, want: ntlmacceptor.ErrWrongPassword},
		{name: "bindings right", cfg: with(func(c *ntlm.Config) { c.ChannelBindings = tlsA }),
			acceptor: ntlmacceptor.Acceptor{ChannelBindings: tlsA, RequireChannelBindings: true}, wantCB: true},
		{name: "bindings wrong", cfg: with(func(c *ntlm.Config) { c.ChannelBindings = tlsB }),
			acceptor: ntlmacceptor.Acceptor{ChannelBindings: tlsA}, want: ntlmacceptor.ErrChannelBindingsMismatch, wantCB: true},
		{name: "bindings missing required", cfg: base,
			acceptor: ntlmacceptor.Acceptor{ChannelBindings: tlsA, RequireChannelBindings: true}, want: ntlmacceptor.ErrChannelBindingsMissing},
		{name: "bindings missing allowed", cfg: base, acceptor: ntlmacceptor.Acceptor{ChannelBindings: tlsA}},
		{name: "bindings over plain HTTP", cfg: with(func(c *ntlm.Config) { c.ChannelBindings = tlsA }),
			want: ntlmacceptor.ErrChannelBindingsMismatch, wantCB: true},
		{name: "target name", cfg: with(func(c *ntlm.Config) { c.TargetName = "http/WWW.example.test" }),
			acceptor: ntlmacceptor.Acceptor{ExpectedTargetName: "HTTP/www.example.test"}},
		{name: "target name wrong", cfg: with(func(c *ntlm.Config) { c.TargetName = "HTTP/other.example.test" }),
			acceptor: ntlmacceptor.Acceptor{ExpectedTargetName: "HTTP/www.example.test"}, want: ntlmacceptor.ErrTargetNameMismatch},
		{name: "target name missing", cfg: base,
			acceptor: ntlmacceptor.Acceptor{ExpectedTargetName: "HTTP/www.example.test"}, want: ntlmacceptor.ErrTargetNameMismatch},
		{name: "require version", cfg: base, acceptor: ntlmacceptor.Acceptor{RequireVersion: true}},
		{name: "everything", cfg: with(func(c *ntlm.Config) { c.ChannelBindings, c.TargetName = tlsA, "HTTP/www.example.test" }),
			acceptor: ntlmacceptor.Acceptor{RequireVersion: true, RequireMIC: true, ChannelBindings: tlsA,
				RequireChannelBindings: true, ExpectedTargetName: "HTTP/www.example.test"}, wantCB: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.acceptor
			a.Lookup = lookup
			cl, ac, err := handshake(t, tt.cfg, &a, tt.tamper)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Accept(AUTHENTICATE) = %v; want %v", err, tt.want)
				}
			} else if err != nil {
				t.Fatalf("Accept(AUTHENTICATE) = %v; want nil", err)
			}
			if tt.want == nil || errors.Is(tt.want, ntlmacceptor.ErrChannelBindingsMismatch) {
				if !ac.MICPresent() || !cl.MICPresent() {
					t.Errorf("MICPresent: acceptor %t, client %t; want true, true", ac.MICPresent(), cl.MICPresent())
				}
				if ac.ChannelBindingsPresent() != tt.wantCB {
					t.Errorf("ChannelBindingsPresent() = %t; want %t", ac.ChannelBindingsPresent(), tt.wantCB)
				}
			}
			if tt.want != nil {
				return
			}
			if !strings.EqualFold(ac.User(), tt.cfg.User) || ac.Domain() != tt.cfg.Domain {
				t.Errorf("acceptor User, Domain = %q, %q; want %q, %q", ac.User(), ac.Domain(), tt.cfg.User, tt.cfg.Domain)
			}
			checkSessionSecurity(t, cl, ac)
		})
	}
}

// checkSessionSecurity exchanges signatures both ways, as SPNEGO's
// mechListMIC does and then some, and checks that tampering is caught.
func checkSessionSecurity(t *testing.T, cl *ntlm.Client, ac *ntlmacceptor.Context) {
	t.Helper()
	if len(cl.SessionKey()) != 16 {
		t.Errorf("SessionKey() has %d bytes; want 16", len(cl.SessionKey()))
	}
	for i := range 3 {
		msg := []byte("mechTypes " + strings.Repeat("x", i))
		mic, err := cl.GetMIC(msg)
		if err != nil {
			t.Fatalf("client GetMIC = %v", err)
		}
		if got := binary.LittleEndian.Uint32(mic[12:]); got != uint32(i) {
			t.Errorf("client signature %d has SeqNum %d", i, got)
		}
		if err := ac.VerifyMIC(msg, mic); err != nil {
			t.Fatalf("acceptor VerifyMIC(client signature %d) = %v", i, err)
		}
		smic, err := ac.GetMIC(msg)
		if err != nil {
			t.Fatalf("acceptor GetMIC = %v", err)
		}
		if err := cl.VerifyMIC(msg, smic); err != nil {
			t.Fatalf("client VerifyMIC(server signature %d) = %v", i, err)
		}
	}
	// A signature over other bytes, or replayed, fails.
	smic, _ := ac.GetMIC([]byte("a"))
	if err := cl.VerifyMIC([]byte("b"), smic); !errors.Is(err, gss.ErrMutualAuth) {
		t.Errorf("client VerifyMIC(wrong message) = %v; want ErrMutualAuth", err)
	}
	mic, _ := cl.GetMIC([]byte("a"))
	if err := ac.VerifyMIC([]byte("a"), append([]byte{}, mic[:12]...)); err == nil {
		t.Errorf("acceptor VerifyMIC(truncated) = nil; want an error")
	}
}

// tamperWorkstation flips a bit of the workstation name, which only the MIC
// protects.
func tamperWorkstation(b []byte) {
	n := binary.LittleEndian.Uint16(b[44:])
	off := binary.LittleEndian.Uint32(b[48:])
	if n > 0 {
		b[off] ^= 1
	}
}

// tamperNT flips a bit inside the NTLMv2 blob's client challenge.
func tamperNT(b []byte) {
	off := binary.LittleEndian.Uint32(b[24:])
	b[off+16+16] ^= 1
}

// TestGoNTLMSSPCrossCheck answers the acceptor's CHALLENGE with go-ntlmssp,
// decodes its AUTHENTICATE with Describe, and recomputes its NTProofStr with
// our NTOWFv2: two implementations of §3.3.2 must agree.
func TestGoNTLMSSPCrossCheck(t *testing.T) {
	var sc [8]byte
	a := &ntlmacceptor.Acceptor{Lookup: lookup, Rand: bytes.NewReader([]byte("\x01\x02\x03\x04\x05\x06\x07\x08"))}
	copy(sc[:], "\x01\x02\x03\x04\x05\x06\x07\x08")
	neg, err := ntlmssp.NewNegotiateMessage("", "")
	if err != nil {
		t.Fatal(err)
	}
	ac := a.NewContext()
	chal, _, err := ac.Accept(neg)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := ntlmssp.NewAuthenticateMessage(chal, `EXAMPLE\Bob`, "pässwörd€", &ntlmssp.AuthenticateMessageOptions{WorkstationName: "WS9"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ntlm.Describe(auth)
	if err != nil {
		t.Fatalf("Describe(go-ntlmssp AUTHENTICATE) = %v", err)
	}
	if m.User != "Bob" || m.Domain != "EXAMPLE" || m.Workstation != "WS9" || !m.NTLMv2 || m.MICPresent {
		t.Errorf("Describe(go-ntlmssp AUTHENTICATE) = user %q domain %q ws %q v2 %t mic %t; want Bob EXAMPLE WS9 true false",
			m.User, m.Domain, m.Workstation, m.NTLMv2, m.MICPresent)
	}
	ntOff := binary.LittleEndian.Uint32(auth[24:])
	ntLen := binary.LittleEndian.Uint16(auth[20:])
	nt := auth[ntOff : ntOff+uint32(ntLen)]
	h := hmac.New(md5.New, ntlm.NTOWFv2(ntlm.NTHash("pässwörd€"), "Bob", "EXAMPLE"))
	h.Write(sc[:])
	h.Write(nt[16:])
	if !hmac.Equal(h.Sum(nil), nt[:16]) {
		t.Errorf("NTProofStr from go-ntlmssp differs from HMAC_MD5(our NTOWFv2, challenge + blob)")
	}
	if _, done, err := ac.Accept(auth); err != nil || !done {
		t.Errorf("acceptor Accept(go-ntlmssp AUTHENTICATE) = %t, %v; want true, nil", done, err)
	}
}

// TestDescribeOwnMessages decodes what the client sends.
func TestDescribeOwnMessages(t *testing.T) {
	now := time.Date(2026, 5, 2, 3, 4, 5, 0, time.UTC)
	a := &ntlmacceptor.Acceptor{Lookup: lookup, Now: func() time.Time { return now }}
	cl, err := ntlm.NewClient(ntlm.Config{User: "alice", Domain: "EXAMPLE", Password: "s3cret!", Workstation: "WS1",
		TargetName: "HTTP/www.example.test", ChannelBindings: tlsA})
	if err != nil {
		t.Fatal(err)
	}
	neg, _, _ := cl.Step(context.Background(), nil)
	if len(neg) != 40 {
		t.Errorf("NEGOTIATE is %d bytes; want 40 (gss-ntlmssp needs the Version field)", len(neg))
	}
	mn, err := ntlm.Describe(neg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"UNICODE", "REQUEST_TARGET", "NTLM", "ALWAYS_SIGN", "EXTENDED_SESSIONSECURITY",
		"TARGET_INFO", "VERSION", "128", "56", "KEY_EXCH", "SIGN"} {
		if !contains(mn.FlagNames, f) {
			t.Errorf("NEGOTIATE flags %v lack %s", mn.FlagNames, f)
		}
	}
	if mn.Version == nil || mn.Version.Revision != 15 {
		t.Errorf("NEGOTIATE Version = %v; want revision 15", mn.Version)
	}
	chal, _, err := a.NewContext().Accept(neg)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := ntlm.Describe(chal)
	if err != nil {
		t.Fatal(err)
	}
	var gotTime time.Time
	for _, p := range mc.AVPairs {
		if p.ID == ntlm.AvTimestamp {
			gotTime = p.Time
		}
	}
	if !gotTime.Equal(now) || mc.TargetName != "EXAMPLE" {
		t.Errorf("Describe(CHALLENGE): timestamp %v target %q; want %v EXAMPLE", gotTime, mc.TargetName, now)
	}
	auth, _, err := cl.Step(context.Background(), chal)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ntlm.Describe(auth)
	if err != nil {
		t.Fatal(err)
	}
	if m.User != "alice" || m.Domain != "EXAMPLE" || m.Workstation != "WS1" || !m.NTLMv2 || !m.MICPresent ||
		!m.ChannelBindingsPresent || m.TargetNameSent != "HTTP/www.example.test" || !m.LMResponseZero ||
		!m.SessionKeyExchanged || !m.BlobTime.Equal(now) || m.Version == nil {
		t.Errorf("Describe(AUTHENTICATE) = %+v", m)
	}
	// Our AV pairs come once each, after the server's, and EOL is not listed.
	seen := map[uint16]int{}
	for _, p := range m.AVPairs {
		seen[p.ID]++
	}
	for _, id := range []uint16{ntlm.AvFlags, ntlm.AvChannelBindings, ntlm.AvTargetName, ntlm.AvTimestamp, ntlm.AvNbDomainName} {
		if seen[id] != 1 {
			t.Errorf("AUTHENTICATE blob has %d AV pairs with id %d; want 1", seen[id], id)
		}
	}
	if s := m.String(); !strings.Contains(s, "MsvAvTargetName=\"HTTP/www.example.test\"") || !strings.Contains(s, "AUTHENTICATE") {
		t.Errorf("Message.String() = %q; want the target name and type", s)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestConcurrentHandshakes runs many handshakes at once against one
// Acceptor, as a test server does with many connections (run with -race).
func TestConcurrentHandshakes(t *testing.T) {
	a := &ntlmacceptor.Acceptor{Lookup: lookup, RequireMIC: true, ChannelBindings: tlsA, RequireChannelBindings: true}
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			cfg := ntlm.Config{User: "alice", Password: "s3cret!", ChannelBindings: tlsA}
			if i%2 == 1 {
				cfg.Password = "wrong"
			}
			cl, err := ntlm.NewClient(cfg)
			if err != nil {
				errs <- err
				return
			}
			ac := a.NewContext()
			neg, _, _ := cl.Step(context.Background(), nil)
			chal, _, err := ac.Accept(neg)
			if err != nil {
				errs <- err
				return
			}
			auth, _, err := cl.Step(context.Background(), chal)
			if err != nil {
				errs <- err
				return
			}
			_, _, err = ac.Accept(auth)
			if i%2 == 1 {
				if !errors.Is(err, ntlmacceptor.ErrWrongPassword) {
					errs <- fmt.Errorf("handshake %d with a wrong password: %v; want ErrWrongPassword", i, err)
					return
				}
				errs <- nil
				return
			}
			errs <- err
		}()
	}
	timeout := time.After(10 * time.Second)
	for range 20 {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-timeout:
			t.Fatal("handshakes did not finish within 10s")
		}
	}
}
