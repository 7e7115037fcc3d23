// Package ntlmacceptor is the server side of NTLMv2 (MS-NLMP), written
// independently of internal/ntlm so that the two check each other. It backs
// the test servers that play IIS: it issues CHALLENGE messages, verifies
// AUTHENTICATE messages (NTProofStr, MIC, channel bindings, target name)
// against a table of NT hashes, and reports each kind of failure as a
// distinct error.
package ntlmacceptor

// This file holds the Acceptor policy, the per-connection Context and the
// verification of the AUTHENTICATE message (MS-NLMP §3.2.5.1.2).

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// Failures of Accept. Each error Accept returns wraps exactly one of them.
var (
	ErrUnknownUser             = errors.New("negotiate: ntlm acceptor: unknown user")
	ErrWrongPassword           = errors.New("negotiate: ntlm acceptor: wrong password (NTProofStr mismatch)")
	ErrMICMismatch             = errors.New("negotiate: ntlm acceptor: MIC does not verify")
	ErrMICMissing              = errors.New("negotiate: ntlm acceptor: MIC required but absent")
	ErrChannelBindingsMissing  = errors.New("negotiate: ntlm acceptor: channel bindings required but absent")
	ErrChannelBindingsMismatch = errors.New("negotiate: ntlm acceptor: channel bindings do not match")
	ErrTargetNameMismatch      = errors.New("negotiate: ntlm acceptor: target name does not match")
	ErrNotNTLMv2               = errors.New("negotiate: ntlm acceptor: not an NTLMv2 response")
	ErrBadSequence             = errors.New("negotiate: ntlm acceptor: message out of sequence")
	ErrMalformed               = errors.New("negotiate: ntlm acceptor: malformed message")
	ErrVersionRequired         = errors.New("negotiate: ntlm acceptor: NEGOTIATE without the Version field")
	ErrNotComplete             = errors.New("negotiate: ntlm acceptor: context not complete")
	ErrSignature               = errors.New("negotiate: ntlm acceptor: message signature does not verify")
)

// Acceptor is the server's NTLM policy and user table. Configure it before
// use and do not change it afterwards; it is then safe for concurrent use,
// and each connection gets its own Context from NewContext.
type Acceptor struct {
	// Lookup returns the 16-byte NT hash for user (matched
	// case-insensitively) in domain; ok=false if unknown.
	Lookup func(user, domain string) (ntHash []byte, ok bool)

	// Target info AV pairs; defaults EXAMPLE, SERVER, example.test and
	// server.example.test when empty.
	NetBIOSDomain, NetBIOSComputer, DNSDomain, DNSComputer string

	// RequireVersion rejects a NEGOTIATE shorter than 40 bytes (without the
	// Version field), as gss-ntlmssp does.
	RequireVersion bool

	// ChannelBindings are the bindings of the connection (from TLS); nil
	// means plain HTTP, where a client sending non-zero bindings names a
	// channel that does not exist and is rejected.
	ChannelBindings *gss.ChannelBindings

	// RequireChannelBindings is Extended Protection "Required": a client
	// that sends no (or all-zero) bindings is rejected. Without it, absent
	// bindings pass ("Allowed"), but wrong ones never do.
	RequireChannelBindings bool

	// IgnoreChannelBindings skips the bindings check entirely, as a server
	// with Extended Protection off does (IIS "Off"); it wins over the
	// two fields above.
	IgnoreChannelBindings bool

	// RequireMIC rejects an AUTHENTICATE without a MIC.
	RequireMIC bool

	// ExpectedTargetName, if set, must equal the client's MsvAvTargetName
	// (case-insensitively); an absent target name does not match.
	ExpectedTargetName string

	// Now gives the CHALLENGE's MsvAvTimestamp; nil means time.Now.
	Now func() time.Time
	// Rand supplies server challenges; nil means crypto/rand. It must be
	// safe for concurrent use if contexts run concurrently.
	Rand io.Reader
}

// Context is one NTLM exchange on one connection (NTLM is connection-bound).
// Its methods are safe for concurrent use.
type Context struct {
	a  *Acceptor
	mu sync.Mutex

	step          int // 0: want NEGOTIATE, 1: want AUTHENTICATE, 2: done, 3: failed
	negotiateMsg  []byte
	challengeMsg  []byte
	challengeFlag uint32
	serverChal    []byte

	user, domain string
	micSent      bool
	cbSent       bool

	flags                  uint32
	clientSignKey, srvSign []byte
	clientSeal, srvSeal    *rc4.Cipher
	recvSeq, sendSeq       uint32
}

// NewContext starts an exchange; use one per TCP connection.
func (a *Acceptor) NewContext() *Context { return &Context{a: a} }

// Accept consumes a client token. A NEGOTIATE yields a CHALLENGE and
// done=false; an AUTHENTICATE yields done=true and no token when it
// verifies, or an error wrapping one of the package's sentinels. After an
// error the context is finished: further calls return ErrBadSequence.
func (c *Context) Accept(token []byte) (out []byte, done bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	typ, err := messageType(token)
	if err != nil {
		c.step = 3
		return nil, false, err
	}
	switch {
	case typ == 1 && c.step == 0:
		out, err = c.onNegotiate(token)
		if err != nil {
			c.step = 3
			return nil, false, err
		}
		c.step = 1
		return out, false, nil
	case typ == 3 && c.step == 1:
		if err := c.onAuthenticate(token); err != nil {
			c.step = 3
			return nil, false, err
		}
		c.step = 2
		return nil, true, nil
	case typ == 1 || typ == 3:
		c.step = 3
		return nil, false, fmt.Errorf("%w: message type %d in state %d", ErrBadSequence, typ, c.step)
	default:
		c.step = 3
		return nil, false, fmt.Errorf("%w: unexpected message type %d", ErrMalformed, typ)
	}
}

func (a *Acceptor) name(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// onNegotiate answers with a CHALLENGE (§3.2.5.1.1): the flags are the
// client's, limited to what we support, plus NTLM and TARGET_INFO, which
// NTLMv2 needs.
func (c *Context) onNegotiate(b []byte) ([]byte, error) {
	neg, err := readNegotiate(b)
	if err != nil {
		return nil, err
	}
	if c.a.RequireVersion && !neg.hasVersion {
		return nil, fmt.Errorf("%w: %d bytes", ErrVersionRequired, len(b))
	}
	const echoed = flagUnicode | flagSign | flagSeal | flagAlwaysSign | flagESS |
		flagVersion | flag128 | flag56 | flagKeyExch
	flags := neg.flags&echoed | flagNTLM | flagTargetInfo | flagRequestTarget | flagTypeDomain
	if flags&flagUnicode == 0 {
		flags |= flagOEM
	}
	c.serverChal = make([]byte, 8)
	rnd := c.a.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	if _, err := io.ReadFull(rnd, c.serverChal); err != nil {
		return nil, fmt.Errorf("negotiate: ntlm acceptor: random challenge: %w", err)
	}
	now := time.Now
	if c.a.Now != nil {
		now = c.a.Now
	}
	// FILETIME: 100 ns intervals since 1601-01-01 UTC (§2.2.2.1).
	t := now()
	ft := uint64(t.Unix()+11644473600)*10000000 + uint64(t.Nanosecond())/100

	nbDomain := c.a.name(c.a.NetBIOSDomain, "EXAMPLE")
	var ti []byte
	add := func(id uint16, v []byte) {
		ti = binary.LittleEndian.AppendUint16(ti, id)
		ti = binary.LittleEndian.AppendUint16(ti, uint16(len(v)))
		ti = append(ti, v...)
	}
	add(avNbDomain, encodeUTF16(nbDomain))
	add(avNbComputer, encodeUTF16(c.a.name(c.a.NetBIOSComputer, "SERVER")))
	add(avDNSDomain, encodeUTF16(c.a.name(c.a.DNSDomain, "example.test")))
	add(avDNSComputer, encodeUTF16(c.a.name(c.a.DNSComputer, "server.example.test")))
	add(avTimestamp, binary.LittleEndian.AppendUint64(nil, ft))
	add(avEOL, nil)

	targetName := []byte(nbDomain)
	if flags&flagUnicode != 0 {
		targetName = encodeUTF16(nbDomain)
	}
	var version []byte
	if flags&flagVersion != 0 {
		version = []byte{10, 0, 0x4a, 0x61, 0, 0, 0, 15} // 10.0.24906, NTLM revision 15
	}
	c.negotiateMsg = bytes.Clone(b)
	c.challengeFlag = flags
	c.challengeMsg = buildChallenge(flags, c.serverChal, targetName, ti, version)
	return bytes.Clone(c.challengeMsg), nil
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}

// onAuthenticate verifies the client's answer (§3.2.5.1.2, §3.3.2).
func (c *Context) onAuthenticate(b []byte) error {
	am, err := readAuthenticate(b)
	if err != nil {
		return err
	}
	text := func(v []byte) string {
		if c.challengeFlag&flagUnicode != 0 {
			return decodeUTF16(v)
		}
		return string(v)
	}
	user, domain := text(am.user), text(am.domain)

	// NTLMv2_RESPONSE: NTProofStr (16) then NTLMv2_CLIENT_CHALLENGE, whose
	// fixed part is 28 bytes and starts with RespType=HiRespType=1
	// (§2.2.2.7, §2.2.2.8). A 24-byte response is NTLMv1.
	nt := am.nt
	if len(nt) < 16+28 || nt[16] != 1 || nt[17] != 1 {
		return fmt.Errorf("%w: NT response of %d bytes", ErrNotNTLMv2, len(nt))
	}
	proof, blob := nt[:16], nt[16:]

	if c.a.Lookup == nil {
		return fmt.Errorf("%w: no user table", ErrUnknownUser)
	}
	hash, ok := c.a.Lookup(user, domain)
	if !ok || len(hash) != 16 {
		return fmt.Errorf("%w: %q in domain %q", ErrUnknownUser, user, domain)
	}
	// NTOWFv2 (§3.3.2): the user upper-cased, the domain as sent.
	respKey := hmacMD5(hash, encodeUTF16(strings.ToUpper(user)+domain))
	if !hmac.Equal(hmacMD5(respKey, c.serverChal, blob), proof) {
		return fmt.Errorf("%w: user %q", ErrWrongPassword, user)
	}

	pairs, err := readAVList(blob[28:])
	if err != nil {
		return err
	}
	var avf uint32
	if v, ok := findAV(pairs, avFlags); ok && len(v) == 4 {
		avf = binary.LittleEndian.Uint32(v)
	}
	c.micSent = avf&0x2 != 0
	cb, cbOK := findAV(pairs, avChanBindings)
	c.cbSent = cbOK && !bytes.Equal(cb, make([]byte, len(cb)))

	// Keys (§3.3.2, §3.4.5.1): KXKEY is the session base key for NTLMv2;
	// with key exchange the client sent the exported key under RC4.
	flags := am.flags & c.challengeFlag
	exported := hmacMD5(respKey, proof)
	if flags&flagKeyExch != 0 {
		if len(am.encKey) != 16 {
			return fmt.Errorf("%w: EncryptedRandomSessionKey of %d bytes", ErrMalformed, len(am.encKey))
		}
		r, _ := rc4.NewCipher(exported)
		dec := make([]byte, 16)
		r.XORKeyStream(dec, am.encKey)
		exported = dec
	}

	// MIC (§3.2.5.1.2): over NEGOTIATE, CHALLENGE and AUTHENTICATE with the
	// 16-byte MIC field at offset 72 zeroed.
	if c.micSent {
		if len(b) < 88 || am.minPayload < 88 {
			return fmt.Errorf("%w: MsvAvFlags announces a MIC the message has no room for", ErrMalformed)
		}
		zeroed := bytes.Clone(b)
		clear(zeroed[72:88])
		if !hmac.Equal(hmacMD5(exported, c.negotiateMsg, c.challengeMsg, zeroed), b[72:88]) {
			return ErrMICMismatch
		}
	} else if c.a.RequireMIC {
		return ErrMICMissing
	}

	// Channel bindings (§3.2.5.1.2, Extended Protection).
	if c.a.IgnoreChannelBindings {
		// Extended Protection off: whatever the client bound to.
	} else if c.cbSent {
		if c.a.ChannelBindings == nil {
			return fmt.Errorf("%w: bindings sent over a connection without a channel", ErrChannelBindingsMismatch)
		}
		want := md5.Sum(marshalBindings(c.a.ChannelBindings))
		if !bytes.Equal(cb, want[:]) {
			return ErrChannelBindingsMismatch
		}
	} else if c.a.RequireChannelBindings {
		return ErrChannelBindingsMissing
	}

	if c.a.ExpectedTargetName != "" {
		tn, ok := findAV(pairs, avTargetName)
		if !ok || !strings.EqualFold(decodeUTF16(tn), c.a.ExpectedTargetName) {
			return fmt.Errorf("%w: want %q", ErrTargetNameMismatch, c.a.ExpectedTargetName)
		}
	}

	c.user, c.domain = user, domain
	c.flags = flags
	c.clientSignKey = deriveKey(exported, "session key to client-to-server signing key magic constant")
	c.srvSign = deriveKey(exported, "session key to server-to-client signing key magic constant")
	c.clientSeal, _ = rc4.NewCipher(deriveKey(sealBase(exported, flags), "session key to client-to-server sealing key magic constant"))
	c.srvSeal, _ = rc4.NewCipher(deriveKey(sealBase(exported, flags), "session key to server-to-client sealing key magic constant"))
	return nil
}

// marshalBindings is gss_channel_bindings_struct as MS-NLMP §2.2.2.1 hashes
// it: four zero words for the addresses, then the application data's length
// and bytes. Written here rather than taken from gss.ChannelBindings.Hash so
// the acceptor checks that code too.
func marshalBindings(cb *gss.ChannelBindings) []byte {
	out := make([]byte, 16, 20+len(cb.ApplicationData))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(cb.ApplicationData)))
	return append(out, cb.ApplicationData...)
}

// deriveKey is MD5(key + magic + NUL), the form of SIGNKEY and SEALKEY
// (§3.4.5.2, §3.4.5.3).
func deriveKey(key []byte, magic string) []byte {
	h := md5.New()
	h.Write(key)
	h.Write([]byte(magic))
	h.Write([]byte{0})
	return h.Sum(nil)
}

// sealBase truncates the exported key for the negotiated strength before
// SEALKEY hashes it (§3.4.5.3).
func sealBase(k []byte, flags uint32) []byte {
	if flags&flag128 != 0 {
		return k
	}
	if flags&flag56 != 0 {
		return k[:7]
	}
	return k[:5]
}

// User returns the user name the client authenticated as, after success.
func (c *Context) User() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// Domain returns the domain the client named, after success.
func (c *Context) Domain() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.domain
}

// MICPresent reports whether the client's AUTHENTICATE announced a MIC
// (MsvAvFlags 0x2); it is set once the NTProofStr has verified, even if a
// later check fails.
func (c *Context) MICPresent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.micSent
}

// ChannelBindingsPresent reports whether the client sent a non-zero
// MsvAvChannelBindings; set like MICPresent.
func (c *Context) ChannelBindingsPresent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cbSent
}

// signature is an NTLMSSP_MESSAGE_SIGNATURE with extended session security
// (§2.2.2.9.2, §3.4.4.2).
func signature(key []byte, seal *rc4.Cipher, keyExch bool, seq uint32, msg []byte) []byte {
	s := binary.LittleEndian.AppendUint32(nil, seq)
	mac := hmacMD5(key, s, msg)[:8]
	if keyExch {
		seal.XORKeyStream(mac, mac)
	}
	out := []byte{1, 0, 0, 0}
	out = append(out, mac...)
	return append(out, s...)
}

func (c *Context) sessionReady() error {
	if c.step != 2 {
		return ErrNotComplete
	}
	if c.flags&flagESS == 0 {
		return fmt.Errorf("%w: signing without extended session security is not implemented", ErrNotComplete)
	}
	return nil
}

// GetMIC signs msg as the server (server signing key and sealing handle,
// sequence numbers from 0), e.g. for SPNEGO's mechListMIC.
func (c *Context) GetMIC(msg []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sessionReady(); err != nil {
		return nil, err
	}
	sig := signature(c.srvSign, c.srvSeal, c.flags&flagKeyExch != 0, c.sendSeq, msg)
	c.sendSeq++
	return sig, nil
}

// VerifyMIC checks the client's signature of msg with the client's keys and
// the next expected sequence number, which advances only on success.
func (c *Context) VerifyMIC(msg, mic []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sessionReady(); err != nil {
		return err
	}
	want := signature(c.clientSignKey, c.clientSeal, c.flags&flagKeyExch != 0, c.recvSeq, msg)
	if !hmac.Equal(want, mic) {
		return ErrSignature
	}
	c.recvSeq++
	return nil
}
