package ntlm

// Known-answer tests from MS-NLMP §4.2.4 (NTLMv2 authentication) and
// §4.2.4.4 (GSS_WrapEx with extended session security and key exchange).

import (
	"bytes"
	"crypto/rc4"
	"encoding/hex"
	"testing"
	"time"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// The §4.2.4 example's inputs.
const (
	katUser     = "User"
	katDomain   = "Domain"
	katPassword = "Password"
	katServerCh = "0123456789abcdef"
	katClientCh = "aaaaaaaaaaaaaaaa"
	// §4.2.4.1.3: AV pairs NbDomainName "Domain", NbComputerName "Server", EOL.
	katTargetInfo = "02000c0044006f006d00610069006e0001000c005300650072007600650072000000" + "0000"
	// §4.2.4.3: the CHALLENGE_MESSAGE.
	katChallenge = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef" +
		"00000000000000002400240044000000060070170000000f" +
		"530065007200760065007200" + katTargetInfo
)

func TestNTHashAndNTOWFv2KnownAnswers(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"NTHash(Password)", NTHash(katPassword), "a4f49c406510bdcab6824ee7c30fd852"},                     // §4.2.2.1.2
		{"NTOWFv2", NTOWFv2(NTHash(katPassword), katUser, katDomain), "0c868a403bfd7a93a3001ef22ef02e3f"}, // §4.2.4.1.1
		{"NTOWFv2 user case", NTOWFv2(NTHash(katPassword), "uSeR", katDomain), "0c868a403bfd7a93a3001ef22ef02e3f"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(tt.got); got != tt.want {
			t.Errorf("%s = %s; want %s", tt.name, got, tt.want)
		}
	}
	// The domain is case-sensitive in NTOWFv2.
	if bytes.Equal(NTOWFv2(NTHash(katPassword), katUser, "DOMAIN"), NTOWFv2(NTHash(katPassword), katUser, katDomain)) {
		t.Errorf("NTOWFv2 ignores the case of the domain; MS-NLMP §3.3.2 upper-cases only the user")
	}
}

func TestNTLMv2KnownAnswers(t *testing.T) {
	key := NTOWFv2(NTHash(katPassword), katUser, katDomain)
	sc, cc := unhex(t, katServerCh), unhex(t, katClientCh)
	temp := ntlmv2Temp(make([]byte, 8), cc, unhex(t, katTargetInfo))
	// §4.2.4.2.2: temp as the spec lists it.
	wantTemp := "01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000" + katTargetInfo + "00000000"
	if got := hex.EncodeToString(temp); got != wantTemp {
		t.Errorf("ntlmv2Temp = %s; want %s", got, wantTemp)
	}
	resp, sbk := ntlmv2Response(key, sc, temp)
	if got, want := hex.EncodeToString(resp[:16]), "68cd0ab851e51c96aabc927bebef6a1c"; got != want {
		t.Errorf("NTProofStr = %s; want %s", got, want)
	}
	if !bytes.Equal(resp[16:], temp) {
		t.Errorf("NTLMv2 response does not end with temp")
	}
	if got, want := hex.EncodeToString(sbk), "8de40ccadbc14a82f15cb0ad0de95ca3"; got != want { // §4.2.4.1.2
		t.Errorf("SessionBaseKey = %s; want %s", got, want)
	}
	if got, want := hex.EncodeToString(lmv2Response(key, sc, cc)), "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"; got != want { // §4.2.4.2.1
		t.Errorf("LMv2 response = %s; want %s", got, want)
	}
	exported := bytes.Repeat([]byte{0x55}, 16)
	if got, want := hex.EncodeToString(rc4Once(sbk, exported)), "c5dad2544fc9799094ce1ce90bc9d03e"; got != want { // §4.2.4.2.3
		t.Errorf("EncryptedRandomSessionKey = %s; want %s", got, want)
	}
}

// TestSessionSecurityKnownAnswers checks §4.2.4.4: the client's keys, and the
// signature of "Plaintext" after the same RC4 handle sealed it, in both
// directions (the server's values are from the same section).
func TestSessionSecurityKnownAnswers(t *testing.T) {
	exported := bytes.Repeat([]byte{0x55}, 16)
	flags := uint32(0xe28a8233) // the §4.2.4 challenge flags
	if got, want := hex.EncodeToString(signKey(exported, true)), "4788dc861b4782f35d43fd98fe1a2d39"; got != want {
		t.Errorf("client signing key = %s; want %s", got, want)
	}
	if got, want := hex.EncodeToString(sealKey(exported, flags, true)), "59f600973cc4960a25480a7c196e4c58"; got != want {
		t.Errorf("client sealing key = %s; want %s", got, want)
	}
	plaintext := utf16le("Plaintext")
	tests := []struct {
		client     bool
		sealed     string
		wantSigHex string
	}{
		{true, "54e50165bf1936dc996020c1811b0f06fb5f", "010000007fb38ec5c55d497600000000"},
		{false, "160871b730ba74e946c453d7465b54278dd0", "01000000b298b847ce7c580700000000"},
	}
	for _, tt := range tests {
		h, _ := rc4.NewCipher(sealKey(exported, flags, tt.client))
		sealed := make([]byte, len(plaintext))
		h.XORKeyStream(sealed, plaintext) // sealing is RC4 on the same handle (§3.4.3)
		if got := hex.EncodeToString(sealed); got != tt.sealed {
			t.Errorf("client=%t sealed = %s; want %s", tt.client, got, tt.sealed)
		}
		sig := macESS(signKey(exported, tt.client), h, true, 0, plaintext)
		if got := hex.EncodeToString(sig); got != tt.wantSigHex {
			t.Errorf("client=%t macESS = %s; want %s", tt.client, got, tt.wantSigHex)
		}
	}
}

func TestSealKeyStrength(t *testing.T) {
	k := bytes.Repeat([]byte{0x55}, 16)
	a, b, c := sealKey(k, Negotiate128, true), sealKey(k, Negotiate56, true), sealKey(k, 0, true)
	if bytes.Equal(a, b) || bytes.Equal(b, c) || bytes.Equal(a, c) {
		t.Errorf("sealKey does not depend on the negotiated strength")
	}
}

func TestFileTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want uint64
	}{
		{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Unix(0, 0), 116444736000000000},
		// davenport.sourceforge.net: 2003-06-17 10:00 UTC is 0x01c334b736d39000.
		{time.Unix(1055844000, 0), 0x01c334b736d39000},
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), 0},
	}
	for _, tt := range tests {
		if got := fileTime(tt.t); got != tt.want {
			t.Errorf("fileTime(%v) = %#x; want %#x", tt.t, got, tt.want)
		}
		if tt.want != 0 {
			if back := fromFileTime(tt.want); !back.Equal(tt.t) {
				t.Errorf("fromFileTime(%#x) = %v; want %v", tt.want, back, tt.t)
			}
		}
	}
}

// TestChallengeKnownMessage parses the §4.2.4.3 CHALLENGE and answers it
// with the example's client challenge: the LMv2 response (which does not
// depend on our AV pairs) must match the spec's.
func TestChallengeKnownMessage(t *testing.T) {
	ch, err := parseChallenge(unhex(t, katChallenge))
	if err != nil {
		t.Fatalf("parseChallenge(§4.2.4.3) = %v", err)
	}
	if ch.flags != 0xe28a8233 || hex.EncodeToString(ch.serverChallenge) != katServerCh {
		t.Errorf("parseChallenge: flags %#x challenge %x; want 0xe28a8233 %s", ch.flags, ch.serverChallenge, katServerCh)
	}
	if got := fromUTF16LE(ch.targetName); got != "Server" {
		t.Errorf("target name = %q; want %q", got, "Server")
	}
	if len(ch.pairs) != 2 || ch.pairs[0].id != AvNbDomainName || ch.pairs[1].id != AvNbComputerName {
		t.Errorf("target info pairs = %v; want NbDomainName, NbComputerName", ch.pairs)
	}
}
