package ntlmacceptor

// Tests of the acceptor on its own: the MS-NLMP §4.2.4.3 AUTHENTICATE
// message and §4.2.4.4 signatures, messages from github.com/Azure/go-ntlmssp
// (an independent client), policy failures and sequencing. The matrix
// against our own client lives in internal/ntlm, which may import this
// package (not the other way round).

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	"golang.org/x/crypto/md4"

	"github.com/negotiate-go/negotiate/internal/gss"
)

func ntHash(password string) []byte {
	h := md4.New()
	h.Write(encodeUTF16(password))
	return h.Sum(nil)
}

// users is a case-insensitive user table; the domain is not checked, as a
// stand-alone IIS host accepts any domain for local accounts.
func users(m map[string]string) func(string, string) ([]byte, bool) {
	return func(user, _ string) ([]byte, bool) {
		for u, p := range m {
			if strings.EqualFold(u, user) {
				return ntHash(p), true
			}
		}
		return nil, false
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// negotiate40 builds a 40-byte NEGOTIATE with the given flags.
func negotiate40(flags uint32) []byte {
	b := make([]byte, 40)
	copy(b, magic[:])
	binary.LittleEndian.PutUint32(b[8:], 1)
	binary.LittleEndian.PutUint32(b[12:], flags)
	copy(b[32:], []byte{10, 0, 0, 0, 0, 0, 0, 15})
	return b
}

// specAuthenticate is the AUTHENTICATE_MESSAGE of MS-NLMP §4.2.4.3 (user
// "User", domain "Domain", workstation "COMPUTER", password "Password",
// server challenge 0123456789abcdef, random session key 55..55).
const specAuthenticate = `
4e544c4d535350000300000018001800 6c00000054005400840000000c000c00
48000000080008005400000010001000 5c00000010001000d8000000358288e2
0501280a0000000f44006f006d006100 69006e00550073006500720043004f00
4d005000550054004500520086c35097 ac9cec102554764a57cccc19aaaaaaaa
aaaaaaaa68cd0ab851e51c96aabc927b ebef6a1c010100000000000000000000
00000000aaaaaaaaaaaaaaaa00000000 02000c0044006f006d00610069006e00
01000c00530065007200760065007200 0000000000000000c5dad2544fc97990
94ce1ce90bc9d03e`

func TestSpecAuthenticateMessage(t *testing.T) {
	a := &Acceptor{
		Lookup: users(map[string]string{"User": "Password"}),
		Rand:   bytes.NewReader(mustHex(t, "0123456789abcdef")),
	}
	c := a.NewContext()
	if _, done, err := c.Accept(negotiate40(0xe2888235)); err != nil || done {
		t.Fatalf("Accept(NEGOTIATE) = done %t, %v; want false, nil", done, err)
	}
	if _, done, err := c.Accept(mustHex(t, specAuthenticate)); err != nil || !done {
		t.Fatalf("Accept(§4.2.4.3 AUTHENTICATE) = done %t, %v; want true, nil", done, err)
	}
	if c.User() != "User" || c.Domain() != "Domain" {
		t.Errorf("User(), Domain() = %q, %q; want %q, %q", c.User(), c.Domain(), "User", "Domain")
	}
	if c.MICPresent() || c.ChannelBindingsPresent() {
		t.Errorf("MICPresent, ChannelBindingsPresent = %t, %t; want false, false", c.MICPresent(), c.ChannelBindingsPresent())
	}

	// §4.2.4.4: "Plaintext" sealed then signed on the same RC4 handle. We
	// sign only, so advance each handle past the 18 sealed bytes first.
	pt := encodeUTF16("Plaintext")
	skip := make([]byte, len(pt))
	c.clientSeal.XORKeyStream(skip, skip)
	c.srvSeal.XORKeyStream(skip, skip)
	if err := c.VerifyMIC(pt, mustHex(t, "010000007fb38ec5c55d497600000000")); err != nil {
		t.Errorf("VerifyMIC(§4.2.4.4 client signature) = %v; want nil", err)
	}
	sig, err := c.GetMIC(pt)
	if err != nil || hex.EncodeToString(sig) != "01000000b298b847ce7c580700000000" {
		t.Errorf("GetMIC(Plaintext) = %x, %v; want 01000000b298b847ce7c580700000000, nil", sig, err)
	}
}

func TestSpecAuthenticateWrongChallenge(t *testing.T) {
	a := &Acceptor{
		Lookup: users(map[string]string{"User": "Password"}),
		Rand:   bytes.NewReader(mustHex(t, "0123456789abcdee")),
	}
	c := a.NewContext()
	if _, _, err := c.Accept(negotiate40(0xe2888235)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Accept(mustHex(t, specAuthenticate)); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("Accept(AUTHENTICATE for another challenge) = %v; want ErrWrongPassword", err)
	}
}

// TestGoNTLMSSP drives the acceptor with go-ntlmssp v0.1.1's messages: no
// MIC, no bindings, no target name, no key exchange.
func TestGoNTLMSSP(t *testing.T) {
	tests := []struct {
		name     string
		acceptor Acceptor
		user     string
		password string
		hashed   bool
		want     error
	}{
		{name: "password", user: `EXAMPLE\alice`, password: "s3cret!"},
		{name: "no domain", user: "alice", password: "s3cret!"},
		{name: "user case", user: `example\ALICE`, password: "s3cret!"},
		{name: "nt hash", user: `EXAMPLE\alice`, password: hex.EncodeToString(ntHash("s3cret!")), hashed: true},
		{name: "unicode password", user: "bob", password: "pässwörd€"},
		{name: "wrong password", user: `EXAMPLE\alice`, password: "guess", want: ErrWrongPassword},
		{name: "unknown user", user: `EXAMPLE\mallory`, password: "s3cret!", want: ErrUnknownUser},
		{name: "require MIC", acceptor: Acceptor{RequireMIC: true}, user: "alice", password: "s3cret!", want: ErrMICMissing},
		{name: "require bindings", acceptor: Acceptor{RequireChannelBindings: true, ChannelBindings: &gss.ChannelBindings{ApplicationData: []byte("tls-server-end-point:x")}}, user: "alice", password: "s3cret!", want: ErrChannelBindingsMissing},
		{name: "bindings allowed", acceptor: Acceptor{ChannelBindings: &gss.ChannelBindings{ApplicationData: []byte("tls-server-end-point:x")}}, user: "alice", password: "s3cret!"},
		{name: "target name", acceptor: Acceptor{ExpectedTargetName: "HTTP/www.example.test"}, user: "alice", password: "s3cret!", want: ErrTargetNameMismatch},
		{name: "require version", acceptor: Acceptor{RequireVersion: true}, user: "alice", password: "s3cret!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.acceptor
			a.Lookup = users(map[string]string{"alice": "s3cret!", "bob": "pässwörd€"})
			c := a.NewContext()
			neg, err := ntlmssp.NewNegotiateMessage("", "")
			if err != nil {
				t.Fatal(err)
			}
			chal, done, err := c.Accept(neg)
			if err != nil || done {
				t.Fatalf("Accept(go-ntlmssp NEGOTIATE) = done %t, %v; want false, nil", done, err)
			}
			auth, err := ntlmssp.NewAuthenticateMessage(chal, tt.user, tt.password, &ntlmssp.AuthenticateMessageOptions{PasswordHashed: tt.hashed, WorkstationName: "WS1"})
			if err != nil {
				t.Fatalf("go-ntlmssp NewAuthenticateMessage = %v", err)
			}
			_, done, err = c.Accept(auth)
			if tt.want == nil {
				if err != nil || !done {
					t.Fatalf("Accept(go-ntlmssp AUTHENTICATE) = done %t, %v; want true, nil", done, err)
				}
				if !strings.EqualFold(c.User(), strings.TrimPrefix(strings.TrimPrefix(tt.user, `EXAMPLE\`), `example\`)) {
					t.Errorf("User() = %q; want %q", c.User(), tt.user)
				}
				return
			}
			if !errors.Is(err, tt.want) || done {
				t.Errorf("Accept(go-ntlmssp AUTHENTICATE) = done %t, %v; want false, %v", done, err, tt.want)
			}
		})
	}
}

func TestRequireVersion(t *testing.T) {
	short := negotiate40(flagUnicode | flagNTLM)[:32] // what curl 7.88 sends
	tests := []struct {
		require bool
		msg     []byte
		want    error
	}{
		{false, short, nil},
		{true, short, ErrVersionRequired},
		{true, negotiate40(flagUnicode | flagNTLM | flagVersion), nil},
	}
	for _, tt := range tests {
		a := &Acceptor{RequireVersion: tt.require}
		_, _, err := a.NewContext().Accept(tt.msg)
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("RequireVersion=%t Accept(%d-byte NEGOTIATE) = %v; want %v", tt.require, len(tt.msg), err, tt.want)
		}
	}
}

func TestChallengeContents(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	a := &Acceptor{Now: func() time.Time { return now }, NetBIOSDomain: "CORP"}
	chal, _, err := a.NewContext().Accept(negotiate40(0xe2088297))
	if err != nil {
		t.Fatal(err)
	}
	r := wireReader{chal}
	flags, _ := r.u32(20)
	for _, f := range []uint32{flagUnicode, flagNTLM, flagTargetInfo, flagESS, flagKeyExch, flag128, flagSign, flagVersion} {
		if flags&f == 0 {
			t.Errorf("CHALLENGE flags %#08x lack %#08x", flags, f)
		}
	}
	tn, err := r.payload(12, 56)
	if err != nil || decodeUTF16(tn) != "CORP" {
		t.Errorf("TargetName = %q, %v; want CORP", decodeUTF16(tn), err)
	}
	ti, err := r.payload(40, 56)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := readAVList(ti)
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := findAV(pairs, avTimestamp)
	if !ok || binary.LittleEndian.Uint64(ts) != uint64(now.Unix()+11644473600)*10000000 {
		t.Errorf("MsvAvTimestamp = %x (present %t); want %v", ts, ok, now)
	}
	for _, id := range []uint16{avNbDomain, avNbComputer, avDNSDomain, avDNSComputer} {
		if _, ok := findAV(pairs, id); !ok {
			t.Errorf("target info lacks AvId %d", id)
		}
	}
}

func TestSequence(t *testing.T) {
	neg := negotiate40(0xe2088297)
	auth := mustHex(t, specAuthenticate)
	tests := []struct {
		name string
		msgs [][]byte
		want error
	}{
		{"authenticate first", [][]byte{auth}, ErrBadSequence},
		{"negotiate twice", [][]byte{neg, neg}, ErrBadSequence},
		{"challenge from client", [][]byte{append(append([]byte{}, magic[:]...), 2, 0, 0, 0)}, ErrMalformed},
		{"garbage", [][]byte{[]byte("hello world!")}, ErrMalformed},
		{"after failure", [][]byte{[]byte("junk"), neg}, ErrBadSequence},
	}
	for _, tt := range tests {
		c := (&Acceptor{}).NewContext()
		var err error
		for _, m := range tt.msgs {
			_, _, err = c.Accept(m)
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Accept = %v; want %v", tt.name, err, tt.want)
		}
	}
	c := (&Acceptor{}).NewContext()
	if _, err := c.GetMIC([]byte("x")); !errors.Is(err, ErrNotComplete) {
		t.Errorf("GetMIC before completion = %v; want ErrNotComplete", err)
	}
}

// FuzzAccept feeds arbitrary bytes as the first message and as the
// AUTHENTICATE after a valid NEGOTIATE. It must never panic, and a failure
// must wrap one of the package's sentinels.
func FuzzAccept(f *testing.F) {
	f.Add(mustHex(f, specAuthenticate))
	f.Add(negotiate40(0xe2088297))
	f.Add(negotiate40(0xe2088297)[:32])
	if neg, err := ntlmssp.NewNegotiateMessage("DOM", "WS"); err == nil {
		f.Add(neg)
	}
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	sentinels := []error{ErrUnknownUser, ErrWrongPassword, ErrMICMismatch, ErrMICMissing,
		ErrChannelBindingsMissing, ErrChannelBindingsMismatch, ErrTargetNameMismatch,
		ErrNotNTLMv2, ErrBadSequence, ErrMalformed, ErrVersionRequired}
	f.Fuzz(func(t *testing.T, in []byte) {
		a := &Acceptor{
			Lookup:          users(map[string]string{"User": "Password"}),
			RequireVersion:  true,
			Rand:            bytes.NewReader(mustHex(t, "0123456789abcdef")),
			ChannelBindings: &gss.ChannelBindings{ApplicationData: []byte("x")},
		}
		check := func(err error) {
			if err == nil {
				return
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Errorf("Accept error %v wraps no sentinel", err)
		}
		_, _, err := a.NewContext().Accept(in)
		check(err)
		a.Rand = bytes.NewReader(mustHex(t, "0123456789abcdef"))
		c := a.NewContext()
		if _, _, err := c.Accept(negotiate40(0xe2888235)); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Accept(in)
		check(err)
	})
}

// TestNotNTLMv2 cuts the §4.2.4.3 NT response to 24 bytes, the NTLMv1 size,
// and breaks the blob's RespType: both must be refused as not NTLMv2.
func TestNotNTLMv2(t *testing.T) {
	tests := []struct {
		name  string
		patch func([]byte)
	}{
		{"24-byte NT response", func(b []byte) { binary.LittleEndian.PutUint16(b[20:], 24); binary.LittleEndian.PutUint16(b[22:], 24) }},
		{"RespType 2", func(b []byte) { b[binary.LittleEndian.Uint32(b[24:])+16] = 2 }},
	}
	for _, tt := range tests {
		a := &Acceptor{Lookup: users(map[string]string{"User": "Password"}), Rand: bytes.NewReader(mustHex(t, "0123456789abcdef"))}
		c := a.NewContext()
		if _, _, err := c.Accept(negotiate40(0xe2888235)); err != nil {
			t.Fatal(err)
		}
		auth := mustHex(t, specAuthenticate)
		tt.patch(auth)
		if _, _, err := c.Accept(auth); !errors.Is(err, ErrNotNTLMv2) {
			t.Errorf("Accept(%s) = %v; want ErrNotNTLMv2", tt.name, err)
		}
	}
}
