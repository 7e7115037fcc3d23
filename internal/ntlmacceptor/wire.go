package ntlmacceptor

// This file reads and writes the NTLM wire format (MS-NLMP §2.2) for the
// acceptor. It is written apart from internal/ntlm on purpose, so that each
// side checks the other instead of sharing its mistakes.

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

var magic = [8]byte{'N', 'T', 'L', 'M', 'S', 'S', 'P', 0}

// Negotiate flags the acceptor looks at or sets (MS-NLMP §2.2.2.5).
const (
	flagUnicode       uint32 = 1 << 0
	flagOEM           uint32 = 1 << 1
	flagRequestTarget uint32 = 1 << 2
	flagSign          uint32 = 1 << 4
	flagSeal          uint32 = 1 << 5
	flagNTLM          uint32 = 1 << 9
	flagAlwaysSign    uint32 = 1 << 15
	flagTypeDomain    uint32 = 1 << 16
	flagESS           uint32 = 1 << 19
	flagTargetInfo    uint32 = 1 << 23
	flagVersion       uint32 = 1 << 25
	flag128           uint32 = 1 << 29
	flagKeyExch       uint32 = 1 << 30
	flag56            uint32 = 1 << 31
)

// AV_PAIR ids (MS-NLMP §2.2.2.1).
const (
	avEOL          = 0
	avNbComputer   = 1
	avNbDomain     = 2
	avDNSComputer  = 3
	avDNSDomain    = 4
	avFlags        = 6
	avTimestamp    = 7
	avTargetName   = 9
	avChanBindings = 10
)

// wireReader gives bounds-checked access to one message.
type wireReader struct{ b []byte }

func (r wireReader) u16(at int) (uint16, bool) {
	if at < 0 || at+2 > len(r.b) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(r.b[at:]), true
}

func (r wireReader) u32(at int) (uint32, bool) {
	if at < 0 || at+4 > len(r.b) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(r.b[at:]), true
}

// payload resolves the (Len, MaxLen, BufferOffset) descriptor at 'at'.
// minOff is the smallest offset a non-empty field may have: the end of the
// fixed part, so a field cannot alias the header.
func (r wireReader) payload(at int, minOff int) ([]byte, error) {
	n, ok1 := r.u16(at)
	off, ok2 := r.u32(at + 4)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: truncated field descriptor at %d", ErrMalformed, at)
	}
	if n == 0 {
		return nil, nil
	}
	end := int64(off) + int64(n)
	if int64(off) < int64(minOff) || end > int64(len(r.b)) {
		return nil, fmt.Errorf("%w: field at %d points outside the payload", ErrMalformed, at)
	}
	return r.b[off:end:end], nil
}

// messageType checks the NTLMSSP signature and returns the MessageType.
func messageType(b []byte) (uint32, error) {
	if len(b) < 12 || [8]byte(b[:8]) != magic {
		return 0, fmt.Errorf("%w: not an NTLMSSP message", ErrMalformed)
	}
	return binary.LittleEndian.Uint32(b[8:]), nil
}

type avEntry struct {
	id  uint16
	val []byte
}

// readAVList parses an AV_PAIR list up to MsvAvEOL; bytes after EOL are
// padding and ignored. A list that runs out before EOL is malformed.
func readAVList(b []byte) ([]avEntry, error) {
	var out []avEntry
	for pos := 0; ; {
		if len(b)-pos < 4 {
			return nil, fmt.Errorf("%w: AV pair list not terminated by MsvAvEOL", ErrMalformed)
		}
		id := binary.LittleEndian.Uint16(b[pos:])
		n := int(binary.LittleEndian.Uint16(b[pos+2:]))
		pos += 4
		if n > len(b)-pos {
			return nil, fmt.Errorf("%w: AV pair overruns its list", ErrMalformed)
		}
		if id == avEOL {
			return out, nil
		}
		out = append(out, avEntry{id, b[pos : pos+n : pos+n]})
		pos += n
	}
}

func findAV(list []avEntry, id uint16) ([]byte, bool) {
	for _, e := range list {
		if e.id == id {
			return e.val, true
		}
	}
	return nil, false
}

func encodeUTF16(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, binary.LittleEndian.Uint16(b[i:]))
	}
	return string(utf16.Decode(u))
}

// negotiateInfo is what the acceptor takes from a NEGOTIATE_MESSAGE
// (§2.2.1.1): the client's flags, and whether the Version field is there.
type negotiateInfo struct {
	flags      uint32
	hasVersion bool
}

func readNegotiate(b []byte) (negotiateInfo, error) {
	r := wireReader{b}
	f, ok := r.u32(12)
	if !ok {
		return negotiateInfo{}, fmt.Errorf("%w: NEGOTIATE shorter than 16 bytes", ErrMalformed)
	}
	// Validate the optional domain and workstation descriptors when they
	// fit, so a hostile length cannot surprise a later reader.
	if len(b) >= 32 {
		if _, err := r.payload(16, 32); err != nil {
			return negotiateInfo{}, err
		}
		if _, err := r.payload(24, 32); err != nil {
			return negotiateInfo{}, err
		}
	}
	return negotiateInfo{flags: f, hasVersion: len(b) >= 40}, nil
}

// authMessage is a decoded AUTHENTICATE_MESSAGE (§2.2.1.3).
type authMessage struct {
	flags                     uint32
	lm, nt                    []byte
	domain, user, workstation []byte // raw, in the negotiated encoding
	encKey                    []byte
	minPayload                int // smallest payload offset: tells how long the fixed part is
}

func readAuthenticate(b []byte) (*authMessage, error) {
	if len(b) < 64 {
		return nil, fmt.Errorf("%w: AUTHENTICATE shorter than 64 bytes", ErrMalformed)
	}
	r := wireReader{b}
	a := &authMessage{minPayload: len(b)}
	a.flags, _ = r.u32(60)
	dst := []*[]byte{&a.lm, &a.nt, &a.domain, &a.user, &a.workstation, &a.encKey}
	for i, at := range []int{12, 20, 28, 36, 44, 52} {
		v, err := r.payload(at, 64)
		if err != nil {
			return nil, err
		}
		*dst[i] = v
		if len(v) > 0 {
			off, _ := r.u32(at + 4)
			a.minPayload = min(a.minPayload, int(off))
		}
	}
	return a, nil
}

// buildChallenge encodes a CHALLENGE_MESSAGE (§2.2.1.2) with the Version
// field, so the fixed part is 56 bytes.
func buildChallenge(flags uint32, serverChallenge, targetName, targetInfo, version []byte) []byte {
	const fixed = 56
	b := make([]byte, fixed, fixed+len(targetName)+len(targetInfo))
	copy(b, magic[:])
	binary.LittleEndian.PutUint32(b[8:], 2)
	desc := func(at int, v []byte) {
		binary.LittleEndian.PutUint16(b[at:], uint16(len(v)))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(len(v)))
		binary.LittleEndian.PutUint32(b[at+4:], uint32(len(b)))
		b = append(b, v...)
	}
	desc(12, targetName)
	binary.LittleEndian.PutUint32(b[20:], flags)
	copy(b[24:32], serverChallenge)
	desc(40, targetInfo)
	copy(b[48:56], version)
	return b
}
