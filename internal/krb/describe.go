// This file describes Kerberos tokens for diagnostics, without revealing
// their secrets: only the clear-text fields (principal names, enctypes,
// error codes), never an encrypted part, key or checksum.

package krb

import (
	"fmt"
	"strings"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// Describe returns a one-line description of a Kerberos GSS-API token
// (framed per RFC 2743 §3.1, or a raw AP-REQ, AP-REP or KRB-ERROR) or an
// RFC 4121 MIC token: its type, and for an AP-REQ the ticket's service
// principal, realm, enctype and kvno; for a KRB-ERROR its code and text.
// Errors wrap gss.ErrMalformedToken.
func Describe(token []byte) (string, error) {
	if len(token) == 0 {
		return "", fmt.Errorf("negotiate: kerberos: empty token: %w", gss.ErrMalformedToken)
	}
	if len(token) >= 16 && token[0] == 0x04 && token[1] == 0x04 {
		who := "initiator"
		if token[2]&micSentByAcceptor != 0 {
			who = "acceptor"
		}
		return fmt.Sprintf("Kerberos MIC token from the %s (flags %#02x, %d-byte checksum)", who, token[2], len(token)-16), nil
	}
	msg, prefix := token, "raw Kerberos"
	kind := token[0]
	if token[0] == 0x60 {
		id, m, err := unwrapToken(token)
		if err != nil {
			return "", fmt.Errorf("negotiate: kerberos: %v: %w", err, gss.ErrMalformedToken)
		}
		msg, prefix = m, "Kerberos"
		switch id {
		case tokAPReq:
			kind = 0x6e
		case tokAPRep:
			kind = 0x6f
		case tokKRBError:
			kind = 0x7e
		default:
			return fmt.Sprintf("Kerberos token with token ID %x", id[:]), nil
		}
		if len(m) == 0 || m[0] != kind {
			return "", fmt.Errorf("negotiate: kerberos: token ID %x does not match its message: %w", id[:], gss.ErrMalformedToken)
		}
	}
	switch kind {
	case 0x6e: // [APPLICATION 14] AP-REQ
		var req messages.APReq
		if err := req.Unmarshal(msg); err != nil {
			return "", fmt.Errorf("negotiate: kerberos: bad AP-REQ: %w", gss.ErrMalformedToken)
		}
		var opts []string
		if types.IsFlagSet(&req.APOptions, flags.APOptionMutualRequired) {
			opts = append(opts, "mutual-required")
		}
		if types.IsFlagSet(&req.APOptions, flags.APOptionUseSessionKey) {
			opts = append(opts, "use-session-key")
		}
		s := fmt.Sprintf("%s AP-REQ: ticket for %s@%s, ticket enctype %s, kvno %d, authenticator enctype %s",
			prefix, req.Ticket.SName.PrincipalNameString(), req.Ticket.Realm,
			etypeName(req.Ticket.EncPart.EType), req.Ticket.EncPart.KVNO, etypeName(req.EncryptedAuthenticator.EType))
		if len(opts) > 0 {
			s += ", " + strings.Join(opts, ", ")
		}
		return s, nil
	case 0x6f: // [APPLICATION 15] AP-REP
		var rep messages.APRep
		if err := rep.Unmarshal(msg); err != nil {
			return "", fmt.Errorf("negotiate: kerberos: bad AP-REP: %w", gss.ErrMalformedToken)
		}
		return fmt.Sprintf("%s AP-REP: enctype %s", prefix, etypeName(rep.EncPart.EType)), nil
	case 0x7e: // [APPLICATION 30] KRB-ERROR
		var ke messages.KRBError
		if err := ke.Unmarshal(msg); err != nil {
			return "", fmt.Errorf("negotiate: kerberos: bad KRB-ERROR: %w", gss.ErrMalformedToken)
		}
		s := fmt.Sprintf("%s KRB-ERROR: %s (%d)", prefix, errorName(ke.ErrorCode), ke.ErrorCode)
		principal := ""
		if len(ke.SName.NameString) > 0 {
			principal = ke.SName.PrincipalNameString() + "@" + ke.Realm
			s += " for " + principal
		}
		if cause := (&Error{Code: ke.ErrorCode, Principal: principal}).cause(); cause != "" {
			s += " (" + cause + ")"
		}
		if ke.EText != "" {
			s += fmt.Sprintf(": %q", ke.EText)
		}
		return s, nil
	}
	return "", fmt.Errorf("negotiate: kerberos: not a Kerberos token: %w", gss.ErrMalformedToken)
}

// etypeNames are the RFC 3961/3962/4757/8009 names of common enctypes.
var etypeNames = map[int32]string{
	etypeID.DES_CBC_CRC:                "des-cbc-crc",
	etypeID.DES_CBC_MD5:                "des-cbc-md5",
	etypeID.DES3_CBC_SHA1_KD:           "des3-cbc-sha1",
	etypeID.AES128_CTS_HMAC_SHA1_96:    "aes128-cts-hmac-sha1-96",
	etypeID.AES256_CTS_HMAC_SHA1_96:    "aes256-cts-hmac-sha1-96",
	etypeID.AES128_CTS_HMAC_SHA256_128: "aes128-cts-hmac-sha256-128",
	etypeID.AES256_CTS_HMAC_SHA384_192: "aes256-cts-hmac-sha384-192",
	etypeID.RC4_HMAC:                   "arcfour-hmac",
	etypeID.RC4_HMAC_EXP:               "arcfour-hmac-exp",
	etypeID.CAMELLIA128_CTS_CMAC:       "camellia128-cts-cmac",
	etypeID.CAMELLIA256_CTS_CMAC:       "camellia256-cts-cmac",
}

// etypeName returns the name of a Kerberos enctype with its number.
func etypeName(id int32) string {
	if n, ok := etypeNames[id]; ok {
		return fmt.Sprintf("%s (%d)", n, id)
	}
	return fmt.Sprintf("enctype %d", id)
}
