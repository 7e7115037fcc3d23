package ntlm

// This file holds the NTLM message formats (MS-NLMP §2.2): negotiate flags,
// AV pair ids, the bounds-checked readers every parser shares, and the
// encoders of the NEGOTIATE and AUTHENTICATE messages.

import (
	"encoding/binary"
	"fmt"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// Negotiate flags (MS-NLMP §2.2.2.5).
const (
	NegotiateUnicode                 uint32 = 0x00000001
	NegotiateOEM                     uint32 = 0x00000002
	RequestTarget                    uint32 = 0x00000004
	NegotiateSign                    uint32 = 0x00000010
	NegotiateSeal                    uint32 = 0x00000020
	NegotiateDatagram                uint32 = 0x00000040
	NegotiateLMKey                   uint32 = 0x00000080
	NegotiateNTLM                    uint32 = 0x00000200
	NegotiateAnonymous               uint32 = 0x00000800
	NegotiateOEMDomainSupplied       uint32 = 0x00001000
	NegotiateOEMWorkstationSupplied  uint32 = 0x00002000
	NegotiateAlwaysSign              uint32 = 0x00008000
	TargetTypeDomain                 uint32 = 0x00010000
	TargetTypeServer                 uint32 = 0x00020000
	NegotiateExtendedSessionSecurity uint32 = 0x00080000
	NegotiateIdentify                uint32 = 0x00100000
	RequestNonNTSessionKey           uint32 = 0x00400000
	NegotiateTargetInfo              uint32 = 0x00800000
	NegotiateVersion                 uint32 = 0x02000000
	Negotiate128                     uint32 = 0x20000000
	NegotiateKeyExch                 uint32 = 0x40000000
	Negotiate56                      uint32 = 0x80000000
)

var flagNames = []struct {
	bit  uint32
	name string
}{
	{NegotiateUnicode, "UNICODE"},
	{NegotiateOEM, "OEM"},
	{RequestTarget, "REQUEST_TARGET"},
	{NegotiateSign, "SIGN"},
	{NegotiateSeal, "SEAL"},
	{NegotiateDatagram, "DATAGRAM"},
	{NegotiateLMKey, "LM_KEY"},
	{NegotiateNTLM, "NTLM"},
	{NegotiateAnonymous, "ANONYMOUS"},
	{NegotiateOEMDomainSupplied, "OEM_DOMAIN_SUPPLIED"},
	{NegotiateOEMWorkstationSupplied, "OEM_WORKSTATION_SUPPLIED"},
	{NegotiateAlwaysSign, "ALWAYS_SIGN"},
	{TargetTypeDomain, "TARGET_TYPE_DOMAIN"},
	{TargetTypeServer, "TARGET_TYPE_SERVER"},
	{NegotiateExtendedSessionSecurity, "EXTENDED_SESSIONSECURITY"},
	{NegotiateIdentify, "IDENTIFY"},
	{RequestNonNTSessionKey, "REQUEST_NON_NT_SESSION_KEY"},
	{NegotiateTargetInfo, "TARGET_INFO"},
	{NegotiateVersion, "VERSION"},
	{Negotiate128, "128"},
	{NegotiateKeyExch, "KEY_EXCH"},
	{Negotiate56, "56"},
}

// FlagNames returns the names of the flags set in f, in bit order, with
// "0x..." for bits MS-NLMP does not define.
func FlagNames(f uint32) []string {
	var names []string
	for _, n := range flagNames {
		if f&n.bit != 0 {
			names = append(names, n.name)
			f &^= n.bit
		}
	}
	for bit := uint32(1); bit != 0; bit <<= 1 {
		if f&bit != 0 {
			names = append(names, fmt.Sprintf("0x%08x", bit))
		}
	}
	return names
}

// AV pair ids (MS-NLMP §2.2.2.1).
const (
	AvEOL             uint16 = 0
	AvNbComputerName  uint16 = 1
	AvNbDomainName    uint16 = 2
	AvDNSComputerName uint16 = 3
	AvDNSDomainName   uint16 = 4
	AvDNSTreeName     uint16 = 5
	AvFlags           uint16 = 6
	AvTimestamp       uint16 = 7
	AvSingleHost      uint16 = 8
	AvTargetName      uint16 = 9
	AvChannelBindings uint16 = 10
)

var avNames = map[uint16]string{
	AvEOL:             "MsvAvEOL",
	AvNbComputerName:  "MsvAvNbComputerName",
	AvNbDomainName:    "MsvAvNbDomainName",
	AvDNSComputerName: "MsvAvDnsComputerName",
	AvDNSDomainName:   "MsvAvDnsDomainName",
	AvDNSTreeName:     "MsvAvDnsTreeName",
	AvFlags:           "MsvAvFlags",
	AvTimestamp:       "MsvAvTimestamp",
	AvSingleHost:      "MsvAvSingleHost",
	AvTargetName:      "MsvAvTargetName",
	AvChannelBindings: "MsvAvChannelBindings",
}

// MsvAvFlags bits (MS-NLMP §2.2.2.1).
const (
	avFlagConstrained     uint32 = 0x1
	avFlagMICPresent      uint32 = 0x2
	avFlagUntrustedTarget uint32 = 0x4
)

// Message type numbers (MS-NLMP §2.2.1).
const (
	typeNegotiate    = 1
	typeChallenge    = 2
	typeAuthenticate = 3
)

const signature = "NTLMSSP\x00"

// ourVersion is the VERSION structure we send (MS-NLMP §2.2.2.10): the
// product version is informational only; NTLMRevisionCurrent must be 0x0F.
var ourVersion = []byte{10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f} // 10.0.20348, revision 15

// malformed returns an error wrapping gss.ErrMalformedToken. what names the
// defect, never the bytes.
func malformed(what string) error {
	return fmt.Errorf("%w: ntlm: %s", gss.ErrMalformedToken, what)
}

// header checks the signature and the message type and returns the type.
func header(b []byte) (uint32, error) {
	if len(b) < 12 {
		return 0, malformed("message shorter than its header")
	}
	if string(b[:8]) != signature {
		return 0, malformed("no NTLMSSP signature")
	}
	return binary.LittleEndian.Uint32(b[8:12]), nil
}

// field reads the 8-byte length/maxlength/offset triple at b[at:] (MS-NLMP
// §2.2: Len, MaxLen, BufferOffset) and returns the bytes it points to. Every
// offset and length is checked against the message so hostile input cannot
// index out of range (the go-ntlmssp CVE-2026-32952 class of bug).
func field(b []byte, at int) ([]byte, error) {
	if at < 0 || at+8 > len(b) {
		return nil, malformed("field header out of range")
	}
	n := int(binary.LittleEndian.Uint16(b[at:]))
	off := uint64(binary.LittleEndian.Uint32(b[at+4:]))
	if n == 0 {
		return nil, nil
	}
	if off > uint64(len(b)) || uint64(n) > uint64(len(b))-off {
		return nil, malformed("field points outside the message")
	}
	return b[off : off+uint64(n)], nil
}

// avPair is one AV_PAIR (MS-NLMP §2.2.2.1).
type avPair struct {
	id    uint16
	value []byte
}

// parseAVPairs splits a target info block into its AV pairs, without the
// terminating MsvAvEOL. The list must end with MsvAvEOL (§2.2.2.1: "the
// sequence ... is terminated by an AV_PAIR structure with an AvId field of
// MsvAvEOL"); bytes after it are ignored, as Windows pads the blob.
func parseAVPairs(b []byte) ([]avPair, error) {
	var pairs []avPair
	for {
		if len(b) < 4 {
			return nil, malformed("AV pair list without MsvAvEOL")
		}
		id := binary.LittleEndian.Uint16(b)
		n := int(binary.LittleEndian.Uint16(b[2:]))
		b = b[4:]
		if n > len(b) {
			return nil, malformed("AV pair longer than its list")
		}
		if id == AvEOL {
			return pairs, nil
		}
		pairs = append(pairs, avPair{id: id, value: b[:n:n]})
		b = b[n:]
	}
}

func appendAVPair(b []byte, id uint16, value []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, id)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(value)))
	return append(b, value...)
}

// challengeMsg is a decoded CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2).
type challengeMsg struct {
	flags           uint32
	serverChallenge []byte
	targetName      []byte // raw, in the negotiated encoding
	targetInfo      []byte // raw AV pair list as sent
	pairs           []avPair
	version         []byte // nil when absent
}

// parseChallenge decodes a CHALLENGE_MESSAGE. The fixed part is 32 bytes in
// the oldest servers, 48 with TargetInfoFields and 56 with Version; each
// optional part is read only when the message is long enough to hold it.
func parseChallenge(b []byte) (*challengeMsg, error) {
	t, err := header(b)
	if err != nil {
		return nil, err
	}
	if t != typeChallenge {
		return nil, malformed(fmt.Sprintf("message type %d, want CHALLENGE", t))
	}
	if len(b) < 32 {
		return nil, malformed("CHALLENGE shorter than 32 bytes")
	}
	c := &challengeMsg{
		flags:           binary.LittleEndian.Uint32(b[20:]),
		serverChallenge: b[24:32:32],
	}
	if c.targetName, err = field(b, 12); err != nil {
		return nil, err
	}
	if len(b) >= 48 {
		if c.targetInfo, err = field(b, 40); err != nil {
			return nil, err
		}
		if len(c.targetInfo) > 0 {
			if c.pairs, err = parseAVPairs(c.targetInfo); err != nil {
				return nil, err
			}
		}
	}
	if c.flags&NegotiateVersion != 0 && len(b) >= 56 {
		c.version = b[48:56:56]
	}
	return c, nil
}

func (c *challengeMsg) pair(id uint16) ([]byte, bool) {
	for _, p := range c.pairs {
		if p.id == id {
			return p.value, true
		}
	}
	return nil, false
}

// negotiateMessage encodes a NEGOTIATE_MESSAGE (MS-NLMP §2.2.1.1) with empty
// domain and workstation fields and the Version field, making it 40 bytes:
// gss-ntlmssp rejects anything shorter.
func negotiateMessage(flags uint32) []byte {
	b := make([]byte, 40)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], typeNegotiate)
	binary.LittleEndian.PutUint32(b[12:], flags)
	// DomainNameFields (16) and WorkstationFields (24): length zero; the
	// offsets point at the end of the fixed part, as Windows does.
	binary.LittleEndian.PutUint32(b[20:], 40)
	binary.LittleEndian.PutUint32(b[28:], 40)
	copy(b[32:], ourVersion)
	return b
}

// authenticateFields is what goes into an AUTHENTICATE_MESSAGE.
type authenticateFields struct {
	flags                     uint32
	lm, nt                    []byte
	domain, user, workstation string
	encryptedRandomSessionKey []byte
	withMIC                   bool
	version                   []byte
}

// Offsets in the AUTHENTICATE_MESSAGE (MS-NLMP §2.2.1.3).
const (
	authVersionOffset = 64
	authMICOffset     = 72
	authHeaderNoMIC   = 72
	authHeaderMIC     = 88
)

// marshal encodes the AUTHENTICATE_MESSAGE with a zero MIC (the caller fills
// it in afterwards, MS-NLMP §3.1.5.1.2). Strings are UTF-16LE: we negotiate
// Unicode only.
func (a *authenticateFields) marshal() ([]byte, error) {
	hdr := authHeaderNoMIC
	if a.withMIC {
		hdr = authHeaderMIC
	}
	domain, user, ws := utf16le(a.domain), utf16le(a.user), utf16le(a.workstation)
	for _, v := range [][]byte{domain, user, ws, a.lm, a.nt, a.encryptedRandomSessionKey} {
		if len(v) > 0xffff {
			return nil, fmt.Errorf("negotiate: ntlm: a field of the AUTHENTICATE message exceeds 65535 bytes")
		}
	}
	b := make([]byte, hdr, hdr+len(domain)+len(user)+len(ws)+len(a.lm)+len(a.nt)+len(a.encryptedRandomSessionKey))
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], typeAuthenticate)
	put := func(at int, v []byte) {
		binary.LittleEndian.PutUint16(b[at:], uint16(len(v)))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(len(v)))
		binary.LittleEndian.PutUint32(b[at+4:], uint32(len(b)))
		b = append(b, v...)
	}
	// Payload order as Windows writes it: domain, user, workstation, LM, NT,
	// session key.
	put(28, domain)
	put(36, user)
	put(44, ws)
	put(12, a.lm)
	put(20, a.nt)
	put(52, a.encryptedRandomSessionKey)
	binary.LittleEndian.PutUint32(b[60:], a.flags)
	copy(b[authVersionOffset:authVersionOffset+8], a.version)
	return b, nil
}
