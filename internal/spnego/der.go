// This file holds the small DER reader and writer SPNEGO needs. It is
// hand-written rather than built on encoding/asn1 for two reasons: the
// mechListMIC must be computed over the MechTypeList exactly as it was sent
// (RFC 4178 §5), so the parser must keep raw bytes, and tokens arrive from
// untrusted servers, so every length is checked before it is used.

package spnego

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// maxDepth bounds the nesting the parser follows. SPNEGO tokens nest at most
// six levels deep; nothing hostile can make the parser recurse further.
const maxDepth = 8

// ASN.1 identifier octets used by SPNEGO (X.690 §8.1.2).
const (
	tagOctetString = 0x04
	tagOID         = 0x06
	tagEnumerated  = 0x0a
	tagSequence    = 0x30
	tagGeneralStr  = 0x1b
	tagBitString   = 0x03
	tagApp0        = 0x60 // [APPLICATION 0] constructed: RFC 2743 §3.1 framing
	tagCtx0        = 0xa0 // [0] constructed (explicit tagging)
)

// errShort and friends are the reasons a TLV cannot be read; they are wrapped
// in gss.ErrMalformedToken by malformed.
var (
	errShort      = errors.New("truncated")
	errIndefinite = errors.New("indefinite or oversized length")
	errHighTag    = errors.New("high-tag-number form")
)

// malformed returns an error wrapping gss.ErrMalformedToken. what names the
// part that failed; it never includes token bytes.
func malformed(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: spnego %s: %v", gss.ErrMalformedToken, what, err)
	}
	return fmt.Errorf("%w: spnego %s", gss.ErrMalformedToken, what)
}

// A tlv is one DER element: its identifier octet, its contents and its whole
// encoding (identifier, length and contents).
type tlv struct {
	tag  byte
	body []byte
	full []byte
}

// readTLV reads one element from the front of b. Lengths may be in the short
// or the long form with up to four octets; non-minimal long forms are
// accepted (BER leniency costs nothing here), the indefinite form is not.
func readTLV(b []byte) (t tlv, rest []byte, err error) {
	if len(b) < 2 {
		return t, nil, errShort
	}
	tag := b[0]
	if tag&0x1f == 0x1f {
		return t, nil, errHighTag
	}
	n := int(b[1])
	hdr := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return t, nil, errIndefinite
		}
		if len(b) < 2+k {
			return t, nil, errShort
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
		if n < 0 || n > len(b)-hdr {
			return t, nil, errShort
		}
	} else if n > len(b)-hdr {
		return t, nil, errShort
	}
	end := hdr + n
	return tlv{tag: tag, body: b[hdr:end:end], full: b[:end:end]}, b[end:], nil
}

// readOnly reads exactly one element of the given tag filling all of b.
func readOnly(b []byte, tag byte, what string) (tlv, error) {
	t, rest, err := readTLV(b)
	if err != nil {
		return t, malformed(what, err)
	}
	if t.tag != tag {
		return t, malformed(what, fmt.Errorf("tag 0x%02x, want 0x%02x", t.tag, tag))
	}
	if len(rest) != 0 {
		return t, malformed(what, errors.New("trailing data"))
	}
	return t, nil
}

// parseOID decodes the contents of an OBJECT IDENTIFIER element.
func parseOID(t tlv) (asn1.ObjectIdentifier, error) {
	if t.tag != tagOID {
		return nil, malformed("mechanism OID", fmt.Errorf("tag 0x%02x", t.tag))
	}
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(t.full, &oid)
	if err != nil || len(rest) != 0 {
		return nil, malformed("mechanism OID", nil)
	}
	return oid, nil
}

// appendTLV appends the DER encoding of one element (X.690 §8.1.3: the
// shortest length form).
func appendTLV(b []byte, tag byte, body ...[]byte) []byte {
	n := 0
	for _, p := range body {
		n += len(p)
	}
	b = append(b, tag)
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	case n < 0x10000:
		b = append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		b = append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		b = append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	for _, p := range body {
		b = append(b, p...)
	}
	return b
}

// marshalOID returns the DER encoding of oid, tag included.
func marshalOID(oid asn1.ObjectIdentifier) ([]byte, error) {
	b, err := asn1.Marshal(oid)
	if err != nil {
		return nil, fmt.Errorf("negotiate: spnego: cannot encode mechanism OID %v: %w", oid, err)
	}
	return b, nil
}
