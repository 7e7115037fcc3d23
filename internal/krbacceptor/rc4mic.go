// This file makes and checks the acceptor's MIC tokens for contexts keyed
// with RC4-HMAC (enctype 23): the RFC 1964-style tokens of RFC 4757 §7.2,
// which RC4-HMAC uses instead of RFC 4121's. It is written apart from the
// initiator's code in internal/krb (it takes the checksum from gokrb5's
// RFC 4757 implementation) so that each side tests the other.

package krbacceptor

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// An rc4Token is an RFC 4757 §7.2 MIC token without its GSS framing:
//
//	0..1   TOK_ID    01 01
//	2..3   SGN_ALG   11 00 (HMAC-MD5)
//	4..7   Filler    ff ff ff ff
//	8..15  SND_SEQ   RC4(Kseq, seq big-endian || direction)
//	16..23 SGN_CKSUM first 8 bytes of the HMAC-MD5 checksum
type rc4Token [24]byte

const (
	// rc4KeyUsageSign is the message type of the MIC checksum
	// (RFC 4757 §7.2).
	rc4KeyUsageSign = 15
	// rc4FromAcceptor marks SND_SEQ[4:8] of tokens the acceptor sends;
	// the initiator's carry zeros (RFC 1964 §1.2.1.2, as MIT krb5, Heimdal
	// and Windows do; RFC 4757's pseudo-code swaps them).
	rc4FromAcceptor  = 0xffffffff
	rc4FromInitiator = 0x00000000
)

// tokMICv1 is the TOK_ID of an RFC 1964-style MIC token.
var tokMICv1 = [2]byte{0x01, 0x01}

var rc4Head = []byte{1, 1, 0x11, 0, 0xff, 0xff, 0xff, 0xff}

// isRC4Key reports whether k needs the RFC 4757 token format.
func isRC4Key(k types.EncryptionKey) bool {
	return k.KeyType == etypeID.RC4_HMAC || k.KeyType == etypeID.RC4_HMAC_EXP
}

// sign computes SGN_CKSUM over the header and msg with gokrb5's RFC 4757
// checksum (Ksign = HMAC-MD5(key, "signaturekey\0"), then HMAC-MD5(Ksign,
// MD5(usage || data))), truncated to eight bytes.
func (t *rc4Token) sign(key []byte, msg []byte) ([]byte, error) {
	et, err := crypto.GetEtype(etypeID.RC4_HMAC)
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, 8+len(msg))
	data = append(append(data, t[:8]...), msg...)
	sum, err := et.GetChecksumHash(key, data, rc4KeyUsageSign)
	if err != nil {
		return nil, err
	}
	return sum[:8], nil
}

// seqKeystream XORs SND_SEQ with RC4 keyed by
// Kseq = HMAC-MD5(HMAC-MD5(key, 00000000), SGN_CKSUM); applying it twice
// restores the plaintext.
func (t *rc4Token) seqKeystream(key []byte) {
	k0 := hmac.New(md5.New, key)
	k0.Write(make([]byte, 4))
	k1 := hmac.New(md5.New, k0.Sum(nil))
	k1.Write(t[16:24])
	c, _ := rc4.NewCipher(k1.Sum(nil)) // a 16-byte key is always valid
	c.XORKeyStream(t[8:16], t[8:16])
}

// rc4Key returns the RC4-HMAC key of the context: the initiator's subkey,
// else the ticket's session key. Apart from DCE style, MIT krb5 and Heimdal
// make no acceptor subkey for RFC 1964-style enctypes, and neither does
// apRep, because the tokens cannot say which key made them.
func (r *Result) rc4Key() (types.EncryptionKey, bool) {
	k := r.sessionKey
	if r.initSubkey.KeyType != 0 {
		k = r.initSubkey
	}
	return k, isRC4Key(k)
}

// rc4GetMIC returns the acceptor's framed RFC 4757 MIC token over msg.
func (r *Result) rc4GetMIC(k types.EncryptionKey, msg []byte) ([]byte, error) {
	if k.KeyType != etypeID.RC4_HMAC {
		return nil, fmt.Errorf("negotiate: krbacceptor: MIC tokens for enctype %d are not supported", k.KeyType)
	}
	var t rc4Token
	copy(t[:], rc4Head)
	binary.BigEndian.PutUint32(t[8:12], uint32(r.acceptSeq))
	binary.BigEndian.PutUint32(t[12:16], rc4FromAcceptor)
	sum, err := t.sign(k.KeyValue, msg)
	if err != nil {
		return nil, fmt.Errorf("negotiate: krbacceptor: MIC checksum: %w", err)
	}
	copy(t[16:], sum)
	t.seqKeystream(k.KeyValue)
	r.acceptSeq++
	return frame(tokMICv1, t[2:]), nil
}

// rc4VerifyMIC checks the initiator's framed RFC 4757 MIC token over msg.
// Like VerifyMIC it does not enforce sequence numbers.
func (r *Result) rc4VerifyMIC(k types.EncryptionKey, msg, mic []byte) error {
	if k.KeyType != etypeID.RC4_HMAC {
		return fmt.Errorf("negotiate: krbacceptor: MIC tokens for enctype %d are not supported", k.KeyType)
	}
	id, inner, err := unframe(mic)
	if err != nil {
		return err
	}
	if id != tokMICv1 {
		return fmt.Errorf("%w: token ID %x where an RC4-HMAC MIC was due", ErrMalformed, id[:])
	}
	var t rc4Token
	if len(inner)+2 != len(t) {
		return fmt.Errorf("%w: RC4-HMAC MIC token of %d bytes", ErrMalformed, len(inner)+2)
	}
	copy(t[:2], tokMICv1[:])
	copy(t[2:], inner)
	if !bytes.Equal(t[:8], rc4Head) {
		return fmt.Errorf("%w: RC4-HMAC MIC token with unknown SGN_ALG or filler", ErrMalformed)
	}
	want, err := t.sign(k.KeyValue, msg)
	if err != nil {
		return fmt.Errorf("negotiate: krbacceptor: MIC checksum: %w", err)
	}
	if subtle.ConstantTimeCompare(want, t[16:24]) != 1 {
		return fmt.Errorf("negotiate: krbacceptor: MIC does not verify: %w", ErrDecrypt)
	}
	t.seqKeystream(k.KeyValue)
	if binary.BigEndian.Uint32(t[12:16]) != rc4FromInitiator {
		return fmt.Errorf("negotiate: krbacceptor: MIC token not sent by the initiator: %w", ErrDecrypt)
	}
	return nil
}
