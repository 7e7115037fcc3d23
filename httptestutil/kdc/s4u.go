// This file answers the Service for User extensions of MS-SFU in TGS-REQ
// messages, as an Active Directory KDC does: S4U2Self (PA-FOR-USER, a
// ticket for a user to the requesting service) and S4U2Proxy
// (cname-in-addl-tkt, the evidence ticket traded for the user's ticket to
// another service), with classic constrained delegation's checks.

package kdc

import (
	"crypto/hmac"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc4757"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

const (
	paForUserType        = 129 // PA-FOR-USER (MS-SFU §2.2.1)
	cksumHMACMD5         = -138
	kdcOptCNameInAddlTkt = 14 // MS-SFU §2.2.3
)

// SetConstrainedDelegation configures the service account name (a user
// such as "websvc" or a service principal) for classic constrained
// delegation, as Active Directory's msDS-AllowedToDelegateTo does: spns
// are the services it may get users' tickets for with S4U2Proxy;
// protocolTransition ("use any authentication protocol",
// TRUSTED_TO_AUTH_FOR_DELEGATION) makes its S4U2Self tickets forwardable,
// so that they can serve as S4U2Proxy's evidence. Without a call, an
// account may use S4U2Self (non-forwardable tickets) and nothing else.
// Unknown names are ignored.
func (k *KDC) SetConstrainedDelegation(name string, protocolTransition bool, spns ...string) {
	k.mu.Lock()
	if p, ok := k.db[name]; ok {
		p.trustedToAuth = protocolTransition
		p.allowedToDelegateTo = slices.Clone(spns)
	}
	k.mu.Unlock()
}

// SetSensitive marks a user as "sensitive and cannot be delegated"
// (Active Directory's NOT_DELEGATED): S4U2Self tickets for the user are
// never forwardable, so S4U2Proxy refuses them. Unknown names are ignored.
func (k *KDC) SetSensitive(name string, sensitive bool) {
	k.mu.Lock()
	if p, ok := k.db[name]; ok {
		p.notDelegated = sensitive
	}
	k.mu.Unlock()
}

// forUser is PA-FOR-USER-ENC (MS-SFU §2.2.1).
type forUser struct {
	UserName    types.PrincipalName `asn1:"explicit,tag:0"`
	UserRealm   string              `asn1:"generalstring,explicit,tag:1"`
	Cksum       types.Checksum      `asn1:"explicit,tag:2"`
	AuthPackage string              `asn1:"generalstring,explicit,tag:3"`
}

// s4u applies S4U2Self or S4U2Proxy to a TGS request whose TGT (tp) has
// been checked and whose server has been looked up into g. It changes g's
// client, server and forwardability as MS-SFU §3.2.5 says.
func (k *KDC) s4u(pad types.PADataSequence, body *messages.KDCReqBody, tp *messages.EncTicketPart, g *grant) *kdcError {
	var pafu []byte
	for _, pa := range pad {
		if pa.PADataType == paForUserType {
			pafu = pa.PADataValue
		}
	}
	proxy := types.IsFlagSet(&body.KDCOptions, kdcOptCNameInAddlTkt)
	if pafu == nil && !proxy {
		return nil
	}
	k.count(func(s *Stats) {
		if pafu != nil {
			s.S4U2Self++
		} else {
			s.S4U2Proxy++
		}
	})
	requester, ok := k.lookup(nameOf(tp.CName))
	if !ok || tp.CRealm != k.realm {
		return errf(errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, "requesting service unknown")
	}
	if pafu != nil {
		return k.s4u2Self(pafu, body, tp, requester, g)
	}
	return k.s4u2Proxy(body, requester, g)
}

func (k *KDC) s4u2Self(pafu []byte, body *messages.KDCReqBody, tp *messages.EncTicketPart, requester *principal, g *grant) *kdcError {
	var fu forUser
	if _, err := asn1.Unmarshal(pafu, &fu); err != nil {
		return errf(errorcode.KDC_ERR_PREAUTH_FAILED, "malformed PA-FOR-USER")
	}
	// The checksum (RFC 4757 HMAC-MD5, key usage 17) with the TGT's
	// session key, over name type, name, realm and auth package.
	data := binary.LittleEndian.AppendUint32(nil, uint32(fu.UserName.NameType))
	for _, s := range fu.UserName.NameString {
		data = append(data, s...)
	}
	data = append(append(data, fu.UserRealm...), fu.AuthPackage...)
	want, _ := rfc4757.Checksum(tp.Key.KeyValue, 17, data)
	if fu.Cksum.CksumType != cksumHMACMD5 || !hmac.Equal(fu.Cksum.Checksum, want) {
		return errf(errorcode.KRB_AP_ERR_MODIFIED, "PA-FOR-USER checksum mismatch")
	}
	if !strings.EqualFold(fu.AuthPackage, "Kerberos") {
		return errf(errorcode.KDC_ERR_PADATA_TYPE_NOSUPP, "PA-FOR-USER auth package is not Kerberos")
	}
	// S4U2Self gets a ticket to the requester itself.
	if nameOf(body.SName) != requester.name {
		return errf(errorcode.KDC_ERR_BADOPTION, "S4U2Self server is not the requester")
	}
	uname := nameOf(fu.UserName)
	if fu.UserName.NameType == nametype.KRB_NT_ENTERPRISE && len(fu.UserName.NameString) == 1 {
		uname = k.resolveEnterprise(fu.UserName.NameString[0])
	}
	if fu.UserRealm != k.realm {
		return errf(errorcode.KDC_ERR_WRONG_REALM, "user of another realm")
	}
	user, ok := k.lookup(uname)
	if !ok || user.service {
		return errf(errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, "user not found in Kerberos database")
	}
	g.cname = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, user.name)
	// MS-SFU §3.2.5.1.2: forwardable only with protocol transition, and
	// never for a user that cannot be delegated.
	g.noForward = !requester.trustedToAuth || user.notDelegated || user.noForward
	g.forwarded = false
	return nil
}

func (k *KDC) s4u2Proxy(body *messages.KDCReqBody, requester *principal, g *grant) *kdcError {
	if len(body.AdditionalTickets) != 1 {
		return errf(errorcode.KDC_ERR_BADOPTION, "cname-in-addl-tkt without one additional ticket")
	}
	ev := body.AdditionalTickets[0]
	if ev.Realm != k.realm || nameOf(ev.SName) != requester.name {
		return errf(errorcode.KDC_ERR_BADOPTION, "evidence ticket is not for the requesting service")
	}
	key, ok := requester.keys[ev.EncPart.EType]
	if !ok {
		return errf(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "no key of the evidence ticket's type")
	}
	if err := ev.Decrypt(key); err != nil {
		return errf(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "evidence ticket does not decrypt")
	}
	ep := ev.DecryptedEncPart
	if k.now().After(ep.EndTime) {
		return errf(errorcode.KRB_AP_ERR_TKT_EXPIRED, "evidence ticket expired")
	}
	// MS-SFU §3.2.5.2.2: classic constrained delegation needs a
	// forwardable evidence ticket and the target in the list.
	if !types.IsFlagSet(&ep.Flags, flags.Forwardable) {
		return errf(errorcode.KDC_ERR_BADOPTION, "evidence ticket is not forwardable")
	}
	if !slices.Contains(requester.allowedToDelegateTo, nameOf(body.SName)) {
		return errf(errorcode.KDC_ERR_BADOPTION, "constrained delegation to this service not allowed")
	}
	g.cname = ep.CName
	g.authtime = ep.AuthTime
	g.noForward = false
	g.canForward = true
	g.forwarded = false
	g.maxEnd = minTime(g.maxEnd, ep.EndTime)
	return nil
}

// resolveEnterprise maps an enterprise name (user@suffix, RFC 6806 §5) to
// a principal: a registered UPN, else user when suffix names the realm.
func (k *KDC) resolveEnterprise(name string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.upns[strings.ToLower(name)]; ok {
		return p
	}
	if user, suffix, ok := strings.Cut(name, "@"); ok && strings.EqualFold(suffix, k.realm) {
		return user
	}
	return name
}

// SetUPN gives user a user principal name (such as
// "carol@upn.example"), which enterprise names (NT-ENTERPRISE, RFC 6806
// §5) in AS-REQ and PA-FOR-USER resolve to, case-insensitively, as Active
// Directory's userPrincipalName does. An empty upn removes user's UPNs.
func (k *KDC) SetUPN(user, upn string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if upn == "" {
		for u, p := range k.upns {
			if p == user {
				delete(k.upns, u)
			}
		}
		return
	}
	if k.upns == nil {
		k.upns = make(map[string]string)
	}
	k.upns[strings.ToLower(upn)] = user
}

// SetClientReferral makes the KDC refer AS requests for enterprise names
// (NT-ENTERPRISE) with the UPN suffix to realm, with KDC_ERR_WRONG_REALM and
// realm as the error's crealm (a client referral, RFC 6806 §7), as a domain
// controller does for a user of another domain of its forest. An empty
// realm removes the referral.
func (k *KDC) SetClientReferral(suffix, realm string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.referrals == nil {
		k.referrals = make(map[string]string)
	}
	if realm == "" {
		delete(k.referrals, strings.ToLower(suffix))
		return
	}
	k.referrals[strings.ToLower(suffix)] = realm
}

// clientReferral returns the realm an enterprise name is referred to, or "".
func (k *KDC) clientReferral(name string) string {
	_, suffix, ok := strings.Cut(name, "@")
	if !ok {
		return ""
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.referrals[strings.ToLower(suffix)]
}

// validEnterpriseName reports whether p is an enterprise name: one
// component user@suffix (RFC 6806 §5).
func validEnterpriseName(p types.PrincipalName) bool {
	if p.NameType != nametype.KRB_NT_ENTERPRISE || len(p.NameString) != 1 {
		return false
	}
	user, suffix, ok := strings.Cut(p.NameString[0], "@")
	return ok && user != "" && suffix != "" && !strings.ContainsAny(p.NameString[0], "/\x00")
}

// SetServiceReferral makes the KDC answer TGS requests for the service
// spn with a TGT for realm (a KDC referral, RFC 6806 §8) instead of a
// ticket, as a KDC does for a host of another realm. The KDC must hold
// krbtgt/realm: its own realm's, or a cross-realm key added with
// AddService("krbtgt/OTHER.REALM"). Referring a service to the KDC's own
// realm makes a referral loop. An empty realm removes the referral.
func (k *KDC) SetServiceReferral(spn, realm string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.serviceReferrals == nil {
		k.serviceReferrals = make(map[string]string)
	}
	if realm == "" {
		delete(k.serviceReferrals, spn)
		return
	}
	k.serviceReferrals[spn] = realm
}

func (k *KDC) serviceReferral(spn string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, ok := k.serviceReferrals[spn]
	return r, ok
}
