// This file decodes the Authenticator, EncTicketPart and EncAPRepPart
// with cryptobyte instead of gokrb5's reflection-based decoder. It accepts
// only the DER those messages are defined with (RFC 4120 §5.3, §5.5); for
// anything else (BER, extensions, out-of-range values) it reports false
// and the caller falls back to gokrb5's decoder, so that what is accepted
// does not change.

package wire

import (
	stdasn1 "encoding/asn1"
	"time"

	gofork "github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func ctxTag(n int) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }

func appTag(n int) cbasn1.Tag { return cbasn1.Tag(0x40 | 0x20 | n) }

// unwrap reads the [APPLICATION n] SEQUENCE at the start of b; bytes after
// it are ignored, as gokrb5 ignores them (a decrypted message may carry
// padding).
func unwrap(b []byte, n int) (cryptobyte.String, bool) {
	s := cryptobyte.String(b)
	var a, seq cryptobyte.String
	if !s.ReadASN1(&a, appTag(n)) || !a.ReadASN1(&seq, cbasn1.SEQUENCE) || !a.Empty() {
		return nil, false
	}
	return seq, true
}

// field reads the explicitly tagged [n] and its single inner element.
func field(s *cryptobyte.String, n int, inner *cryptobyte.String, innerTag cbasn1.Tag) bool {
	var c cryptobyte.String
	return s.ReadASN1(&c, ctxTag(n)) && c.ReadASN1(inner, innerTag) && c.Empty()
}

func readInt(s *cryptobyte.String, n int, out *int64) bool {
	var c cryptobyte.String
	return s.ReadASN1(&c, ctxTag(n)) && c.ReadASN1Int64WithTag(out, cbasn1.INTEGER) && c.Empty()
}

func readInt32(s *cryptobyte.String, n int, out *int32) bool {
	var v int64
	if !readInt(s, n, &v) || int64(int32(v)) != v {
		return false
	}
	*out = int32(v)
	return true
}

func readOctets(s *cryptobyte.String, n int, out *[]byte) bool {
	var c cryptobyte.String
	if !field(s, n, &c, cbasn1.OCTET_STRING) {
		return false
	}
	*out = append([]byte{}, c...)
	return true
}

func readGeneralString(s *cryptobyte.String, n int, out *string) bool {
	var c cryptobyte.String
	if !field(s, n, &c, cbasn1.Tag(tagGeneralString)) {
		return false
	}
	*out = string(c)
	return true
}

func readTime(s *cryptobyte.String, n int, out *time.Time) bool {
	var c, v cryptobyte.String
	if !s.ReadASN1(&c, ctxTag(n)) || !c.ReadASN1(&v, cbasn1.GeneralizedTime) || !c.Empty() {
		return false
	}
	t, ok := kerberosTime(v)
	*out = t
	return ok
}

// kerberosTime parses the one GeneralizedTime form KerberosTime allows,
// YYYYMMDDHHMMSSZ (RFC 4120 §5.2.3), without time.Parse's generality; a
// date that does not exist (February 30, hour 24) is refused, as the
// asn1 packages refuse it.
func kerberosTime(v []byte) (time.Time, bool) {
	if len(v) != 15 || v[14] != 'Z' {
		return time.Time{}, false
	}
	var f [6]int // year, month, day, hour, minute, second
	w := [6]int{4, 2, 2, 2, 2, 2}
	i := 0
	for k := 0; k < 6; k++ {
		for j := 0; j < w[k]; j++ {
			d := v[i]
			if d < '0' || d > '9' {
				return time.Time{}, false
			}
			f[k] = f[k]*10 + int(d-'0')
			i++
		}
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.UTC)
	if t.Year() != f[0] || int(t.Month()) != f[1] || t.Day() != f[2] ||
		t.Hour() != f[3] || t.Minute() != f[4] || t.Second() != f[5] {
		return time.Time{}, false
	}
	return t, true
}

// readTypedOctets reads [n] SEQUENCE { [0] Int32, [1] OCTET STRING }.
func readTypedOctets(s *cryptobyte.String, n int, typ *int32, v *[]byte) bool {
	var seq cryptobyte.String
	return field(s, n, &seq, cbasn1.SEQUENCE) && typedOctetsBody(&seq, typ, v)
}

func typedOctetsBody(seq *cryptobyte.String, typ *int32, v *[]byte) bool {
	return readInt32(seq, 0, typ) && readOctets(seq, 1, v) && seq.Empty()
}

func readPrincipalName(s *cryptobyte.String, n int, p *types.PrincipalName) bool {
	var seq, names cryptobyte.String
	if !field(s, n, &seq, cbasn1.SEQUENCE) || !readInt32(&seq, 0, &p.NameType) ||
		!field(&seq, 1, &names, cbasn1.SEQUENCE) || !seq.Empty() {
		return false
	}
	p.NameString = nil
	for !names.Empty() {
		var c cryptobyte.String
		if !names.ReadASN1(&c, cbasn1.Tag(tagGeneralString)) {
			return false
		}
		p.NameString = append(p.NameString, string(c))
	}
	if p.NameString == nil {
		p.NameString = []string{}
	}
	return true
}

// readSeqOfTyped reads [n] SEQUENCE OF SEQUENCE { [0] Int32, [1] OCTET
// STRING }, the shape of AuthorizationData and HostAddresses, calling add
// for each element.
func readSeqOfTyped(s *cryptobyte.String, n int, add func(int32, []byte)) bool {
	var seq cryptobyte.String
	if !field(s, n, &seq, cbasn1.SEQUENCE) {
		return false
	}
	for !seq.Empty() {
		var e cryptobyte.String
		var typ int32
		var v []byte
		if !seq.ReadASN1(&e, cbasn1.SEQUENCE) || !typedOctetsBody(&e, &typ, &v) {
			return false
		}
		add(typ, v)
	}
	return true
}

func readAuthData(s *cryptobyte.String, n int, ad *types.AuthorizationData) bool {
	*ad = types.AuthorizationData{}
	return readSeqOfTyped(s, n, func(t int32, v []byte) {
		*ad = append(*ad, types.AuthorizationDataEntry{ADType: t, ADData: v})
	})
}

// ParseAuthenticator decodes an Authenticator (RFC 4120 §5.5.1) into a,
// which must be zero. It reports false if b is not in the DER this
// package decodes; the caller then uses gokrb5's Unmarshal.
func ParseAuthenticator(b []byte, a *types.Authenticator) bool {
	s, ok := unwrap(b, asnAppTag.Authenticator)
	if !ok {
		return false
	}
	var avno, cusec int64
	if !readInt(&s, 0, &avno) || !readGeneralString(&s, 1, &a.CRealm) || !readPrincipalName(&s, 2, &a.CName) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(3)) && !readTypedOctets(&s, 3, &a.Cksum.CksumType, &a.Cksum.Checksum) {
		return false
	}
	if !readInt(&s, 4, &cusec) || !readTime(&s, 5, &a.CTime) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(6)) && !readTypedOctets(&s, 6, &a.SubKey.KeyType, &a.SubKey.KeyValue) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(7)) && !readInt(&s, 7, &a.SeqNumber) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(8)) && !readAuthData(&s, 8, &a.AuthorizationData) {
		return false
	}
	a.AVNO, a.Cusec = int(avno), int(cusec)
	return s.Empty() && int64(a.AVNO) == avno && int64(a.Cusec) == cusec
}

// ParseEncTicketPart decodes an EncTicketPart (RFC 4120 §5.3) into p,
// which must be zero. It reports false if b is not in the DER this
// package decodes; the caller then uses gokrb5's Unmarshal.
func ParseEncTicketPart(b []byte, p *messages.EncTicketPart) bool {
	s, ok := unwrap(b, asnAppTag.EncTicketPart)
	if !ok {
		return false
	}
	var c cryptobyte.String
	var flags stdasn1.BitString
	if !s.ReadASN1(&c, ctxTag(0)) || !c.ReadASN1BitString(&flags) || !c.Empty() {
		return false
	}
	p.Flags = gofork.BitString{Bytes: append([]byte{}, flags.Bytes...), BitLength: flags.BitLength}
	var tr cryptobyte.String
	if !readTypedOctets(&s, 1, &p.Key.KeyType, &p.Key.KeyValue) ||
		!readGeneralString(&s, 2, &p.CRealm) ||
		!readPrincipalName(&s, 3, &p.CName) ||
		!field(&s, 4, &tr, cbasn1.SEQUENCE) ||
		!typedOctetsBody(&tr, &p.Transited.TRType, &p.Transited.Contents) ||
		!readTime(&s, 5, &p.AuthTime) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(6)) && !readTime(&s, 6, &p.StartTime) {
		return false
	}
	if !readTime(&s, 7, &p.EndTime) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(8)) && !readTime(&s, 8, &p.RenewTill) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(9)) {
		p.CAddr = types.HostAddresses{}
		if !readSeqOfTyped(&s, 9, func(t int32, v []byte) {
			p.CAddr = append(p.CAddr, types.HostAddress{AddrType: t, Address: v})
		}) {
			return false
		}
	}
	if s.PeekASN1Tag(ctxTag(10)) && !readAuthData(&s, 10, &p.AuthorizationData) {
		return false
	}
	return s.Empty()
}

// ParseEncAPRepPart decodes an EncAPRepPart (RFC 4120 §5.5.2) into p,
// which must be zero. It reports false if b is not in the DER this
// package decodes; the caller then uses gokrb5's Unmarshal.
func ParseEncAPRepPart(b []byte, p *messages.EncAPRepPart) bool {
	s, ok := unwrap(b, asnAppTag.EncAPRepPart)
	if !ok {
		return false
	}
	var cusec int64
	if !readTime(&s, 0, &p.CTime) || !readInt(&s, 1, &cusec) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(2)) && !readTypedOctets(&s, 2, &p.Subkey.KeyType, &p.Subkey.KeyValue) {
		return false
	}
	if s.PeekASN1Tag(ctxTag(3)) && !readInt(&s, 3, &p.SequenceNumber) {
		return false
	}
	p.Cusec = int(cusec)
	return s.Empty() && int64(p.Cusec) == cusec
}

func readEncryptedData(s *cryptobyte.String, n int, ed *types.EncryptedData) bool {
	var seq cryptobyte.String
	if !field(s, n, &seq, cbasn1.SEQUENCE) || !readInt32(&seq, 0, &ed.EType) {
		return false
	}
	if seq.PeekASN1Tag(ctxTag(1)) {
		var kvno int64
		if !readInt(&seq, 1, &kvno) || int64(int(kvno)) != kvno {
			return false
		}
		ed.KVNO = int(kvno)
	}
	return readOctets(&seq, 2, &ed.Cipher) && seq.Empty()
}

// ParseAPReq decodes an AP-REQ (RFC 4120 §5.5.1) with its ticket into a,
// which must be zero. It reports false if b is not in the DER this
// package decodes or is not an AP-REQ; the caller then uses gokrb5's
// Unmarshal.
func ParseAPReq(b []byte, a *messages.APReq) bool {
	s, ok := unwrap(b, asnAppTag.APREQ)
	if !ok {
		return false
	}
	var pvno, mt int64
	var c, tkt cryptobyte.String
	var opts stdasn1.BitString
	if !readInt(&s, 0, &pvno) || !readInt(&s, 1, &mt) || mt != msgtypeAPReq ||
		!s.ReadASN1(&c, ctxTag(2)) || !c.ReadASN1BitString(&opts) || !c.Empty() {
		return false
	}
	a.PVNO, a.MsgType = int(pvno), int(mt)
	a.APOptions = gofork.BitString{Bytes: append([]byte{}, opts.Bytes...), BitLength: opts.BitLength}
	if !s.ReadASN1(&c, ctxTag(3)) || !c.ReadASN1(&tkt, appTag(asnAppTag.Ticket)) || !c.Empty() {
		return false
	}
	var seq cryptobyte.String
	var vno int64
	t := &a.Ticket
	if !tkt.ReadASN1(&seq, cbasn1.SEQUENCE) || !tkt.Empty() ||
		!readInt(&seq, 0, &vno) || int64(int(vno)) != vno ||
		!readGeneralString(&seq, 1, &t.Realm) ||
		!readPrincipalName(&seq, 2, &t.SName) ||
		!readEncryptedData(&seq, 3, &t.EncPart) || !seq.Empty() {
		return false
	}
	t.TktVNO = int(vno)
	return readEncryptedData(&s, 4, &a.EncryptedAuthenticator) && s.Empty() && int64(a.PVNO) == pvno
}

// ParseAPRep decodes an AP-REP (RFC 4120 §5.5.2) into a, which must be
// zero. It reports false if b is not in the DER this package decodes or
// is not an AP-REP; the caller then uses gokrb5's Unmarshal.
func ParseAPRep(b []byte, a *messages.APRep) bool {
	s, ok := unwrap(b, asnAppTag.APREP)
	if !ok {
		return false
	}
	var pvno, mt int64
	if !readInt(&s, 0, &pvno) || !readInt(&s, 1, &mt) || mt != msgtypeAPRep ||
		!readEncryptedData(&s, 2, &a.EncPart) || !s.Empty() {
		return false
	}
	a.PVNO, a.MsgType = int(pvno), int(mt)
	return int64(a.PVNO) == pvno
}

// Message types (RFC 4120 §5.10).
const (
	msgtypeAPReq = 14
	msgtypeAPRep = 15
)
