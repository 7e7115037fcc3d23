// Package ntlm implements the client side of NTLM authentication (MS-NLMP),
// NTLMv2 only, as a gss.MICContext: NEGOTIATE, then AUTHENTICATE in answer to
// the server's CHALLENGE, with the MIC, channel bindings and target name that
// Windows clients send, and the session security SPNEGO needs for its
// mechListMIC.
//
// NTLMv1 and LM responses are never sent.
package ntlm

// This file holds the client security context: configuration, the two
// legs of the handshake, and GetMIC/VerifyMIC.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// Config configures a Client.
type Config struct {
	// User, Domain and Workstation are as the caller typed them. Domain may
	// be "" (the caller has already split user@domain, or there is none).
	// Workstation may be "".
	User, Domain, Workstation string

	// Password, or NTHash: the 16-byte NT hash (NTHash(password)). Exactly
	// one of them must be set.
	Password string
	NTHash   []byte

	// TargetName is the SPN sent as MsvAvTargetName, e.g.
	// "HTTP/www.example.com"; "" sends none.
	TargetName string

	// ChannelBindings are hashed into MsvAvChannelBindings; nil sends the
	// all-zero value, as Windows does without TLS.
	ChannelBindings *gss.ChannelBindings

	// Now gives the time for the NTLMv2 blob when the CHALLENGE carries no
	// MsvAvTimestamp; nil means time.Now.
	Now func() time.Time

	// Rand supplies the client challenge and the exported session key; nil
	// means crypto/rand.
	Rand io.Reader
}

// ourFlags are the flags the client asks for in NEGOTIATE (MS-NLMP
// §2.2.2.5). REQUEST_TARGET and TARGET_INFO make servers send target info,
// without which there is no timestamp and so no MIC. SEAL is not asked
// for: HTTP needs integrity only.
const ourFlags = NegotiateUnicode | RequestTarget | NegotiateNTLM |
	NegotiateAlwaysSign | NegotiateExtendedSessionSecurity |
	NegotiateTargetInfo | NegotiateVersion | Negotiate128 | Negotiate56 |
	NegotiateKeyExch | NegotiateSign

// Client is the initiator's NTLM security context. It implements
// gss.MICContext. Create one with NewClient for each authentication (NTLM
// is bound to one connection). Its methods are safe for concurrent use, but
// Step must be called in order.
type Client struct {
	mu sync.Mutex

	user, domain, workstation string
	targetName                string
	bindings                  [16]byte
	responseKey               []byte // NTOWFv2; the password is not kept
	now                       func() time.Time
	rand                      io.Reader

	state     int // see state* constants
	negotiate []byte
	flags     uint32 // negotiated flags as sent in AUTHENTICATE

	exportedKey []byte
	mic         bool

	clientSign, serverSign []byte
	clientSeal, serverSeal *rc4.Cipher
	clientSeq, serverSeq   uint32
}

const (
	stateInitial = iota
	stateNegotiateSent
	stateComplete
	stateFailed
)

// NewClient validates cfg and returns a context ready for its first Step.
// A missing user or password, both a password and a hash, or a hash that is
// not 16 bytes yields an error wrapping gss.ErrNoCredentials.
func NewClient(cfg Config) (*Client, error) {
	if cfg.User == "" {
		return nil, fmt.Errorf("%w: ntlm: no user name", gss.ErrNoCredentials)
	}
	var nt []byte
	switch {
	case cfg.Password != "" && cfg.NTHash != nil:
		return nil, fmt.Errorf("%w: ntlm: both a password and an NT hash given", gss.ErrNoCredentials)
	case cfg.NTHash != nil:
		if len(cfg.NTHash) != 16 {
			return nil, fmt.Errorf("%w: ntlm: NT hash is %d bytes, want 16", gss.ErrNoCredentials, len(cfg.NTHash))
		}
		nt = cfg.NTHash
	case cfg.Password != "":
		nt = NTHash(cfg.Password)
	default:
		return nil, fmt.Errorf("%w: ntlm: no password or NT hash", gss.ErrNoCredentials)
	}
	c := &Client{
		user:        cfg.User,
		domain:      cfg.Domain,
		workstation: cfg.Workstation,
		targetName:  cfg.TargetName,
		bindings:    cfg.ChannelBindings.Hash(),
		responseKey: NTOWFv2(nt, cfg.User, cfg.Domain),
		now:         cfg.Now,
		rand:        cfg.Rand,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	return c, nil
}

// Step implements gss.Context. The first call (input nil) returns the
// NEGOTIATE message and continueNeeded true; the second, given the server's
// CHALLENGE, returns the AUTHENTICATE message and continueNeeded false: the
// context is complete, as SSPI returns SEC_E_OK at this point. Any other
// call is an error, as is every call after a failed one.
func (c *Client) Step(_ context.Context, input []byte) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case stateInitial:
		if len(input) != 0 {
			c.state = stateFailed
			return nil, false, fmt.Errorf("%w: ntlm: server token before NEGOTIATE", gss.ErrMalformedToken)
		}
		c.negotiate = negotiateMessage(ourFlags)
		c.state = stateNegotiateSent
		return append([]byte(nil), c.negotiate...), true, nil
	case stateNegotiateSent:
		out, err := c.authenticate(input)
		if err != nil {
			c.state = stateFailed
			return nil, false, err
		}
		c.state = stateComplete
		return out, false, nil
	case stateComplete:
		return nil, false, errors.New("negotiate: ntlm: context already complete")
	default:
		return nil, false, errors.New("negotiate: ntlm: context failed earlier")
	}
}

// authenticate answers a CHALLENGE (MS-NLMP §3.1.5.1.2).
func (c *Client) authenticate(in []byte) ([]byte, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: ntlm: empty CHALLENGE", gss.ErrMalformedToken)
	}
	ch, err := parseChallenge(in)
	if err != nil {
		return nil, err
	}
	flags := ch.flags & ourFlags
	if flags&NegotiateUnicode == 0 {
		// We asked for Unicode; a server answering OEM-only is not one we
		// can talk NTLMv2 with sensibly (§3.2.5.1.1: the server chooses
		// Unicode when the client offers it).
		return nil, fmt.Errorf("%w: ntlm: server did not accept Unicode", gss.ErrUnsupportedMech)
	}
	// §3.1.5.1.2: "If NTLM v2 authentication is used and the
	// CHALLENGE_MESSAGE does not contain both MsvAvNbComputerName and
	// MsvAvNbDomainName AVPairs and either Integrity is TRUE or
	// Confidentiality is TRUE, then return STATUS_LOGON_FAILURE." We always
	// want integrity (SPNEGO's mechListMIC).
	_, okComputer := ch.pair(AvNbComputerName)
	_, okDomain := ch.pair(AvNbDomainName)
	if !okComputer || !okDomain {
		return nil, fmt.Errorf("%w: ntlm: CHALLENGE lacks MsvAvNbComputerName or MsvAvNbDomainName (MS-NLMP 3.1.5.1.2)", gss.ErrUnsupportedMech)
	}

	var timestamp []byte
	if ts, ok := ch.pair(AvTimestamp); ok {
		if len(ts) != 8 {
			return nil, malformed("MsvAvTimestamp is not 8 bytes")
		}
		timestamp = ts
	} else {
		timestamp = binary.LittleEndian.AppendUint64(nil, fileTime(c.now()))
	}
	// §3.1.5.1.2: with a server timestamp the client must send a MIC.
	withMIC := ch.hasTimestamp()

	var clientChallenge [8]byte
	if _, err := io.ReadFull(c.rand, clientChallenge[:]); err != nil {
		return nil, fmt.Errorf("negotiate: ntlm: reading random bytes: %w", err)
	}

	temp := ntlmv2Temp(timestamp, clientChallenge[:], c.blobPairs(ch, withMIC))
	nt, sessionBaseKey := ntlmv2Response(c.responseKey, ch.serverChallenge, temp)
	var lm []byte
	if withMIC {
		// §3.1.5.1.2: with MsvAvTimestamp "the client SHOULD NOT send the
		// LmChallengeResponse and SHOULD send Z(24) instead."
		lm = make([]byte, 24)
	} else {
		lm = lmv2Response(c.responseKey, ch.serverChallenge, clientChallenge[:])
	}

	// KXKEY for NTLMv2 is the session base key (§3.4.5.1).
	keyExchangeKey := sessionBaseKey
	exported := keyExchangeKey
	var encryptedKey []byte
	if flags&NegotiateKeyExch != 0 {
		exported = make([]byte, 16)
		if _, err := io.ReadFull(c.rand, exported); err != nil {
			return nil, fmt.Errorf("negotiate: ntlm: reading random bytes: %w", err)
		}
		encryptedKey = rc4Once(keyExchangeKey, exported)
	}

	var version []byte
	if flags&NegotiateVersion != 0 {
		version = ourVersion
	}
	af := authenticateFields{
		flags:                     flags,
		lm:                        lm,
		nt:                        nt,
		domain:                    c.domain,
		user:                      c.user,
		workstation:               c.workstation,
		encryptedRandomSessionKey: encryptedKey,
		withMIC:                   withMIC,
		version:                   version,
	}
	out, err := af.marshal()
	if err != nil {
		return nil, err
	}
	if withMIC {
		// §3.1.5.1.2: MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE_MESSAGE +
		// CHALLENGE_MESSAGE + AUTHENTICATE_MESSAGE), the last with a zero MIC.
		mic := hmacMD5(exported, c.negotiate, in, out)
		copy(out[authMICOffset:], mic)
	}

	c.flags = flags
	c.exportedKey = exported
	c.mic = withMIC
	c.clientSign = signKey(exported, true)
	c.serverSign = signKey(exported, false)
	c.clientSeal, _ = rc4.NewCipher(sealKey(exported, flags, true))
	c.serverSeal, _ = rc4.NewCipher(sealKey(exported, flags, false))
	return out, nil
}

func (c *challengeMsg) hasTimestamp() bool {
	_, ok := c.pair(AvTimestamp)
	return ok
}

// blobPairs builds the AV pairs of the NTLMv2 blob (§3.1.5.1.2): the
// server's pairs as they came, minus those whose ids we set ourselves, then
// MsvAvFlags, MsvAvChannelBindings, MsvAvTargetName, and MsvAvEOL.
func (c *Client) blobPairs(ch *challengeMsg, withMIC bool) []byte {
	var b []byte
	var avFlags uint32
	for _, p := range ch.pairs {
		switch p.id {
		case AvFlags:
			// Keep what the server said (e.g. 0x1, constrained) but send
			// one MsvAvFlags pair only.
			if len(p.value) == 4 {
				avFlags |= binary.LittleEndian.Uint32(p.value)
			}
			continue
		case AvChannelBindings, AvTargetName:
			continue
		}
		b = appendAVPair(b, p.id, p.value)
	}
	if withMIC {
		avFlags |= avFlagMICPresent
	}
	if avFlags != 0 {
		b = appendAVPair(b, AvFlags, binary.LittleEndian.AppendUint32(nil, avFlags))
	}
	b = appendAVPair(b, AvChannelBindings, c.bindings[:])
	if c.targetName != "" {
		b = appendAVPair(b, AvTargetName, utf16le(c.targetName))
	}
	return appendAVPair(b, AvEOL, nil)
}

// secondsFrom1601 is the number of seconds from 1601-01-01, the epoch of
// Windows FILETIME, to the Unix epoch.
const secondsFrom1601 = 11644473600

// fileTime converts t to FILETIME: 100 ns ticks since 1601 (§2.2.2.1).
// Times before 1601 become 0.
func fileTime(t time.Time) uint64 {
	s := t.Unix() + secondsFrom1601
	if s < 0 {
		return 0
	}
	return uint64(s)*1e7 + uint64(t.Nanosecond()/100)
}

// fromFileTime is the inverse of fileTime.
func fromFileTime(ft uint64) time.Time {
	return time.Unix(int64(ft/1e7)-secondsFrom1601, int64(ft%1e7)*100).UTC()
}

func rc4Once(key, data []byte) []byte {
	r, _ := rc4.NewCipher(key)
	out := make([]byte, len(data))
	r.XORKeyStream(out, data)
	return out
}

// SessionKey returns a copy of the exported session key once the context is
// complete, nil before. It is for tests and diagnostics only.
func (c *Client) SessionKey() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateComplete {
		return nil
	}
	return append([]byte(nil), c.exportedKey...)
}

// MICPresent reports whether the AUTHENTICATE message carried a MIC.
func (c *Client) MICPresent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateComplete && c.mic
}

// NegotiatedFlags returns the flags sent in the AUTHENTICATE message, or 0
// before completion.
func (c *Client) NegotiatedFlags() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateComplete {
		return 0
	}
	return c.flags
}

// errNotReady is returned by GetMIC and VerifyMIC before completion.
var errNotReady = errors.New("negotiate: ntlm: context not complete")

// GetMIC returns the NTLMSSP_MESSAGE_SIGNATURE for msg made with the client
// signing key and the client sealing RC4 handle (MS-NLMP §3.4.4.2, extended
// session security; GSS_GetMIC is §3.4.2). Each call uses the next sequence
// number, starting at 0, and advances the RC4 state when key exchange was
// negotiated.
//
// For SPNEGO: MS-SPNG §3.3.5.1 makes the RC4 state for the mechListMIC the
// same as for the first message the application signs afterwards. Over HTTP
// nothing is signed after the handshake, so the mechListMIC is the first and
// only signature in each direction (sequence number 0, fresh RC4 state),
// which is what this gives; no state is saved or restored.
func (c *Client) GetMIC(msg []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.readyForMIC(); err != nil {
		return nil, err
	}
	sig := macESS(c.clientSign, c.clientSeal, c.flags&NegotiateKeyExch != 0, c.clientSeq, msg)
	c.clientSeq++
	return sig, nil
}

// VerifyMIC checks a signature the server made for msg with the server
// signing key and sealing handle and the next expected server sequence
// number (MS-NLMP §3.4.4.2, §3.4.3). A mismatch wraps gss.ErrMutualAuth: the
// server has not shown it holds the session key. The sequence number
// advances only on success (§3.4.4).
func (c *Client) VerifyMIC(msg, mic []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.readyForMIC(); err != nil {
		return err
	}
	if len(mic) != 16 {
		return fmt.Errorf("%w: ntlm: message signature is %d bytes, want 16", gss.ErrMalformedToken, len(mic))
	}
	want := macESS(c.serverSign, c.serverSeal, c.flags&NegotiateKeyExch != 0, c.serverSeq, msg)
	if !hmac.Equal(want, mic) {
		return fmt.Errorf("%w: ntlm: server message signature does not verify", gss.ErrMutualAuth)
	}
	c.serverSeq++
	return nil
}

func (c *Client) readyForMIC() error {
	if c.state != stateComplete {
		return errNotReady
	}
	if c.flags&NegotiateExtendedSessionSecurity == 0 {
		// The NTLMv1-style signature (§3.4.4.1) is not implemented; every
		// NTLMv2 server we know negotiates extended session security.
		return fmt.Errorf("%w: ntlm: server did not negotiate extended session security, needed for signing", gss.ErrUnsupportedMech)
	}
	return nil
}

var _ gss.MICContext = (*Client)(nil)
