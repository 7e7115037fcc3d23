package ntlm

// This file decodes any NTLM message for diagnostics (a curl -v style tool
// prints the result). It shows what is on the wire and nothing derived from
// a secret.

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Message is a decoded NTLM message, for diagnostics. Fields that do not
// apply to the message's type are zero.
type Message struct {
	Type      int      // 1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE
	Flags     uint32   // NegotiateFlags
	FlagNames []string // Flags by name (FlagNames)
	Version   *Version // nil when absent

	// NEGOTIATE (OEM supplied names) and AUTHENTICATE.
	Domain, User, Workstation string

	// CHALLENGE.
	TargetName      string
	ServerChallenge []byte

	// AVPairs are the CHALLENGE's target info, or the AV pairs inside an
	// AUTHENTICATE message's NTLMv2 response; MsvAvEOL is not listed.
	AVPairs []AVPair

	// AUTHENTICATE.
	LMResponseLen, NTResponseLen int
	LMResponseZero               bool      // LmChallengeResponse is Z(24), as with a MIC
	NTLMv2                       bool      // the NT response has the NTLMv2 form
	BlobTime                     time.Time // timestamp inside the NTLMv2 response
	SessionKeyExchanged          bool      // an EncryptedRandomSessionKey is present
	MICPresent                   bool      // MsvAvFlags has bit 0x2 (a MIC is included)
	ChannelBindingsPresent       bool      // MsvAvChannelBindings is present and not all zero
	TargetNameSent               string    // MsvAvTargetName, the SPN the client named
}

// Version is the VERSION structure (MS-NLMP §2.2.2.10).
type Version struct {
	Major, Minor uint8
	Build        uint16
	Revision     uint8 // NTLMRevisionCurrent, 15
}

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d (NTLM revision %d)", v.Major, v.Minor, v.Build, v.Revision)
}

// AVPair is one AV_PAIR (MS-NLMP §2.2.2.1), with its value interpreted where
// the id says how: names as Text, MsvAvTimestamp as Time, MsvAvFlags as
// Flags.
type AVPair struct {
	ID    uint16
	Name  string // e.g. "MsvAvNbDomainName"; "AvId(n)" for unknown ids
	Value []byte // raw value
	Text  string
	Time  time.Time
	Flags uint32
}

func (p AVPair) String() string {
	switch {
	case p.Text != "":
		return fmt.Sprintf("%s=%q", p.Name, p.Text)
	case p.ID == AvTimestamp && len(p.Value) == 8:
		return fmt.Sprintf("%s=%s", p.Name, p.Time.Format(time.RFC3339Nano))
	case p.ID == AvFlags && len(p.Value) == 4:
		return fmt.Sprintf("%s=0x%08x", p.Name, p.Flags)
	default:
		return fmt.Sprintf("%s=%s", p.Name, hex.EncodeToString(p.Value))
	}
}

// String renders m on several lines, for a verbose log.
func (m *Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "NTLM %s\n", [...]string{"?", "NEGOTIATE", "CHALLENGE", "AUTHENTICATE"}[m.Type])
	fmt.Fprintf(&b, "  flags: 0x%08x %s\n", m.Flags, strings.Join(m.FlagNames, " "))
	if m.Version != nil {
		fmt.Fprintf(&b, "  version: %s\n", m.Version)
	}
	switch m.Type {
	case typeNegotiate:
		if m.Domain != "" || m.Workstation != "" {
			fmt.Fprintf(&b, "  domain: %q workstation: %q\n", m.Domain, m.Workstation)
		}
	case typeChallenge:
		fmt.Fprintf(&b, "  target name: %q\n  server challenge: %x\n", m.TargetName, m.ServerChallenge)
	case typeAuthenticate:
		fmt.Fprintf(&b, "  domain: %q user: %q workstation: %q\n", m.Domain, m.User, m.Workstation)
		fmt.Fprintf(&b, "  LM response: %d bytes (zero: %t); NT response: %d bytes (NTLMv2: %t)\n",
			m.LMResponseLen, m.LMResponseZero, m.NTResponseLen, m.NTLMv2)
		if m.NTLMv2 {
			fmt.Fprintf(&b, "  blob time: %s\n", m.BlobTime.Format(time.RFC3339Nano))
		}
		fmt.Fprintf(&b, "  key exchange: %t; MIC: %t; channel bindings: %t; target name: %q\n",
			m.SessionKeyExchanged, m.MICPresent, m.ChannelBindingsPresent, m.TargetNameSent)
	}
	for _, p := range m.AVPairs {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	return b.String()
}

// Describe decodes an NTLM message of any of the three types. It never
// panics on malformed input; such input yields an error wrapping
// gss.ErrMalformedToken.
func Describe(token []byte) (*Message, error) {
	t, err := header(token)
	if err != nil {
		return nil, err
	}
	switch t {
	case typeNegotiate:
		return describeNegotiate(token)
	case typeChallenge:
		return describeChallenge(token)
	case typeAuthenticate:
		return describeAuthenticate(token)
	}
	return nil, malformed(fmt.Sprintf("unknown message type %d", t))
}

func newMessage(typ int, flags uint32) *Message {
	return &Message{Type: typ, Flags: flags, FlagNames: FlagNames(flags)}
}

func parseVersion(b []byte) *Version {
	return &Version{Major: b[0], Minor: b[1], Build: binary.LittleEndian.Uint16(b[2:]), Revision: b[7]}
}

// describeNegotiate decodes a NEGOTIATE_MESSAGE (§2.2.1.1). Its fixed part
// is 16 bytes in the oldest clients, 32 with the domain and workstation
// fields and 40 with Version.
func describeNegotiate(b []byte) (*Message, error) {
	if len(b) < 16 {
		return nil, malformed("NEGOTIATE shorter than 16 bytes")
	}
	m := newMessage(typeNegotiate, binary.LittleEndian.Uint32(b[12:]))
	if len(b) >= 32 {
		d, err := field(b, 16)
		if err != nil {
			return nil, err
		}
		w, err := field(b, 24)
		if err != nil {
			return nil, err
		}
		m.Domain, m.Workstation = string(d), string(w) // OEM (§2.2.1.1)
	}
	if m.Flags&NegotiateVersion != 0 && len(b) >= 40 {
		m.Version = parseVersion(b[32:40])
	}
	return m, nil
}

func describeChallenge(b []byte) (*Message, error) {
	c, err := parseChallenge(b)
	if err != nil {
		return nil, err
	}
	m := newMessage(typeChallenge, c.flags)
	m.ServerChallenge = append([]byte(nil), c.serverChallenge...)
	m.TargetName = decodeString(c.targetName, c.flags)
	if c.version != nil {
		m.Version = parseVersion(c.version)
	}
	m.AVPairs = describePairs(c.pairs)
	return m, nil
}

// decodeString decodes a name in the encoding the flags select (§2.2).
func decodeString(b []byte, flags uint32) string {
	if flags&NegotiateUnicode != 0 {
		return fromUTF16LE(b)
	}
	return string(b)
}

func describePairs(pairs []avPair) []AVPair {
	out := make([]AVPair, 0, len(pairs))
	for _, p := range pairs {
		d := AVPair{ID: p.id, Name: avNames[p.id], Value: append([]byte(nil), p.value...)}
		if d.Name == "" {
			d.Name = fmt.Sprintf("AvId(%d)", p.id)
		}
		switch p.id {
		case AvNbComputerName, AvNbDomainName, AvDNSComputerName, AvDNSDomainName, AvDNSTreeName, AvTargetName:
			d.Text = fromUTF16LE(p.value)
		case AvTimestamp:
			if len(p.value) == 8 {
				d.Time = fromFileTime(binary.LittleEndian.Uint64(p.value))
			}
		case AvFlags:
			if len(p.value) == 4 {
				d.Flags = binary.LittleEndian.Uint32(p.value)
			}
		}
		out = append(out, d)
	}
	return out
}

// describeAuthenticate decodes an AUTHENTICATE_MESSAGE (§2.2.1.3). The fixed
// part is 64 bytes, 72 with Version and 88 with the MIC.
func describeAuthenticate(b []byte) (*Message, error) {
	if len(b) < 64 {
		return nil, malformed("AUTHENTICATE shorter than 64 bytes")
	}
	m := newMessage(typeAuthenticate, binary.LittleEndian.Uint32(b[60:]))
	var f [6][]byte
	for i, at := range []int{12, 20, 28, 36, 44, 52} {
		v, err := field(b, at)
		if err != nil {
			return nil, err
		}
		f[i] = v
	}
	lm, nt, key := f[0], f[1], f[5]
	m.Domain = decodeString(f[2], m.Flags)
	m.User = decodeString(f[3], m.Flags)
	m.Workstation = decodeString(f[4], m.Flags)
	m.LMResponseLen, m.NTResponseLen = len(lm), len(nt)
	m.LMResponseZero = len(lm) == 24 && allZero(lm)
	m.SessionKeyExchanged = len(key) > 0
	if m.Flags&NegotiateVersion != 0 && len(b) >= 72 {
		m.Version = parseVersion(b[64:72])
	}
	// An NTLMv2 response is longer than the 24-byte NTLMv1 one and its
	// blob starts with RespType 1, HiRespType 1 (§2.2.2.7, §2.2.2.8).
	if len(nt) >= 16+28 && nt[16] == 1 && nt[17] == 1 {
		m.NTLMv2 = true
		m.BlobTime = fromFileTime(binary.LittleEndian.Uint64(nt[24:]))
		pairs, err := parseAVPairs(nt[44:])
		if err != nil {
			return nil, err
		}
		m.AVPairs = describePairs(pairs)
		for _, p := range m.AVPairs {
			switch p.ID {
			case AvFlags:
				m.MICPresent = p.Flags&avFlagMICPresent != 0
			case AvChannelBindings:
				m.ChannelBindingsPresent = !allZero(p.Value)
			case AvTargetName:
				m.TargetNameSent = p.Text
			}
		}
	}
	return m, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
