package ntlm

// This file holds NTLM's cryptography (MS-NLMP §3.3.2, §3.4.4.2, §3.4.5):
// the one-way functions that turn a password into response keys, the
// NTLMv2 response, and the signing and sealing keys of session security.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"strings"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// utf16le encodes s as UTF-16 little-endian without a terminator, the
// encoding of every Unicode string in NTLM (MS-NLMP §2.2: "Unicode strings
// ... MUST be encoded in UTF-16LE").
func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// fromUTF16LE decodes UTF-16LE bytes; an odd trailing byte is dropped.
func fromUTF16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// NTHash returns the NT hash of password: MD4 of its UTF-16LE encoding, the
// inner step of NTOWFv1 and NTOWFv2 (MS-NLMP §3.3.1, §3.3.2). Callers that
// store hashes instead of passwords pass this value as Config.NTHash.
func NTHash(password string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	return h.Sum(nil)
}

// NTOWFv2 returns the NTLMv2 response key (MS-NLMP §3.3.2):
// HMAC_MD5(ntHash, UNICODE(Uppercase(user) + domain)). Only the user name is
// upper-cased; the domain is used as typed.
func NTOWFv2(ntHash []byte, user, domain string) []byte {
	return hmacMD5(ntHash, utf16le(strings.ToUpper(user)+domain))
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// ntlmv2Temp builds the NTLMv2_CLIENT_CHALLENGE structure, "temp" in
// MS-NLMP §3.3.2 and §2.2.2.7: RespType and HiRespType 1, six reserved zero
// bytes, the timestamp, the client challenge, four reserved zero bytes, the
// AV pairs (ending with MsvAvEOL) and four more zero bytes, as Windows and
// the §4.2.4.2.2 example have them.
func ntlmv2Temp(timestamp, clientChallenge, avPairs []byte) []byte {
	b := make([]byte, 0, 28+len(avPairs)+4)
	b = append(b, 1, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, timestamp...)
	b = append(b, clientChallenge...)
	b = append(b, 0, 0, 0, 0)
	b = append(b, avPairs...)
	return append(b, 0, 0, 0, 0)
}

// ntlmv2Response computes the NTLMv2 NtChallengeResponse and the session base
// key (MS-NLMP §3.3.2): NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge +
// temp); the response is NTProofStr + temp; SessionBaseKey =
// HMAC_MD5(ResponseKeyNT, NTProofStr).
func ntlmv2Response(responseKeyNT, serverChallenge, temp []byte) (response, sessionBaseKey []byte) {
	proof := hmacMD5(responseKeyNT, serverChallenge, temp)
	response = append(append(make([]byte, 0, len(proof)+len(temp)), proof...), temp...)
	return response, hmacMD5(responseKeyNT, proof)
}

// lmv2Response is the LMv2 response (MS-NLMP §3.3.2): HMAC_MD5(ResponseKeyLM,
// ServerChallenge + ClientChallenge) + ClientChallenge. For NTLMv2,
// ResponseKeyLM equals ResponseKeyNT.
func lmv2Response(responseKeyLM, serverChallenge, clientChallenge []byte) []byte {
	return append(hmacMD5(responseKeyLM, serverChallenge, clientChallenge), clientChallenge...)
}

// Magic constants of SIGNKEY and SEALKEY (MS-NLMP §3.4.5.2, §3.4.5.3); the
// trailing NUL is part of each constant.
const (
	clientSignMagic = "session key to client-to-server signing key magic constant\x00"
	serverSignMagic = "session key to server-to-client signing key magic constant\x00"
	clientSealMagic = "session key to client-to-server sealing key magic constant\x00"
	serverSealMagic = "session key to server-to-client sealing key magic constant\x00"
)

// signKey is SIGNKEY with extended session security (MS-NLMP §3.4.5.2).
func signKey(exportedSessionKey []byte, client bool) []byte {
	magic := serverSignMagic
	if client {
		magic = clientSignMagic
	}
	h := md5.Sum(append(append([]byte{}, exportedSessionKey...), magic...))
	return h[:]
}

// sealKey is SEALKEY with extended session security (MS-NLMP §3.4.5.3): the
// exported session key, cut to 7 or 5 bytes when only 56-bit or 40-bit
// strength was negotiated, hashed with the direction's magic constant.
func sealKey(exportedSessionKey []byte, flags uint32, client bool) []byte {
	k := exportedSessionKey
	switch {
	case flags&Negotiate128 != 0:
	case flags&Negotiate56 != 0:
		k = k[:7]
	default:
		k = k[:5]
	}
	magic := serverSealMagic
	if client {
		magic = clientSealMagic
	}
	h := md5.Sum(append(append([]byte{}, k...), magic...))
	return h[:]
}

// macESS returns an NTLMSSP_MESSAGE_SIGNATURE for extended session security
// (MS-NLMP §3.4.4.2, §2.2.2.9.2): Version 1, the first eight bytes of
// HMAC_MD5(SigningKey, SeqNum + Message), RC4-encrypted with the sealing
// handle when key exchange was negotiated, and SeqNum.
func macESS(signingKey []byte, handle *rc4.Cipher, keyExch bool, seq uint32, msg []byte) []byte {
	var seqb [4]byte
	binary.LittleEndian.PutUint32(seqb[:], seq)
	sum := hmacMD5(signingKey, seqb[:], msg)
	out := make([]byte, 16)
	out[0] = 1
	copy(out[4:12], sum[:8])
	if keyExch {
		handle.XORKeyStream(out[4:12], out[4:12])
	}
	copy(out[12:], seqb[:])
	return out
}
