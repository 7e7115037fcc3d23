// Package wire encodes the Kerberos messages of a GSS-API context
// establishment (the Authenticator and AP-REQ of RFC 4120 §5.5.1, the
// AP-REP and its EncAPRepPart of §5.5.2) in DER without reflection, and
// encrypts them with per-usage keys derived once per key (RFC 3961 §5.3,
// RFC 3962). gokrb5's reflection-based encoder and per-message key
// derivation were most of the CPU time and allocations of a Kerberos
// request; the encodings here are byte for byte those gokrb5 produces,
// which the tests check.
//
// This file holds the DER encoder.
package wire

import (
	"time"
)

// DER tags used here (X.690 §8; RFC 4120 §5 for the APPLICATION tags).
const (
	tagInteger         = 0x02
	tagBitString       = 0x03
	tagOctetString     = 0x04
	tagSequence        = 0x30
	tagGeneralizedTime = 0x18
	tagGeneralString   = 0x1b
)

// ctx returns the tag of a constructed context-specific [n] (EXPLICIT).
func ctx(n int) byte { return 0xa0 | byte(n) }

// app returns the tag of a constructed [APPLICATION n].
func app(n int) byte { return 0x60 | byte(n) }

// An encoder appends DER to a buffer. A constructed value is opened, its
// contents appended, and closed; closing writes the length, moving the
// contents if the length needs more than one byte.
type encoder struct {
	b []byte
}

// open starts a constructed value with tag and returns where its contents
// begin, to be passed to close.
func (e *encoder) open(tag byte) int {
	e.b = append(e.b, tag, 0)
	return len(e.b)
}

// close ends the value whose contents begin at start.
func (e *encoder) close(start int) {
	n := len(e.b) - start
	if n < 0x80 {
		e.b[start-1] = byte(n)
		return
	}
	k := 0
	for v := n; v > 0; v >>= 8 {
		k++
	}
	e.b = append(e.b, make([]byte, k)...)
	copy(e.b[start+k:], e.b[start:start+n])
	e.b[start-1] = 0x80 | byte(k)
	for i := k - 1; i >= 0; i-- {
		e.b[start+i] = byte(n)
		n >>= 8
	}
}

// primitive appends a primitive value.
func (e *encoder) primitive(tag byte, v []byte) {
	s := e.open(tag)
	e.b = append(e.b, v...)
	e.close(s)
}

// integer appends an INTEGER in the fewest two's complement octets.
func (e *encoder) integer(v int64) {
	n := 1
	for w := v; w > 127 || w < -128; w >>= 8 {
		n++
	}
	e.b = append(e.b, tagInteger, byte(n))
	for i := n - 1; i >= 0; i-- {
		e.b = append(e.b, byte(v>>(8*uint(i))))
	}
}

// explicitInt appends [n] INTEGER.
func (e *encoder) explicitInt(n int, v int64) {
	s := e.open(ctx(n))
	e.integer(v)
	e.close(s)
}

// explicitOctets appends [n] OCTET STRING.
func (e *encoder) explicitOctets(n int, v []byte) {
	s := e.open(ctx(n))
	e.primitive(tagOctetString, v)
	e.close(s)
}

// explicitGeneralString appends [n] GeneralString.
func (e *encoder) explicitGeneralString(n int, v string) {
	s := e.open(ctx(n))
	t := e.open(tagGeneralString)
	e.b = append(e.b, v...)
	e.close(t)
	e.close(s)
}

// explicitTime appends [n] KerberosTime, a GeneralizedTime in UTC with
// whole seconds (RFC 4120 §5.2.3).
func (e *encoder) explicitTime(n int, t time.Time) {
	s := e.open(ctx(n))
	e.b = append(e.b, tagGeneralizedTime, 15)
	e.b = t.UTC().AppendFormat(e.b, "20060102150405Z")
	e.close(s)
}

// principalName appends a PrincipalName SEQUENCE (RFC 4120 §5.2.2).
func (e *encoder) principalName(nameType int32, names []string) {
	s := e.open(tagSequence)
	e.explicitInt(0, int64(nameType))
	t := e.open(ctx(1))
	u := e.open(tagSequence)
	for _, n := range names {
		v := e.open(tagGeneralString)
		e.b = append(e.b, n...)
		e.close(v)
	}
	e.close(u)
	e.close(t)
	e.close(s)
}

// typedOctets appends the SEQUENCE { [0] Int32, [1] OCTET STRING } shape
// shared by EncryptionKey, Checksum and an AuthorizationData element.
func (e *encoder) typedOctets(typ int32, v []byte) {
	s := e.open(tagSequence)
	e.explicitInt(0, int64(typ))
	e.explicitOctets(1, v)
	e.close(s)
}

// encryptedData appends EncryptedData (RFC 4120 §5.2.9); a zero kvno is
// left out, as gokrb5 does.
func (e *encoder) encryptedData(etype int32, kvno int, cipher []byte) {
	s := e.open(tagSequence)
	e.explicitInt(0, int64(etype))
	if kvno != 0 {
		e.explicitInt(1, int64(kvno))
	}
	e.explicitOctets(2, cipher)
	e.close(s)
}
