// This file is Kerberos constrained delegation, the Service for User
// extensions of MS-SFU: a service that holds its own credentials gets a
// ticket for a user to itself (S4U2Self, protocol transition, MS-SFU
// §3.1.5.1.1) and trades it for the user's ticket to another service
// (S4U2Proxy, MS-SFU §3.1.5.2). The result is an ordinary service ticket
// whose client is the user, used by the Initiator like any other.

package krb

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// MS-SFU constants.
const (
	// PaForUser is the PA-DATA type of PA-FOR-USER (MS-SFU §2.2.1).
	PaForUser int32 = 129
	// PaS4UX509User is the PA-DATA type of PA-S4U-X509-USER (MS-SFU §2.2.2).
	PaS4UX509User int32 = 130
	// ChecksumHMACMD5 is KERB_CHECKSUM_HMAC_MD5 (RFC 4757 §4), the
	// checksum PA-FOR-USER always uses, whatever the session key's type.
	ChecksumHMACMD5 int32 = -138
	// usageForUser is the key usage of PA-FOR-USER's checksum
	// (KERB_NON_KERB_CKSUM_SALT, MS-SFU §2.2.1).
	usageForUser = 17
	// kdcOptCNameInAddlTkt is the cname-in-addl-tkt KDC option, bit 14
	// (MS-SFU §2.2.3).
	kdcOptCNameInAddlTkt = 14
)

// Typed refusals of constrained delegation. Each wraps gss.ErrRejected (the
// KDC said no; NTLM cannot stand in), and the error returned wraps the
// KDC's *Error as well.
var (
	// ErrDelegationNotAllowed: the KDC refused S4U2Proxy
	// (KDC_ERR_BADOPTION) although the evidence ticket was forwardable:
	// the service is not allowed to delegate to that SPN (Active
	// Directory: the SPN is not in the service account's
	// msDS-AllowedToDelegateTo, and no resource-based delegation allows
	// it).
	ErrDelegationNotAllowed error = &refusal{"negotiate: kerberos: the service is not trusted to delegate to this SPN (constrained delegation)"}
	// ErrNoProtocolTransition: the KDC refused S4U2Proxy and the evidence
	// ticket from S4U2Self was not forwardable, because the service is
	// not trusted for protocol transition (Active Directory: "use any
	// authentication protocol", TRUSTED_TO_AUTH_FOR_DELEGATION).
	ErrNoProtocolTransition error = &refusal{"negotiate: kerberos: the service is not trusted for protocol transition (its S4U2Self evidence ticket is not forwardable)"}
	// ErrUserNotDelegable: the KDC refused S4U2Proxy and the evidence
	// ticket was not forwardable although the service is trusted for
	// protocol transition: the user is "sensitive and cannot be
	// delegated" (Active Directory: NOT_DELEGATED, or a Protected Users
	// member).
	ErrUserNotDelegable error = &refusal{"negotiate: kerberos: the user is sensitive and cannot be delegated (its S4U2Self evidence ticket is not forwardable)"}
	// ErrImpersonationCrossRealm: the user or the target service is in
	// another realm than the service account; S4U across realms (MS-SFU
	// §3.1.5.1.2, §3.1.5.2.2) is not implemented.
	ErrImpersonationCrossRealm error = &refusal{"negotiate: kerberos: constrained delegation across realms is not supported"}
)

// refusal is a sentinel that also matches gss.ErrRejected without
// repeating its text in every message.
type refusal struct{ msg string }

func (e *refusal) Error() string { return e.msg }

// Is makes errors.Is(err, gss.ErrRejected) true for a refusal.
func (e *refusal) Is(target error) bool { return target == gss.ErrRejected }

// s4u is the impersonation state of a Client made by
// NewImpersonationClient: the service's Client, whose TGT makes the
// requests, and the evidence ticket of the user to the service.
type s4u struct {
	service *Client
	user    types.PrincipalName // as sent in PA-FOR-USER
	realm   string              // the user's realm

	mu       sync.Mutex
	evidence *cred
}

// NewImpersonationClient returns a Client whose tickets are service's
// tickets for user, got by constrained delegation (MS-SFU): S4U2Self with
// service's TGT, then S4U2Proxy for each SPN asked for. user is "name",
// "name@REALM" (REALM being service's realm, case-insensitive) or a user
// principal name "name@suffix", sent as an enterprise name
// (NT-ENTERPRISE, RFC 6806 §5) for the KDC to resolve. The returned
// Client cannot log in nor delegate its own TGT; service may be shared.
func NewImpersonationClient(service *Client, user string) *Client {
	c := &Client{now: service.now, tickets: map[string]*cred{}, spns: map[string]spnTarget{}}
	c.cfg = service.cfg
	c.realm = service.realm
	s := &s4u{service: service, realm: service.realm}
	c.s4u = s
	name, suffix, hasAt := strings.Cut(user, "@")
	switch {
	case name == "":
		c.initErr = fmt.Errorf("negotiate: kerberos: empty user name to impersonate: %w", gss.ErrNoCredentials)
	case !hasAt:
		s.user = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, name)
	case strings.EqualFold(suffix, service.realm):
		s.user = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, name)
	default:
		// A UPN: the KDC of the service's realm resolves it.
		s.user = types.PrincipalName{NameType: nametype.KRB_NT_ENTERPRISE, NameString: []string{user}}
	}
	c.cname = s.user
	if service.initErr != nil {
		c.initErr = service.initErr
	}
	return c
}

// Impersonated reports the user an impersonation Client acts for, as
// user@REALM, and whether c is one.
func (c *Client) Impersonated() (string, bool) {
	if c.s4u == nil {
		return "", false
	}
	return c.s4u.user.PrincipalNameString() + "@" + c.s4u.realm, true
}

// s4uServiceTicket gets the user's ticket for sname@realm: the evidence
// ticket (S4U2Self) first, then S4U2Proxy.
func (c *Client) s4uServiceTicket(ctx context.Context, sname types.PrincipalName, realm string) (*cred, error) {
	svc := c.s4u.service
	if realm != svc.realm {
		return nil, fmt.Errorf("%w (service %s, target %s)", ErrImpersonationCrossRealm, svc.Principal(), ticketKey(sname, realm))
	}
	tgt, err := svc.getTGT(ctx)
	if err != nil {
		return nil, err
	}
	ev, err := c.evidenceTicket(ctx, tgt)
	if err != nil {
		return nil, err
	}
	cr, err := svc.s4u2Proxy(ctx, tgt, ev, sname)
	if err == nil {
		return cr, nil
	}
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != errorcode.KDC_ERR_BADOPTION {
		return nil, err
	}
	about := fmt.Sprintf("(service %s, user %s, SPN %s)", svc.Principal(), ev.cname.PrincipalNameString(), ticketKey(sname, realm))
	if types.IsFlagSet(&ev.flags, flags.Forwardable) {
		return nil, fmt.Errorf("%w %s: %w", ErrDelegationNotAllowed, about, err)
	}
	// A non-forwardable evidence ticket: a sensitive user, or a service
	// not trusted for protocol transition. The service impersonating
	// itself tells which: if that evidence ticket is forwardable, the
	// service is trusted and the user is the cause.
	self, perr := svc.s4u2Self(ctx, tgt, svc.cname, svc.realm)
	if perr == nil && types.IsFlagSet(&self.flags, flags.Forwardable) {
		return nil, fmt.Errorf("%w %s: %w", ErrUserNotDelegable, about, err)
	}
	return nil, fmt.Errorf("%w %s: %w", ErrNoProtocolTransition, about, err)
}

// evidenceTicket returns the user's ticket to the service (S4U2Self),
// cached while valid; concurrent callers share one exchange.
func (c *Client) evidenceTicket(ctx context.Context, tgt *cred) (*cred, error) {
	s := c.s4u
	return c.keptOrShared(ctx, "s4u2self", &s.mu, &s.evidence, func(fctx context.Context) (*cred, error) {
		return s.service.s4u2Self(fctx, tgt, s.user, s.realm)
	})
}

// s4u2Self asks c's KDC, with c's TGT, for a ticket to c itself on behalf
// of user@userRealm (MS-SFU §3.1.5.1.1): a TGS-REQ for c's own name with
// PA-FOR-USER. The ticket is forwardable only if the KDC allows protocol
// transition for c and the user may be delegated.
func (c *Client) s4u2Self(ctx context.Context, tgt *cred, user types.PrincipalName, userRealm string) (*cred, error) {
	pa, err := PAForUser(user, userRealm, tgt.key)
	if err != nil {
		return nil, err
	}
	req, err := c.newTGSReq(tgt, c.cname)
	if err != nil {
		return nil, err
	}
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwardable)
	if user.NameType == nametype.KRB_NT_ENTERPRISE {
		// Ask for the user's canonical name in the ticket (RFC 6806 §5).
		types.SetFlag(&req.ReqBody.KDCOptions, flags.Canonicalize)
	}
	// Both forms of the user, as MIT krb5 sends them: KDCs that know
	// PA-S4U-X509-USER prefer it and echo it signed in the reply.
	x509, err := NewPAS4UX509User(user, userRealm, req.ReqBody.Nonce, tgt.key)
	if err != nil {
		return nil, err
	}
	if err := signTGSReq(&req, tgt, c.realm, pa, x509); err != nil {
		return nil, err
	}
	about := user.PrincipalNameString() + "@" + userRealm
	cr, pad, err := c.sendTGSReq(ctx, tgt, &req, about)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: S4U2Self for %s by %s: %w", about, c.Principal(), err)
	}
	if err := checkS4UReply(pad, tgt.key, req.ReqBody.Nonce, cr.cname); err != nil {
		return nil, err
	}
	if user.NameType != nametype.KRB_NT_ENTERPRISE && !samePrincipal(cr.cname, user) {
		return nil, fmt.Errorf("negotiate: kerberos: S4U2Self reply names another client: %w", gss.ErrRejected)
	}
	return cr, nil
}

// s4u2Proxy trades the evidence ticket for a ticket of the same user to
// sname (MS-SFU §3.1.5.2): cname-in-addl-tkt, the evidence ticket in
// additional-tickets.
func (c *Client) s4u2Proxy(ctx context.Context, tgt, evidence *cred, sname types.PrincipalName) (*cred, error) {
	req, err := c.newTGSReq(tgt, sname)
	if err != nil {
		return nil, err
	}
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwardable)
	types.SetFlag(&req.ReqBody.KDCOptions, kdcOptCNameInAddlTkt)
	req.ReqBody.AdditionalTickets = []messages.Ticket{evidence.ticket}
	if err := signTGSReq(&req, tgt, c.realm); err != nil {
		return nil, err
	}
	about := ticketKey(sname, c.realm)
	cr, _, err := c.sendTGSReq(ctx, tgt, &req, about)
	if err != nil {
		return nil, err
	}
	if !samePrincipal(cr.cname, evidence.cname) {
		return nil, fmt.Errorf("negotiate: kerberos: S4U2Proxy reply names another client than the evidence ticket: %w", gss.ErrRejected)
	}
	return cr, nil
}

// newTGSReq builds a TGS-REQ from c (with c's TGT) for sname in c's realm,
// without addresses.
func (c *Client) newTGSReq(tgt *cred, sname types.PrincipalName) (messages.TGSReq, error) {
	req, err := messages.NewTGSReq(c.cname, c.realm, c.cfg, tgt.ticket, tgt.key, sname, false)
	if err != nil {
		return req, fmt.Errorf("negotiate: kerberos: building TGS-REQ: %v", err)
	}
	req.ReqBody.Addresses = nil
	if req.ReqBody.Nonce, err = nonce(); err != nil {
		return req, err
	}
	return req, nil
}

// sendTGSReq sends a TGS-REQ signed with tgt and returns the ticket of the
// reply, with the client name the KDC put in it, and the reply's PA-DATA.
func (c *Client) sendTGSReq(ctx context.Context, tgt *cred, req *messages.TGSReq, about string) (*cred, types.PADataSequence, error) {
	b, err := req.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("negotiate: kerberos: encoding TGS-REQ: %v", err)
	}
	c.tgsCount.Add(1)
	rb, err := c.exchange(ctx, c.realm, b, about)
	if err != nil {
		return nil, nil, err
	}
	// The guarded parsers (guard.go): a hostile KDC reply is an error,
	// never a panic.
	rep, err := parseTGSRep(rb)
	if err != nil {
		return nil, nil, fmt.Errorf("negotiate: kerberos: bad TGS-REP from KDC: %w", gss.ErrMalformedToken)
	}
	plain, err := decryptEncPart(rep.EncPart, tgt.key, keyusage.TGS_REP_ENCPART_SESSION_KEY)
	if errors.Is(err, errDecrypt) {
		return nil, nil, fmt.Errorf("negotiate: kerberos: cannot decrypt the KDC's TGS-REP (wrong key): %w", gss.ErrRejected)
	}
	if err != nil {
		return nil, nil, err
	}
	part, err := parseEncKDCRepPart(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("negotiate: kerberos: bad TGS-REP encrypted part: %w", gss.ErrMalformedToken)
	}
	if part.Nonce != req.ReqBody.Nonce {
		return nil, nil, fmt.Errorf("negotiate: kerberos: TGS-REP nonce does not match the request: %w", gss.ErrRejected)
	}
	cr := credFromRep(rep.Ticket, part)
	cr.cname, cr.crealm = rep.CName, rep.CRealm
	return cr, rep.PAData, nil
}

// signTGSReq puts a new PA-TGS-REQ in req, whose authenticator's checksum
// covers the (changed) request body (RFC 4120 §5.5.1, key usage 6),
// followed by extra PA-DATA. The authenticator names the client as
// crealm and the body's cname (the TGT's client): with a cross-realm TGT
// the client's realm is not the ticket's.
func signTGSReq(req *messages.TGSReq, tgt *cred, crealm string, extra ...types.PAData) error {
	body, err := req.ReqBody.Marshal()
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: encoding TGS-REQ body: %v", err)
	}
	et, err := crypto.GetEtype(tgt.key.KeyType)
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: TGT session key enctype %d not supported: %w", tgt.key.KeyType, gss.ErrUnsupportedMech)
	}
	sum, err := et.GetChecksumHash(tgt.key.KeyValue, body, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM)
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: TGS-REQ checksum: %v", err)
	}
	auth, err := types.NewAuthenticator(crealm, req.ReqBody.CName)
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: TGS-REQ authenticator: %v", err)
	}
	auth.Cksum = types.Checksum{CksumType: et.GetHashID(), Checksum: sum}
	ap, err := messages.NewAPReq(tgt.ticket, tgt.key, auth)
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: TGS-REQ AP-REQ: %v", err)
	}
	apb, err := ap.Marshal()
	if err != nil {
		return fmt.Errorf("negotiate: kerberos: encoding TGS-REQ AP-REQ: %v", err)
	}
	req.PAData = append(types.PADataSequence{{PADataType: patype.PA_TGS_REQ, PADataValue: apb}}, extra...)
	return nil
}

// paForUser is PA-FOR-USER-ENC (MS-SFU §2.2.1).
type paForUser struct {
	UserName    types.PrincipalName `asn1:"explicit,tag:0"`
	UserRealm   string              `asn1:"generalstring,explicit,tag:1"`
	Cksum       types.Checksum      `asn1:"explicit,tag:2"`
	AuthPackage string              `asn1:"generalstring,explicit,tag:3"`
}

// PAForUser returns the PA-FOR-USER PA-DATA naming user@realm, its
// checksum keyed with the TGT session key key (MS-SFU §2.2.1).
func PAForUser(user types.PrincipalName, realm string, key types.EncryptionKey) (types.PAData, error) {
	const pkg = "Kerberos"
	p := paForUser{
		UserName:    user,
		UserRealm:   realm,
		Cksum:       types.Checksum{CksumType: ChecksumHMACMD5, Checksum: ForUserChecksum(key.KeyValue, user, realm, pkg)},
		AuthPackage: pkg,
	}
	b, err := asn1.Marshal(p)
	if err != nil {
		return types.PAData{}, fmt.Errorf("negotiate: kerberos: encoding PA-FOR-USER: %v", err)
	}
	return types.PAData{PADataType: PaForUser, PADataValue: b}, nil
}

// ForUserChecksum is PA-FOR-USER's checksum (MS-SFU §2.2.1): the RFC 4757
// HMAC-MD5 checksum, key usage 17, of the name type (32-bit little
// endian), the name components, the realm and the auth package, all
// concatenated.
func ForUserChecksum(key []byte, user types.PrincipalName, realm, pkg string) []byte {
	data := binary.LittleEndian.AppendUint32(nil, uint32(user.NameType))
	for _, s := range user.NameString {
		data = append(data, s...)
	}
	data = append(data, realm...)
	data = append(data, pkg...)
	return hmacMD5Checksum(key, usageForUser, data)
}

// hmacMD5Checksum is KERB_CHECKSUM_HMAC_MD5 (RFC 4757 §4):
// Ksign = HMAC-MD5(key, "signaturekey\0"),
// HMAC-MD5(Ksign, MD5(usage as 32-bit little endian || data)).
func hmacMD5Checksum(key []byte, usage uint32, data []byte) []byte {
	m := hmac.New(md5.New, key)
	m.Write([]byte("signaturekey\x00"))
	ksign := m.Sum(nil)
	h := md5.New()
	h.Write(binary.LittleEndian.AppendUint32(nil, usage))
	h.Write(data)
	m = hmac.New(md5.New, ksign)
	m.Write(h.Sum(nil))
	return m.Sum(nil)
}

// samePrincipal compares the name components, not the name type (KDCs
// answer NT-PRINCIPAL to NT-ENTERPRISE or NT-UNKNOWN requests).
func samePrincipal(a, b types.PrincipalName) bool {
	if len(a.NameString) != len(b.NameString) {
		return false
	}
	for i := range a.NameString {
		if a.NameString[i] != b.NameString[i] {
			return false
		}
	}
	return true
}
