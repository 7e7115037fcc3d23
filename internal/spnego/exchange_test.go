// This file tests the Initiator against the Acceptor over every negotiation
// path, with the toy mechanisms of fake_test.go and a man in the middle that
// can tamper with the tokens.

package spnego

import (
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// A tamperFunc may rewrite the n-th token of an exchange (n = 0 is the
// initiator's first); dir is "C" for the initiator's, "S" for the
// acceptor's.
type tamperFunc func(dir string, n int, tok []byte) []byte

type result struct {
	trace     []string // "C: " or "S: " + Describe(token).String()
	clientErr error
	serverErr error
}

// exchange runs ini against acc, at most 12 tokens.
func exchange(t *testing.T, ini *Initiator, acc *AcceptorContext, tamper tamperFunc) result {
	t.Helper()
	var res result
	record := func(dir string, tok []byte) {
		d, err := Describe(tok)
		if err != nil {
			res.trace = append(res.trace, dir+": "+err.Error())
			return
		}
		res.trace = append(res.trace, dir+": "+d.String())
	}
	ctx := context.Background()
	out, cont, err := ini.Step(ctx, nil)
	for n := 0; n < 12; n += 2 {
		if err != nil {
			res.clientErr = err
			return res
		}
		if !cont {
			res.clientErr = errors.New("test: client complete before the server")
			return res
		}
		if tamper != nil {
			out = tamper("C", n, out)
		}
		record("C", out)
		resp, done, serr := acc.Accept(out)
		if tamper != nil {
			resp = tamper("S", n+1, resp)
		}
		record("S", resp)
		if serr != nil {
			res.serverErr = serr
			_, _, res.clientErr = ini.Step(ctx, resp)
			return res
		}
		out, cont, err = ini.Step(ctx, resp)
		if err != nil {
			res.clientErr = err
			return res
		}
		if done {
			if cont || out != nil {
				res.clientErr = errors.New("test: server complete before the client")
			}
			return res
		}
	}
	res.clientErr = errors.New("test: too many tokens")
	return res
}

// rewriteResp decodes a NegTokenResp, lets f change it and re-encodes it.
func rewriteResp(tok []byte, f func(*negTokenResp)) []byte {
	_, r, err := decodeToken(tok)
	if err != nil || r == nil {
		return tok
	}
	f(r)
	b, err := r.encode()
	if err != nil {
		panic(err)
	}
	return b
}

// at applies f to the n-th token only.
func at(n int, f func(*negTokenResp)) tamperFunc {
	return func(_ string, i int, tok []byte) []byte {
		if i != n {
			return tok
		}
		return rewriteResp(tok, f)
	}
}

func flipMIC(r *negTokenResp) {
	if len(r.mechListMIC) > 0 {
		r.mechListMIC[0] ^= 1
	}
}

func stripMIC(r *negTokenResp) { r.mechListMIC = nil }

func TestExchange(t *testing.T) {
	const secret = "s3cret"
	all := func(krbN int) func(*[]*fakeInit) []Mech {
		return func(made *[]*fakeInit) []Mech {
			return []Mech{krbMech(krbN, secret, nil, nil, made), ntlmMech(secret, nil, made)}
		}
	}
	steer := func(a *Acceptor) *Acceptor {
		a.Prefer, a.RequireMIC = []asn1.ObjectIdentifier{OIDNTLM}, true
		return a
	}
	requireMIC := func(a *Acceptor) *Acceptor { a.RequireMIC = true; return a }
	ntlmOnly := &Acceptor{Mechs: map[string]func() (AcceptorMech, error){
		OIDNTLM.String(): func() (AcceptorMech, error) { return &fakeAcc{name: "ntlm", secret: secret, n: 3}, nil },
	}}
	steerTrace := []string{
		"C: negTokenInit mechTypes=[MS-Kerberos Kerberos NTLMSSP] mechToken=15 bytes",
		"S: negTokenResp negState=request-mic supportedMech=NTLMSSP",
		"C: negTokenResp responseToken=19 bytes",
		"S: negTokenResp negState=accept-incomplete responseToken=19 bytes",
		"C: negTokenResp responseToken=19 bytes mechListMIC=32 bytes",
		"S: negTokenResp negState=accept-completed mechListMIC=32 bytes",
	}

	tests := []struct {
		name       string
		mechs      func(*[]*fakeInit) []Mech
		acc        *Acceptor
		tamper     tamperFunc
		wantClient error // sentinel the client's error must wrap; nil for success
		wantServer error
		selected   asn1.ObjectIdentifier
		trace      []string // nil: not checked
	}{
		{
			name: "kerberos optimistic with mutual auth", mechs: all(2), acc: fakeAcceptor(2, secret),
			selected: OIDMSKerberos,
			trace: []string{
				"C: negTokenInit mechTypes=[MS-Kerberos Kerberos NTLMSSP] mechToken=15 bytes",
				"S: negTokenResp negState=accept-completed supportedMech=MS-Kerberos responseToken=15 bytes",
			},
		},
		{
			name: "kerberos optimistic without mutual auth", mechs: all(1), acc: fakeAcceptor(1, secret),
			selected: OIDMSKerberos,
			trace: []string{
				"C: negTokenInit mechTypes=[MS-Kerberos Kerberos NTLMSSP] mechToken=15 bytes",
				"S: negTokenResp negState=accept-completed supportedMech=MS-Kerberos",
			},
		},
		{
			name: "ntlm only", acc: fakeAcceptor(2, secret), selected: OIDNTLM,
			mechs: func(made *[]*fakeInit) []Mech { return []Mech{ntlmMech(secret, nil, made)} },
			trace: []string{
				"C: negTokenInit mechTypes=[NTLMSSP] mechToken=19 bytes",
				"S: negTokenResp negState=accept-incomplete supportedMech=NTLMSSP responseToken=19 bytes",
				"C: negTokenResp responseToken=19 bytes",
				"S: negTokenResp negState=accept-completed",
			},
		},
		{
			name: "gss-ntlmssp steering to ntlm with request-mic", mechs: all(2), acc: steer(fakeAcceptor(2, secret)),
			selected: OIDNTLM, trace: steerTrace,
		},
		{
			name: "acceptor without kerberos selects ntlm", mechs: all(2), acc: ntlmOnly,
			selected: OIDNTLM, trace: steerTrace,
		},
		{
			name: "require mic, kerberos with mutual auth", mechs: all(2), acc: requireMIC(fakeAcceptor(2, secret)),
			selected: OIDMSKerberos,
			trace: []string{
				"C: negTokenInit mechTypes=[MS-Kerberos Kerberos NTLMSSP] mechToken=15 bytes",
				"S: negTokenResp negState=request-mic supportedMech=MS-Kerberos responseToken=15 bytes mechListMIC=32 bytes",
				"C: negTokenResp mechListMIC=32 bytes",
				"S: negTokenResp negState=accept-completed",
			},
		},
		{
			name: "require mic, kerberos without mutual auth", mechs: all(1), acc: requireMIC(fakeAcceptor(1, secret)),
			selected: OIDMSKerberos,
			trace: []string{
				"C: negTokenInit mechTypes=[MS-Kerberos Kerberos NTLMSSP] mechToken=15 bytes",
				"S: negTokenResp negState=request-mic supportedMech=MS-Kerberos mechListMIC=32 bytes",
				"C: negTokenResp mechListMIC=32 bytes",
				"S: negTokenResp negState=accept-completed",
			},
		},
		{
			name: "require mic, ntlm first", acc: requireMIC(fakeAcceptor(2, secret)), selected: OIDNTLM,
			mechs: func(made *[]*fakeInit) []Mech { return []Mech{ntlmMech(secret, nil, made)} },
			trace: []string{
				"C: negTokenInit mechTypes=[NTLMSSP] mechToken=19 bytes",
				"S: negTokenResp negState=request-mic supportedMech=NTLMSSP responseToken=19 bytes",
				"C: negTokenResp responseToken=19 bytes mechListMIC=32 bytes",
				"S: negTokenResp negState=accept-completed mechListMIC=32 bytes",
			},
		},
		{
			name: "client mic tampered", mechs: all(2), acc: steer(fakeAcceptor(2, secret)),
			tamper: at(4, flipMIC), wantClient: gss.ErrRejected, wantServer: gss.ErrMutualAuth,
		},
		{
			name: "client mic stripped", mechs: all(2), acc: steer(fakeAcceptor(2, secret)),
			tamper: at(4, stripMIC), wantClient: gss.ErrRejected, wantServer: gss.ErrMutualAuth,
		},
		{
			name: "server mic tampered", mechs: all(2), acc: steer(fakeAcceptor(2, secret)),
			tamper: at(5, flipMIC), wantClient: gss.ErrMutualAuth,
		},
		{
			name: "server mic stripped", mechs: all(2), acc: steer(fakeAcceptor(2, secret)),
			tamper: at(5, stripMIC), wantClient: gss.ErrMutualAuth,
		},
		{
			name: "server mic stripped with kerberos", mechs: all(2), acc: requireMIC(fakeAcceptor(2, secret)),
			// the client still sends its MIC, but the acceptor never proves
			// it saw the same mechanism list
			tamper: at(1, stripMIC), wantClient: gss.ErrMutualAuth,
		},
		{
			name: "downgrade: mechTypes rewritten to ntlm only", mechs: all(2), acc: fakeAcceptor(2, secret),
			tamper: func(dir string, n int, tok []byte) []byte {
				if n != 0 {
					return tok
				}
				list, _ := encodeMechTypes([]asn1.ObjectIdentifier{OIDNTLM})
				return encodeInit(list, nil)
			},
			wantClient: gss.ErrRejected, wantServer: gss.ErrMutualAuth,
		},
		{
			name: "supportedMech not offered", mechs: all(2), acc: fakeAcceptor(2, secret),
			tamper:     at(1, func(r *negTokenResp) { r.supportedMech = asn1.ObjectIdentifier{1, 2, 3} }),
			wantClient: gss.ErrUnsupportedMech,
		},
		{
			name: "acceptor rejects the credentials", acc: fakeAcceptor(2, secret),
			mechs: func(made *[]*fakeInit) []Mech {
				return []Mech{krbMech(2, "wrong", nil, nil, made), ntlmMech("wrong", nil, made)}
			},
			wantClient: gss.ErrRejected, wantServer: gss.ErrRejected,
		},
		{
			name: "acceptor token forged", mechs: all(2), acc: fakeAcceptor(2, secret),
			tamper: at(1, func(r *negTokenResp) { r.responseToken[len(r.responseToken)-1] ^= 1 }),
			// the toy mechanism reports a forged acceptor token as ErrRejected
			wantClient: gss.ErrRejected,
		},
		{
			name: "no common mechanism", mechs: all(2),
			acc:        &Acceptor{Mechs: map[string]func() (AcceptorMech, error){"1.2.3": nil}},
			wantClient: gss.ErrRejected, wantServer: gss.ErrUnsupportedMech,
		},
		{
			name: "kerberos constructor fails, ntlm used", acc: fakeAcceptor(2, secret), selected: OIDNTLM,
			mechs: func(made *[]*fakeInit) []Mech {
				return []Mech{krbMech(2, secret, fmt.Errorf("krb: no ccache: %w", gss.ErrNoCredentials), nil, made), ntlmMech(secret, nil, made)}
			},
			trace: []string{
				"C: negTokenInit mechTypes=[NTLMSSP] mechToken=19 bytes",
				"S: negTokenResp negState=accept-incomplete supportedMech=NTLMSSP responseToken=19 bytes",
				"C: negTokenResp responseToken=19 bytes",
				"S: negTokenResp negState=accept-completed",
			},
		},
		{
			name: "kerberos first step fails with unknown principal, ntlm used", acc: fakeAcceptor(2, secret), selected: OIDNTLM,
			mechs: func(made *[]*fakeInit) []Mech {
				return []Mech{krbMech(2, secret, nil, fmt.Errorf("krb: %w", gss.ErrUnknownPrincipal), made), ntlmMech(secret, nil, made)}
			},
		},
		{
			name: "every mechanism fails: first cause kept", acc: fakeAcceptor(2, secret),
			mechs: func(made *[]*fakeInit) []Mech {
				return []Mech{krbMech(2, secret, fmt.Errorf("krb: %w", gss.ErrKDCUnreachable), nil, made), ntlmMech(secret, fmt.Errorf("ntlm: %w", gss.ErrNoCredentials), made)}
			},
			wantClient: gss.ErrKDCUnreachable,
		},
		{
			name: "hard failure does not fall back", acc: fakeAcceptor(2, secret),
			mechs: func(made *[]*fakeInit) []Mech {
				return []Mech{krbMech(2, secret, nil, fmt.Errorf("krb: %w", gss.ErrClockSkew), made), ntlmMech(secret, nil, made)}
			},
			wantClient: gss.ErrClockSkew,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var made []*fakeInit
			ini := NewInitiator(tt.mechs(&made))
			res := exchange(t, ini, tt.acc.NewContext(), tt.tamper)
			trace := strings.Join(res.trace, "\n")
			if tt.wantClient == nil && res.clientErr != nil || tt.wantClient != nil && !errors.Is(res.clientErr, tt.wantClient) {
				t.Fatalf("client error = %v; want %v\ntrace:\n%s", res.clientErr, tt.wantClient, trace)
			}
			if tt.wantServer == nil && res.serverErr != nil || tt.wantServer != nil && !errors.Is(res.serverErr, tt.wantServer) {
				t.Fatalf("server error = %v; want %v\ntrace:\n%s", res.serverErr, tt.wantServer, trace)
			}
			if tt.trace != nil && trace != strings.Join(tt.trace, "\n") {
				t.Errorf("trace:\n%s\nwant:\n%s", trace, strings.Join(tt.trace, "\n"))
			}
			if tt.wantClient != nil {
				return
			}
			if !ini.Selected().Equal(tt.selected) {
				t.Errorf("Selected() = %v; want %v", ini.Selected(), tt.selected)
			}
			if !ini.MechComplete() {
				t.Errorf("MechComplete() = false; want true")
			}
			if ini.Mech() != gss.Context(made[len(made)-1]) {
				t.Errorf("Mech() is not the last mechanism context made")
			}
			if _, _, err := ini.Step(context.Background(), []byte{0xa1, 0}); err == nil {
				t.Errorf("Step after completion succeeded; want an error")
			}
		})
	}
}

// TestMICOverMechTypesAsSent checks that both sides MIC exactly the DER
// MechTypeList the initiator sent, and that a dropped candidate is not in it.
func TestMICOverMechTypesAsSent(t *testing.T) {
	var made []*fakeInit
	ini := NewInitiator([]Mech{
		krbMech(2, "x", fmt.Errorf("%w", gss.ErrNoSPN), nil, &made),
		ntlmMech("x", nil, &made),
		krbMech(2, "x", nil, nil, &made),
	})
	acc := &Acceptor{Mechs: fakeAcceptor(2, "x").Mechs, Prefer: []asn1.ObjectIdentifier{OIDKerberos}}
	res := exchange(t, ini, acc.NewContext(), nil)
	if res.clientErr != nil || res.serverErr != nil {
		t.Fatalf("exchange: client %v, server %v\n%s", res.clientErr, res.serverErr, strings.Join(res.trace, "\n"))
	}
	want, _ := encodeMechTypes([]asn1.ObjectIdentifier{OIDNTLM, OIDMSKerberos, OIDKerberos})
	k := made[len(made)-1]
	if k.name != "krb" || len(k.micMsgs) != 1 || string(k.micMsgs[0]) != string(want) {
		t.Fatalf("MIC computed over %x; want %x", k.micMsgs, want)
	}
	if !errors.Is(ini.Dropped(), gss.ErrNoSPN) {
		t.Errorf("Dropped() = %v; want it to wrap ErrNoSPN", ini.Dropped())
	}
}

func TestAllFailErrorNamesEveryCause(t *testing.T) {
	ini := NewInitiator([]Mech{
		krbMech(2, "x", fmt.Errorf("krb: %w", gss.ErrKDCUnreachable), nil, nil),
		ntlmMech("x", fmt.Errorf("ntlm: %w", gss.ErrNoCredentials), nil),
	})
	_, _, err := ini.Step(context.Background(), nil)
	if !errors.Is(err, gss.ErrKDCUnreachable) || errors.Is(err, gss.ErrNoCredentials) {
		t.Fatalf("Step(nil) = %v; want it to wrap ErrKDCUnreachable only", err)
	}
	for _, s := range []string{"MS-Kerberos", "NTLMSSP", "KDC unreachable", "no credentials"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Step(nil) error %q does not mention %q", err, s)
		}
	}
}
