// This file frames and unframes the GSS-API Kerberos tokens of RFC 4121
// §4.1 (after RFC 2743 §3.1): [APPLICATION 0] { mech OID, TOK_ID, inner }.

package krbacceptor

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Token identifiers (RFC 4121 §4.1).
var (
	tokAPReq    = [2]byte{0x01, 0x00}
	tokAPRep    = [2]byte{0x02, 0x00}
	tokKRBError = [2]byte{0x03, 0x00}
)

// The Kerberos 5 mechanism OID 1.2.840.113554.1.2.2 (RFC 1964 §1.1) and
// the one Microsoft's older stacks use, 1.2.840.48018.1.2.2 (MS-SPNG
// §3.1.5.2); both arrive in the inner token.
var (
	oidKRB5   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	oidMSKRB5 = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
)

// encodedKRB5OID is the DER encoding of oidKRB5, tag and length included.
var encodedKRB5OID = mustMarshal(oidKRB5)

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// derLength appends a DER definite length.
func derLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// frame wraps inner (an AP-REP or a KRB-ERROR) as an InitialContextToken
// with the krb5 OID and tokID.
func frame(tokID [2]byte, inner []byte) []byte {
	n := len(encodedKRB5OID) + 2 + len(inner)
	b := make([]byte, 0, 6+n)
	b = append(b, 0x60)
	b = derLength(b, n)
	b = append(b, encodedKRB5OID...)
	b = append(b, tokID[:]...)
	return append(b, inner...)
}

// unframe checks the [APPLICATION 0] framing, the mechanism OID and the
// token ID, and returns the inner message. It accepts only definite
// lengths that match the token exactly.
func unframe(tok []byte) (tokID [2]byte, inner []byte, err error) {
	if len(tok) < 2 || tok[0] != 0x60 {
		return tokID, nil, fmt.Errorf("%w: not a GSS-API initial context token", ErrMalformed)
	}
	n, hl, ok := readLength(tok[1:])
	if !ok || 1+hl+n != len(tok) {
		return tokID, nil, fmt.Errorf("%w: bad token length", ErrMalformed)
	}
	body := tok[1+hl:]
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(body, &oid)
	if err != nil {
		return tokID, nil, fmt.Errorf("%w: bad mechanism OID", ErrMalformed)
	}
	if !oid.Equal(oidKRB5) && !oid.Equal(oidMSKRB5) {
		return tokID, nil, fmt.Errorf("%w: not a Kerberos 5 token", ErrMalformed)
	}
	if len(rest) < 2 {
		return tokID, nil, fmt.Errorf("%w: token too short", ErrMalformed)
	}
	copy(tokID[:], rest)
	return tokID, rest[2:], nil
}

// readLength reads a DER definite length; it returns the length, the
// number of bytes it took, and whether it was well formed.
func readLength(b []byte) (n, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, true
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k {
		return 0, 0, false
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	if n < 0 || n > 1<<28 {
		return 0, 0, false
	}
	return n, 1 + k, true
}

// MakeError returns a GSS-framed KRB-ERROR token (RFC 4121 §4.1, TOK_ID
// 03 00) carrying code (a KRB_AP_ERR_* number, e.g. 37 for
// KRB_AP_ERR_SKEW) from the service spn ("HTTP/host" or "HTTP/host@REALM")
// with the acceptor's time stime in stime/susec, so that a client can tell
// why it was rejected and, for skew, by how much. A zero stime means now.
func MakeError(code int32, spn string, stime time.Time) []byte {
	if stime.IsZero() {
		stime = time.Now()
	}
	stime = stime.UTC()
	name, realm := splitSPN(spn)
	e := messages.KRBError{
		PVNO:      iana.PVNO,
		MsgType:   msgtype.KRB_ERROR,
		STime:     stime.Truncate(time.Second),
		Susec:     stime.Nanosecond() / 1000,
		ErrorCode: code,
		Realm:     realm,
		SName:     name,
	}
	b, err := e.Marshal()
	if err != nil {
		e.SName, e.Realm = types.PrincipalName{}, ""
		b, _ = e.Marshal()
	}
	return frame(tokKRBError, b)
}

// splitSPN splits "svc/host@REALM" into a principal name and a realm.
func splitSPN(spn string) (types.PrincipalName, string) {
	var realm string
	if i := bytes.LastIndexByte([]byte(spn), '@'); i >= 0 {
		spn, realm = spn[:i], spn[i+1:]
	}
	if spn == "" {
		return types.PrincipalName{}, realm
	}
	return types.NewPrincipalName(2 /* KRB_NT_SRV_INST */, spn), realm
}
