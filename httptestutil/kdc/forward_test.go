// Tests of forwarded tickets (RFC 4120 §2.6, §3.3.3) and of the
// OK-AS-DELEGATE flag (RFC 4120 §2.8).

package kdc

import (
	"testing"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// forwardTGS asks for a forwarded ticket for sname, with addrs as the
// request's addresses; it returns the decrypted reply or the KRB-ERROR
// code.
func forwardTGS(t *testing.T, k *KDC, cfg *config.Config, as messages.ASRep, sname string, addrs types.HostAddresses) (messages.TGSRep, int32) {
	t.Helper()
	key := as.DecryptedEncPart.Key
	req, err := messages.NewTGSReq(as.CName, k.Realm(), cfg, as.Ticket, key, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, sname), false)
	if err != nil {
		t.Fatal(err)
	}
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwarded)
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwardable)
	req.ReqBody.Addresses = addrs
	// The authenticator's checksum covers the body: sign it again.
	body, err := req.ReqBody.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	et, _ := crypto.GetEtype(key.KeyType)
	sum, err := et.GetChecksumHash(key.KeyValue, body, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM)
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := types.NewAuthenticator(k.Realm(), as.CName)
	auth.Cksum = types.Checksum{CksumType: et.GetHashID(), Checksum: sum}
	ap, err := messages.NewAPReq(as.Ticket, key, auth)
	if err != nil {
		t.Fatal(err)
	}
	apb, _ := ap.Marshal()
	req.PAData = types.PADataSequence{{PADataType: patype.PA_TGS_REQ, PADataValue: apb}}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return tgsReply(t, k, b, key)
}

func TestForwarded(t *testing.T) {
	k := New(t, testRealm, nil)
	k.AddUser("alice", "pw")
	k.AddUser("bob", "pw")
	k.SetForwardable("bob", false)
	k.AddService(testSPN)
	cfg := k.testConfig() // forwardable = true
	cl := newClient(k, cfg, "alice", "pw")
	defer cl.Destroy()
	as := tgt(t, k, cl)
	if !types.IsFlagSet(&as.DecryptedEncPart.Flags, flags.Forwardable) {
		t.Fatalf("TGT flags %x; want forwardable (asked for)", as.DecryptedEncPart.Flags.Bytes)
	}
	addr := types.HostAddresses{types.HostAddressFromNetIP([]byte{192, 0, 2, 1})}
	for _, addrs := range []types.HostAddresses{nil, addr} {
		rep, code := forwardTGS(t, k, cfg, as, "krbtgt/"+testRealm, addrs)
		if code != 0 {
			t.Fatalf("forwarded TGT: KRB-ERROR %d; want a TGS-REP", code)
		}
		ep := rep.DecryptedEncPart
		if !types.IsFlagSet(&ep.Flags, flags.Forwarded) || !types.IsFlagSet(&ep.Flags, flags.Forwardable) {
			t.Errorf("forwarded TGT flags %x; want forwarded and forwardable", ep.Flags.Bytes)
		}
		if len(ep.CAddr) != len(addrs) {
			t.Errorf("forwarded TGT has %d addresses; want the request's %d", len(ep.CAddr), len(addrs))
		}
	}
	// A plain service ticket is not forwarded, nor OK-AS-DELEGATE until
	// the service is trusted for delegation.
	for _, ok := range []bool{false, true} {
		k.SetOKAsDelegate(testSPN, ok)
		rep, code := tgsExchange(t, k, cfg, as, testSPN, false)
		if code != 0 {
			t.Fatalf("service ticket: KRB-ERROR %d", code)
		}
		ep := rep.DecryptedEncPart
		if got := types.IsFlagSet(&ep.Flags, flags.OKAsDelegate); got != ok || types.IsFlagSet(&ep.Flags, flags.Forwarded) {
			t.Errorf("SetOKAsDelegate(%v): service ticket flags %x; want ok-as-delegate %v, not forwarded", ok, ep.Flags.Bytes, ok)
		}
	}
	k.AddService(testSPN) // re-keying keeps the setting
	if rep, _ := tgsExchange(t, k, cfg, as, testSPN, false); !types.IsFlagSet(&rep.DecryptedEncPart.Flags, flags.OKAsDelegate) {
		t.Errorf("after AddService again: ok-as-delegate lost")
	}

	// A principal denied forwardable tickets gets a TGT without the flag,
	// and a FORWARDED request is refused.
	clb := newClient(k, cfg, "bob", "pw")
	defer clb.Destroy()
	req, err := messages.NewASReqForTGT(k.Realm(), cfg, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	asb, err := clb.ASExchange(k.Realm(), req, 0)
	if err != nil {
		t.Fatal(err)
	}
	if types.IsFlagSet(&asb.DecryptedEncPart.Flags, flags.Forwardable) {
		t.Errorf("SetForwardable(bob, false): TGT flags %x; want not forwardable", asb.DecryptedEncPart.Flags.Bytes)
	}
	if _, code := forwardTGS(t, k, cfg, asb, "krbtgt/"+testRealm, nil); code != errorcode.KDC_ERR_BADOPTION {
		t.Errorf("FORWARDED with a non-forwardable TGT: code %d; want %d", code, errorcode.KDC_ERR_BADOPTION)
	}
}
