// This file is the GSS-API Kerberos V5 initiator (RFC 4121): the AP-REQ
// inside an InitialContextToken, the verification of the server's AP-REP
// (mutual authentication), and MIC tokens for SPNEGO's mechListMIC.

package krb

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb/wire"
)

// OID is the Kerberos V5 GSS-API mechanism, 1.2.840.113554.1.2.2
// (RFC 1964 §1).
var OID = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}

// oidDER is OID as DER (tag, length, value).
var oidDER = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// Token IDs (RFC 4121 §4.1).
var (
	tokAPReq    = [2]byte{0x01, 0x00}
	tokAPRep    = [2]byte{0x02, 0x00}
	tokKRBError = [2]byte{0x03, 0x00}
)

// chksumGSS is the checksum type of the authenticator checksum that
// carries channel bindings and flags (RFC 4121 §4.1.1).
const chksumGSS = 0x8003

// InitiatorOptions configures an Initiator. The zero value asks for no
// mutual authentication and binds to no channel.
type InitiatorOptions struct {
	// Mutual requests mutual authentication (MUTUAL-REQUIRED): Step then
	// returns continueNeeded after the AP-REQ and expects the AP-REP.
	Mutual bool
	// ChannelBindings are hashed into the checksum's Bnd field (all zero
	// when nil), RFC 4121 §4.1.1.2.
	ChannelBindings *gss.ChannelBindings
	// Delegation says whether to delegate the client's credentials (a
	// forwarded TGT in a KRB-CRED, RFC 4121 §4.1.1.1); DelegateNone by
	// default.
	Delegation Delegation
	// Now is the clock for the authenticator; time.Now when nil.
	Now func() time.Time
}

// An Initiator is the client side of one Kerberos GSS-API context
// (RFC 4121). It implements gss.MICContext. Like every gss.Context it is
// used by one goroutine at a time; create one per authentication with
// NewInitiator.
type Initiator struct {
	c    *Client
	spn  string
	opts InitiatorOptions

	state       int // stateNew, stateAwaitRep, stateDone, stateFailed
	sessionKey  types.EncryptionKey
	subkey      types.EncryptionKey // initiator subkey
	acceptorKey types.EncryptionKey // acceptor subkey from the AP-REP
	// rc4AcceptorKey is an RC4-HMAC subkey from an AP-REP answering our
	// RC4-HMAC subkey. RFC 4757 tokens do not say which key made them, so
	// like MIT krb5 we keep our own subkey in force, but VerifyMIC also
	// tries this one and adopts it if the acceptor used it (as Heimdal
	// would).
	rc4AcceptorKey types.EncryptionKey
	delegated      bool // the AP-REQ carried a delegated TGT
	ctime          time.Time
	cusec          int
	sendSeq        uint64
	recvSeq        uint64
	verified       bool
}

const (
	stateNew = iota
	stateAwaitRep
	stateDone
	stateFailed
)

// NewInitiator returns an Initiator that authenticates c's principal to
// spn ("HTTP/host").
func NewInitiator(c *Client, spn string, opts InitiatorOptions) *Initiator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Initiator{c: c, spn: spn, opts: opts}
}

// Delegated reports whether the AP-REQ carried a delegated (forwarded)
// TGT.
func (i *Initiator) Delegated() bool { return i.delegated }

// Verified reports whether the server proved its identity with a valid
// AP-REP (mutual authentication).
func (i *Initiator) Verified() bool { return i.verified }

// SessionKey returns the key in force for per-message tokens: the
// acceptor's subkey if it sent one, else the initiator's subkey.
func (i *Initiator) SessionKey() types.EncryptionKey {
	if len(i.acceptorKey.KeyValue) > 0 {
		return i.acceptorKey
	}
	return i.subkey
}

// Step implements gss.Context. The first call (nil input) gets the
// service ticket (bounded by ctx) and returns the AP-REQ token; with
// Mutual the next call takes the server's AP-REP (framed or raw) or
// KRB-ERROR.
func (i *Initiator) Step(ctx context.Context, in []byte) ([]byte, bool, error) {
	switch i.state {
	case stateNew:
		if len(in) != 0 {
			i.state = stateFailed
			return nil, false, fmt.Errorf("negotiate: kerberos: unexpected token before the AP-REQ: %w", gss.ErrMalformedToken)
		}
		out, err := i.apReq(ctx)
		if err != nil {
			i.state = stateFailed
			return nil, false, err
		}
		if i.opts.Mutual {
			i.state = stateAwaitRep
			return out, true, nil
		}
		i.state = stateDone
		// Without an AP-REP the acceptor's sequence numbers start at
		// ours (RFC 4121 §4.2.6.1 via RFC 1964 §1.2.1.2 practice).
		i.recvSeq = i.sendSeq
		return out, false, nil
	case stateAwaitRep:
		err := i.reply(in)
		if err != nil {
			i.state = stateFailed
			return nil, false, err
		}
		i.state = stateDone
		return nil, false, nil
	case stateDone:
		return nil, false, errors.New("negotiate: kerberos: context already complete")
	default:
		return nil, false, errors.New("negotiate: kerberos: context failed")
	}
}

// checksumFlags returns the Flags of the RFC 4121 §4.1.1 checksum. Integrity,
// confidentiality and sequencing are always offered: MS-KILE §3.2.5.2 notes
// that Windows servers expect GSS_C_INTEG_FLAG and GSS_C_CONF_FLAG.
func (i *Initiator) checksumFlags() uint32 {
	f := gss.FlagInteg | gss.FlagConf | gss.FlagSequence
	if i.opts.Mutual {
		f |= gss.FlagMutual
	}
	return f
}

// MS-KILE §3.2.5.8: a client that sends channel bindings says so in the
// authenticator, so that a Windows server (and MIT krb5 since 1.19) can
// tell "bindings absent" from "client unaware of bindings".
const (
	adIfRelevant     = 1      // AD-IF-RELEVANT, RFC 4120 §5.2.6.1
	adAuthDataAPOpts = 143    // AD-AUTH-DATA-AP-OPTIONS, MS-KILE §3.2.5.8
	kerbAPOptionsCBT = 0x4000 // KERB_AP_OPTIONS_CBT
)

// cbtAuthData returns the authenticator's authorization-data announcing
// channel bindings (MS-KILE §3.2.5.8): one AD-IF-RELEVANT element (so that
// a server that does not know ad-type 143 ignores it, RFC 4120 §5.2.6.1)
// holding AD-AUTH-DATA-AP-OPTIONS whose ad-data is KERB_AP_OPTIONS_CBT as a
// four-byte little-endian integer.
func cbtAuthData() (types.AuthorizationData, error) {
	opts := binary.LittleEndian.AppendUint32(nil, kerbAPOptionsCBT)
	inner, err := asn1.Marshal(types.AuthorizationData{{ADType: adAuthDataAPOpts, ADData: opts}})
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: encoding AP options: %v", err)
	}
	return types.AuthorizationData{{ADType: adIfRelevant, ADData: inner}}, nil
}

// gssChecksum is the value of the 0x8003 checksum (RFC 4121 §4.1.1):
// Lgth (16, little-endian), Bnd (MD5 of the channel bindings, or zeros),
// Flags (little-endian) and, with a KRB-CRED to delegate, the
// GSS_C_DELEG_FLAG in Flags and DlgOpt (1), Dlgth and Deleg, both
// little-endian (RFC 4121 §4.1.1.1).
func gssChecksum(cb *gss.ChannelBindings, fl uint32, deleg []byte) []byte {
	if deleg != nil {
		fl |= gss.FlagDeleg
	}
	b := make([]byte, 24, 28+len(deleg))
	binary.LittleEndian.PutUint32(b[0:4], 16)
	h := cb.Hash()
	copy(b[4:20], h[:])
	binary.LittleEndian.PutUint32(b[20:24], fl)
	if deleg != nil {
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(deleg)))
		b = append(b, deleg...)
	}
	return b
}

// apReq builds the InitialContextToken carrying the AP-REQ.
func (i *Initiator) apReq(ctx context.Context) ([]byte, error) {
	if i.c == nil {
		return nil, fmt.Errorf("negotiate: kerberos: no client: %w", gss.ErrNoCredentials)
	}
	cr, err := i.c.serviceCred(ctx, i.spn)
	if err != nil {
		return nil, err
	}
	key := cr.key
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: session key enctype %d not supported: %w", key.KeyType, gss.ErrUnsupportedMech)
	}
	tder, err := cr.ticketDER()
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: encoding the ticket: %v", err)
	}
	// RFC 4120 §7.5.1: key usage 11 for an AP-REQ authenticator (7 in a
	// TGS-REQ, should anyone name a krbtgt SPN).
	usage := uint32(keyusage.AP_REQ_AUTHENTICATOR)
	if sn := cr.ticket.SName.NameString; len(sn) > 0 && sn[0] == "krbtgt" {
		usage = keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR
	}
	keys, err := i.keys(key, usage)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: session key: %v: %w", err, gss.ErrUnsupportedMech)
	}
	// A fresh subkey of the session key's enctype (RFC 4121 §2) and a
	// random initial sequence number below 2^30. The subkey comes first:
	// a delegated credential is encrypted in it.
	var rnd [4]byte
	seed := make([]byte, wire.KeyLength(key.KeyType, et))
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	subkey := types.EncryptionKey{KeyType: key.KeyType, KeyValue: et.RandomToKey(seed)}
	deleg, err := i.delegation(ctx, cr, subkey)
	if err != nil {
		return nil, err
	}
	now := i.opts.Now().UTC()
	// The authenticator names the ticket's client (RFC 4120 §3.2.3): the
	// Client's, unless the KDC named another one (S4U).
	crealm, cname := i.c.realm, i.c.cname
	if cr.crealm != "" {
		crealm, cname = cr.crealm, cr.cname
	}
	auth := types.Authenticator{
		AVNO:   5,
		CRealm: crealm,
		CName:  cname,
		Cksum:  types.Checksum{CksumType: chksumGSS, Checksum: gssChecksum(i.opts.ChannelBindings, i.checksumFlags(), deleg)},
		CTime:  now.Truncate(time.Second),
		Cusec:  now.Nanosecond() / 1000,
	}
	if i.opts.ChannelBindings != nil {
		ad, err := cbtAuthData()
		if err != nil {
			return nil, err
		}
		auth.AuthorizationData = ad
	}
	auth.SubKey = subkey
	auth.SeqNumber = int64(binary.BigEndian.Uint32(rnd[:]) & (1<<30 - 1))
	ct, err := keys.Encrypt(wire.Authenticator(&auth))
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: encrypting the authenticator: %v", err)
	}
	var opts uint32
	if i.opts.Mutual {
		opts |= 1 << (31 - flags.APOptionMutualRequired)
	}
	// The authenticator's EncryptedData names the ticket's kvno, as
	// gokrb5's NewAPReq did before.
	b := wire.APReq(opts, tder, types.EncryptedData{EType: key.KeyType, KVNO: cr.ticket.EncPart.KVNO, Cipher: ct})
	i.sessionKey = key
	i.subkey = auth.SubKey
	i.ctime = auth.CTime
	i.cusec = auth.Cusec
	i.sendSeq = uint64(auth.SeqNumber)
	i.delegated = deleg != nil
	return wrapToken(tokAPReq, b), nil
}

// keys returns the keys of key for usage, from the Client's cache.
func (i *Initiator) keys(key types.EncryptionKey, usage uint32) (*wire.Keys, error) {
	if i.c == nil {
		return wire.DeriveKeys(key, usage)
	}
	return i.c.keys.Get(key, usage)
}

// wrapToken frames a Kerberos message as an InitialContextToken
// (RFC 2743 §3.1): [APPLICATION 0] { mech OID, TOK_ID, message }.
func wrapToken(id [2]byte, msg []byte) []byte {
	inner := len(oidDER) + 2 + len(msg)
	out := make([]byte, 0, 6+inner)
	out = append(out, 0x60)
	out = append(out, derLength(inner)...)
	out = append(out, oidDER...)
	out = append(out, id[:]...)
	return append(out, msg...)
}

// derLength encodes a DER definite length.
func derLength(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var b []byte
	for v := n; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

// unwrapToken parses an InitialContextToken framing with the Kerberos OID
// and returns its TOK_ID and message.
func unwrapToken(b []byte) ([2]byte, []byte, error) {
	var id [2]byte
	if len(b) < 2 || b[0] != 0x60 {
		return id, nil, errors.New("not a GSS-API token")
	}
	n, hl, ok := parseDERLength(b[1:])
	if !ok || n != len(b)-1-hl {
		return id, nil, errors.New("bad GSS-API token length")
	}
	body := b[1+hl:]
	if !bytes.HasPrefix(body, oidDER) {
		return id, nil, errors.New("not a Kerberos V5 token")
	}
	body = body[len(oidDER):]
	if len(body) < 2 {
		return id, nil, errors.New("no token ID")
	}
	copy(id[:], body)
	return id, body[2:], nil
}

// parseDERLength decodes a DER length; it returns the length and how many
// bytes encoded it.
func parseDERLength(b []byte) (int, int, bool) {
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
	n := 0
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	if n < 0 || n > 1<<28 {
		return 0, 0, false
	}
	return n, 1 + k, true
}

// reply handles the server's answer to a mutual-auth AP-REQ.
func (i *Initiator) reply(in []byte) error {
	if len(in) == 0 {
		return fmt.Errorf("negotiate: kerberos: no token from the server where an AP-REP was due: %w", gss.ErrMutualAuth)
	}
	msg := in
	switch in[0] {
	case 0x60:
		id, m, err := unwrapToken(in)
		if err != nil {
			return fmt.Errorf("negotiate: kerberos: bad token from the server (%v): %w", err, gss.ErrMalformedToken)
		}
		switch id {
		case tokAPRep:
		case tokKRBError:
			return i.krbError(m)
		default:
			return fmt.Errorf("negotiate: kerberos: bad token from the server (token ID %x, want an AP-REP): %w", id[:], gss.ErrMalformedToken)
		}
		msg = m
	case 0x7e: // raw KRB-ERROR, [APPLICATION 30]
		return i.krbError(in)
	case 0x6f: // raw AP-REP, [APPLICATION 15], as some servers send
	default:
		return fmt.Errorf("negotiate: kerberos: bad token from the server (not an AP-REP): %w", gss.ErrMalformedToken)
	}
	var rep messages.APRep
	if !wire.ParseAPRep(msg, &rep) {
		rep = messages.APRep{}
		if err := rep.Unmarshal(msg); err != nil {
			return fmt.Errorf("negotiate: kerberos: bad AP-REP from the server: %w", gss.ErrMalformedToken)
		}
	}
	// RFC 4120 §3.2.5: decrypt with the ticket's session key, key usage 12.
	keys, err := i.keys(i.sessionKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: session key: %v: %w", err, gss.ErrMutualAuth)
	}
	plain, err := keys.Decrypt(rep.EncPart.Cipher)
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: AP-REP not encrypted in the session key (wrong key): %w", gss.ErrMutualAuth)
	}
	// The cryptobyte decoder takes the DER it knows; anything else goes to
	// gokrb5's.
	var part messages.EncAPRepPart
	if !wire.ParseEncAPRepPart(plain, &part) {
		part = messages.EncAPRepPart{}
		if err := part.Unmarshal(plain); err != nil {
			return fmt.Errorf("negotiate: kerberos: bad AP-REP encrypted part: %w", gss.ErrMutualAuth)
		}
	}
	// The server must echo our authenticator's time: ctime has whole
	// seconds only (KerberosTime), so compare seconds and cusec.
	if !part.CTime.Equal(i.ctime) || part.Cusec != i.cusec {
		return fmt.Errorf("negotiate: kerberos: AP-REP time does not match the authenticator (replayed or forged reply): %w", gss.ErrMutualAuth)
	}
	if len(part.Subkey.KeyValue) > 0 {
		if _, err := crypto.GetEtype(part.Subkey.KeyType); err != nil {
			return fmt.Errorf("negotiate: kerberos: AP-REP subkey has unsupported enctype %d: %w", part.Subkey.KeyType, gss.ErrMutualAuth)
		}
		if isRC4(part.Subkey.KeyType) && part.Subkey.KeyType == i.subkey.KeyType {
			// An acceptor subkey replaces ours only with a CFX
			// (RFC 4121) enctype, or another enctype (RFC 4537): MIT
			// krb5's rule, since RFC 1964-style tokens carry no
			// acceptor-subkey flag.
			i.rc4AcceptorKey = part.Subkey
		} else {
			i.acceptorKey = part.Subkey
		}
	}
	// RFC 4121 §4.2.6.1: the acceptor's sequence numbers start at the
	// AP-REP's seq-number (or at ours when it has none).
	i.recvSeq = uint64(uint32(part.SequenceNumber))
	if part.SequenceNumber == 0 {
		i.recvSeq = i.sendSeq
	}
	i.verified = true
	return nil
}

// krbError maps a KRB-ERROR from the server (RFC 4121 §4.1, TOK_ID 03 00).
func (i *Initiator) krbError(m []byte) error {
	ke, err := parseKRBError(m)
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: bad KRB-ERROR from the server: %w", gss.ErrMalformedToken)
	}
	return newError(ke, i.spn, i.opts.Now())
}

// MIC token flags (RFC 4121 §4.2.2).
const (
	micSentByAcceptor = 0x01
	micAcceptorSubkey = 0x04
)

// GetMIC returns a MIC token over msg in the key in force. For RC4-HMAC
// that is the RFC 4757 §7.2 token (see rc4GetMIC); otherwise the RFC 4121
// §4.2.6.1 token: the header (04 04, flags, five FF, sequence number)
// followed by the checksum of msg || header with key usage 25.
func (i *Initiator) GetMIC(msg []byte) ([]byte, error) {
	if i.state != stateDone {
		return nil, errors.New("negotiate: kerberos: GetMIC before the context is complete")
	}
	key := i.SessionKey()
	switch key.KeyType {
	case etypeID.RC4_HMAC:
		// RFC 1964 sequence numbers have 32 bits (ours start below 2^30).
		mic := rc4GetMIC(key.KeyValue, uint32(i.sendSeq), dirInitiator, msg)
		i.sendSeq++
		return mic, nil
	case etypeID.RC4_HMAC_EXP:
		return nil, errRC4Exp
	}
	var fl byte
	if len(i.acceptorKey.KeyValue) > 0 {
		fl |= micAcceptorSubkey
	}
	hdr := micHeader(fl, i.sendSeq)
	sum, err := micChecksum(key, keyusage.GSSAPI_INITIATOR_SIGN, msg, hdr)
	if err != nil {
		return nil, err
	}
	i.sendSeq++
	return append(hdr, sum...), nil
}

// VerifyMIC checks an acceptor's MIC token over msg: an RFC 4757 token
// when the key in force is RC4-HMAC, else an RFC 4121 token (key usage 23;
// the acceptor-subkey flag selects the key).
func (i *Initiator) VerifyMIC(msg, mic []byte) error {
	if i.state != stateDone {
		return errors.New("negotiate: kerberos: VerifyMIC before the context is complete")
	}
	switch i.SessionKey().KeyType {
	case etypeID.RC4_HMAC:
		return i.verifyRC4MIC(msg, mic)
	case etypeID.RC4_HMAC_EXP:
		return errRC4Exp
	}
	if len(mic) < 16 || mic[0] != 0x04 || mic[1] != 0x04 || !bytes.Equal(mic[3:8], []byte{0xff, 0xff, 0xff, 0xff, 0xff}) {
		return fmt.Errorf("negotiate: kerberos: bad MIC token: %w", gss.ErrMalformedToken)
	}
	fl := mic[2]
	if fl&micSentByAcceptor == 0 || fl&^(micSentByAcceptor|micAcceptorSubkey) != 0 {
		return fmt.Errorf("negotiate: kerberos: MIC token not from the acceptor: %w", gss.ErrMutualAuth)
	}
	key := i.subkey
	if fl&micAcceptorSubkey != 0 {
		if len(i.acceptorKey.KeyValue) == 0 {
			return fmt.Errorf("negotiate: kerberos: MIC token names an acceptor subkey we never got: %w", gss.ErrMutualAuth)
		}
		key = i.acceptorKey
	}
	if isRC4(key.KeyType) {
		// An RFC 4121 token in an RC4-HMAC key (initiator subkey RC4,
		// acceptor subkey AES, token naming ours) is not a thing.
		return fmt.Errorf("negotiate: kerberos: RFC 4121 MIC token in an RC4-HMAC key: %w", gss.ErrMalformedToken)
	}
	seq := binary.BigEndian.Uint64(mic[8:16])
	want, err := micChecksum(key, keyusage.GSSAPI_ACCEPTOR_SIGN, msg, mic[:16])
	if err != nil {
		return err
	}
	if !hmac.Equal(want, mic[16:]) {
		return fmt.Errorf("negotiate: kerberos: MIC token does not match (wrong key or altered message): %w", gss.ErrMutualAuth)
	}
	// An out-of-sequence token is only a supplementary status in
	// GSS-API (GSS_S_GAP_TOKEN, RFC 2743 §1.2.3), not a failure: track
	// the number, accept the token.
	_ = seq
	i.recvSeq = seq + 1
	return nil
}

// verifyRC4MIC checks an acceptor's RFC 4757 MIC token in our subkey, or
// else in the RC4-HMAC subkey the AP-REP offered; a token made with the
// latter puts it in force for our own tokens too.
func (i *Initiator) verifyRC4MIC(msg, mic []byte) error {
	seq, err := rc4VerifyMIC(i.SessionKey().KeyValue, dirAcceptor, msg, mic)
	if errors.Is(err, errRC4MICMismatch) && len(i.rc4AcceptorKey.KeyValue) > 0 {
		seq, err = rc4VerifyMIC(i.rc4AcceptorKey.KeyValue, dirAcceptor, msg, mic)
		if err == nil {
			i.acceptorKey, i.rc4AcceptorKey = i.rc4AcceptorKey, types.EncryptionKey{}
		}
	}
	if err != nil {
		return err
	}
	// As for RFC 4121 tokens, an out-of-sequence number is no failure.
	i.recvSeq = uint64(seq) + 1
	return nil
}

func isRC4(etype int32) bool {
	return etype == etypeID.RC4_HMAC || etype == etypeID.RC4_HMAC_EXP
}

func micHeader(fl byte, seq uint64) []byte {
	h := []byte{0x04, 0x04, fl, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(h[8:], seq)
	return h
}

// micChecksum is the RFC 3961 get_mic of msg || header (RFC 4121 §4.2.4).
func micChecksum(key types.EncryptionKey, usage uint32, msg, hdr []byte) ([]byte, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: enctype %d not supported: %w", key.KeyType, gss.ErrUnsupportedMech)
	}
	data := make([]byte, 0, len(msg)+len(hdr))
	data = append(append(data, msg...), hdr...)
	sum, err := et.GetChecksumHash(key.KeyValue, data, usage)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: computing MIC: %v", err)
	}
	return sum, nil
}
