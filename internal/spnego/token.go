// This file defines the SPNEGO wire format (RFC 4178 §4.2, MS-SPNG §2.2):
// the mechanism OIDs, NegTokenInit (and the acceptor's NegTokenInit2 hint),
// NegTokenResp, and their DER encoding and decoding.

package spnego

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
)

// Mechanism OIDs. The variables must not be modified.
var (
	// OIDSPNEGO identifies SPNEGO itself (RFC 4178 §3), in the RFC 2743
	// §3.1 framing of the initial token.
	OIDSPNEGO = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	// OIDKerberos is the Kerberos V5 GSS-API mechanism (RFC 4121 §1).
	OIDKerberos = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	// OIDMSKerberos is the OID Windows lists first for Kerberos, an
	// historical mis-encoding of OIDKerberos (MS-SPNG §3.1.5.2, MS-KILE §1.9).
	OIDMSKerberos = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	// OIDNTLM is NTLMSSP (MS-NLMP §1.9).
	OIDNTLM = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
)

// isKerberos reports whether oid is one of the two Kerberos OIDs, which name
// the same mechanism (MIT krb5 and Windows treat them as one).
func isKerberos(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(OIDKerberos) || oid.Equal(OIDMSKerberos)
}

// sameMech reports whether a and b name the same mechanism.
func sameMech(a, b asn1.ObjectIdentifier) bool {
	return a.Equal(b) || isKerberos(a) && isKerberos(b)
}

// MechName returns a short name for a mechanism OID ("Kerberos",
// "MS-Kerberos", "NTLMSSP", "SPNEGO"), or its dotted form when unknown.
func MechName(oid asn1.ObjectIdentifier) string {
	switch {
	case oid == nil:
		return ""
	case oid.Equal(OIDKerberos):
		return "Kerberos"
	case oid.Equal(OIDMSKerberos):
		return "MS-Kerberos"
	case oid.Equal(OIDNTLM):
		return "NTLMSSP"
	case oid.Equal(OIDSPNEGO):
		return "SPNEGO"
	}
	return oid.String()
}

// A NegState is the negState of a NegTokenResp (RFC 4178 §4.2.2).
type NegState int

// The negState values.
const (
	AcceptCompleted  NegState = 0 // accept-completed
	AcceptIncomplete NegState = 1 // accept-incomplete
	Reject           NegState = 2 // reject
	RequestMIC       NegState = 3 // request-mic
)

// String returns the name RFC 4178 gives the state, e.g. "request-mic".
func (s NegState) String() string {
	switch s {
	case AcceptCompleted:
		return "accept-completed"
	case AcceptIncomplete:
		return "accept-incomplete"
	case Reject:
		return "reject"
	case RequestMIC:
		return "request-mic"
	}
	return "negState(" + strconv.Itoa(int(s)) + ")"
}

// negTokenInit is a NegTokenInit (RFC 4178 §4.2.1) or a NegTokenInit2
// (MS-SPNG §2.2.1). Absent OCTET STRINGs are nil; present ones are non-nil.
type negTokenInit struct {
	mechTypes    []asn1.ObjectIdentifier
	mechTypesDER []byte // the MechTypeList SEQUENCE exactly as encoded
	mechToken    []byte
	mechListMIC  []byte
	init2        bool   // negHints was present
	hintName     string // negHints.hintName, if any
}

// negTokenResp is a NegTokenResp (RFC 4178 §4.2.2).
type negTokenResp struct {
	hasNegState   bool
	negState      NegState
	supportedMech asn1.ObjectIdentifier
	responseToken []byte
	mechListMIC   []byte
}

// decodeToken decodes a NegotiationToken: a negTokenInit in the RFC 2743
// framing (a bare [0] is tolerated too) or a bare negTokenResp. Exactly one
// of the results is non-nil unless err is non-nil, which wraps
// gss.ErrMalformedToken. The results do not alias b.
func decodeToken(b []byte) (*negTokenInit, *negTokenResp, error) {
	if len(b) == 0 {
		return nil, nil, malformed("token", errShort)
	}
	switch b[0] {
	case tagApp0:
		outer, err := readOnly(b, tagApp0, "initial context token")
		if err != nil {
			return nil, nil, err
		}
		mech, rest, err := readTLV(outer.body)
		if err != nil {
			return nil, nil, malformed("initial context token", err)
		}
		oid, err := parseOID(mech)
		if err != nil {
			return nil, nil, err
		}
		if !oid.Equal(OIDSPNEGO) {
			return nil, nil, malformed("initial context token", fmt.Errorf("mechanism %s is not SPNEGO", MechName(oid)))
		}
		init, err := decodeInit(rest)
		return init, nil, err
	case tagCtx0:
		init, err := decodeInit(b)
		return init, nil, err
	case tagCtx0 | 1:
		resp, err := decodeResp(b)
		return nil, resp, err
	}
	return nil, nil, malformed("token", fmt.Errorf("unknown tag 0x%02x", b[0]))
}

// fields splits the contents of a SEQUENCE of explicitly tagged optional
// fields [0]..[max] into a table, requiring ascending order (X.690 §8.9 with
// DER's canonical order) and no unknown tags.
func fields(b []byte, max int, what string) ([]*tlv, error) {
	out := make([]*tlv, max+1)
	last := -1
	for len(b) > 0 {
		t, rest, err := readTLV(b)
		if err != nil {
			return nil, malformed(what, err)
		}
		b = rest
		n := int(t.tag) - tagCtx0
		if n < 0 || n > max {
			return nil, malformed(what, fmt.Errorf("unexpected tag 0x%02x", t.tag))
		}
		if n <= last {
			return nil, malformed(what, errors.New("fields out of order"))
		}
		last = n
		out[n] = &t
	}
	return out, nil
}

// octetString decodes the explicitly tagged OCTET STRING f, copying it.
func octetString(f *tlv, what string) ([]byte, error) {
	s, err := readOnly(f.body, tagOctetString, what)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(s.body), nil
}

// decodeInit decodes "[0] NegTokenInit" (or NegTokenInit2).
func decodeInit(b []byte) (*negTokenInit, error) {
	ctx, err := readOnly(b, tagCtx0, "negTokenInit")
	if err != nil {
		return nil, err
	}
	seq, err := readOnly(ctx.body, tagSequence, "negTokenInit")
	if err != nil {
		return nil, err
	}
	f, err := fields(seq.body, 4, "negTokenInit")
	if err != nil {
		return nil, err
	}
	var n negTokenInit
	if f[0] != nil {
		list, err := readOnly(f[0].body, tagSequence, "mechTypes")
		if err != nil {
			return nil, err
		}
		n.mechTypesDER = bytes.Clone(list.full)
		for rest := list.body; len(rest) > 0; {
			var t tlv
			t, rest, err = readTLV(rest)
			if err != nil {
				return nil, malformed("mechTypes", err)
			}
			oid, err := parseOID(t)
			if err != nil {
				return nil, err
			}
			n.mechTypes = append(n.mechTypes, oid)
		}
	}
	if f[1] != nil { // reqFlags: a BIT STRING that HTTP has no use for
		if _, err := readOnly(f[1].body, tagBitString, "reqFlags"); err != nil {
			return nil, err
		}
	}
	if f[2] != nil {
		if n.mechToken, err = octetString(f[2], "mechToken"); err != nil {
			return nil, err
		}
	}
	if f[3] != nil {
		// [3] is mechListMIC in a NegTokenInit and negHints in a
		// NegTokenInit2 (MS-SPNG §2.2.1); the inner tag tells them apart.
		if len(f[3].body) > 0 && f[3].body[0] == tagSequence {
			n.init2 = true
			if n.hintName, err = decodeHints(f[3].body); err != nil {
				return nil, err
			}
		} else if n.mechListMIC, err = octetString(f[3], "mechListMIC"); err != nil {
			return nil, err
		}
	}
	if f[4] != nil {
		if !n.init2 {
			return nil, malformed("negTokenInit", errors.New("field [4] without negHints"))
		}
		if n.mechListMIC, err = octetString(f[4], "mechListMIC"); err != nil {
			return nil, err
		}
	}
	return &n, nil
}

// decodeHints decodes NegHints (MS-SPNG §2.2.1) and returns its hintName.
func decodeHints(b []byte) (string, error) {
	seq, err := readOnly(b, tagSequence, "negHints")
	if err != nil {
		return "", err
	}
	f, err := fields(seq.body, 1, "negHints")
	if err != nil {
		return "", err
	}
	if f[1] != nil {
		if _, err := readOnly(f[1].body, tagOctetString, "hintAddress"); err != nil {
			return "", err
		}
	}
	if f[0] == nil {
		return "", nil
	}
	s, err := readOnly(f[0].body, tagGeneralStr, "hintName")
	if err != nil {
		return "", err
	}
	return string(s.body), nil
}

// decodeResp decodes "[1] NegTokenResp".
func decodeResp(b []byte) (*negTokenResp, error) {
	ctx, err := readOnly(b, tagCtx0|1, "negTokenResp")
	if err != nil {
		return nil, err
	}
	seq, err := readOnly(ctx.body, tagSequence, "negTokenResp")
	if err != nil {
		return nil, err
	}
	f, err := fields(seq.body, 3, "negTokenResp")
	if err != nil {
		return nil, err
	}
	var n negTokenResp
	if f[0] != nil {
		e, err := readOnly(f[0].body, tagEnumerated, "negState")
		if err != nil {
			return nil, err
		}
		if len(e.body) != 1 || e.body[0] > byte(RequestMIC) {
			return nil, malformed("negState", errors.New("unknown value"))
		}
		n.hasNegState, n.negState = true, NegState(e.body[0])
	}
	if f[1] != nil {
		t, err := readOnly(f[1].body, tagOID, "supportedMech")
		if err != nil {
			return nil, err
		}
		if n.supportedMech, err = parseOID(t); err != nil {
			return nil, err
		}
	}
	if f[2] != nil {
		if n.responseToken, err = octetString(f[2], "responseToken"); err != nil {
			return nil, err
		}
	}
	if f[3] != nil {
		if n.mechListMIC, err = octetString(f[3], "mechListMIC"); err != nil {
			return nil, err
		}
	}
	return &n, nil
}

// encodeMechTypes returns the DER MechTypeList (RFC 4178 §4.1) for oids.
func encodeMechTypes(oids []asn1.ObjectIdentifier) ([]byte, error) {
	var body []byte
	for _, oid := range oids {
		b, err := marshalOID(oid)
		if err != nil {
			return nil, err
		}
		body = append(body, b...)
	}
	return appendTLV(nil, tagSequence, body), nil
}

// encodeInit returns the initiator's first token: the RFC 2743 §3.1 framing
// around [0] NegTokenInit{mechTypes, mechToken}. reqFlags is omitted, as
// Windows and MIT krb5 omit it; a nil mechToken is omitted.
func encodeInit(mechTypesDER, mechToken []byte) []byte {
	seq := appendTLV(nil, tagCtx0, mechTypesDER)
	if mechToken != nil {
		seq = appendTLV(seq, tagCtx0|2, appendTLV(nil, tagOctetString, mechToken))
	}
	nt := appendTLV(nil, tagCtx0, appendTLV(nil, tagSequence, seq))
	spnego, _ := marshalOID(OIDSPNEGO) // a constant OID cannot fail
	return appendTLV(nil, tagApp0, spnego, nt)
}

// encode returns the DER of [1] NegTokenResp; absent fields are omitted.
func (n *negTokenResp) encode() ([]byte, error) {
	var seq []byte
	if n.hasNegState {
		seq = appendTLV(seq, tagCtx0, []byte{tagEnumerated, 1, byte(n.negState)})
	}
	if n.supportedMech != nil {
		b, err := marshalOID(n.supportedMech)
		if err != nil {
			return nil, err
		}
		seq = appendTLV(seq, tagCtx0|1, b)
	}
	if n.responseToken != nil {
		seq = appendTLV(seq, tagCtx0|2, appendTLV(nil, tagOctetString, n.responseToken))
	}
	if n.mechListMIC != nil {
		seq = appendTLV(seq, tagCtx0|3, appendTLV(nil, tagOctetString, n.mechListMIC))
	}
	return appendTLV(nil, tagCtx0|1, appendTLV(nil, tagSequence, seq)), nil
}

// rawMech recognises a bare mechanism token where a SPNEGO token was
// expected: an NTLMSSP message (MS-NLMP §2.2.1, signature "NTLMSSP\0"), or a
// Kerberos token, either in the RFC 2743 framing with a Kerberos OID (RFC
// 4121 §4.1) or an unframed AP-REP [APPLICATION 15] / KRB-ERROR
// [APPLICATION 30] (RFC 4120 §5.5.2, §5.9.1). It returns nil otherwise. None
// of these can be confused with a NegotiationToken, whose first octet is
// 0xa1, or 0x60 followed by the SPNEGO OID.
func rawMech(b []byte) asn1.ObjectIdentifier {
	if bytes.HasPrefix(b, []byte("NTLMSSP\x00")) {
		return OIDNTLM
	}
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case 0x6f, 0x7e:
		return OIDKerberos
	case tagApp0:
		outer, _, err := readTLV(b)
		if err != nil {
			return nil
		}
		t, _, err := readTLV(outer.body)
		if err != nil || t.tag != tagOID {
			return nil
		}
		if oid, err := parseOID(t); err == nil && isKerberos(oid) {
			return oid
		}
	}
	return nil
}
