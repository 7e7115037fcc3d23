// This file tests NTLM inside SPNEGO with the real mechanisms: our NTLM
// client (internal/ntlm) against the independent NTLM acceptor
// (internal/ntlmacceptor), with the mechListMIC made and verified both ways
// by NTLM's message signatures (MS-SPNG §3.3.5.1, MS-NLMP §3.4.4.2).

package spnego

import (
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/ntlm"
	"github.com/negotiate-go/negotiate/internal/ntlmacceptor"
)

func TestRealNTLM(t *testing.T) {
	users := map[string][]byte{"alice": ntlm.NTHash("Passw0rd!")}
	newAcceptor := func(requireMIC bool, prefer ...asn1.ObjectIdentifier) (*Acceptor, **ntlmacceptor.Context) {
		na := &ntlmacceptor.Acceptor{
			Lookup: func(user, _ string) ([]byte, bool) {
				h, ok := users[strings.ToLower(user)]
				return h, ok
			},
			RequireVersion:     true, // like gss-ntlmssp
			RequireMIC:         true,
			ExpectedTargetName: "HTTP/www.example.test",
		}
		last := new(*ntlmacceptor.Context)
		return &Acceptor{
			Mechs: map[string]func() (AcceptorMech, error){
				OIDNTLM.String(): func() (AcceptorMech, error) { *last = na.NewContext(); return *last, nil },
				// the toy Kerberos, so that steering away from it is tested
				OIDKerberos.String(): func() (AcceptorMech, error) { return &fakeAcc{name: "krb", secret: "k", n: 2}, nil },
			},
			Prefer:     prefer,
			RequireMIC: requireMIC,
		}, last
	}
	ntlmCand := func(password string) Mech {
		return Mech{OIDs: []asn1.ObjectIdentifier{OIDNTLM}, New: func() (gss.MICContext, error) {
			return ntlm.NewClient(ntlm.Config{User: "alice", Domain: "EXAMPLE", Password: password, TargetName: "HTTP/www.example.test"})
		}}
	}
	tests := []struct {
		name       string
		mechs      []Mech
		requireMIC bool
		prefer     []asn1.ObjectIdentifier
		tamper     tamperFunc
		wantClient error
		wantServer error
		trace      []string
	}{
		{
			name: "ntlm only, mechListMIC demanded like gss-ntlmssp", mechs: []Mech{ntlmCand("Passw0rd!")}, requireMIC: true,
			trace: []string{
				"C: negTokenInit mechTypes=[NTLMSSP] mechToken=40 bytes",
				"S: negTokenResp negState=request-mic supportedMech=NTLMSSP responseToken=* bytes",
				"C: negTokenResp responseToken=* bytes mechListMIC=16 bytes",
				"S: negTokenResp negState=accept-completed mechListMIC=16 bytes",
			},
		},
		{
			name: "ntlm only, mechListMIC optional", mechs: []Mech{ntlmCand("Passw0rd!")},
			trace: []string{
				"C: negTokenInit mechTypes=[NTLMSSP] mechToken=40 bytes",
				"S: negTokenResp negState=accept-incomplete supportedMech=NTLMSSP responseToken=* bytes",
				"C: negTokenResp responseToken=* bytes",
				"S: negTokenResp negState=accept-completed",
			},
		},
		{
			name:   "kerberos first, steered to ntlm",
			mechs:  []Mech{krbMech(2, "k", nil, nil, nil), ntlmCand("Passw0rd!")},
			prefer: []asn1.ObjectIdentifier{OIDNTLM}, requireMIC: true,
			trace: []string{
				"C: negTokenInit mechTypes=[MS-Kerberos Kerberos NTLMSSP] mechToken=15 bytes",
				"S: negTokenResp negState=request-mic supportedMech=NTLMSSP",
				"C: negTokenResp responseToken=40 bytes",
				"S: negTokenResp negState=accept-incomplete responseToken=* bytes",
				"C: negTokenResp responseToken=* bytes mechListMIC=16 bytes",
				"S: negTokenResp negState=accept-completed mechListMIC=16 bytes",
			},
		},
		{
			name:   "client mechListMIC tampered",
			mechs:  []Mech{krbMech(2, "k", nil, nil, nil), ntlmCand("Passw0rd!")},
			prefer: []asn1.ObjectIdentifier{OIDNTLM}, tamper: at(4, flipMIC),
			wantClient: gss.ErrRejected, wantServer: gss.ErrMutualAuth,
		},
		{
			name:   "server mechListMIC tampered",
			mechs:  []Mech{krbMech(2, "k", nil, nil, nil), ntlmCand("Passw0rd!")},
			prefer: []asn1.ObjectIdentifier{OIDNTLM}, tamper: at(5, flipMIC),
			wantClient: gss.ErrMutualAuth,
		},
		{
			name: "wrong password", mechs: []Mech{ntlmCand("wrong")},
			wantClient: gss.ErrRejected, wantServer: ntlmacceptor.ErrWrongPassword,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, last := newAcceptor(tt.requireMIC, tt.prefer...)
			ini := NewInitiator(tt.mechs)
			res := exchange(t, ini, acc.NewContext(), tt.tamper)
			trace := strings.Join(res.trace, "\n")
			if tt.wantClient == nil && res.clientErr != nil || tt.wantClient != nil && !errors.Is(res.clientErr, tt.wantClient) {
				t.Fatalf("client error = %v; want %v\ntrace:\n%s", res.clientErr, tt.wantClient, trace)
			}
			if tt.wantServer == nil && res.serverErr != nil || tt.wantServer != nil && !errors.Is(res.serverErr, tt.wantServer) {
				t.Fatalf("server error = %v; want %v\ntrace:\n%s", res.serverErr, tt.wantServer, trace)
			}
			// NTLM token sizes vary with names and times: "*" in a wanted
			// line stands for a number.
			for i, want := range tt.trace {
				pre, suf, _ := strings.Cut(want, "*")
				if i >= len(res.trace) || len(res.trace[i]) < len(pre)+len(suf) ||
					!strings.HasPrefix(res.trace[i], pre) || !strings.HasSuffix(res.trace[i], suf) ||
					strings.Trim(res.trace[i][len(pre):len(res.trace[i])-len(suf)], "0123456789") != "" {
					t.Errorf("trace:\n%s\nwant (prefixes):\n%s", trace, strings.Join(tt.trace, "\n"))
					break
				}
			}
			if tt.trace != nil && len(res.trace) != len(tt.trace) {
				t.Errorf("trace has %d tokens; want %d\n%s", len(res.trace), len(tt.trace), trace)
			}
			if tt.wantClient != nil {
				return
			}
			if *last == nil || (*last).User() != "alice" || !(*last).MICPresent() {
				t.Errorf("ntlm acceptor: user %q, MIC present %v; want alice with a MIC", (*last).User(), (*last).MICPresent())
			}
			c, ok := ini.Mech().(*ntlm.Client)
			if !ok || !ini.Selected().Equal(OIDNTLM) || !ini.MechComplete() {
				t.Errorf("Mech() = %T, Selected() = %v, MechComplete() = %v; want a complete *ntlm.Client for NTLMSSP", ini.Mech(), ini.Selected(), ini.MechComplete())
			} else if !c.MICPresent() {
				t.Errorf("ntlm client sent no MIC in AUTHENTICATE")
			}
		})
	}
}
