// This file is PA-S4U-X509-USER (MS-SFU §2.2.2), the S4U2Self padata that
// Windows Server 2008 and later KDCs (and Samba) prefer to PA-FOR-USER: the
// user's name bound to the request's nonce by a checksum in the TGT
// session key's own checksum type, echoed by the KDC in its reply with a
// checksum we verify, so that the user named in the reply cannot be
// swapped.

package krb

import (
	stdasn1 "encoding/asn1"
	"fmt"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
)

const (
	// usageS4URequest and usageS4UReply are the key usages of the
	// request's and the reply's PA-S4U-X509-USER checksums (MS-SFU
	// §2.2.2, RFC 4120 §7.5.1's 26 and 27).
	usageS4URequest = 26
	usageS4UReply   = 27
	// s4uOptReplyUsage27 is S4UUserID option signed-with-kun-27: the KDC
	// signs its reply with key usage 27 rather than 26.
	s4uOptReplyUsage27 = 0x20000000
)

// S4UUserID is S4UUserID (MS-SFU §2.2.2).
type S4UUserID struct {
	Nonce              int                 `asn1:"explicit,tag:0"`
	CName              types.PrincipalName `asn1:"optional,explicit,tag:1"`
	CRealm             string              `asn1:"generalstring,explicit,tag:2"`
	SubjectCertificate []byte              `asn1:"optional,explicit,tag:3"`
	Options            asn1.BitString      `asn1:"optional,explicit,tag:4"`
}

// PAS4UX509User is PA-S4U-X509-USER (MS-SFU §2.2.2).
type PAS4UX509User struct {
	UserID   S4UUserID      `asn1:"explicit,tag:0"`
	Checksum types.Checksum `asn1:"explicit,tag:1"`
}

// NewPAS4UX509User returns PA-S4U-X509-USER naming user@realm for a
// request with nonce, its checksum keyed with the TGT session key key.
func NewPAS4UX509User(user types.PrincipalName, realm string, nonce int, key types.EncryptionKey) (types.PAData, error) {
	id := S4UUserID{
		Nonce:   nonce,
		CName:   user,
		CRealm:  realm,
		Options: asn1.BitString{Bytes: []byte{s4uOptReplyUsage27 >> 24, 0, 0, 0}, BitLength: 32},
	}
	idb, err := asn1.Marshal(id)
	if err != nil {
		return types.PAData{}, fmt.Errorf("negotiate: kerberos: encoding S4UUserID: %v", err)
	}
	ck, err := s4uChecksum(key, idb, usageS4URequest)
	if err != nil {
		return types.PAData{}, err
	}
	b, err := asn1.Marshal(PAS4UX509User{UserID: id, Checksum: ck})
	if err != nil {
		return types.PAData{}, fmt.Errorf("negotiate: kerberos: encoding PA-S4U-X509-USER: %v", err)
	}
	return types.PAData{PADataType: PaS4UX509User, PADataValue: b}, nil
}

// s4uChecksum is the checksum of the DER S4UUserID in the key's own
// checksum type (its "mandatory checksum", RFC 3961 §3).
func s4uChecksum(key types.EncryptionKey, idDER []byte, usage uint32) (types.Checksum, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return types.Checksum{}, fmt.Errorf("negotiate: kerberos: enctype %d not supported: %w", key.KeyType, gss.ErrUnsupportedMech)
	}
	sum, err := et.GetChecksumHash(key.KeyValue, idDER, usage)
	if err != nil {
		return types.Checksum{}, fmt.Errorf("negotiate: kerberos: PA-S4U-X509-USER checksum: %v", err)
	}
	return types.Checksum{CksumType: et.GetHashID(), Checksum: sum}, nil
}

// checkS4UReply verifies the PA-S4U-X509-USER a KDC echoes in a S4U2Self
// reply, if it sent one: the checksum (key usage 27, as our option asks,
// or 26), the nonce, and the user it names against the ticket's client.
// A KDC that sends none (it used PA-FOR-USER) is accepted.
func checkS4UReply(pad types.PADataSequence, key types.EncryptionKey, nonce int, cname types.PrincipalName) error {
	for _, pa := range pad {
		if pa.PADataType != PaS4UX509User {
			continue
		}
		// The outer structure with the standard library's strict DER
		// decoder (gofork's accepts inconsistent lengths): only what the
		// KDC encoded goes on to be verified.
		var r struct {
			UserID   stdasn1.RawValue `asn1:"explicit,tag:0"`
			Checksum struct {
				CksumType int32  `asn1:"explicit,tag:0"`
				Checksum  []byte `asn1:"explicit,tag:1"`
			} `asn1:"explicit,tag:1"`
		}
		if rest, err := stdasn1.Unmarshal(pa.PADataValue, &r); err != nil || len(rest) > 0 {
			return fmt.Errorf("negotiate: kerberos: bad PA-S4U-X509-USER in the S4U2Self reply: %w", gss.ErrMalformedToken)
		}
		// The explicit [0] tag's content: the S4UUserID as encoded,
		// which the checksum covers.
		idDER := r.UserID.Bytes
		var id S4UUserID
		if _, err := asn1.Unmarshal(idDER, &id); err != nil {
			return fmt.Errorf("negotiate: kerberos: bad S4UUserID in the S4U2Self reply: %w", gss.ErrMalformedToken)
		}
		et, err := crypto.GetEtype(key.KeyType)
		if err != nil {
			return fmt.Errorf("negotiate: kerberos: enctype %d not supported: %w", key.KeyType, gss.ErrUnsupportedMech)
		}
		if r.Checksum.CksumType != et.GetHashID() {
			// RFC 6113 §5.4.1 / MS-SFU: the checksum is the key's own
			// type; a mislabelled one is not the KDC's.
			return fmt.Errorf("negotiate: kerberos: the S4U2Self reply's PA-S4U-X509-USER checksum has type %d, not the key's %d: %w", r.Checksum.CksumType, et.GetHashID(), gss.ErrRejected)
		}
		if !et.VerifyChecksum(key.KeyValue, idDER, r.Checksum.Checksum, usageS4UReply) &&
			!et.VerifyChecksum(key.KeyValue, idDER, r.Checksum.Checksum, usageS4URequest) {
			return fmt.Errorf("negotiate: kerberos: the S4U2Self reply's PA-S4U-X509-USER checksum is wrong: %w", gss.ErrRejected)
		}
		if id.Nonce != nonce {
			return fmt.Errorf("negotiate: kerberos: the S4U2Self reply's PA-S4U-X509-USER has another nonce: %w", gss.ErrRejected)
		}
		if len(id.CName.NameString) > 0 && !samePrincipal(id.CName, cname) {
			return fmt.Errorf("negotiate: kerberos: the S4U2Self reply names another user than its ticket: %w", gss.ErrRejected)
		}
	}
	return nil
}
