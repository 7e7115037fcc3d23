package ntlm

// Tests of the client's validation, sequencing and CHALLENGE handling, and
// fuzz tests of every parser.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/internal/gss"
)

func TestNewClientValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"password", Config{User: "u", Password: "p"}, true},
		{"hash", Config{User: "u", NTHash: make([]byte, 16)}, true},
		{"no user", Config{Password: "p"}, false},
		{"no secret", Config{User: "u"}, false},
		{"both", Config{User: "u", Password: "p", NTHash: make([]byte, 16)}, false},
		{"short hash", Config{User: "u", NTHash: make([]byte, 15)}, false},
		{"empty hash", Config{User: "u", NTHash: []byte{}}, false},
	}
	for _, tt := range tests {
		_, err := NewClient(tt.cfg)
		if tt.ok != (err == nil) {
			t.Errorf("NewClient(%s) = %v; want ok=%t", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, gss.ErrNoCredentials) {
			t.Errorf("NewClient(%s) = %v; want it to wrap ErrNoCredentials", tt.name, err)
		}
	}
}

// fixedRand returns the §4.2.4 client challenge, then the random session
// key, then zeros.
func fixedRand() *bytes.Reader {
	return bytes.NewReader(append(bytes.Repeat([]byte{0xaa}, 8), bytes.Repeat([]byte{0x55}, 16)...))
}

func katClient(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(Config{User: katUser, Domain: katDomain, Password: katPassword, Workstation: "COMPUTER",
		Rand: fixedRand(), Now: func() time.Time { return time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStepSpecChallenge answers the §4.2.4.3 CHALLENGE, which has no
// MsvAvTimestamp: no MIC, the LMv2 response of §4.2.4.2.1, the blob time
// from Now, and a key exchange.
func TestStepSpecChallenge(t *testing.T) {
	c := katClient(t)
	ctx := context.Background()
	if _, _, err := c.Step(ctx, nil); err != nil {
		t.Fatal(err)
	}
	auth, cont, err := c.Step(ctx, unhex(t, katChallenge))
	if err != nil || cont {
		t.Fatalf("Step(§4.2.4.3 CHALLENGE) = continue %t, %v; want false, nil", cont, err)
	}
	m, err := Describe(auth)
	if err != nil {
		t.Fatal(err)
	}
	if m.MICPresent || m.LMResponseZero || !m.SessionKeyExchanged || m.BlobTime.Year() != 1601 {
		t.Errorf("Describe(AUTHENTICATE) = MIC %t LMzero %t keyexch %t time %v; want false false true 1601",
			m.MICPresent, m.LMResponseZero, m.SessionKeyExchanged, m.BlobTime)
	}
	lmOff := binary.LittleEndian.Uint32(auth[16:])
	if got := auth[lmOff : lmOff+24]; !bytes.Equal(got, unhex(t, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")) {
		t.Errorf("LmChallengeResponse = %x; want the §4.2.4.2.1 LMv2 response", got)
	}
	if !bytes.Equal(c.SessionKey(), bytes.Repeat([]byte{0x55}, 16)) {
		t.Errorf("SessionKey() = %x; want the random session key", c.SessionKey())
	}
	// No SEAL: the spec challenge offers it, but we did not ask.
	if f := c.NegotiatedFlags(); f&NegotiateSeal != 0 || f&NegotiateKeyExch == 0 {
		t.Errorf("NegotiatedFlags() = %v", FlagNames(f))
	}
	if _, _, err := c.Step(ctx, unhex(t, katChallenge)); err == nil {
		t.Errorf("third Step = nil error; want an error")
	}
}

// challengeWith builds a CHALLENGE with the given flags and AV pairs.
func challengeWith(flags uint32, pairs ...avPair) []byte {
	var ti []byte
	for _, p := range pairs {
		ti = appendAVPair(ti, p.id, p.value)
	}
	ti = appendAVPair(ti, AvEOL, nil)
	b := make([]byte, 56)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], typeChallenge)
	binary.LittleEndian.PutUint32(b[20:], flags)
	copy(b[24:32], "\x01\x23\x45\x67\x89\xab\xcd\xef")
	binary.LittleEndian.PutUint16(b[40:], uint16(len(ti)))
	binary.LittleEndian.PutUint16(b[42:], uint16(len(ti)))
	binary.LittleEndian.PutUint32(b[44:], 56)
	return append(b, ti...)
}

func TestStepBadChallenges(t *testing.T) {
	names := []avPair{{AvNbComputerName, utf16le("S")}, {AvNbDomainName, utf16le("D")}}
	good := challengeWith(0xe2898215, names...)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, gss.ErrMalformedToken},
		{"garbage", []byte("not ntlm at all, really"), gss.ErrMalformedToken},
		{"negotiate", negotiateMessage(ourFlags), gss.ErrMalformedToken},
		{"truncated", good[:30], gss.ErrMalformedToken},
		{"target info out of range", func() []byte { b := bytes.Clone(good); b[44] = 0xff; return b }(), gss.ErrMalformedToken},
		{"AV pair overrun", func() []byte { b := bytes.Clone(good); b[58] = 0xff; return b }(), gss.ErrMalformedToken},
		{"no EOL", good[:len(good)-4], gss.ErrMalformedToken},
		{"bad timestamp", challengeWith(0xe2898215, append(names, avPair{AvTimestamp, []byte{1, 2, 3}})...), gss.ErrMalformedToken},
		{"no names", challengeWith(0xe2898215), gss.ErrUnsupportedMech},
		{"OEM only", challengeWith(0xe2898216, names...), gss.ErrUnsupportedMech},
	}
	for _, tt := range tests {
		c := katClient(t)
		c.Step(context.Background(), nil)
		_, _, err := c.Step(context.Background(), tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("Step(%s) = %v; want %v", tt.name, err, tt.want)
		}
		if _, _, err := c.Step(context.Background(), good); err == nil {
			t.Errorf("Step after failed Step(%s) = nil error; want an error", tt.name)
		}
	}
	// The well-formed one works.
	c := katClient(t)
	c.Step(context.Background(), nil)
	if _, _, err := c.Step(context.Background(), good); err != nil {
		t.Errorf("Step(good CHALLENGE) = %v", err)
	}
}

// TestServerAVPairsKept checks that the server's pairs are copied in order,
// its MsvAvFlags merged into ours rather than duplicated, and any
// MsvAvTargetName or MsvAvChannelBindings it sent replaced by ours.
func TestServerAVPairsKept(t *testing.T) {
	ts := binary.LittleEndian.AppendUint64(nil, 133000000000000000)
	chal := challengeWith(0xe2898215,
		avPair{AvNbDomainName, utf16le("D")}, avPair{AvNbComputerName, utf16le("S")},
		avPair{AvDNSDomainName, nil}, // Samba sends an empty DnsDomainName
		avPair{AvFlags, []byte{1, 0, 0, 0}}, avPair{AvTimestamp, ts},
		avPair{AvTargetName, utf16le("bogus")}, avPair{AvChannelBindings, bytes.Repeat([]byte{9}, 16)},
		avPair{42, []byte("future")})
	c := katClient(t)
	c.targetName = "HTTP/h"
	c.Step(context.Background(), nil)
	auth, _, err := c.Step(context.Background(), chal)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Describe(auth)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint16
	for _, p := range m.AVPairs {
		ids = append(ids, p.ID)
		switch p.ID {
		case AvFlags:
			if p.Flags != 3 {
				t.Errorf("MsvAvFlags = %#x; want 0x3 (server's 0x1 plus MIC)", p.Flags)
			}
		case AvTargetName:
			if p.Text != "HTTP/h" {
				t.Errorf("MsvAvTargetName = %q; want HTTP/h", p.Text)
			}
		case AvChannelBindings:
			if !allZero(p.Value) {
				t.Errorf("MsvAvChannelBindings = %x; want zeros", p.Value)
			}
		case AvTimestamp:
			if !bytes.Equal(p.Value, ts) {
				t.Errorf("MsvAvTimestamp = %x; want the server's %x", p.Value, ts)
			}
		}
	}
	want := []uint16{AvNbDomainName, AvNbComputerName, AvDNSDomainName, AvTimestamp, 42, AvFlags, AvChannelBindings, AvTargetName}
	if !equalIDs(ids, want) {
		t.Errorf("blob AV pair ids = %v; want %v", ids, want)
	}
	if !m.BlobTime.Equal(fromFileTime(133000000000000000)) {
		t.Errorf("blob time = %v; want the server's timestamp", m.BlobTime)
	}
}

func equalIDs(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMICBeforeCompletion(t *testing.T) {
	c := katClient(t)
	if _, err := c.GetMIC([]byte("x")); err == nil {
		t.Errorf("GetMIC before completion = nil error")
	}
	if err := c.VerifyMIC([]byte("x"), make([]byte, 16)); err == nil {
		t.Errorf("VerifyMIC before completion = nil error")
	}
	if c.SessionKey() != nil {
		t.Errorf("SessionKey before completion = %x; want nil", c.SessionKey())
	}
}

func TestStepInputBeforeNegotiate(t *testing.T) {
	c := katClient(t)
	if _, _, err := c.Step(context.Background(), []byte("x")); !errors.Is(err, gss.ErrMalformedToken) {
		t.Errorf("Step(token) as first call = %v; want ErrMalformedToken", err)
	}
}

func seedChallenges(f *testing.F) {
	f.Add(unhexF(f, katChallenge))
	f.Add(challengeWith(0xe2898215, avPair{AvNbComputerName, utf16le("S")}, avPair{AvNbDomainName, utf16le("D")},
		avPair{AvTimestamp, make([]byte, 8)}))
	f.Add(challengeWith(0xe2898215))
	f.Add([]byte(signature + "\x02\x00\x00\x00"))
}

func unhexF(f *testing.F, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzStep answers arbitrary CHALLENGE bytes. It must never panic, and every
// failure must wrap a gss sentinel.
func FuzzStep(f *testing.F) {
	seedChallenges(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		c, _ := NewClient(Config{User: "u", Password: "p", Rand: bytes.NewReader(make([]byte, 64)),
			ChannelBindings: &gss.ChannelBindings{ApplicationData: []byte("x")}, TargetName: "HTTP/h"})
		c.Step(context.Background(), nil)
		out, _, err := c.Step(context.Background(), in)
		if err != nil {
			if !errors.Is(err, gss.ErrMalformedToken) && !errors.Is(err, gss.ErrUnsupportedMech) {
				t.Errorf("Step(fuzz) = %v; want a wrapped sentinel", err)
			}
			return
		}
		// What we produce must decode.
		if _, err := Describe(out); err != nil {
			t.Errorf("Describe(our AUTHENTICATE) = %v", err)
		}
	})
}

// FuzzDescribe decodes arbitrary bytes; it must never panic.
func FuzzDescribe(f *testing.F) {
	seedChallenges(f)
	f.Add(negotiateMessage(ourFlags))
	f.Add(negotiateMessage(ourFlags)[:32])
	c, err := NewClient(Config{User: katUser, Domain: katDomain, Password: katPassword, Rand: fixedRand()})
	if err != nil {
		f.Fatal(err)
	}
	c.Step(context.Background(), nil)
	if auth, _, err := c.Step(context.Background(), unhexF(f, katChallenge)); err == nil {
		f.Add(auth)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Describe(in)
		if err != nil {
			if !errors.Is(err, gss.ErrMalformedToken) {
				t.Errorf("Describe(fuzz) = %v; want ErrMalformedToken", err)
			}
			return
		}
		_ = m.String()
	})
}
