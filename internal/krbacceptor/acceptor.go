// This file holds the Acceptor and Accept.

// Package krbacceptor is the server side of the Kerberos V5 GSS-API
// mechanism (RFC 4121): it verifies the AP-REQ a client sends in an
// InitialContextToken, checks the authenticator checksum of RFC 4121
// §4.1.1 (channel bindings and flags), keeps a replay cache, and builds
// the AP-REP of mutual authentication and the MIC tokens SPNEGO needs.
//
// It backs the Kerberos-protected test servers of package negotiate; it
// checks what a real acceptor checks so that a client bug shows up as a
// rejection, but it is not meant to guard production services.
package krbacceptor

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb/wire"
)

// Typed failures of Accept. Each wraps the gss sentinel a client would map
// it to, so errors.Is works with both.
var (
	ErrMalformed               = fmt.Errorf("negotiate: krbacceptor: malformed token: %w", gss.ErrMalformedToken)
	ErrWrongService            = fmt.Errorf("negotiate: krbacceptor: ticket is for another service: %w", gss.ErrRejected)
	ErrDecrypt                 = fmt.Errorf("negotiate: krbacceptor: ticket or authenticator does not decrypt: %w", gss.ErrRejected)
	ErrBadMatch                = fmt.Errorf("negotiate: krbacceptor: ticket and authenticator name different clients: %w", gss.ErrRejected)
	ErrSkew                    = fmt.Errorf("negotiate: krbacceptor: authenticator time outside the allowed skew: %w", gss.ErrClockSkew)
	ErrExpired                 = fmt.Errorf("negotiate: krbacceptor: ticket expired: %w", gss.ErrCredentialsExpired)
	ErrNotYetValid             = fmt.Errorf("negotiate: krbacceptor: ticket not yet valid: %w", gss.ErrRejected)
	ErrReplay                  = fmt.Errorf("negotiate: krbacceptor: authenticator replayed: %w", gss.ErrRejected)
	ErrBadChecksum             = fmt.Errorf("negotiate: krbacceptor: missing or malformed GSS checksum: %w", gss.ErrMalformedToken)
	ErrChannelBindingsMissing  = fmt.Errorf("negotiate: krbacceptor: channel bindings required but absent: %w", gss.ErrRejected)
	ErrChannelBindingsMismatch = fmt.Errorf("negotiate: krbacceptor: channel bindings do not match: %w", gss.ErrRejected)
)

// ErrorCode maps an error from Accept to the KRB_AP_ERR_* code a server
// should send back with MakeError (RFC 4120 §7.5.9). Errors it does not
// know map to KRB_ERR_GENERIC.
func ErrorCode(err error) int32 {
	switch {
	case errors.Is(err, ErrWrongService):
		return errorcode.KRB_AP_ERR_NOT_US
	case errors.Is(err, ErrDecrypt):
		return errorcode.KRB_AP_ERR_BAD_INTEGRITY
	case errors.Is(err, ErrBadMatch):
		return errorcode.KRB_AP_ERR_BADMATCH
	case errors.Is(err, ErrSkew):
		return errorcode.KRB_AP_ERR_SKEW
	case errors.Is(err, ErrExpired):
		return errorcode.KRB_AP_ERR_TKT_EXPIRED
	case errors.Is(err, ErrNotYetValid):
		return errorcode.KRB_AP_ERR_TKT_NYV
	case errors.Is(err, ErrReplay):
		return errorcode.KRB_AP_ERR_REPEAT
	case errors.Is(err, ErrBadChecksum):
		return errorcode.KRB_AP_ERR_INAPP_CKSUM
	case errors.Is(err, ErrChannelBindingsMissing), errors.Is(err, ErrChannelBindingsMismatch):
		return errorcode.KRB_AP_ERR_MODIFIED
	case errors.Is(err, ErrMalformed):
		return errorcode.KRB_AP_ERR_MSG_TYPE
	}
	return errorcode.KRB_ERR_GENERIC
}

// gssChecksumType is the authenticator checksum type that carries the GSS
// bindings and flags (RFC 4121 §4.1.1).
const gssChecksumType = 0x8003

// An Acceptor verifies Kerberos initial context tokens for one service.
// Set its fields before the first Accept and do not change them after;
// Accept may then be called from several goroutines at once. Its replay
// cache belongs to the Acceptor (not to the process), so two test servers
// never see each other's authenticators.
type Acceptor struct {
	// Keytab holds the service's keys. Required.
	Keytab *keytab.Keytab
	// SPN is the service principal, "HTTP/host" or "HTTP/host@REALM".
	// Tickets for any other service are rejected with ErrWrongService.
	// Required.
	SPN string
	// MaxSkew is the largest accepted difference between the
	// authenticator's time and Now; default 5m.
	MaxSkew time.Duration
	// ChannelBindings are the bindings expected for this connection (for
	// TLS, "tls-server-end-point:" and the certificate hash). nil: plain
	// HTTP, none expected, and any Bnd is accepted.
	ChannelBindings *gss.ChannelBindings
	// RequireChannelBindings rejects an all-zero Bnd when ChannelBindings
	// is set, like Extended Protection "Required"; otherwise an all-zero
	// Bnd is accepted ("Allow") and only a wrong one is rejected.
	RequireChannelBindings bool
	// Now returns the acceptor's time; default time.Now.
	Now func() time.Time

	mu        sync.Mutex
	replay    map[[sha256.Size]byte]time.Time // authenticator identity -> time it may be forgotten
	nextSweep time.Time                       // when the replay cache is next swept

	// keys holds the keys derived from the keytab's keys (ticket
	// decryption) and from session keys (authenticator, AP-REP), so that
	// each is derived once rather than on every Accept.
	keys wire.KeyCache

	spnOnce   sync.Once
	wantName  []string // SPN's name components
	wantRealm string   // SPN's realm, "" for any
}

// Result describes an accepted context. It holds the keys for MIC tokens;
// it is used by one goroutine at a time.
type Result struct {
	Client                 string // client principal, "user@REALM"
	Flags                  uint32 // the GSS flags from the checksum (gss.Flag*)
	ChannelBindingsPresent bool   // the client sent a non-zero Bnd
	Mutual                 bool   // the client asked for mutual authentication; an AP-REP was made
	Delegated              bool   // the checksum carried a delegated credential (a forwarded TGT), verified
	// DelegatedTGT describes the delegated forwarded TGT when Delegated.
	DelegatedTGT      *DelegatedCredential
	SessionKeyType    int32 // the ticket session key's enctype
	AuthTime, EndTime time.Time

	sessionKey   types.EncryptionKey
	initSubkey   types.EncryptionKey // zero if the authenticator had none
	acceptSubkey types.EncryptionKey // zero unless an AP-REP was made
	acceptSeq    uint64
}

func (a *Acceptor) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Acceptor) maxSkew() time.Duration {
	if a.MaxSkew > 0 {
		return a.MaxSkew
	}
	return 5 * time.Minute
}

// Accept verifies an InitialContextToken carrying an AP-REQ (RFC 4121
// §4.1, TOK_ID 01 00): it decrypts the ticket with the keytab and the
// authenticator with the ticket's session key, checks the service name,
// the ticket's times, the authenticator's time against MaxSkew, the replay
// cache and the 0x8003 checksum (channel bindings and flags). If the
// client asked for mutual authentication (the AP option MUTUAL-REQUIRED or
// the GSS mutual flag), reply is the AP-REP token (TOK_ID 02 00) with a
// fresh acceptor subkey and sequence number and the client's ctime/cusec
// echoed (RFC 4120 §3.2.4); otherwise reply is nil.
//
// On failure res is nil and err wraps one of the Err* sentinels; use
// ErrorCode and MakeError for the token to send back.
func (a *Acceptor) Accept(token []byte) (reply []byte, res *Result, err error) {
	if a.Keytab == nil || a.SPN == "" {
		return nil, nil, errors.New("negotiate: krbacceptor: Acceptor needs a Keytab and an SPN")
	}
	id, inner, err := unframe(token)
	if err != nil {
		return nil, nil, err
	}
	if id != tokAPReq {
		return nil, nil, fmt.Errorf("%w: not an AP-REQ token", ErrMalformed)
	}
	var ap messages.APReq
	if err := unmarshalAPReq(&ap, inner); err != nil {
		return nil, nil, fmt.Errorf("%w: bad AP-REQ", ErrMalformed)
	}
	if ap.PVNO != iana.PVNO || len(ap.Ticket.SName.NameString) == 0 {
		return nil, nil, fmt.Errorf("%w: bad AP-REQ", ErrMalformed)
	}

	// The ticket must name our service (RFC 4120 §3.2.3); the realm only
	// if the SPN names one.
	a.spnOnce.Do(func() {
		name, realm := splitSPN(a.SPN)
		a.wantName, a.wantRealm = name.NameString, realm
	})
	if !slices.Equal(ap.Ticket.SName.NameString, a.wantName) ||
		(a.wantRealm != "" && ap.Ticket.Realm != a.wantRealm) {
		return nil, nil, ErrWrongService
	}
	skey, _, err := a.Keytab.GetEncryptionKey(ap.Ticket.SName, ap.Ticket.Realm, ap.Ticket.EncPart.KVNO, ap.Ticket.EncPart.EType)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: no key of the ticket's version and type", ErrDecrypt)
	}
	tb, err := a.decrypt(skey, keyusage.KDC_REP_TICKET, ap.Ticket.EncPart.Cipher)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: ticket", ErrDecrypt)
	}
	// The cryptobyte decoders take what they know; anything else goes
	// to gokrb5's, so the acceptor accepts exactly what it did.
	var tp messages.EncTicketPart
	if !wire.ParseEncTicketPart(tb, &tp) {
		tp = messages.EncTicketPart{}
		if err := tp.Unmarshal(tb); err != nil {
			return nil, nil, fmt.Errorf("%w: ticket", ErrDecrypt)
		}
	}
	ab, err := a.decrypt(tp.Key, keyusage.AP_REQ_AUTHENTICATOR, ap.EncryptedAuthenticator.Cipher)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: authenticator", ErrDecrypt)
	}
	var auth types.Authenticator
	if !wire.ParseAuthenticator(ab, &auth) {
		auth = types.Authenticator{}
		if err := auth.Unmarshal(ab); err != nil {
			return nil, nil, fmt.Errorf("%w: bad authenticator", ErrMalformed)
		}
	}
	if auth.CRealm != tp.CRealm || !auth.CName.Equal(tp.CName) {
		return nil, nil, ErrBadMatch
	}

	now := a.now().UTC()
	skew := a.maxSkew()
	if d := now.Sub(auth.CTime); d > skew || d < -skew {
		return nil, nil, ErrSkew
	}
	if tp.EndTime.Add(skew).Before(now) {
		return nil, nil, ErrExpired
	}
	start := tp.StartTime
	if start.IsZero() {
		start = tp.AuthTime
	}
	if start.Sub(now) > skew || types.IsFlagSet(&tp.Flags, flags.Invalid) {
		return nil, nil, ErrNotYetValid
	}

	res = &Result{
		Client:         strings.Join(tp.CName.NameString, "/") + "@" + tp.CRealm,
		SessionKeyType: tp.Key.KeyType,
		AuthTime:       tp.AuthTime,
		EndTime:        tp.EndTime,
		sessionKey:     tp.Key,
	}
	if auth.SubKey.KeyType != 0 && len(auth.SubKey.KeyValue) > 0 {
		res.initSubkey = auth.SubKey
	}
	if err := a.checkChecksum(auth.Cksum, res); err != nil {
		return nil, nil, err
	}
	// The replay check comes last, so that a rejected token does not
	// poison the cache for a correct retry.
	if err := a.checkReplay(&auth, &ap, now); err != nil {
		return nil, nil, err
	}

	res.Mutual = types.IsFlagSet(&ap.APOptions, flags.APOptionMutualRequired) || res.Flags&gss.FlagMutual != 0
	if !res.Mutual {
		// Without an AP-REP our sequence numbers continue the
		// initiator's (as MIT krb5 does).
		res.acceptSeq = uint64(uint32(auth.SeqNumber))
		return nil, res, nil
	}
	reply, err = a.apRep(&auth, res)
	if err != nil {
		return nil, nil, err
	}
	return reply, res, nil
}

// decrypt decrypts an RFC 3961 ciphertext in key with usage's keys, from
// the Acceptor's cache.
func (a *Acceptor) decrypt(key types.EncryptionKey, usage uint32, ct []byte) ([]byte, error) {
	k, err := a.keys.Get(key, usage)
	if err != nil {
		return nil, err
	}
	return k.Decrypt(ct)
}

// unmarshalAPReq decodes an AP-REQ: with the cryptobyte decoder when it
// knows the encoding, else with gokrb5's, turning a panic of the latter on
// hostile input into an error.
func unmarshalAPReq(ap *messages.APReq, b []byte) (err error) {
	if wire.ParseAPReq(b, ap) {
		return nil
	}
	*ap = messages.APReq{}
	defer func() {
		if recover() != nil {
			err = errors.New("panic decoding AP-REQ")
		}
	}()
	return ap.Unmarshal(b)
}

// checkChecksum parses the authenticator checksum of RFC 4121 §4.1.1:
// Lgth (4, little-endian, 16), Bnd (16), Flags (4, little-endian) and,
// with the delegation flag, DlgOpt (2), Dlgth (2) and Deleg, the KRB-CRED
// it verifies (res.initSubkey and res.sessionKey must be set).
func (a *Acceptor) checkChecksum(ck types.Checksum, res *Result) error {
	if ck.CksumType != gssChecksumType {
		return ErrBadChecksum
	}
	b := ck.Checksum
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 16 {
		return ErrBadChecksum
	}
	var bnd [16]byte
	copy(bnd[:], b[4:20])
	res.Flags = binary.LittleEndian.Uint32(b[20:24])
	if res.Flags&gss.FlagDeleg != 0 && len(b) > 24 {
		if len(b) < 28 || binary.LittleEndian.Uint16(b[24:]) != 1 {
			return ErrBadChecksum
		}
		dl := int(binary.LittleEndian.Uint16(b[26:]))
		if len(b) < 28+dl {
			return ErrBadChecksum
		}
		if dl > 0 {
			if err := delegated(b[28:28+dl], res); err != nil {
				return err
			}
		}
	}
	res.ChannelBindingsPresent = bnd != [16]byte{}
	if a.ChannelBindings == nil {
		// No bindings expected (plain HTTP): accept whatever the client
		// sent, as GSS_C_NO_CHANNEL_BINDINGS does.
		return nil
	}
	if !res.ChannelBindingsPresent {
		if a.RequireChannelBindings {
			return ErrChannelBindingsMissing
		}
		return nil
	}
	if bnd != a.ChannelBindings.Hash() {
		return ErrChannelBindingsMismatch
	}
	return nil
}

// checkReplay records the authenticator and fails if it was seen before
// (RFC 4120 §3.2.3). Entries are forgotten once their time is outside the
// skew window, since such an authenticator is rejected anyway.
func (a *Acceptor) checkReplay(auth *types.Authenticator, ap *messages.APReq, now time.Time) error {
	// The identity is a hash of the client, its time and the whole
	// encrypted authenticator, each length-prefixed so that no two
	// identities run together.
	var buf [512]byte
	b := buf[:0]
	for _, s := range auth.CName.NameString {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(auth.CRealm)))
	b = append(b, auth.CRealm...)
	b = binary.BigEndian.AppendUint64(b, uint64(auth.CTime.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(auth.Cusec))
	b = binary.BigEndian.AppendUint64(b, uint64(len(ap.EncryptedAuthenticator.Cipher)))
	b = append(b, ap.EncryptedAuthenticator.Cipher...)
	key := sha256.Sum256(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.replay == nil {
		a.replay = make(map[[sha256.Size]byte]time.Time)
	}
	// Sweep expired entries at most once a second: a scan on every
	// request made the server slower with every request it had seen.
	if now.After(a.nextSweep) {
		for k, exp := range a.replay {
			if now.After(exp) {
				delete(a.replay, k)
			}
		}
		a.nextSweep = now.Add(time.Second)
	}
	if exp, seen := a.replay[key]; seen && !now.After(exp) {
		return ErrReplay
	}
	a.replay[key] = auth.CTime.Add(2 * a.maxSkew())
	return nil
}

// apRep builds the AP-REP token (RFC 4120 §5.5.2, RFC 4121 §4.1) and
// records the acceptor subkey and sequence number in res.
func (a *Acceptor) apRep(auth *types.Authenticator, res *Result) ([]byte, error) {
	// The acceptor subkey has the enctype of the initiator's subkey, or
	// of the session key (RFC 4121 §2).
	kt := res.sessionKey.KeyType
	if res.initSubkey.KeyType != 0 {
		kt = res.initSubkey.KeyType
	}
	if _, err := crypto.GetEtype(kt); err != nil {
		return nil, fmt.Errorf("%w: unsupported enctype", ErrMalformed)
	}
	// RFC 1964-style tokens (RC4-HMAC, RFC 4757 §7) cannot name the key
	// that made them, so for those enctypes MIT krb5 sends no acceptor
	// subkey and both sides keep the initiator's; so do we.
	var sub types.EncryptionKey
	if kt != etypeID.RC4_HMAC && kt != etypeID.RC4_HMAC_EXP {
		var err error
		sub, err = wire.RandomKey(kt) // gokrb5's GenerateEncryptionKey is wrong for enctype 20
		if err != nil {
			return nil, fmt.Errorf("negotiate: krbacceptor: %w", err)
		}
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("negotiate: krbacceptor: %w", err)
	}
	seq := int64(binary.BigEndian.Uint32(rnd[:]) & (1<<30 - 1))
	part := wire.EncAPRepPart{
		CTime:     auth.CTime.UTC().Truncate(time.Second),
		Cusec:     auth.Cusec,
		Subkey:    sub,
		SeqNumber: seq,
	}
	k, err := a.keys.Get(res.sessionKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return nil, fmt.Errorf("negotiate: krbacceptor: encrypt AP-REP: %w", err)
	}
	ct, err := k.Encrypt(part.Marshal())
	if err != nil {
		return nil, fmt.Errorf("negotiate: krbacceptor: encrypt AP-REP: %w", err)
	}
	rb := wire.APRep(types.EncryptedData{EType: res.sessionKey.KeyType, Cipher: ct})
	res.acceptSubkey = sub
	res.acceptSeq = uint64(seq)
	return frame(tokAPRep, rb), nil
}
