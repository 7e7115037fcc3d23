// Tests of the KRB-CRED encoding against gokrb5's decoder.

package wire

import (
	"bytes"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// TestKRBCredDecodes checks the KRB-CRED encoding against gokrb5's decoder.
func TestKRBCredDecodes(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	ci := CredInfo{
		Key:      types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)},
		PRealm:   "EXAMPLE.TEST",
		PName:    types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"),
		Flags:    1<<(31-flags.Forwardable) | 1<<(31-flags.Forwarded),
		AuthTime: now.Add(-time.Hour).Truncate(time.Second),
		EndTime:  now.Add(time.Hour).Truncate(time.Second),
		SRealm:   "EXAMPLE.TEST",
		SName:    types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/EXAMPLE.TEST"),
	}
	var p messages.EncKrbCredPart
	if err := p.Unmarshal(EncKrbCredPart(&ci, now)); err != nil {
		t.Fatalf("gokrb5 EncKrbCredPart.Unmarshal: %v", err)
	}
	if len(p.TicketInfo) != 1 {
		t.Fatalf("decoded %d KrbCredInfo; want 1", len(p.TicketInfo))
	}
	got := p.TicketInfo[0]
	if !bytes.Equal(got.Key.KeyValue, ci.Key.KeyValue) || got.Key.KeyType != ci.Key.KeyType ||
		got.PRealm != ci.PRealm || !got.PName.Equal(ci.PName) || got.SRealm != ci.SRealm || !got.SName.Equal(ci.SName) ||
		!got.AuthTime.Equal(ci.AuthTime) || !got.EndTime.Equal(ci.EndTime) || !got.StartTime.IsZero() || !got.RenewTill.IsZero() {
		t.Errorf("decoded KrbCredInfo differs from the one encoded (principals %v@%s, %v@%s; times %v %v)",
			got.PName, got.PRealm, got.SName, got.SRealm, got.AuthTime, got.EndTime)
	}
	if !types.IsFlagSet(&got.Flags, flags.Forwarded) || !types.IsFlagSet(&got.Flags, flags.Forwardable) || types.IsFlagSet(&got.Flags, flags.Renewable) {
		t.Errorf("decoded flags %x; want forwardable and forwarded only", got.Flags.Bytes)
	}
	if !p.Timestamp.Equal(now.Truncate(time.Second)) || p.Usec != 123456 {
		t.Errorf("timestamp %v usec %d; want %v 123456", p.Timestamp, p.Usec, now.Truncate(time.Second))
	}

	tkt := []byte{0x61, 0x03, 0x30, 0x01, 0x00} // any DER; copied verbatim
	cred := KRBCred(tkt, types.EncryptedData{EType: 18, Cipher: []byte("ciphertext")})
	if !bytes.Contains(cred, tkt) {
		t.Errorf("KRBCred does not carry the ticket DER verbatim")
	}
	var m messages.KRBCred
	tktReal := messages.Ticket{TktVNO: 5, Realm: "EXAMPLE.TEST", SName: ci.SName, EncPart: types.EncryptedData{EType: 18, KVNO: 1, Cipher: []byte("x")}}
	tb, err := tktReal.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Unmarshal(KRBCred(tb, types.EncryptedData{EType: 18, Cipher: []byte("ciphertext")})); err != nil {
		t.Fatalf("gokrb5 KRBCred.Unmarshal: %v", err)
	}
	if len(m.Tickets) != 1 || m.Tickets[0].Realm != "EXAMPLE.TEST" || m.EncPart.EType != 18 || string(m.EncPart.Cipher) != "ciphertext" {
		t.Errorf("decoded KRB-CRED = %d tickets, enc-part etype %d; want 1 ticket, etype 18", len(m.Tickets), m.EncPart.EType)
	}
}
