package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/jcmturner/aescts/v2"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestCTSVectors checks the CBC ciphertext stealing against the test
// vectors of RFC 3962 Appendix B (AES-128, key "chicken teriyaki", zero IV).
func TestCTSVectors(t *testing.T) {
	const in = "4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20616e6420776f6e746f6e20736f75702e"
	tests := []struct {
		n   int // input length
		out string
	}{
		{17, "c6353568f2bf8cb4d8a580362da7ff7f97"},
		{31, "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5"},
		{32, "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584"},
		{47, "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5"},
		{48, "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8"},
		{64, "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8"},
	}
	b, err := aes.NewCipher([]byte("chicken teriyaki"))
	if err != nil {
		t.Fatal(err)
	}
	plain := unhex(t, in)
	for _, tt := range tests {
		p := append([]byte(nil), plain[:tt.n]...)
		ctsEncrypt(b, p, make([]byte, ctsScratch))
		if got := hex.EncodeToString(p); got != tt.out {
			t.Errorf("ctsEncrypt(%d bytes) = %s; want %s", tt.n, got, tt.out)
		}
		ctsDecrypt(b, p, make([]byte, ctsScratch))
		if !bytes.Equal(p, plain[:tt.n]) {
			t.Errorf("ctsDecrypt(ctsEncrypt(%d bytes)) = %x; want %x", tt.n, p, plain[:tt.n])
		}
	}
}

// TestCTSAgainstAESCTS compares every length from one to six blocks with
// github.com/jcmturner/aescts, gokrb5's implementation.
func TestCTSAgainstAESCTS(t *testing.T) {
	key := unhex(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	for n := 16; n <= 96; n++ {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i*7 + n)
		}
		_, want, err := aescts.Encrypt(key, make([]byte, 16), p)
		if err != nil {
			t.Fatal(err)
		}
		got := append([]byte(nil), p...)
		ctsEncrypt(b, got, make([]byte, ctsScratch))
		if !bytes.Equal(got, want) {
			t.Errorf("ctsEncrypt(%d bytes) = %x; want %x", n, got, want)
		}
		ctsDecrypt(b, got, make([]byte, ctsScratch))
		if !bytes.Equal(got, p) {
			t.Errorf("ctsDecrypt(%d bytes) = %x; want %x", n, got, p)
		}
	}
}

func testKey(tb testing.TB, etype int32) types.EncryptionKey {
	tb.Helper()
	et, err := crypto.GetEtype(etype)
	if err != nil {
		tb.Fatal(err)
	}
	kv := make([]byte, et.GetKeyByteSize())
	if _, err := rand.Read(kv); err != nil {
		tb.Fatal(err)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: kv}
}

// TestKeysAgainstGokrb5 checks Encrypt and Decrypt in both directions
// against gokrb5's EncryptMessage and DecryptMessage, which derive the
// keys themselves, for the fast AES-SHA1 path and the fallbacks.
func TestKeysAgainstGokrb5(t *testing.T) {
	etypes := []int32{
		etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		// aes256-cts-hmac-sha384-192 is left out: gokrb5 v8.4.4's own
		// EncryptMessage fails for it (a 24-byte Ke against a 32-byte check).
		etypeID.AES128_CTS_HMAC_SHA256_128,
		etypeID.RC4_HMAC,
	}
	for _, etype := range etypes {
		for _, usage := range []uint32{2, 11, 12, 22} {
			key := testKey(t, etype)
			k, err := DeriveKeys(key, usage)
			if err != nil {
				t.Fatalf("DeriveKeys(etype %d, usage %d) = %v", etype, usage, err)
			}
			for _, n := range []int{0, 1, 15, 16, 17, 100, 333} {
				msg := bytes.Repeat([]byte{byte(n)}, n)
				ct, err := k.Encrypt(msg)
				if err != nil {
					t.Fatalf("Encrypt: %v", err)
				}
				got, err := crypto.DecryptMessage(ct, key, usage)
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("etype %d usage %d: gokrb5 DecryptMessage(Encrypt(%d bytes)) = %x, %v; want %x", etype, usage, n, got, err, msg)
				}
				ed, err := crypto.GetEncryptedData(msg, key, usage, 0)
				if err != nil {
					t.Fatal(err)
				}
				got, err = k.Decrypt(ed.Cipher)
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("etype %d usage %d: Decrypt(gokrb5 EncryptMessage(%d bytes)) = %x, %v; want %x", etype, usage, n, got, err, msg)
				}
				// A flipped bit anywhere must fail the integrity check.
				for _, i := range []int{0, len(ed.Cipher) / 2, len(ed.Cipher) - 1} {
					bad := append([]byte(nil), ed.Cipher...)
					bad[i] ^= 1
					if _, err := k.Decrypt(bad); err == nil {
						t.Errorf("etype %d usage %d: Decrypt with byte %d of %d altered = nil error; want one", etype, usage, i, len(bad))
					}
				}
			}
			// Another usage's keys must not decrypt.
			other, err := DeriveKeys(key, usage+1)
			if err != nil {
				t.Fatal(err)
			}
			ct, _ := k.Encrypt([]byte("hello"))
			if _, err := other.Decrypt(ct); err == nil && etype != etypeID.RC4_HMAC {
				t.Errorf("etype %d: usage %d decrypted a usage %d ciphertext", etype, usage+1, usage)
			}
		}
	}
}

func TestDecryptShort(t *testing.T) {
	k, err := DeriveKeys(testKey(t, etypeID.AES256_CTS_HMAC_SHA1_96), 11)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 27} {
		if _, err := k.Decrypt(make([]byte, n)); err == nil {
			t.Errorf("Decrypt(%d bytes) = nil error; want one", n)
		}
	}
}

func TestKeyCache(t *testing.T) {
	var c KeyCache
	key := testKey(t, etypeID.AES256_CTS_HMAC_SHA1_96)
	a, err := c.Get(key, 11)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Get(key, 11)
	if a != b {
		t.Errorf("Get twice for one key and usage gave two Keys; want one")
	}
	if d, _ := c.Get(key, 12); d == a {
		t.Errorf("Get for usage 12 gave the usage 11 keys")
	}
	key2 := types.EncryptionKey{KeyType: etypeID.AES128_CTS_HMAC_SHA1_96, KeyValue: key.KeyValue[:16]}
	if d, _ := c.Get(key2, 11); d == a || d.EType() != key2.KeyType {
		t.Errorf("Get for another key gave the first key's Keys")
	}
	for i := 0; i < maxCachedKeys+10; i++ {
		if _, err := c.Get(testKey(t, etypeID.AES128_CTS_HMAC_SHA1_96), 11); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.m); n > maxCachedKeys {
		t.Errorf("cache holds %d keys; want at most %d", n, maxCachedKeys)
	}
	if _, err := c.Get(types.EncryptionKey{KeyType: 18, KeyValue: []byte{1, 2}}, 11); err == nil {
		t.Errorf("Get with a 2-byte AES256 key = nil error; want one")
	}
}

func authenticators() []types.Authenticator {
	base := types.Authenticator{
		AVNO:   5,
		CRealm: "EXAMPLE.TEST",
		CName:  types.NewPrincipalName(1, "alice"),
		Cusec:  123456,
		CTime:  time.Date(2026, 11, 23, 22, 30, 5, 0, time.UTC),
	}
	full := base
	full.Cksum = types.Checksum{CksumType: 0x8003, Checksum: bytes.Repeat([]byte{0xab}, 24)}
	full.SubKey = types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)}
	full.SeqNumber = 1<<30 - 1
	full.AuthorizationData = types.AuthorizationData{{ADType: 1, ADData: bytes.Repeat([]byte{1}, 200)}}
	neg := full
	neg.SeqNumber = 127
	neg.Cusec = 0
	neg.CName = types.NewPrincipalName(1, "a-much-longer-user-name/with-an-instance")
	neg.Cksum.Checksum = bytes.Repeat([]byte{0}, 300) // long lengths
	return []types.Authenticator{base, full, neg}
}

func TestAuthenticatorAgainstGokrb5(t *testing.T) {
	for i, a := range authenticators() {
		want, err := a.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if got := Authenticator(&a); !bytes.Equal(got, want) {
			t.Errorf("Authenticator(#%d) = %x; want %x", i, got, want)
		}
	}
}

func TestAPReqAgainstGokrb5(t *testing.T) {
	tkt := messages.Ticket{
		TktVNO: 5,
		Realm:  "EXAMPLE.TEST",
		SName:  types.NewPrincipalName(2, "HTTP/www.example.test"),
		EncPart: types.EncryptedData{
			EType: 18, KVNO: 2, Cipher: bytes.Repeat([]byte{0x5a}, 180),
		},
	}
	tder, err := tkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, mutual := range []bool{false, true} {
		for _, kvno := range []int{0, 2} {
			req := messages.APReq{
				PVNO: 5, MsgType: 14, APOptions: types.NewKrbFlags(), Ticket: tkt,
				EncryptedAuthenticator: types.EncryptedData{EType: 18, KVNO: kvno, Cipher: bytes.Repeat([]byte{0xc3}, 150)},
			}
			var opts uint32
			if mutual {
				types.SetFlag(&req.APOptions, flags.APOptionMutualRequired)
				opts = 0x20000000
			}
			want, err := req.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got := APReq(opts, tder, req.EncryptedAuthenticator)
			if !bytes.Equal(got, want) {
				t.Errorf("APReq(mutual %v, kvno %d) = %x; want %x", mutual, kvno, got, want)
			}
			var back messages.APReq
			if err := back.Unmarshal(got); err != nil || !types.IsFlagSet(&back.APOptions, flags.APOptionMutualRequired) != !mutual {
				t.Errorf("APReq(mutual %v) does not decode back: %v", mutual, err)
			}
		}
	}
}

func TestAPRepAgainstGokrb5(t *testing.T) {
	type apRep struct {
		PVNO    int                 `asn1:"explicit,tag:0"`
		MsgType int                 `asn1:"explicit,tag:1"`
		EncPart types.EncryptedData `asn1:"explicit,tag:2"`
	}
	parts := []EncAPRepPart{
		{CTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Cusec: 999999},
		{CTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Cusec: 1,
			Subkey: types.EncryptionKey{KeyType: 17, KeyValue: bytes.Repeat([]byte{9}, 16)}, SeqNumber: 12345678},
	}
	for i, p := range parts {
		m := messages.EncAPRepPart{CTime: p.CTime, Cusec: p.Cusec, Subkey: p.Subkey, SequenceNumber: p.SeqNumber}
		want, err := asn1.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want = asn1tools.AddASNAppTag(want, asnAppTag.EncAPRepPart)
		got := p.Marshal()
		if !bytes.Equal(got, want) {
			t.Errorf("EncAPRepPart #%d = %x; want %x", i, got, want)
		}
		var back messages.EncAPRepPart
		if err := back.Unmarshal(got); err != nil || !back.CTime.Equal(p.CTime) || back.Cusec != p.Cusec || back.SequenceNumber != p.SeqNumber {
			t.Errorf("EncAPRepPart #%d decodes to %+v, %v", i, back, err)
		}
	}
	ed := types.EncryptedData{EType: 18, Cipher: bytes.Repeat([]byte{1}, 140)}
	want, err := asn1.Marshal(apRep{PVNO: 5, MsgType: 15, EncPart: ed})
	if err != nil {
		t.Fatal(err)
	}
	want = asn1tools.AddASNAppTag(want, asnAppTag.APREP)
	if got := APRep(ed); !bytes.Equal(got, want) {
		t.Errorf("APRep = %x; want %x", got, want)
	}
}

func TestInteger(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, -1, -128, -129, 1 << 31, -1 << 31, 1<<63 - 1, -1 << 63} {
		want, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var e encoder
		e.integer(v)
		if !bytes.Equal(e.b, want) {
			t.Errorf("integer(%d) = %x; want %x", v, e.b, want)
		}
	}
}

func TestLongLengths(t *testing.T) {
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536, 1 << 20} {
		want, err := asn1.Marshal(make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		var e encoder
		e.primitive(tagOctetString, make([]byte, n))
		if !bytes.Equal(e.b, want) {
			t.Errorf("octet string of %d bytes: header %x; want %x", n, e.b[:min(8, len(e.b))], want[:min(8, len(want))])
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	key := testKey(b, etypeID.AES256_CTS_HMAC_SHA1_96)
	msg := make([]byte, 200)
	k, _ := DeriveKeys(key, 11)
	for _, impl := range []string{"wire", "gokrb5"} {
		b.Run(fmt.Sprintf("impl=%s", impl), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if impl == "wire" {
					k.Encrypt(msg)
				} else {
					crypto.GetEncryptedData(msg, key, 11, 0)
				}
			}
		})
	}
}

// TestKeysConcurrent uses one Keys from several goroutines (run with
// -race): the keyed HMAC prototype is shared and must never be written.
func TestKeysConcurrent(t *testing.T) {
	key := testKey(t, etypeID.AES256_CTS_HMAC_SHA1_96)
	k, err := DeriveKeys(key, 11)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 50; i++ {
				msg := []byte(fmt.Sprintf("message %d", i))
				ct, err := k.Encrypt(msg)
				if err == nil {
					var got []byte
					got, err = crypto.DecryptMessage(ct, key, 11)
					if err == nil && !bytes.Equal(got, msg) {
						err = fmt.Errorf("round trip gave %q; want %q", got, msg)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
