// This file answers AS-REQ and TGS-REQ messages (RFC 4120 §3.1, §3.3):
// pre-authentication, key and enctype selection, ticket minting and
// KRB-ERROR replies.

package kdc

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/adtype"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/krb/wire"
)

// maxRequest bounds a request accepted over TCP (UDP is bounded by the
// datagram). Real KDC requests are a few KB at most.
const maxRequest = 64 << 10

// rawKDCReq is KDC-REQ (RFC 4120 §5.4.1) with the body kept as raw bytes:
// the TGS-REQ checksum covers the body exactly as the client encoded it.
type rawKDCReq struct {
	PVNO    int                  `asn1:"explicit,tag:1"`
	MsgType int                  `asn1:"explicit,tag:2"`
	PAData  types.PADataSequence `asn1:"explicit,optional,tag:3"`
	ReqBody asn1.RawValue        `asn1:"explicit,tag:4"`
}

// kdcError is a KRB-ERROR to send back, built from a request's context.
type kdcError struct {
	code  int32
	text  string
	edata []byte
	// crealm, if set, is the error's crealm: the client's realm in a
	// client referral (KDC_ERR_WRONG_REALM, RFC 6806 §7).
	crealm string
}

func (e *kdcError) Error() string { return fmt.Sprintf("kdc error %d: %s", e.code, e.text) }

func errf(code int32, format string, args ...any) *kdcError {
	return &kdcError{code: code, text: fmt.Sprintf(format, args...)}
}

// Handle processes one encoded KDC request (without the TCP length prefix)
// and returns the encoded reply: an AS-REP, a TGS-REP or a KRB-ERROR. It is
// what the network listeners call; it is exported for fuzzing and for tests
// that want to drive the KDC without sockets. It never panics.
func (k *KDC) Handle(req []byte) []byte {
	return k.handle(req, false)
}

func (k *KDC) handle(req []byte, udp bool) (reply []byte) {
	var sname types.PrincipalName
	defer func() {
		// A malformed request must never take the KDC down; gokrb5's
		// decoders are not all hardened against hostile input.
		if r := recover(); r != nil {
			reply = k.errorReply(errf(errorcode.KRB_ERR_GENERIC, "malformed request"), nil, sname)
		}
	}()
	if len(req) == 0 {
		return k.errorReply(errf(errorcode.KRB_AP_ERR_MSG_TYPE, "empty request"), nil, sname)
	}
	var rep []byte
	var kerr *kdcError
	var body *messages.KDCReqBody
	switch req[0] {
	case 0x60 | asnAppTag.ASREQ: // [APPLICATION 10], constructed
		k.count(func(s *Stats) { s.ASRequests++ })
		body, rep, kerr = k.as(req)
	case 0x60 | asnAppTag.TGSREQ: // [APPLICATION 12], constructed
		body, rep, kerr = k.tgs(req)
	default:
		kerr = errf(errorcode.KRB_AP_ERR_MSG_TYPE, "not a KDC request")
	}
	if body != nil {
		sname = body.SName
	}
	if kerr != nil {
		return k.errorReply(kerr, body, sname)
	}
	if udp && len(rep) > k.opts.MaxUDPReply {
		return k.errorReply(errf(errorcode.KRB_ERR_RESPONSE_TOO_BIG, "response too big for UDP"), body, sname)
	}
	return rep
}

// errorReply encodes a KRB-ERROR (RFC 4120 §5.9.1) with the KDC's time.
func (k *KDC) errorReply(e *kdcError, body *messages.KDCReqBody, sname types.PrincipalName) []byte {
	k.count(func(s *Stats) {
		if s.Errors == nil {
			s.Errors = make(map[int32]int)
		}
		s.Errors[e.code]++
	})
	now := k.now()
	m := messages.KRBError{
		PVNO:      iana.PVNO,
		MsgType:   msgtype.KRB_ERROR,
		STime:     now.Truncate(time.Second),
		Susec:     now.Nanosecond() / 1000,
		ErrorCode: e.code,
		Realm:     k.realm,
		SName:     sname,
		EText:     e.text,
		EData:     e.edata,
	}
	if len(m.SName.NameString) == 0 {
		m.SName = types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", k.realm}}
	}
	if body != nil && len(body.CName.NameString) > 0 {
		m.CName = body.CName
		m.CRealm = k.realm
	}
	if e.crealm != "" {
		m.CRealm = e.crealm
	}
	b, err := m.Marshal()
	if err != nil {
		// Only reachable with names that cannot be encoded; answer with
		// the bare minimum.
		m.SName = types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", k.realm}}
		m.CName, m.CRealm, m.EText, m.EData = types.PrincipalName{}, "", "", nil
		b, _ = m.Marshal()
	}
	return b
}

func nameOf(p types.PrincipalName) string { return strings.Join(p.NameString, "/") }

func validName(p types.PrincipalName) bool {
	if len(p.NameString) == 0 || len(p.NameString) > 8 {
		return false
	}
	for _, s := range p.NameString {
		if s == "" || strings.ContainsAny(s, "/@\x00") {
			return false
		}
	}
	return true
}

// kerberosTime converts a time to what the wire can carry: UTC, whole
// seconds (RFC 4120 §5.2.3).
func kerberosTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// firstCommon returns the first enctype of want that has a key in keys and
// that the KDC supports (RFC 4120 §3.1.3: the client's order wins).
func (k *KDC) firstCommon(want []int32, keys map[int32]types.EncryptionKey) (int32, bool) {
	for _, e := range want {
		if _, ok := keys[e]; ok && k.supports(e) {
			return e, true
		}
	}
	return 0, false
}

// ticketKey returns the key of the server that encrypts its tickets: its
// strongest, by the KDC's preference.
func (k *KDC) ticketKey(p *principal) (types.EncryptionKey, bool) {
	for _, e := range k.opts.Enctypes {
		if key, ok := p.keys[e]; ok {
			return key, true
		}
	}
	return types.EncryptionKey{}, false
}

// etypeInfo2 builds PA-ETYPE-INFO2 (RFC 4120 §5.2.7.5) for the client's
// enctypes the principal has keys for, in the client's order.
func (k *KDC) etypeInfo2(p *principal, want []int32) types.PAData {
	var info types.ETypeInfo2
	seen := map[int32]bool{}
	for _, e := range want {
		if _, ok := p.keys[e]; ok && k.supports(e) && !seen[e] {
			seen[e] = true
			info = append(info, types.ETypeInfo2Entry{EType: e, Salt: p.salt})
		}
	}
	b, _ := asn1.Marshal(info)
	return types.PAData{PADataType: patype.PA_ETYPE_INFO2, PADataValue: b}
}

func (k *KDC) preauthEData(p *principal, want []int32) []byte {
	md := types.PADataSequence{
		{PADataType: patype.PA_ENC_TIMESTAMP, PADataValue: []byte{}},
		k.etypeInfo2(p, want),
	}
	b, _ := asn1.Marshal(md)
	return b
}

// as answers an AS-REQ (RFC 4120 §3.1.2).
func (k *KDC) as(raw []byte) (*messages.KDCReqBody, []byte, *kdcError) {
	var req messages.ASReq
	if err := req.Unmarshal(raw); err != nil {
		return nil, nil, errf(errorcode.KRB_ERR_GENERIC, "malformed AS-REQ")
	}
	body := &req.ReqBody
	if req.PVNO != iana.PVNO {
		return body, nil, errf(errorcode.KRB_AP_ERR_BADVERSION, "protocol version must be 5")
	}
	if body.Realm != k.realm {
		return body, nil, errf(errorcode.KDC_ERR_WRONG_REALM, "unknown realm")
	}
	if !validName(body.CName) && !validEnterpriseName(body.CName) {
		return body, nil, errf(errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, "client principal missing or invalid")
	}
	if !validName(body.SName) {
		return body, nil, errf(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "server principal missing or invalid")
	}
	cname := nameOf(body.CName)
	// The ticket names the client by its canonical name; the reply does
	// too when the client asked for canonicalization (RFC 6806 §5).
	canonical, replyCName := body.CName, body.CName
	if body.CName.NameType == nametype.KRB_NT_ENTERPRISE && len(body.CName.NameString) == 1 {
		if ref := k.clientReferral(body.CName.NameString[0]); ref != "" {
			e := errf(errorcode.KDC_ERR_WRONG_REALM, "client in another realm")
			e.crealm = ref
			return body, nil, e
		}
		cname = k.resolveEnterprise(body.CName.NameString[0])
		canonical = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, cname)
		if types.IsFlagSet(&body.KDCOptions, flags.Canonicalize) {
			replyCName = canonical
		}
	}
	client, ok := k.lookup(cname)
	if !ok || strings.HasPrefix(cname, "krbtgt/") {
		return body, nil, errf(errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, "client not found in Kerberos database")
	}
	server, ok := k.lookup(nameOf(body.SName))
	if !ok {
		return body, nil, errf(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "server not found in Kerberos database")
	}
	replyEtype, ok := k.firstCommon(body.EType, client.keys)
	if !ok {
		return body, nil, errf(errorcode.KDC_ERR_ETYPE_NOSUPP, "no common encryption type for the client key")
	}
	sessEtype, ok := k.firstCommon(body.EType, server.keys)
	if !ok {
		return body, nil, errf(errorcode.KDC_ERR_ETYPE_NOSUPP, "no common encryption type for the session key")
	}
	now := k.now()

	// Pre-authentication: PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2) is required
	// of every principal, as Active Directory and most MIT KDCs do.
	var ts *types.PAData
	for i := range req.PAData {
		if req.PAData[i].PADataType == patype.PA_ENC_TIMESTAMP {
			ts = &req.PAData[i]
			break
		}
	}
	if ts == nil {
		e := errf(errorcode.KDC_ERR_PREAUTH_REQUIRED, "additional pre-authentication required")
		e.edata = k.preauthEData(client, body.EType)
		return body, nil, e
	}
	failed := func() *kdcError {
		e := errf(errorcode.KDC_ERR_PREAUTH_FAILED, "pre-authentication failed")
		e.edata = k.preauthEData(client, body.EType)
		return e
	}
	var ed types.EncryptedData
	if err := ed.Unmarshal(ts.PADataValue); err != nil {
		return body, nil, failed()
	}
	ckey, ok := client.keys[ed.EType]
	if !ok || !k.supports(ed.EType) {
		return body, nil, failed()
	}
	plain, err := crypto.DecryptEncPart(ed, ckey, keyusage.AS_REQ_PA_ENC_TIMESTAMP)
	if err != nil {
		return body, nil, failed()
	}
	var pts types.PAEncTSEnc
	if _, err := asn1.Unmarshal(plain, &pts); err != nil {
		return body, nil, failed()
	}
	if absDuration(now.Sub(pts.PATimestamp)) > k.opts.MaxSkew {
		return body, nil, errf(errorcode.KRB_AP_ERR_SKEW, "clock skew too great")
	}
	if client.expired {
		return body, nil, errf(errorcode.KDC_ERR_KEY_EXPIRED, "password has expired")
	}

	g := grant{
		cname:     canonical,
		server:    server,
		sname:     body.SName,
		sessEtype: sessEtype,
		authtime:  now,
		caddr:     body.Addresses,
		opts:      body.KDCOptions,
		till:      body.Till,
		rtime:     body.RTime,
		initial:   true,
		preauth:   true,
		maxEnd:    time.Time{},
		noForward: client.noForward,
	}
	tkt, sess, etp, kerr := k.mint(g)
	if kerr != nil {
		return body, nil, kerr
	}
	enc := k.encPart(etp, sess, body.Nonce, g.sname, now)
	encB, err := asn1.Marshal(enc)
	if err != nil {
		return body, nil, errf(errorcode.KRB_ERR_GENERIC, "cannot encode reply")
	}
	encB = asn1tools.AddASNAppTag(encB, asnAppTag.EncASRepPart)
	encData, err := crypto.GetEncryptedData(encB, client.keys[replyEtype], keyusage.AS_REP_ENCPART, client.kvno)
	if err != nil {
		return body, nil, errf(errorcode.KRB_ERR_GENERIC, "cannot encrypt reply")
	}
	rep := messages.ASRep{KDCRepFields: messages.KDCRepFields{
		PVNO:    iana.PVNO,
		MsgType: msgtype.KRB_AS_REP,
		PAData:  types.PADataSequence{k.etypeInfo2(client, []int32{replyEtype})},
		CRealm:  k.realm,
		CName:   replyCName,
		Ticket:  tkt,
		EncPart: encData,
	}}
	b, err := rep.Marshal()
	if err != nil {
		return body, nil, errf(errorcode.KRB_ERR_GENERIC, "cannot encode reply")
	}
	return body, b, nil
}

// grant is what a new ticket is to say.
type grant struct {
	crealm    string // the client's realm; "" for this KDC's
	cname     types.PrincipalName
	server    *principal
	sname     types.PrincipalName
	sessEtype int32
	authtime  time.Time
	caddr     types.HostAddresses
	opts      asn1.BitString // the request's KDC options
	till      time.Time
	rtime     time.Time
	initial   bool
	preauth   bool
	// Limits inherited from the TGT (zero: none).
	maxEnd      time.Time
	maxRenew    time.Time
	canForward  bool // TGT forwardable (always true for AS)
	canRenew    bool // TGT renewable (always true for AS)
	fromTGS     bool
	startAndEnd [2]time.Time // renewal: keep the ticket's length
	renewal     bool
	// noForward: the client or the server may not have forwardable
	// tickets (SetForwardable).
	noForward bool
	// forwarded: the ticket is issued from a forwarded TGT, or on a
	// FORWARDED request (RFC 4120 §2.6).
	forwarded bool
}

// mint makes a ticket and its session key (RFC 4120 §3.1.3, §3.3.3).
func (k *KDC) mint(g grant) (messages.Ticket, types.EncryptionKey, messages.EncTicketPart, *kdcError) {
	var zero messages.Ticket
	now := kerberosTime(k.now())
	if _, err := crypto.GetEtype(g.sessEtype); err != nil {
		return zero, types.EncryptionKey{}, messages.EncTicketPart{}, errf(errorcode.KDC_ERR_ETYPE_NOSUPP, "unsupported session key type")
	}
	// wire.RandomKey, not gokrb5's GenerateEncryptionKey, which makes
	// 24-byte aes256-cts-hmac-sha384-192 keys (they are 32 bytes).
	sess, err := wire.RandomKey(g.sessEtype)
	if err != nil {
		return zero, types.EncryptionKey{}, messages.EncTicketPart{}, errf(errorcode.KRB_ERR_GENERIC, "cannot make a session key")
	}
	fl := types.NewKrbFlags()
	if !g.fromTGS {
		g.canForward, g.canRenew = true, true
	}
	if g.canForward && !g.noForward && !g.server.noForward && types.IsFlagSet(&g.opts, flags.Forwardable) {
		types.SetFlag(&fl, flags.Forwardable)
	}
	if g.forwarded {
		types.SetFlag(&fl, flags.Forwarded)
	}
	if g.server.okAsDelegate {
		types.SetFlag(&fl, flags.OKAsDelegate)
	}
	if types.IsFlagSet(&g.opts, flags.Proxiable) && !g.fromTGS {
		types.SetFlag(&fl, flags.Proxiable)
	}
	if g.initial {
		types.SetFlag(&fl, flags.Initial)
	}
	if g.preauth {
		types.SetFlag(&fl, flags.PreAuthent)
	}
	authtime := kerberosTime(g.authtime)
	start := now
	till := g.till
	if till.IsZero() || till.Unix() <= 0 {
		till = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) // "infinite" (RFC 4120 §5.4.1)
	}
	end := minTime(kerberosTime(till), now.Add(k.opts.TicketLifetime))
	if !g.maxEnd.IsZero() {
		end = minTime(end, g.maxEnd)
	}
	var renewTill time.Time
	if g.renewal {
		length := g.startAndEnd[1].Sub(g.startAndEnd[0])
		end = minTime(now.Add(length), g.maxRenew)
		renewTill = g.maxRenew
		types.SetFlag(&fl, flags.Renewable)
	} else if k.opts.RenewLifetime > 0 && g.canRenew &&
		(types.IsFlagSet(&g.opts, flags.Renewable) || (types.IsFlagSet(&g.opts, flags.RenewableOK) && kerberosTime(till).After(end))) {
		r := g.rtime
		if r.IsZero() || r.Unix() <= 0 {
			r = till
		}
		renewTill = minTime(kerberosTime(r), now.Add(k.opts.RenewLifetime))
		if !g.maxRenew.IsZero() {
			renewTill = minTime(renewTill, g.maxRenew)
		}
		if renewTill.After(end) {
			types.SetFlag(&fl, flags.Renewable)
		} else {
			renewTill = time.Time{}
		}
	}
	if !end.After(now) {
		return zero, types.EncryptionKey{}, messages.EncTicketPart{}, errf(errorcode.KDC_ERR_NEVER_VALID, "requested end time is not in the future")
	}
	etp := messages.EncTicketPart{
		Flags:     fl,
		Key:       sess,
		CRealm:    cmp.Or(g.crealm, k.realm),
		CName:     g.cname,
		Transited: messages.TransitedEncoding{TRType: 1, Contents: []byte{}}, // DOMAIN-X500-COMPRESS, empty (RFC 4120 §3.3.3.2)
		AuthTime:  authtime,
		StartTime: start,
		EndTime:   end,
		RenewTill: renewTill,
		CAddr:     g.caddr,
	}
	if n := k.opts.TicketPadding; n > 0 {
		inner, _ := asn1.Marshal(types.AuthorizationData{{ADType: -17, ADData: make([]byte, n)}})
		etp.AuthorizationData = types.AuthorizationData{{ADType: adtype.ADIfRelevant, ADData: inner}}
	}
	b, err := asn1.Marshal(etp)
	if err != nil {
		return zero, types.EncryptionKey{}, messages.EncTicketPart{}, errf(errorcode.KRB_ERR_GENERIC, "cannot encode ticket")
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart)
	skey, ok := k.ticketKey(g.server)
	if !ok {
		return zero, types.EncryptionKey{}, messages.EncTicketPart{}, errf(errorcode.KDC_ERR_ETYPE_NOSUPP, "server has no usable key")
	}
	ed, err := crypto.GetEncryptedData(b, skey, keyusage.KDC_REP_TICKET, g.server.kvno)
	if err != nil {
		return zero, types.EncryptionKey{}, messages.EncTicketPart{}, errf(errorcode.KRB_ERR_GENERIC, "cannot encrypt ticket")
	}
	tkt := messages.Ticket{
		TktVNO:  iana.PVNO,
		Realm:   k.realm,
		SName:   g.sname,
		EncPart: ed,
	}
	return tkt, sess, etp, nil
}

// encPart is EncKDCRepPart (RFC 4120 §5.4.2) for a ticket just minted.
func (k *KDC) encPart(etp messages.EncTicketPart, sess types.EncryptionKey, nonce int, sname types.PrincipalName, now time.Time) messages.EncKDCRepPart {
	return messages.EncKDCRepPart{
		Key:       sess,
		LastReqs:  []messages.LastReq{{LRType: 0, LRValue: kerberosTime(now)}},
		Nonce:     nonce,
		Flags:     etp.Flags,
		AuthTime:  etp.AuthTime,
		StartTime: etp.StartTime,
		EndTime:   etp.EndTime,
		RenewTill: etp.RenewTill,
		SRealm:    k.realm,
		SName:     sname,
		CAddr:     etp.CAddr,
	}
}

// tgs answers a TGS-REQ (RFC 4120 §3.3.2).
func (k *KDC) tgs(raw []byte) (*messages.KDCReqBody, []byte, *kdcError) {
	var m rawKDCReq
	if _, err := asn1.UnmarshalWithParams(raw, &m, fmt.Sprintf("application,explicit,tag:%d", asnAppTag.TGSREQ)); err != nil {
		k.count(func(s *Stats) { s.TGSRequests++ })
		return nil, nil, errf(errorcode.KRB_ERR_GENERIC, "malformed TGS-REQ")
	}
	var body messages.KDCReqBody
	if err := body.Unmarshal(m.ReqBody.Bytes); err != nil {
		k.count(func(s *Stats) { s.TGSRequests++ })
		return nil, nil, errf(errorcode.KRB_ERR_GENERIC, "malformed TGS-REQ body")
	}
	spn := nameOf(body.SName)
	k.count(func(s *Stats) {
		s.TGSRequests++
		if s.TGSBySPN == nil {
			s.TGSBySPN = make(map[string]int)
		}
		s.TGSBySPN[spn]++
	})
	if m.PVNO != iana.PVNO {
		return &body, nil, errf(errorcode.KRB_AP_ERR_BADVERSION, "protocol version must be 5")
	}
	if m.MsgType != msgtype.KRB_TGS_REQ {
		return &body, nil, errf(errorcode.KRB_AP_ERR_MSG_TYPE, "not a TGS-REQ")
	}
	var apb []byte
	for _, pa := range m.PAData {
		if pa.PADataType == patype.PA_TGS_REQ {
			apb = pa.PADataValue
			break
		}
	}
	if apb == nil {
		return &body, nil, errf(errorcode.KDC_ERR_PADATA_TYPE_NOSUPP, "no PA-TGS-REQ")
	}
	var ap messages.APReq
	if err := ap.Unmarshal(apb); err != nil {
		return &body, nil, errf(errorcode.KRB_AP_ERR_MSG_TYPE, "malformed AP-REQ in PA-TGS-REQ")
	}
	tgsName := "krbtgt/" + k.realm
	if nameOf(ap.Ticket.SName) != tgsName {
		return &body, nil, errf(errorcode.KRB_AP_ERR_NOT_US, "ticket is not a TGT of this realm")
	}
	// Our own TGT, or a cross-realm TGT from a realm that trusts us
	// (Trust): the ticket's realm is the KDC that issued it.
	tgs, ok := k.lookup(tgsName)
	if ap.Ticket.Realm != k.realm {
		tgs, ok = k.inboundTGS(ap.Ticket.Realm)
	}
	if !ok {
		return &body, nil, errf(errorcode.KRB_AP_ERR_NOT_US, "ticket is not a TGT of this realm")
	}
	if ap.Ticket.EncPart.KVNO != 0 && ap.Ticket.EncPart.KVNO != tgs.kvno {
		return &body, nil, errf(errorcode.KRB_AP_ERR_BADKEYVER, "key version not available")
	}
	tkey, ok := tgs.keys[ap.Ticket.EncPart.EType]
	if !ok {
		return &body, nil, errf(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "no key of the ticket's type")
	}
	if err := ap.Ticket.Decrypt(tkey); err != nil {
		return &body, nil, errf(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "ticket does not decrypt")
	}
	tp := ap.Ticket.DecryptedEncPart
	authB, err := crypto.DecryptEncPart(ap.EncryptedAuthenticator, tp.Key, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR)
	if err != nil {
		return &body, nil, errf(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "authenticator does not decrypt")
	}
	var auth types.Authenticator
	if err := auth.Unmarshal(authB); err != nil {
		return &body, nil, errf(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "malformed authenticator")
	}
	if auth.CRealm != tp.CRealm || !auth.CName.Equal(tp.CName) {
		return &body, nil, errf(errorcode.KRB_AP_ERR_BADMATCH, "ticket and authenticator don't match")
	}
	now := k.now()
	if absDuration(now.Sub(auth.CTime)) > k.opts.MaxSkew {
		return &body, nil, errf(errorcode.KRB_AP_ERR_SKEW, "clock skew too great")
	}
	if now.After(tp.EndTime) {
		return &body, nil, errf(errorcode.KRB_AP_ERR_TKT_EXPIRED, "ticket expired")
	}
	if tp.StartTime.Sub(now) > k.opts.MaxSkew || types.IsFlagSet(&tp.Flags, flags.Invalid) {
		return &body, nil, errf(errorcode.KRB_AP_ERR_TKT_NYV, "ticket not yet valid")
	}
	// The authenticator's checksum binds the request body to the TGT's
	// session key (RFC 4120 §5.5.1, key usage 6).
	if auth.Cksum.CksumType == 0 {
		return &body, nil, errf(errorcode.KRB_AP_ERR_INAPP_CKSUM, "authenticator has no checksum")
	}
	cet, err := crypto.GetChksumEtype(auth.Cksum.CksumType)
	if err != nil || cet.GetETypeID() != tp.Key.KeyType {
		return &body, nil, errf(errorcode.KRB_AP_ERR_INAPP_CKSUM, "inappropriate checksum type")
	}
	if !cet.VerifyChecksum(tp.Key.KeyValue, m.ReqBody.Bytes, auth.Cksum.Checksum, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM) {
		return &body, nil, errf(errorcode.KRB_AP_ERR_MODIFIED, "request body checksum mismatch")
	}
	if body.Realm != k.realm {
		return &body, nil, errf(errorcode.KDC_ERR_WRONG_REALM, "unknown realm")
	}

	g := grant{
		crealm:     tp.CRealm,
		cname:      tp.CName,
		authtime:   tp.AuthTime,
		caddr:      tp.CAddr,
		opts:       body.KDCOptions,
		till:       body.Till,
		rtime:      body.RTime,
		preauth:    types.IsFlagSet(&tp.Flags, flags.PreAuthent),
		maxEnd:     tp.EndTime,
		maxRenew:   tp.RenewTill,
		canForward: types.IsFlagSet(&tp.Flags, flags.Forwardable),
		canRenew:   types.IsFlagSet(&tp.Flags, flags.Renewable),
		fromTGS:    true,
		forwarded:  types.IsFlagSet(&tp.Flags, flags.Forwarded),
	}
	if cl, ok := k.lookup(nameOf(tp.CName)); ok && tp.CRealm == k.realm {
		g.noForward = cl.noForward
	}
	if types.IsFlagSet(&body.KDCOptions, flags.Forwarded) {
		// RFC 4120 §3.3.3: a FORWARDED request needs a FORWARDABLE TGT;
		// the new ticket carries the request's addresses (none, for a
		// ticket to be used from anywhere), not the TGT's.
		if !g.canForward || g.noForward {
			return &body, nil, errf(errorcode.KDC_ERR_BADOPTION, "ticket is not forwardable")
		}
		g.forwarded = true
		g.caddr = body.Addresses
	}
	if types.IsFlagSet(&body.KDCOptions, flags.Renew) {
		// Renewal (RFC 4120 §3.3.3.1): the TGT itself, with a new
		// session key and end time, up to its renew-till.
		if !g.canRenew || tp.RenewTill.IsZero() {
			return &body, nil, errf(errorcode.KDC_ERR_BADOPTION, "ticket is not renewable")
		}
		if now.After(tp.RenewTill) {
			return &body, nil, errf(errorcode.KRB_AP_ERR_TKT_EXPIRED, "renewable lifetime has passed")
		}
		g.renewal = true
		g.startAndEnd = [2]time.Time{tp.StartTime, tp.EndTime}
		g.maxEnd = time.Time{}
		g.server = tgs
		g.sname = ap.Ticket.SName
		g.sessEtype = tp.Key.KeyType
		if types.IsFlagSet(&tp.Flags, flags.Initial) {
			g.initial = false
		}
	} else {
		if !validName(body.SName) {
			return &body, nil, errf(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "server principal missing or invalid")
		}
		if ref, ok := k.serviceReferral(spn); ok {
			// A KDC referral (RFC 6806 §8): a TGT for the realm that
			// holds the service, instead of its ticket.
			spn = "krbtgt/" + ref
			body.SName = types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", ref}}
		}
		server, ok := k.lookup(spn)
		if !ok {
			return &body, nil, errf(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "server not found in Kerberos database")
		}
		e, ok := k.firstCommon(body.EType, server.keys)
		if !ok {
			return &body, nil, errf(errorcode.KDC_ERR_ETYPE_NOSUPP, "no common encryption type for the session key")
		}
		g.server, g.sname, g.sessEtype = server, body.SName, e
		if kerr := k.s4u(m.PAData, &body, &tp, &g); kerr != nil {
			return &body, nil, kerr
		}
	}
	tkt, sess, etp, kerr := k.mint(g)
	if kerr != nil {
		return &body, nil, kerr
	}
	enc := k.encPart(etp, sess, body.Nonce, g.sname, now)
	encB, err := asn1.Marshal(enc)
	if err != nil {
		return &body, nil, errf(errorcode.KRB_ERR_GENERIC, "cannot encode reply")
	}
	encB = asn1tools.AddASNAppTag(encB, asnAppTag.EncTGSRepPart)
	// With an authenticator subkey the reply is sealed with it (usage 9),
	// otherwise with the TGT session key (usage 8) (RFC 4120 §5.4.2).
	rkey, usage := tp.Key, uint32(keyusage.TGS_REP_ENCPART_SESSION_KEY)
	if auth.SubKey.KeyType != 0 && len(auth.SubKey.KeyValue) > 0 {
		rkey, usage = auth.SubKey, keyusage.TGS_REP_ENCPART_AUTHENTICATOR_SUB_KEY
	}
	encData, err := crypto.GetEncryptedData(encB, rkey, usage, 0)
	if err != nil {
		return &body, nil, errf(errorcode.KRB_ERR_GENERIC, "cannot encrypt reply")
	}
	rep := messages.TGSRep{KDCRepFields: messages.KDCRepFields{
		PVNO:    iana.PVNO,
		MsgType: msgtype.KRB_TGS_REP,
		CRealm:  tp.CRealm,
		CName:   g.cname, // the TGT's client, or the user of S4U (s4u.go)
		Ticket:  tkt,
		EncPart: encData,
	}}
	b, err := rep.Marshal()
	if err != nil {
		return &body, nil, errf(errorcode.KRB_ERR_GENERIC, "cannot encode reply")
	}
	return &body, b, nil
}
