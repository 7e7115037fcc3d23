// Fuzz targets for the parts of package wire that read a server's bytes:
// the AP-REP, its decrypted EncAPRepPart, and the decryption itself with
// every enctype a session key may have.

package wire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// FuzzParseAPRep checks that whatever ParseAPRep accepts, gokrb5 accepts
// too, with the same value.
func FuzzParseAPRep(f *testing.F) {
	f.Add(APRep(types.EncryptedData{EType: 18, Cipher: bytes.Repeat([]byte{1}, 140)}))
	f.Add(APRep(types.EncryptedData{EType: 23, KVNO: 3, Cipher: []byte{2}}))
	f.Add(apReqs(f)[0])
	f.Fuzz(func(t *testing.T, b []byte) {
		var got messages.APRep
		if !ParseAPRep(b, &got) {
			return
		}
		var want messages.APRep
		if err := want.Unmarshal(b); err != nil {
			t.Fatalf("ParseAPRep accepted %x, gokrb5 refused it: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseAPRep(%x) = %+v; gokrb5 %+v", b, got, want)
		}
	})
}

// FuzzParseEncAPRepPart is FuzzParseAPRep for EncAPRepPart.
func FuzzParseEncAPRepPart(f *testing.F) {
	for _, b := range encAPRepParts(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got messages.EncAPRepPart
		if !ParseEncAPRepPart(b, &got) {
			return
		}
		var want messages.EncAPRepPart
		if err := want.Unmarshal(b); err != nil {
			t.Fatalf("ParseEncAPRepPart accepted %x, gokrb5 refused it: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseEncAPRepPart(%x) = %+v; gokrb5 %+v", b, got, want)
		}
	})
}

// fuzzKeys returns a session key of every enctype a KDC may choose, of
// the size gokrb5 wants for it. aes256-cts-hmac-sha384-192 (20) is left
// out: gokrb5 v8.4.4 gives its key size as 24 bytes and then refuses to
// encrypt with a key that is not 32, so no session key of it can be used.
func fuzzKeys(tb testing.TB) []types.EncryptionKey {
	tb.Helper()
	var out []types.EncryptionKey
	for _, e := range []int32{17, 18, 19, 23, 16} {
		et, err := crypto.GetEtype(e)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, types.EncryptionKey{KeyType: e, KeyValue: bytes.Repeat([]byte{byte(e)}, et.GetKeyByteSize())})
	}
	return out
}

// FuzzDecrypt decrypts ciphertexts of any length with each enctype: it
// must fail or give back what Encrypt was given, never panic.
func FuzzDecrypt(f *testing.F) {
	keys := fuzzKeys(f)
	for i, k := range keys {
		dk, err := DeriveKeys(k, keyusage.AP_REP_ENCPART)
		if err != nil {
			f.Fatal(err)
		}
		for _, msg := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("m"), 40)} {
			ct, err := dk.Encrypt(msg)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), ct)
		}
		f.Add(uint8(i), []byte{})
	}
	f.Fuzz(func(t *testing.T, which uint8, ct []byte) {
		k := keys[int(which)%len(keys)]
		dk, err := DeriveKeys(k, keyusage.AP_REP_ENCPART)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := dk.Decrypt(ct)
		if err != nil {
			return
		}
		ct2, err := dk.Encrypt(plain)
		if err != nil {
			t.Fatalf("Encrypt(Decrypt(%x)) with enctype %d: %v", ct, k.KeyType, err)
		}
		if back, err := dk.Decrypt(ct2); err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("Decrypt(Encrypt(%x)) with enctype %d = %x, %v", plain, k.KeyType, back, err)
		}
	})
}

// TestDecryptShortCiphertexts replays the crasher FuzzDecrypt found:
// gokrb5 v8.4.4's rfc8009.DecryptMessage panics (slice bounds out of range
// [:-16]) on a ciphertext shorter than its confounder and checksum, and a
// server chooses the length of the AP-REP it sends. Every enctype must
// refuse such ciphertexts with an error.
func TestDecryptShortCiphertexts(t *testing.T) {
	tests := []struct {
		etype int32
		ct    string // hex
	}{
		{19, ""}, // the crasher
		{19, "00112233445566778899aabbccddeeff"},
		{19, "00112233445566778899aabbccddeeff0011223344556677"},
		{17, ""},
		{18, "00"},
		{23, ""},
		{23, "00112233"},
		{16, ""},
	}
	keys := fuzzKeys(t)
	for _, tt := range tests {
		ct, err := hex.DecodeString(tt.ct)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.KeyType != tt.etype {
				continue
			}
			dk, err := DeriveKeys(k, keyusage.AP_REP_ENCPART)
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := dk.Decrypt(ct); err == nil {
				t.Errorf("Decrypt(%x) with enctype %d = %x, nil; want an error", ct, tt.etype, plain)
			}
		}
	}
}
