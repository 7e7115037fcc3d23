// This file makes and checks the per-message integrity (MIC) tokens of
// RFC 4121 §4.2.6.1 with the keys of an accepted context; SPNEGO uses them
// for its mechListMIC (RFC 4178 §5).

package krbacceptor

import (
	"encoding/binary"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// MIC token flags (RFC 4121 §4.2.2).
const (
	micSentByAcceptor = 0x01
	micSealed         = 0x02
	micAcceptorSubkey = 0x04
)

const micHeaderLen = 16

// key returns the key RFC 4121 §2 prescribes: the acceptor subkey once one
// was sent, else the initiator subkey, else the session key.
func (r *Result) key(acceptorSubkey bool) (types.EncryptionKey, error) {
	var k types.EncryptionKey
	switch {
	case acceptorSubkey:
		if r.acceptSubkey.KeyType == 0 {
			return k, fmt.Errorf("%w: MIC claims an acceptor subkey that was never sent", ErrMalformed)
		}
		k = r.acceptSubkey
	case r.initSubkey.KeyType != 0:
		k = r.initSubkey
	default:
		k = r.sessionKey
	}
	if isRC4Key(k) {
		// RC4-HMAC contexts use the tokens of RFC 4757 §7.2 (rc4mic.go).
		return k, fmt.Errorf("%w: RFC 4121 MIC token in an RC4-HMAC context", ErrMalformed)
	}
	return k, nil
}

func micHeader(fl byte, seq uint64) []byte {
	h := make([]byte, micHeaderLen)
	h[0], h[1], h[2] = 0x04, 0x04, fl
	for i := 3; i < 8; i++ {
		h[i] = 0xff
	}
	binary.BigEndian.PutUint64(h[8:], seq)
	return h
}

// GetMIC returns the acceptor's MIC token for msg (RFC 4121 §4.2.6.1),
// keyed with the acceptor subkey if an AP-REP carried one, using and then
// advancing the acceptor's sequence number.
//
// In an RC4-HMAC context it returns the RFC 4757 §7.2 token instead.
func (r *Result) GetMIC(msg []byte) ([]byte, error) {
	if k, ok := r.rc4Key(); ok {
		return r.rc4GetMIC(k, msg)
	}
	sub := r.acceptSubkey.KeyType != 0
	k, err := r.key(sub)
	if err != nil {
		return nil, err
	}
	fl := byte(micSentByAcceptor)
	if sub {
		fl |= micAcceptorSubkey
	}
	h := micHeader(fl, r.acceptSeq)
	et, err := crypto.GetEtype(k.KeyType)
	if err != nil {
		return nil, fmt.Errorf("negotiate: krbacceptor: unsupported enctype %d", k.KeyType)
	}
	sum, err := et.GetChecksumHash(k.KeyValue, append(append([]byte(nil), msg...), h...), keyusage.GSSAPI_ACCEPTOR_SIGN)
	if err != nil {
		return nil, fmt.Errorf("negotiate: krbacceptor: MIC checksum: %w", err)
	}
	r.acceptSeq++
	return append(h, sum...), nil
}

// VerifyMIC checks an initiator's MIC token for msg (RFC 4121 §4.2.6.1).
// It does not enforce sequence-number order: SPNEGO sends a single MIC.
// In an RC4-HMAC context it expects the RFC 4757 §7.2 token instead.
func (r *Result) VerifyMIC(msg, mic []byte) error {
	if k, ok := r.rc4Key(); ok {
		return r.rc4VerifyMIC(k, msg, mic)
	}
	if len(mic) < micHeaderLen+1 || mic[0] != 0x04 || mic[1] != 0x04 {
		return fmt.Errorf("%w: not a MIC token", ErrMalformed)
	}
	for _, c := range mic[3:8] {
		if c != 0xff {
			return fmt.Errorf("%w: bad MIC filler", ErrMalformed)
		}
	}
	fl := mic[2]
	if fl&micSentByAcceptor != 0 || fl&micSealed != 0 || fl&^7 != 0 {
		return fmt.Errorf("%w: bad MIC flags", ErrMalformed)
	}
	k, err := r.key(fl&micAcceptorSubkey != 0)
	if err != nil {
		return err
	}
	et, err := crypto.GetEtype(k.KeyType)
	if err != nil {
		return fmt.Errorf("negotiate: krbacceptor: unsupported enctype %d", k.KeyType)
	}
	data := append(append([]byte(nil), msg...), mic[:micHeaderLen]...)
	if !et.VerifyChecksum(k.KeyValue, data, mic[micHeaderLen:], keyusage.GSSAPI_INITIATOR_SIGN) {
		return fmt.Errorf("negotiate: krbacceptor: MIC does not verify: %w", ErrDecrypt)
	}
	return nil
}
