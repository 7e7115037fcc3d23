// Tests of the RFC 4757 MIC tokens of RC4-HMAC contexts: against the
// acceptor in internal/krbacceptor (written separately), against gokrb5's
// RFC 4757 checksum, and against tokens MIT krb5 made.

package krb

import (
	"bytes"
	"context"
	"crypto/rc4"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto/rfc4757"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krbacceptor"
)

const rc4SPN = "HTTP/legacy.example.test"

// rc4Context establishes a context with an RC4-only service of the test
// KDC and returns both ends.
func rc4Context(t *testing.T, mutual bool) (*Initiator, *krbacceptor.Result) {
	t.Helper()
	k := kdc.New(t, testRealm, nil)
	k.AddUser("alice", "s3cret!")
	kt := kdcKeytab(k.AddService(rc4SPN, kdc.RC4HMAC))
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	in := NewInitiator(c, rc4SPN, InitiatorOptions{Mutual: mutual})
	tok, _, err := in.Step(context.Background(), nil)
	if err != nil {
		t.Fatalf("Step(nil) = %v", err)
	}
	acc := &krbacceptor.Acceptor{Keytab: kt, SPN: rc4SPN}
	reply, res, err := acc.Accept(tok)
	if err != nil {
		t.Fatalf("Accept = %v", err)
	}
	if mutual {
		if _, cont, err := in.Step(context.Background(), reply); err != nil || cont {
			t.Fatalf("Step(AP-REP) = %v, %v; want done", cont, err)
		}
	}
	if got := in.SessionKey().KeyType; got != etypeID.RC4_HMAC {
		t.Fatalf("key in force has enctype %d; want RC4-HMAC (23)", got)
	}
	return in, res
}

// openSeq decrypts a token's SND_SEQ by hand (RFC 4757 §7.2, with gokrb5's
// HMAC-MD5) and returns the sequence number and the direction bytes.
func openSeq(t *testing.T, key []byte, tok []byte) (uint32, []byte) {
	t.Helper()
	if len(tok) != 37 || !bytes.Equal(tok[:15], append([]byte{0x60, 0x23}, append(oidDER, 1, 1)...)) {
		t.Fatalf("token %x is not a framed 37-byte MIC token", tok)
	}
	body := tok[15:] // SGN_ALG, filler, SND_SEQ, SGN_CKSUM
	kseq := rfc4757.HMAC(rfc4757.HMAC(key, []byte{0, 0, 0, 0}), body[14:22])
	c, err := rc4.NewCipher(kseq)
	if err != nil {
		t.Fatal(err)
	}
	seq := make([]byte, 8)
	c.XORKeyStream(seq, body[6:14])
	return binary.BigEndian.Uint32(seq), seq[4:]
}

func TestRC4MICRoundTrip(t *testing.T) {
	for _, mutual := range []bool{false, true} {
		in, res := rc4Context(t, mutual)
		msg := []byte("0\x0e\x06\x09*\x86H\x86\xf7\x12\x01\x02\x02") // a MechTypeList
		// Initiator to acceptor, twice: the sequence number advances.
		for n := range 2 {
			seq0 := in.sendSeq
			mic, err := in.GetMIC(msg)
			if err != nil {
				t.Fatalf("mutual=%v: GetMIC = %v", mutual, err)
			}
			if seq, dir := openSeq(t, in.SessionKey().KeyValue, mic); uint64(seq) != seq0 || !bytes.Equal(dir, []byte{0, 0, 0, 0}) {
				t.Errorf("mutual=%v: MIC %d has seq %d, direction %x; want %d, 00000000", mutual, n, seq, dir, seq0)
			}
			if err := res.VerifyMIC(msg, mic); err != nil {
				t.Errorf("mutual=%v: acceptor VerifyMIC(initiator MIC %d) = %v; want nil", mutual, n, err)
			}
			if err := res.VerifyMIC([]byte("other"), mic); err == nil {
				t.Errorf("mutual=%v: acceptor VerifyMIC(altered message) = nil; want an error", mutual)
			}
			// Our own token coming back must not pass as the acceptor's.
			if err := in.VerifyMIC(msg, mic); !errors.Is(err, gss.ErrMutualAuth) {
				t.Errorf("mutual=%v: VerifyMIC(reflected initiator MIC) = %v; want %v", mutual, err, gss.ErrMutualAuth)
			}
		}
		// Acceptor to initiator.
		for n := range 2 {
			mic, err := res.GetMIC(msg)
			if err != nil {
				t.Fatalf("mutual=%v: acceptor GetMIC = %v", mutual, err)
			}
			if _, dir := openSeq(t, in.SessionKey().KeyValue, mic); !bytes.Equal(dir, []byte{0xff, 0xff, 0xff, 0xff}) {
				t.Errorf("mutual=%v: acceptor MIC direction %x; want ffffffff", mutual, dir)
			}
			if err := in.VerifyMIC(msg, mic); err != nil {
				t.Errorf("mutual=%v: VerifyMIC(acceptor MIC %d) = %v; want nil", mutual, n, err)
			}
			if err := res.VerifyMIC(msg, mic); err == nil {
				t.Errorf("mutual=%v: acceptor VerifyMIC(its own MIC) = nil; want an error", mutual)
			}
		}
	}
}

// TestRC4MICTampered flips every bit of an acceptor's token in turn: each
// must be rejected, as malformed (framing, header) or as not matching,
// except in the encrypted sequence number itself. RFC 4757 (like RFC 1964)
// does not checksum SND_SEQ: a flipped bit there only yields another
// number, which GSS-API reports as out of sequence (a supplementary status,
// not a failure), so there the test checks that the number changed.
func TestRC4MICTampered(t *testing.T) {
	in, res := rc4Context(t, true)
	msg := []byte("mechListMIC input")
	mic, err := res.GetMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	seq, _ := openSeq(t, in.SessionKey().KeyValue, mic)
	const seqAt = 15 + 6 // framing, OID, TOK_ID, SGN_ALG, filler
	for i := range mic {
		for bit := range 8 {
			bad := bytes.Clone(mic)
			bad[i] ^= 1 << bit
			in.recvSeq = 0
			err := in.VerifyMIC(msg, bad)
			if err == nil && i >= seqAt && i < seqAt+4 && in.recvSeq != uint64(seq)+1 {
				continue
			}
			if !errors.Is(err, gss.ErrMalformedToken) && !errors.Is(err, gss.ErrMutualAuth) {
				t.Fatalf("VerifyMIC(byte %d bit %d flipped) = %v; want a malformed-token or mutual-auth error", i, bit, err)
			}
		}
	}
	for _, bad := range [][]byte{nil, mic[:36], append(bytes.Clone(mic), 0)} {
		if err := in.VerifyMIC(msg, bad); !errors.Is(err, gss.ErrMalformedToken) {
			t.Errorf("VerifyMIC(%d-byte token) = %v; want %v", len(bad), err, gss.ErrMalformedToken)
		}
	}
	if err := in.VerifyMIC(msg, mic); err != nil {
		t.Errorf("VerifyMIC(untouched) = %v; want nil", err)
	}
}

// TestRC4ChecksumMatchesGokrb5 compares SGN_CKSUM with gokrb5's RFC 4757
// checksum (message type 15), a separate implementation.
func TestRC4ChecksumMatchesGokrb5(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, 16)
	for _, msg := range [][]byte{nil, []byte("a"), bytes.Repeat([]byte("mechTypes"), 100)} {
		want, err := rfc4757.Checksum(key, 15, append(rc4MICHeader[:], msg...))
		if err != nil {
			t.Fatal(err)
		}
		if got := rc4Checksum(key, rc4MICHeader[:], msg); !bytes.Equal(got, want[:8]) {
			t.Errorf("rc4Checksum(%d-byte msg) = %x; want %x", len(msg), got, want[:8])
		}
	}
}

// TestRC4AcceptorSubkey: an AP-REP with an RC4 subkey does not displace
// ours (MIT's rule), but a token the acceptor made with it is accepted and
// puts it in force (Heimdal's behaviour).
func TestRC4AcceptorSubkey(t *testing.T) {
	ours := types.EncryptionKey{KeyType: etypeID.RC4_HMAC, KeyValue: bytes.Repeat([]byte{1}, 16)}
	theirs := types.EncryptionKey{KeyType: etypeID.RC4_HMAC, KeyValue: bytes.Repeat([]byte{2}, 16)}
	msg := []byte("list")
	tests := []struct {
		name    string
		key     types.EncryptionKey
		wantErr error
		inForce types.EncryptionKey
	}{
		{"initiator subkey", ours, nil, ours},
		{"acceptor subkey", theirs, nil, theirs},
		{"other key", types.EncryptionKey{KeyType: etypeID.RC4_HMAC, KeyValue: bytes.Repeat([]byte{3}, 16)}, gss.ErrMutualAuth, ours},
	}
	for _, tt := range tests {
		i := &Initiator{state: stateDone, subkey: ours, rc4AcceptorKey: theirs}
		err := i.VerifyMIC(msg, rc4GetMIC(tt.key.KeyValue, 7, dirAcceptor, msg))
		if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
			t.Errorf("%s: VerifyMIC = %v; want %v", tt.name, err, tt.wantErr)
		}
		if got := i.SessionKey(); !bytes.Equal(got.KeyValue, tt.inForce.KeyValue) {
			t.Errorf("%s: key in force %x; want %x", tt.name, got.KeyValue[:1], tt.inForce.KeyValue[:1])
		}
	}
}

func TestRC4ExpRefused(t *testing.T) {
	k := types.EncryptionKey{KeyType: etypeID.RC4_HMAC_EXP, KeyValue: make([]byte, 16)}
	i := &Initiator{state: stateDone, subkey: k}
	if _, err := i.GetMIC([]byte("m")); !errors.Is(err, gss.ErrUnsupportedMech) {
		t.Errorf("GetMIC(rc4-hmac-exp) = %v; want %v", err, gss.ErrUnsupportedMech)
	}
	if err := i.VerifyMIC([]byte("m"), make([]byte, 37)); !errors.Is(err, gss.ErrUnsupportedMech) {
		t.Errorf("VerifyMIC(rc4-hmac-exp) = %v; want %v", err, gss.ErrUnsupportedMech)
	}
}

func FuzzRC4VerifyMIC(f *testing.F) {
	key := bytes.Repeat([]byte{9}, 16)
	f.Add([]byte("m"), rc4GetMIC(key, 1, dirAcceptor, []byte("m")))
	f.Fuzz(func(t *testing.T, msg, tok []byte) {
		seq, err := rc4VerifyMIC(key, dirAcceptor, msg, tok)
		if err == nil && !bytes.Equal(rc4GetMIC(key, seq, dirAcceptor, msg), tok) {
			t.Errorf("rc4VerifyMIC accepted %x, which GetMIC would not make", tok)
		}
	})
}

// mitVectors are MIC tokens MIT krb5 1.20's gss_get_mic made as the
// acceptor of an RC4-HMAC context (recorded from TestMITRC4MIC with
// RC4MIC_RECORD=1), two in a row over a MechTypeList.
var mitVectors = []struct {
	key, msg, mic string
	seq           uint32
}{
	{"77cbba517a5a097c9264c921d43768be", "3018060a2b06010401823702020a06092a864886f712010202",
		"602306092a864886f71201020201011100ffffffff9bba92e273b74cc50eeb9b5644a865ed", 196776992},
	{"77cbba517a5a097c9264c921d43768be", "3018060a2b06010401823702020a06092a864886f712010202",
		"602306092a864886f71201020201011100ffffffff9bba92e373b74cc50eeb9b5644a865ed", 196776993},
}

func TestRC4MICMITVectors(t *testing.T) {
	for _, v := range mitVectors {
		key, _ := hex.DecodeString(v.key)
		msg, _ := hex.DecodeString(v.msg)
		mic, _ := hex.DecodeString(v.mic)
		seq, err := rc4VerifyMIC(key, dirAcceptor, msg, mic)
		if err != nil || seq != v.seq {
			t.Errorf("rc4VerifyMIC(MIT token with seq %d) = %d, %v; want %d, nil", v.seq, seq, err, v.seq)
		}
		if got := rc4GetMIC(key, v.seq, dirAcceptor, msg); !bytes.Equal(got, mic) {
			t.Errorf("rc4GetMIC(seq %d) = %x; want MIT's %x", v.seq, got, mic)
		}
	}
}
