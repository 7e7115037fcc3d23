// An end-to-end SPNEGO exchange (internal/spnego on both sides) over an
// RC4-HMAC Kerberos context whose acceptor demands the mechListMIC.

package krb_test

import (
	"context"
	"errors"
	"github.com/jcmturner/gokrb5/v8/config"
	"testing"
	"time"

	"encoding/asn1"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb"
	"github.com/negotiate-go/negotiate/internal/krbacceptor"
	"github.com/negotiate-go/negotiate/internal/spnego"
)

// krbMech adapts a krbacceptor.Acceptor to spnego.AcceptorMech.
type krbMech struct {
	a       *krbacceptor.Acceptor
	res     *krbacceptor.Result
	corrupt bool // alter the last byte (SGN_CKSUM) of every MIC made
}

func (m *krbMech) Accept(tok []byte) ([]byte, bool, error) {
	out, res, err := m.a.Accept(tok)
	if err != nil {
		return nil, false, err
	}
	m.res = res
	return out, true, nil
}

func (m *krbMech) GetMIC(msg []byte) ([]byte, error) {
	if m.res == nil {
		return nil, errors.New("no context")
	}
	mic, err := m.res.GetMIC(msg)
	if err == nil && m.corrupt {
		mic[len(mic)-1] ^= 1
	}
	return mic, err
}

func (m *krbMech) VerifyMIC(msg, mic []byte) error {
	if m.res == nil {
		return errors.New("no context")
	}
	return m.res.VerifyMIC(msg, mic)
}

func TestSPNEGORequireMICWithRC4Service(t *testing.T) {
	const realm, spn = "EXAMPLE.TEST", "HTTP/legacy.example.test"
	k := kdc.New(t, realm, nil)
	k.AddUser("alice", "s3cret!")
	kt, err := krb.ParseKeytab(k.AddService(spn, kdc.RC4HMAC))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := config.Load(k.Krb5ConfPath())
	if err != nil {
		t.Fatal(err)
	}
	c := krb.NewPasswordClient("alice", realm, "s3cret!", conf)
	for _, tc := range []struct {
		name   string
		mutual bool
		// corrupt alters the acceptor's MIC, to check that a bad
		// mechListMIC fails the exchange.
		corrupt bool
	}{
		{"mutual", true, false},
		{"no mutual", false, false},
		{"mutual, altered acceptor MIC", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var in *krb.Initiator
			ini := spnego.NewInitiator([]spnego.Mech{{
				OIDs: []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos},
				New: func() (gss.MICContext, error) {
					in = krb.NewInitiator(c, spn, krb.InitiatorOptions{Mutual: tc.mutual})
					return in, nil
				},
			}})
			mech := &krbMech{a: &krbacceptor.Acceptor{Keytab: kt, SPN: spn}, corrupt: tc.corrupt}
			acc := (&spnego.Acceptor{
				Mechs:      map[string]func() (spnego.AcceptorMech, error){spnego.OIDKerberos.String(): func() (spnego.AcceptorMech, error) { return mech, nil }},
				RequireMIC: true,
			}).NewContext()

			tok, cont, err := ini.Step(ctx, nil)
			var accDone bool
			for legs := 0; cont && err == nil; legs++ {
				if legs == 4 {
					t.Fatal("no completion after 4 legs")
				}
				var out []byte
				out, accDone, err = acc.Accept(tok)
				if err != nil {
					t.Fatalf("acceptor leg %d: %v", legs, err)
				}
				tok, cont, err = ini.Step(ctx, out)
				if !cont && tok != nil && err == nil {
					_, accDone, err = acc.Accept(tok)
				}
			}
			if tc.corrupt {
				if !errors.Is(err, gss.ErrMutualAuth) {
					t.Fatalf("exchange with an altered acceptor MIC = %v; want %v", err, gss.ErrMutualAuth)
				}
				return
			}
			if err != nil || !accDone {
				t.Fatalf("exchange = %v (acceptor done %v); want success", err, accDone)
			}
			if in.SessionKey().KeyType != kdc.RC4HMAC || mech.res.SessionKeyType != kdc.RC4HMAC {
				t.Errorf("keys of enctype %d and %d; want RC4-HMAC on both sides", in.SessionKey().KeyType, mech.res.SessionKeyType)
			}
			if in.Verified() != tc.mutual {
				t.Errorf("Verified() = %v; want %v", in.Verified(), tc.mutual)
			}
		})
	}
}
