// This file encodes the KRB-CRED message (RFC 4120 §5.8) that carries a
// delegated (forwarded) TGT in the GSS-API checksum (RFC 4121 §4.1.1.1).

package wire

import (
	"time"

	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// CredInfo is one KrbCredInfo (RFC 4120 §5.8.1): the session key and the
// description of one ticket. Zero times are left out.
type CredInfo struct {
	Key                                     types.EncryptionKey
	PRealm                                  string
	PName                                   types.PrincipalName
	Flags                                   uint32 // TicketFlags, bit 0 the most significant
	AuthTime, StartTime, EndTime, RenewTill time.Time
	SRealm                                  string
	SName                                   types.PrincipalName
}

// EncKrbCredPart returns the DER of an EncKrbCredPart (RFC 4120 §5.8.1)
// describing one ticket, with timestamp and usec from now and no nonce or
// addresses, as MIT krb5 sends for GSS-API delegation.
func EncKrbCredPart(ci *CredInfo, now time.Time) []byte {
	e := encoder{b: make([]byte, 0, 256)}
	s := e.open(app(asnAppTag.EncKrbCredPart))
	q := e.open(tagSequence)
	t := e.open(ctx(0))
	u := e.open(tagSequence)
	v := e.open(tagSequence)
	k := e.open(ctx(0))
	e.typedOctets(ci.Key.KeyType, ci.Key.KeyValue)
	e.close(k)
	e.explicitGeneralString(1, ci.PRealm)
	k = e.open(ctx(2))
	e.principalName(ci.PName.NameType, ci.PName.NameString)
	e.close(k)
	k = e.open(ctx(3))
	e.b = append(e.b, tagBitString, 5, 0, byte(ci.Flags>>24), byte(ci.Flags>>16), byte(ci.Flags>>8), byte(ci.Flags))
	e.close(k)
	for i, tm := range []time.Time{ci.AuthTime, ci.StartTime, ci.EndTime, ci.RenewTill} {
		if !tm.IsZero() {
			e.explicitTime(4+i, tm)
		}
	}
	e.explicitGeneralString(8, ci.SRealm)
	k = e.open(ctx(9))
	e.principalName(ci.SName.NameType, ci.SName.NameString)
	e.close(k)
	e.close(v)
	e.close(u)
	e.close(t)
	now = now.UTC()
	e.explicitTime(2, now)
	e.explicitInt(3, int64(now.Nanosecond()/1000))
	e.close(q)
	e.close(s)
	return e.b
}

// KRBCred returns the DER of a KRB-CRED (RFC 4120 §5.8.1) carrying one
// ticket (its DER, copied verbatim) and the encrypted EncKrbCredPart.
func KRBCred(ticketDER []byte, enc types.EncryptedData) []byte {
	e := encoder{b: make([]byte, 0, len(ticketDER)+len(enc.Cipher)+64)}
	s := e.open(app(asnAppTag.KRBCred))
	q := e.open(tagSequence)
	e.explicitInt(0, iana.PVNO)
	e.explicitInt(1, msgtype.KRB_CRED)
	t := e.open(ctx(2))
	u := e.open(tagSequence)
	e.b = append(e.b, ticketDER...)
	e.close(u)
	e.close(t)
	t = e.open(ctx(3))
	e.encryptedData(enc.EType, enc.KVNO, enc.Cipher)
	e.close(t)
	e.close(q)
	e.close(s)
	return e.b
}
