// Tests of credential delegation: the client against the test KDC and
// the acceptor of internal/krbacceptor.

package krb

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krbacceptor"
)

const okSPN = "HTTP/trusted.example.test" // a service with OK-AS-DELEGATE

func TestDelegation(t *testing.T) {
	k, kt := newKDC(t, nil)
	ktOK := kdcKeytab(k.AddService(okSPN))
	k.SetOKAsDelegate(okSPN, true)
	tests := []struct {
		policy Delegation
		spn    string
		want   bool
	}{
		{DelegateNone, testSPN, false},
		{DelegateNone, okSPN, false},
		{DelegateIfOKAsDelegate, testSPN, false},
		{DelegateIfOKAsDelegate, okSPN, true},
		{DelegateAlways, testSPN, true},
		{DelegateAlways, okSPN, true},
	}
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	for _, tt := range tests {
		acc := &krbacceptor.Acceptor{Keytab: kt, SPN: tt.spn}
		if tt.spn == okSPN {
			acc.Keytab = ktOK
		}
		in := NewInitiator(c, tt.spn, InitiatorOptions{Mutual: true, Delegation: tt.policy})
		tok, _, err := in.Step(testCtx(t), nil)
		if err != nil {
			t.Fatalf("%v to %s: Step = %v", tt.policy, tt.spn, err)
		}
		rep, res, err := acc.Accept(tok)
		if err != nil {
			t.Fatalf("%v to %s: Accept = %v", tt.policy, tt.spn, err)
		}
		if _, _, err := in.Step(testCtx(t), rep); err != nil {
			t.Fatalf("%v to %s: Step(AP-REP) = %v", tt.policy, tt.spn, err)
		}
		gotFlag := res.Flags&gss.FlagDeleg != 0
		if res.Delegated != tt.want || gotFlag != tt.want || in.Delegated() != tt.want {
			t.Errorf("%v to %s: delegated %v (flag %v, initiator says %v); want %v", tt.policy, tt.spn, res.Delegated, gotFlag, in.Delegated(), tt.want)
		}
		if !tt.want {
			if res.DelegatedTGT != nil {
				t.Errorf("%v to %s: DelegatedTGT = %v; want nil", tt.policy, tt.spn, res.DelegatedTGT)
			}
			continue
		}
		d := res.DelegatedTGT
		if d == nil || d.Client != "alice@"+testRealm || d.Server != "krbtgt/"+testRealm+"@"+testRealm || !d.Forwarded {
			t.Fatalf("%v to %s: DelegatedTGT = %v; want a forwarded TGT of alice", tt.policy, tt.spn, d)
		}
		// The service can use the TGT as alice's: a service ticket
		// for another service.
		tkt, key := d.Ticket()
		svc := &Client{cfg: kdcConfig(k), cname: types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"), realm: testRealm, now: c.now}
		cr, err := svc.tgsExchange(testCtx(t), testRealm, &cred{ticket: tkt, key: key}, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, okSPN), false, false, "alice")
		if err != nil {
			t.Fatalf("%v to %s: TGS exchange with the delegated TGT = %v", tt.policy, tt.spn, err)
		}
		if !types.IsFlagSet(&cr.flags, flags.Forwarded) {
			t.Errorf("ticket from a forwarded TGT lacks the FORWARDED flag (RFC 4120 §2.6)")
		}
	}
	// One forwarded TGT serves every delegation while valid.
	if got := k.Stats().TGSBySPN["krbtgt/"+testRealm]; got != 1 {
		t.Errorf("TGS requests for krbtgt/%s = %d; want 1 (forwarded TGT reused)", testRealm, got)
	}
}

func TestDelegationNotForwardable(t *testing.T) {
	k, _ := newKDC(t, nil)
	ktOK := kdcKeytab(k.AddService(okSPN))
	k.SetOKAsDelegate(okSPN, true)
	k.SetForwardable("alice", false)
	p := filepath.Join(t.TempDir(), "cc")
	if err := k.WriteCCache(p, "alice", "s3cret!"); err != nil {
		t.Fatal(err)
	}
	cc, err := credentials.LoadCCache(p)
	if err != nil {
		t.Fatal(err)
	}
	ccClient, err := NewCCacheClient(cc, kdcConfig(k))
	if err != nil {
		t.Fatal(err)
	}
	pwClient := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	for name, c := range map[string]*Client{"ccache": ccClient, "password": pwClient} {
		_, _, err := NewInitiator(c, testSPN, InitiatorOptions{Delegation: DelegateAlways}).Step(testCtx(t), nil)
		if !errors.Is(err, ErrNotForwardable) || !errors.Is(err, gss.ErrNoCredentials) {
			t.Errorf("%s: DelegateAlways with a non-forwardable TGT: Step = %v; want %v", name, err, ErrNotForwardable)
		}
		// By policy, the context goes ahead without delegation.
		in := NewInitiator(c, okSPN, InitiatorOptions{Delegation: DelegateIfOKAsDelegate})
		tok, _, err := in.Step(testCtx(t), nil)
		if err != nil || in.Delegated() {
			t.Fatalf("%s: DelegateIfOKAsDelegate with a non-forwardable TGT: Step = %v, delegated %v; want nil, false", name, err, in.Delegated())
		}
		acc := &krbacceptor.Acceptor{Keytab: ktOK, SPN: okSPN}
		if _, res, err := acc.Accept(tok); err != nil || res.Delegated || res.Flags&gss.FlagDeleg != 0 {
			t.Errorf("%s: Accept = %v (flags %#x); want accepted without delegation", name, err, res.Flags)
		}
	}
}
