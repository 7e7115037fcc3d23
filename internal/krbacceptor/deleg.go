// This file decodes a delegated credential: the KRB-CRED (RFC 4120 §5.8)
// that the initiator put in the authenticator checksum (RFC 4121
// §4.1.1.1), holding a forwarded TGT.

package krbacceptor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// ErrBadDelegation reports a delegated credential that does not decode,
// does not decrypt with the subkey or the session key, or is not a
// forwarded TGT of the authenticated client. MIT krb5 fails the context
// then too.
var ErrBadDelegation = fmt.Errorf("negotiate: krbacceptor: bad delegated credential: %w", gss.ErrRejected)

// A DelegatedCredential describes the forwarded TGT a client delegated.
// Its String and the errors about it never show the session key.
type DelegatedCredential struct {
	Client    string // the TGT's client, "user@REALM"
	Server    string // "krbtgt/REALM@REALM"
	Flags     uint32 // TicketFlags, bit 0 the most significant
	Forwarded bool   // the FORWARDED flag (always true once accepted)
	AuthTime  time.Time
	StartTime time.Time
	EndTime   time.Time
	RenewTill time.Time

	ticket messages.Ticket
	key    types.EncryptionKey
}

// String describes the credential without its key.
func (d *DelegatedCredential) String() string {
	return fmt.Sprintf("delegated TGT %s for %s, valid until %s", d.Server, d.Client, d.EndTime.UTC().Format(time.RFC3339))
}

// Ticket returns the forwarded TGT and its session key, with which the
// service can get tickets on the client's behalf (a TGS-REQ, RFC 4120
// §3.3). The key is secret: do not log it.
func (d *DelegatedCredential) Ticket() (messages.Ticket, types.EncryptionKey) {
	return d.ticket, d.key
}

// delegated decodes the KRB-CRED b and records it in res. Like MIT krb5's
// krb5_rd_cred, it decrypts (key usage 14) with the initiator's subkey first (MIT and Heimdal
// initiators encrypt with it) and then the ticket's session key (RFC 4121
// §4.1.1.1's wording).
func delegated(b []byte, res *Result) (err error) {
	defer func() {
		if recover() != nil { // gokrb5's decoder on hostile input
			err = fmt.Errorf("%w: does not decode", ErrBadDelegation)
		}
	}()
	var kc messages.KRBCred
	if err := kc.Unmarshal(b); err != nil || len(kc.Tickets) != 1 {
		return fmt.Errorf("%w: not a KRB-CRED with one ticket", ErrBadDelegation)
	}
	var derr error = errors.New("no key")
	for _, key := range []types.EncryptionKey{res.initSubkey, res.sessionKey} {
		if len(key.KeyValue) == 0 || key.KeyType != kc.EncPart.EType {
			continue
		}
		if derr = kc.DecryptEncPart(key); derr == nil {
			break
		}
	}
	if derr != nil {
		return fmt.Errorf("%w: does not decrypt with the subkey or the session key", ErrBadDelegation)
	}
	if len(kc.DecryptedEncPart.TicketInfo) != 1 {
		return fmt.Errorf("%w: not one KrbCredInfo", ErrBadDelegation)
	}
	info := kc.DecryptedEncPart.TicketInfo[0]
	tkt := kc.Tickets[0]
	client := strings.Join(info.PName.NameString, "/") + "@" + info.PRealm
	if client != res.Client {
		return fmt.Errorf("%w: credential is for another client", ErrBadDelegation)
	}
	if len(tkt.SName.NameString) != 2 || tkt.SName.NameString[0] != "krbtgt" || !tkt.SName.Equal(info.SName) || tkt.Realm != info.SRealm {
		return fmt.Errorf("%w: not a TGT", ErrBadDelegation)
	}
	if !types.IsFlagSet(&info.Flags, flags.Forwarded) {
		return fmt.Errorf("%w: TGT not forwarded", ErrBadDelegation)
	}
	var fl [4]byte
	copy(fl[:], info.Flags.Bytes)
	res.Delegated = true
	res.DelegatedTGT = &DelegatedCredential{
		Client:    client,
		Server:    strings.Join(tkt.SName.NameString, "/") + "@" + tkt.Realm,
		Flags:     uint32(fl[0])<<24 | uint32(fl[1])<<16 | uint32(fl[2])<<8 | uint32(fl[3]),
		Forwarded: true,
		AuthTime:  info.AuthTime,
		StartTime: info.StartTime,
		EndTime:   info.EndTime,
		RenewTill: info.RenewTill,
		ticket:    tkt,
		key:       info.Key,
	}
	return nil
}
