// Tests of the delegated credential (KRB-CRED) in the checksum.

package krbacceptor

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb/wire"
)

// krbCred builds a KRB-CRED holding a (fake) TGT of client for sname,
// encrypted in key; which picks the session key or the subkey.
func krbCred(t *testing.T, client, sname string, fl uint32, useSession bool, wrongKey bool) func(session, subkey types.EncryptionKey) []byte {
	return func(session, subkey types.EncryptionKey) []byte {
		key := subkey
		if useSession {
			key = session
		}
		if wrongKey {
			key = types.EncryptionKey{KeyType: key.KeyType, KeyValue: bytes.Repeat([]byte{9}, len(key.KeyValue))}
		}
		sn := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, sname)
		tkt := messages.Ticket{TktVNO: 5, Realm: realm, SName: sn, EncPart: types.EncryptedData{EType: 18, KVNO: 1, Cipher: []byte("opaque to the service")}}
		tb, err := tkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		ci := wire.CredInfo{
			Key:     types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{0x5a}, 32)},
			PRealm:  realm,
			PName:   types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, client),
			Flags:   fl,
			EndTime: now.Add(time.Hour).Truncate(time.Second),
			SRealm:  realm,
			SName:   sn,
		}
		ed, err := crypto.GetEncryptedData(wire.EncKrbCredPart(&ci, now), key, keyusage.KRB_CRED_ENCPART, 0)
		if err != nil {
			t.Fatal(err)
		}
		return wire.KRBCred(tb, ed)
	}
}

func TestAcceptDelegation(t *testing.T) {
	kt := serviceKeytab(t, "service-password")
	fwd := uint32(1<<(31-flags.Forwardable) | 1<<(31-flags.Forwarded))
	tgs := "krbtgt/" + realm
	tests := []struct {
		name    string
		deleg   func(session, subkey types.EncryptionKey) []byte
		wantErr error
	}{
		{"subkey", krbCred(t, "alice", tgs, fwd, false, false), nil},
		{"session key", krbCred(t, "alice", tgs, fwd, true, false), nil},
		{"wrong key", krbCred(t, "alice", tgs, fwd, false, true), ErrBadDelegation},
		{"other client", krbCred(t, "bob", tgs, fwd, false, false), ErrBadDelegation},
		{"not forwarded", krbCred(t, "alice", tgs, 1<<(31-flags.Forwardable), false, false), ErrBadDelegation},
		{"not a TGT", krbCred(t, "alice", spn, fwd, false, false), ErrBadDelegation},
		{"garbage", func(_, _ types.EncryptionKey) []byte { return []byte{0x76, 0x02, 0x30, 0x00} }, ErrBadDelegation},
	}
	for _, tt := range tests {
		b := build(t, tokenSpec{kt: kt, deleg: tt.deleg})
		a := &Acceptor{Keytab: kt, SPN: spn}
		_, res, err := a.Accept(b.token)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, gss.ErrRejected) {
				t.Errorf("%s: Accept = %v; want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Accept = %v; want nil", tt.name, err)
		}
		d := res.DelegatedTGT
		if !res.Delegated || d == nil || d.Client != "alice@"+realm || d.Server != tgs+"@"+realm || !d.Forwarded || res.Flags&gss.FlagDeleg == 0 {
			t.Fatalf("%s: Delegated %v, DelegatedTGT %v; want alice's forwarded TGT", tt.name, res.Delegated, d)
		}
		tkt, key := d.Ticket()
		if tkt.Realm != realm || len(key.KeyValue) != 32 {
			t.Errorf("%s: Ticket() = realm %q, key of %d bytes; want %q, 32", tt.name, tkt.Realm, len(key.KeyValue), realm)
		}
		for _, s := range []string{d.String(), fmt.Sprint(d)} {
			if strings.Contains(s, fmt.Sprintf("%x", key.KeyValue)) || strings.Contains(s, string(key.KeyValue)) || strings.Contains(s, fmt.Sprint(key.KeyValue)) {
				t.Errorf("%s: String() = %q shows the key", tt.name, s)
			}
		}
	}
	// Without delegation nothing is reported.
	_, res, err := (&Acceptor{Keytab: kt, SPN: spn}).Accept(build(t, tokenSpec{kt: kt}).token)
	if err != nil || res.Delegated || res.DelegatedTGT != nil {
		t.Errorf("no delegation: Accept = %v, Delegated %v, %v; want nil, false, nil", err, res.Delegated, res.DelegatedTGT)
	}
}
