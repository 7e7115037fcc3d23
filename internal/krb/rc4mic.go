// This file makes and checks the MIC tokens of RFC 4757 §7.2, the
// RFC 1964-style per-message tokens that contexts keyed with RC4-HMAC
// (enctype 23) use instead of the RFC 4121 tokens of newer enctypes. SPNEGO
// needs them for its mechListMIC when an Active Directory service account
// is RC4-only.

package krb

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"fmt"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// tokRC4MIC is the TOK_ID of a GSS_GetMIC token (RFC 1964 §1.2.1,
// RFC 4757 §7.2).
var tokRC4MIC = [2]byte{0x01, 0x01}

// rc4MICHeader is what precedes SND_SEQ in every RFC 4757 MIC token:
// TOK_ID 01 01, SGN_ALG 11 00 (HMAC-MD5, RFC 4757 §7.2) and the filler.
var rc4MICHeader = [8]byte{0x01, 0x01, 0x11, 0x00, 0xff, 0xff, 0xff, 0xff}

// rc4MICBody is the length of the token after its TOK_ID: SGN_ALG (2),
// filler (4), SND_SEQ (8), SGN_CKSUM (8).
const rc4MICBody = 22

// rc4SignUsage is the message type ("key derivation salt") of the MIC
// checksum, RFC 4757 §7.2.
const rc4SignUsage = 15

// Direction markers in SND_SEQ[4:8] (RFC 1964 §1.2.1.2, which RFC 4757 §7.2
// keeps): four zero bytes in tokens the initiator sends, four 0xff bytes in
// the acceptor's. RFC 4757's pseudo-code has the two the other way round;
// MIT krb5, Heimdal and Windows all follow RFC 1964, and so do we.
var (
	dirInitiator = [4]byte{0x00, 0x00, 0x00, 0x00}
	dirAcceptor  = [4]byte{0xff, 0xff, 0xff, 0xff}
)

// rc4Checksum is SGN_CKSUM: the HMAC-MD5 checksum of RFC 4757 §4 (type
// -138) with message type 15 over the token header and msg, truncated to
// eight bytes:
//
//	Ksign = HMAC-MD5(key, "signaturekey\0")
//	SGN_CKSUM = HMAC-MD5(Ksign, MD5(LE32(15) || header || msg))[:8]
func rc4Checksum(key, hdr, msg []byte) []byte {
	m := hmac.New(md5.New, key)
	m.Write([]byte("signaturekey\x00"))
	ksign := m.Sum(nil)
	h := md5.New()
	var t [4]byte
	binary.LittleEndian.PutUint32(t[:], rc4SignUsage)
	h.Write(t[:])
	h.Write(hdr)
	h.Write(msg)
	m = hmac.New(md5.New, ksign)
	m.Write(h.Sum(nil))
	return m.Sum(nil)[:8]
}

// rc4SeqCipher returns the RC4 cipher that encrypts SND_SEQ (RFC 4757 §7.2):
// Kseq = HMAC-MD5(HMAC-MD5(key, LE32(0)), SGN_CKSUM).
func rc4SeqCipher(key, cksum []byte) *rc4.Cipher {
	m := hmac.New(md5.New, key)
	m.Write([]byte{0, 0, 0, 0})
	m = hmac.New(md5.New, m.Sum(nil))
	m.Write(cksum)
	c, err := rc4.NewCipher(m.Sum(nil))
	if err != nil {
		panic("krb: rc4 rejects a 16-byte key: " + err.Error()) // cannot happen
	}
	return c
}

// rc4GetMIC returns the framed MIC token over msg with sequence number seq,
// sent by the side dir names.
func rc4GetMIC(key []byte, seq uint32, dir [4]byte, msg []byte) []byte {
	body := make([]byte, 0, 8+16)
	body = append(body, rc4MICHeader[:]...)
	body = binary.BigEndian.AppendUint32(body, seq) // big-endian for RC4, unlike RFC 1964's DES tokens
	body = append(body, dir[:]...)
	sum := rc4Checksum(key, body[:8], msg)
	rc4SeqCipher(key, sum).XORKeyStream(body[8:16], body[8:16])
	body = append(body, sum...)
	return wrapToken(tokRC4MIC, body[2:])
}

// errRC4MICMismatch is the failure of a token that is well formed but does
// not verify.
var errRC4MICMismatch = fmt.Errorf("negotiate: kerberos: MIC token does not match (wrong key or altered message): %w", gss.ErrMutualAuth)

// rc4VerifyMIC checks a framed MIC token over msg that the side dir names
// must have sent, and returns its sequence number.
func rc4VerifyMIC(key []byte, dir [4]byte, msg, tok []byte) (uint32, error) {
	id, body, err := unwrapToken(tok)
	if err != nil || id != tokRC4MIC || len(body) != rc4MICBody {
		return 0, fmt.Errorf("negotiate: kerberos: bad RC4-HMAC MIC token: %w", gss.ErrMalformedToken)
	}
	var hdr [8]byte
	copy(hdr[:2], id[:])
	copy(hdr[2:], body[:6])
	if hdr != rc4MICHeader {
		return 0, fmt.Errorf("negotiate: kerberos: RC4-HMAC MIC token with an unknown algorithm or filler: %w", gss.ErrMalformedToken)
	}
	sum := body[14:22]
	if !hmac.Equal(rc4Checksum(key, hdr[:], msg), sum) {
		return 0, errRC4MICMismatch
	}
	var seq [8]byte
	rc4SeqCipher(key, sum).XORKeyStream(seq[:], body[6:14])
	if [4]byte(seq[4:]) != dir {
		// A reflected token: ours, or one meant for the other direction.
		return 0, fmt.Errorf("negotiate: kerberos: MIC token sent in the wrong direction: %w", gss.ErrMutualAuth)
	}
	return binary.BigEndian.Uint32(seq[:4]), nil
}

// errRC4Exp refuses rc4-hmac-exp (enctype 24): its 40-bit variant of the
// sequence key is obsolete (MIT krb5 removed the enctype in 1.18) and gokrb5
// cannot even decrypt such tickets.
var errRC4Exp = fmt.Errorf("negotiate: kerberos: MIC tokens for the export-grade rc4-hmac-exp enctype (24) are not supported: %w", gss.ErrUnsupportedMech)
