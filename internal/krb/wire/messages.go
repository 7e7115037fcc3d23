// This file encodes the Authenticator, AP-REQ, EncAPRepPart and AP-REP.

package wire

import (
	"encoding/binary"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Authenticator returns the DER of a (RFC 4120 §5.5.1), with the optional
// fields left out when they hold their zero value, like gokrb5's
// (*types.Authenticator).Marshal.
func Authenticator(a *types.Authenticator) []byte {
	e := encoder{b: make([]byte, 0, 256)}
	s := e.open(app(asnAppTag.Authenticator))
	q := e.open(tagSequence)
	e.explicitInt(0, int64(a.AVNO))
	e.explicitGeneralString(1, a.CRealm)
	t := e.open(ctx(2))
	e.principalName(a.CName.NameType, a.CName.NameString)
	e.close(t)
	if a.Cksum.CksumType != 0 || a.Cksum.Checksum != nil {
		t := e.open(ctx(3))
		e.typedOctets(a.Cksum.CksumType, a.Cksum.Checksum)
		e.close(t)
	}
	e.explicitInt(4, int64(a.Cusec))
	e.explicitTime(5, a.CTime)
	if a.SubKey.KeyType != 0 || a.SubKey.KeyValue != nil {
		t := e.open(ctx(6))
		e.typedOctets(a.SubKey.KeyType, a.SubKey.KeyValue)
		e.close(t)
	}
	if a.SeqNumber != 0 {
		e.explicitInt(7, a.SeqNumber)
	}
	if a.AuthorizationData != nil {
		t := e.open(ctx(8))
		u := e.open(tagSequence)
		for _, ad := range a.AuthorizationData {
			e.typedOctets(ad.ADType, ad.ADData)
		}
		e.close(u)
		e.close(t)
	}
	e.close(q)
	e.close(s)
	return e.b
}

// APReq returns the DER of an AP-REQ (RFC 4120 §5.5.1) with apOptions (the
// 32 bits of APOptions, bit 0 first: MUTUAL-REQUIRED is 0x20000000), the
// ticket as the DER the KDC issued (or as re-encoded; it is copied
// verbatim), and the encrypted authenticator.
func APReq(apOptions uint32, ticketDER []byte, auth types.EncryptedData) []byte {
	e := encoder{b: make([]byte, 0, len(ticketDER)+len(auth.Cipher)+64)}
	s := e.open(app(asnAppTag.APREQ))
	q := e.open(tagSequence)
	e.explicitInt(0, iana.PVNO)
	e.explicitInt(1, msgtype.KRB_AP_REQ)
	t := e.open(ctx(2))
	e.b = append(e.b, tagBitString, 5, 0)
	e.b = binary.BigEndian.AppendUint32(e.b, apOptions)
	e.close(t)
	t = e.open(ctx(3))
	e.b = append(e.b, ticketDER...)
	e.close(t)
	t = e.open(ctx(4))
	e.encryptedData(auth.EType, auth.KVNO, auth.Cipher)
	e.close(t)
	e.close(q)
	e.close(s)
	return e.b
}

// EncAPRepPart is the encrypted part of an AP-REP (RFC 4120 §5.5.2).
type EncAPRepPart struct {
	CTime     time.Time
	Cusec     int
	Subkey    types.EncryptionKey // left out when zero
	SeqNumber int64               // left out when zero
}

// Marshal returns the DER of p.
func (p *EncAPRepPart) Marshal() []byte {
	e := encoder{b: make([]byte, 0, 96)}
	s := e.open(app(asnAppTag.EncAPRepPart))
	q := e.open(tagSequence)
	e.explicitTime(0, p.CTime)
	e.explicitInt(1, int64(p.Cusec))
	if p.Subkey.KeyType != 0 || p.Subkey.KeyValue != nil {
		t := e.open(ctx(2))
		e.typedOctets(p.Subkey.KeyType, p.Subkey.KeyValue)
		e.close(t)
	}
	if p.SeqNumber != 0 {
		e.explicitInt(3, p.SeqNumber)
	}
	e.close(q)
	e.close(s)
	return e.b
}

// APRep returns the DER of an AP-REP (RFC 4120 §5.5.2) carrying encPart.
func APRep(encPart types.EncryptedData) []byte {
	e := encoder{b: make([]byte, 0, len(encPart.Cipher)+32)}
	s := e.open(app(asnAppTag.APREP))
	q := e.open(tagSequence)
	e.explicitInt(0, iana.PVNO)
	e.explicitInt(1, msgtype.KRB_AP_REP)
	t := e.open(ctx(2))
	e.encryptedData(encPart.EType, encPart.KVNO, encPart.Cipher)
	e.close(t)
	e.close(q)
	e.close(s)
	return e.b
}
