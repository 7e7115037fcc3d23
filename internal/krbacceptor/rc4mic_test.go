// Tests of the acceptor's RFC 4757 MIC tokens, against tokens built by hand
// in the test from the RFC's formulas.

package krbacceptor

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/jcmturner/gokrb5/v8/types"
)

// handMIC builds a framed RFC 4757 §7.2 MIC token step by step, without
// the package's code: direction is 0 for the initiator, 0xffffffff for the
// acceptor.
func handMIC(t *testing.T, key []byte, seq, direction uint32, msg []byte) []byte {
	t.Helper()
	hmacMD5 := func(k []byte, parts ...[]byte) []byte {
		m := hmac.New(md5.New, k)
		for _, p := range parts {
			m.Write(p)
		}
		return m.Sum(nil)
	}
	hdr := []byte{0x01, 0x01, 0x11, 0x00, 0xff, 0xff, 0xff, 0xff}
	ksign := hmacMD5(key, []byte("signaturekey\x00"))
	inner := md5.Sum(append(append([]byte{15, 0, 0, 0}, hdr...), msg...))
	cksum := hmacMD5(ksign, inner[:])[:8]
	sndSeq := binary.BigEndian.AppendUint32(nil, seq)
	sndSeq = binary.BigEndian.AppendUint32(sndSeq, direction)
	c, err := rc4.NewCipher(hmacMD5(hmacMD5(key, []byte{0, 0, 0, 0}), cksum))
	if err != nil {
		t.Fatal(err)
	}
	c.XORKeyStream(sndSeq, sndSeq)
	tok := append(append(hdr, sndSeq...), cksum...)
	return frameByHand(t, tok[:2], tok[2:])
}

func TestRC4MIC(t *testing.T) {
	kt := serviceKeytab(t, "pw")
	for _, tc := range []struct {
		name     string
		mutual   bool
		noSubkey bool
	}{
		{"mutual", true, false},
		{"no mutual", false, false},
		{"session key", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Acceptor{Keytab: kt, SPN: spn}
			b := build(t, tokenSpec{kt: kt, mutual: tc.mutual, etype: 23, noSubkey: tc.noSubkey})
			reply, res, err := a.Accept(b.token)
			if err != nil {
				t.Fatal(err)
			}
			key := b.auth.SubKey.KeyValue
			if tc.noSubkey {
				key = b.session.KeyValue
			}
			seq := uint32(b.auth.SeqNumber)
			if tc.mutual {
				checkAPRep(t, reply, b) // no acceptor subkey
				seq = uint32(res.acceptSeq)
			}
			msg := []byte("mechTypes list")
			for n := range 2 {
				mic, err := res.GetMIC(msg)
				if err != nil {
					t.Fatal(err)
				}
				if want := handMIC(t, key, seq+uint32(n), 0xffffffff, msg); !bytes.Equal(mic, want) {
					t.Errorf("GetMIC %d = %x; want %x", n, mic, want)
				}
			}
			tests := []struct {
				name string
				msg  []byte
				mic  []byte
				ok   bool
			}{
				{"initiator token", msg, handMIC(t, key, 1234, 0, msg), true},
				{"any sequence number", msg, handMIC(t, key, 0x3fffffff, 0, msg), true},
				{"altered message", []byte("mechTypes lisT"), handMIC(t, key, 1234, 0, msg), false},
				{"acceptor direction", msg, handMIC(t, key, 1234, 0xffffffff, msg), false},
				{"other direction bytes", msg, handMIC(t, key, 1234, 1, msg), false},
				{"wrong key", msg, handMIC(t, bytes.Repeat([]byte{7}, 16), 1234, 0, msg), false},
				{"RFC 4121 token", msg, append([]byte{4, 4, 0, 0xff, 0xff, 0xff, 0xff, 0xff}, make([]byte, 20)...), false},
				{"truncated", msg, handMIC(t, key, 1234, 0, msg)[:30], false},
			}
			for _, tt := range tests {
				err := res.VerifyMIC(tt.msg, tt.mic)
				if (err == nil) != tt.ok {
					t.Errorf("VerifyMIC(%s) = %v; want ok=%v", tt.name, err, tt.ok)
				}
			}
		})
	}
}

// TestRC4MICMITVector reproduces byte for byte a MIC token MIT krb5 1.20's
// gss_get_mic made as the acceptor of an RC4-HMAC context whose initiator
// subkey was key (recorded by internal/krb's TestMITRC4MIC).
func TestRC4MICMITVector(t *testing.T) {
	key, _ := hex.DecodeString("77cbba517a5a097c9264c921d43768be")
	msg, _ := hex.DecodeString("3018060a2b06010401823702020a06092a864886f712010202")
	want, _ := hex.DecodeString("602306092a864886f71201020201011100ffffffff9bba92e273b74cc50eeb9b5644a865ed")
	r := &Result{
		sessionKey: types.EncryptionKey{KeyType: 23, KeyValue: bytes.Repeat([]byte{1}, 16)},
		initSubkey: types.EncryptionKey{KeyType: 23, KeyValue: key},
		acceptSeq:  196776992,
	}
	got, err := r.GetMIC(msg)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("GetMIC = %x, %v; want MIT's %x", got, err, want)
	}
}
