// This file is credential delegation (RFC 4121 §4.1.1.1): the forwarded
// TGT got from the KDC, and the KRB-CRED that carries it to the service in
// the authenticator checksum.

package krb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb/wire"
)

// Delegation says when an Initiator delegates the client's credentials
// (a forwarded TGT) to the service, like curl's --delegation and the
// GSS_C_DELEG_FLAG / GSS_C_DELEG_POLICY_FLAG of GSS-API.
type Delegation int

const (
	// DelegateNone never delegates (the default, and curl's "none").
	DelegateNone Delegation = iota
	// DelegateIfOKAsDelegate delegates only when the service ticket
	// carries the OK-AS-DELEGATE flag, that is when the realm's policy
	// trusts the service with delegated credentials (RFC 4120 §2.8,
	// MS-KILE §3.3.5.7.5; curl's "policy", MIT's GSS_C_DELEG_POLICY_FLAG).
	// When the TGT cannot be forwarded, the context is made without
	// delegation, as MIT krb5 does.
	DelegateIfOKAsDelegate
	// DelegateAlways delegates to any service (curl's "always"); Step
	// fails if the TGT cannot be forwarded.
	DelegateAlways
)

// String returns the curl --delegation name of d: "none", "policy" or
// "always".
func (d Delegation) String() string {
	switch d {
	case DelegateNone:
		return "none"
	case DelegateIfOKAsDelegate:
		return "policy"
	case DelegateAlways:
		return "always"
	}
	return fmt.Sprintf("Delegation(%d)", int(d))
}

// ErrNotForwardable is returned (wrapped) by Step under DelegateAlways
// when the client's TGT lacks the FORWARDABLE flag: a ticket cache made by
// kinit without -f, or a KDC that refuses forwardable tickets to the
// principal. It wraps gss.ErrNoCredentials.
var ErrNotForwardable = fmt.Errorf("negotiate: kerberos: cannot delegate: the TGT is not forwardable: %w", gss.ErrNoCredentials)

// maxDelegLen is the largest KRB-CRED the checksum's 16-bit Dlgth can
// describe (RFC 4121 §4.1.1.1).
const maxDelegLen = 0xffff

// forwardedTGT returns a forwarded TGT for the client's realm: the cached
// one while valid, else one from a TGS exchange with the FORWARDED option
// (RFC 4120 §3.3.3), which needs a FORWARDABLE TGT.
func (c *Client) forwardedTGT(ctx context.Context) (*cred, error) {
	return c.keptOrShared(ctx, "fwd", &c.mu, &c.fwd, func(fctx context.Context) (*cred, error) {
		tgt, err := c.getTGT(fctx)
		if err != nil {
			return nil, err
		}
		if !types.IsFlagSet(&tgt.flags, flags.Forwardable) {
			return nil, ErrNotForwardable
		}
		krbtgt := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", c.realm}}
		cr, err := c.tgsExchange(fctx, c.realm, tgt, krbtgt, false, true, c.Principal())
		if err != nil {
			return nil, err
		}
		if !types.IsFlagSet(&cr.flags, flags.Forwarded) {
			return nil, fmt.Errorf("negotiate: kerberos: cannot delegate: the KDC did not forward the TGT: %w", gss.ErrNoCredentials)
		}
		return cr, nil
	})
}

// forwardReq turns a TGS-REQ built by gokrb5 into a request for a
// forwarded ticket: FORWARDED and FORWARDABLE, no addresses (so that the
// service may use it from its own host), and a new PA-TGS-REQ, since the
// authenticator's checksum covers the request body (RFC 4120 §5.5.1, key
// usage 6).
func forwardReq(req *messages.TGSReq, tgt *cred) error {
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwarded)
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwardable)
	req.ReqBody.Addresses = nil
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
	auth, err := types.NewAuthenticator(tgt.ticket.Realm, req.ReqBody.CName)
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
	req.PAData = types.PADataSequence{{PADataType: patype.PA_TGS_REQ, PADataValue: apb}}
	return nil
}

// wantDelegation decides, from the policy and the service ticket, whether
// this context delegates.
func (i *Initiator) wantDelegation(svc *cred) bool {
	switch i.opts.Delegation {
	case DelegateAlways:
		return true
	case DelegateIfOKAsDelegate:
		return types.IsFlagSet(&svc.flags, flags.OKAsDelegate)
	}
	return false
}

// delegation returns the KRB-CRED to put in the checksum, holding a
// forwarded TGT encrypted in key (the authenticator's subkey, as MIT krb5
// does: krb5_mk_ncred uses the send subkey when there is one; acceptors
// try the subkey and then the session key), or nil when the policy says
// not to delegate.
func (i *Initiator) delegation(ctx context.Context, svc *cred, key types.EncryptionKey) ([]byte, error) {
	if !i.wantDelegation(svc) {
		return nil, nil
	}
	fwd, err := i.c.forwardedTGT(ctx)
	if err != nil {
		if i.opts.Delegation != DelegateAlways {
			// Policy delegation is best effort (MIT krb5 drops the
			// delegation flag when it cannot forward the TGT); but a
			// caller that ended the wait sees that.
			if ctx.Err() != nil {
				return nil, err
			}
			return nil, nil
		}
		return nil, err
	}
	der, err := fwd.ticketDER()
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: encoding the forwarded ticket: %v", err)
	}
	ci := wire.CredInfo{
		Key:       fwd.key,
		PRealm:    i.c.realm,
		PName:     i.c.cname,
		Flags:     flagsUint32(fwd.flags),
		AuthTime:  fwd.authTime,
		StartTime: fwd.start,
		EndTime:   fwd.end,
		RenewTill: fwd.renewTill,
		SRealm:    fwd.ticket.Realm,
		SName:     fwd.ticket.SName,
	}
	keys, err := i.keys(key, keyusage.KRB_CRED_ENCPART)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: subkey: %v: %w", err, gss.ErrUnsupportedMech)
	}
	ct, err := keys.Encrypt(wire.EncKrbCredPart(&ci, i.opts.Now()))
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: encrypting the delegated credential: %v", err)
	}
	b := wire.KRBCred(der, types.EncryptedData{EType: key.KeyType, Cipher: ct})
	if len(b) > maxDelegLen {
		return nil, errors.New("negotiate: kerberos: cannot delegate: the forwarded TGT is too large for the GSS checksum")
	}
	return b, nil
}

// flagsUint32 returns TicketFlags as a 32-bit integer, bit 0 the most
// significant.
func flagsUint32(f asn1.BitString) uint32 {
	var b [4]byte
	copy(b[:], f.Bytes)
	return binary.BigEndian.Uint32(b[:])
}
