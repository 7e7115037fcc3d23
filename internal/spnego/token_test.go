// This file tests the wire format: known answers, real servers' tokens,
// gokrb5's SPNEGO types as an independent decoder, hostile input, raw
// mechanism replies and Describe.

package spnego

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// gssNTLMSSPSteer is what Apache + gss-ntlmssp answers a Kerberos-first
// client with (FIELD-NOTES): request-mic, supportedMech NTLMSSP.
const gssNTLMSSPSteer = "oRUwE6ADCgEDoQwGCisGAQQBgjcCAgo="

func TestGSSNTLMSSPSteeringToken(t *testing.T) {
	b, _ := base64.StdEncoding.DecodeString(gssNTLMSSPSteer)
	d, err := Describe(b)
	if err != nil {
		t.Fatalf("Describe(%q) error: %v", gssNTLMSSPSteer, err)
	}
	if got, want := d.String(), "negTokenResp negState=request-mic supportedMech=NTLMSSP"; got != want {
		t.Errorf("Describe(%q) = %q; want %q", gssNTLMSSPSteer, got, want)
	}
	if d.MechToken != nil || d.HasMechListMIC {
		t.Errorf("Describe(%q): unexpected token or MIC", gssNTLMSSPSteer)
	}
	// And our acceptor, steering the same way, says exactly the same bytes.
	r := negTokenResp{hasNegState: true, negState: RequestMIC, supportedMech: OIDNTLM}
	if enc, _ := r.encode(); !bytes.Equal(enc, b) {
		t.Errorf("encode = %x; want %x", enc, b)
	}
}

// TestMechTypesKnownAnswer checks the MechTypeList against the bytes
// Windows sends (X.690 §8.19 OID encoding of MS-KRB5, KRB5, NTLMSSP).
func TestMechTypesKnownAnswer(t *testing.T) {
	want, _ := hex.DecodeString("3022" +
		"06092a864882f712010202" + // 1.2.840.48018.1.2.2
		"06092a864886f712010202" + // 1.2.840.113554.1.2.2
		"060a2b06010401823702020a") // 1.3.6.1.4.1.311.2.2.10
	got, err := encodeMechTypes([]asn1.ObjectIdentifier{OIDMSKerberos, OIDKerberos, OIDNTLM})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("encodeMechTypes = %x, %v; want %x", got, err, want)
	}
	init := encodeInit(got, []byte{1, 2, 3})
	// [APPLICATION 0]{OID, [0]{SEQUENCE{[0]{list} [2]{OCTET STRING}}}}:
	// 0x24+2 + 5+2 = 0x2d, then 0x2f, then 8 + 0x31 = 0x39.
	wantInit, _ := hex.DecodeString("6039" + "06062b0601050502" +
		"a02f" + "302d" + "a024" + hex.EncodeToString(want) + "a205" + "0403010203")
	if !bytes.Equal(init, wantInit) {
		t.Errorf("encodeInit = %x; want %x", init, wantInit)
	}
}

// The RFC 4178 §4.2 ASN.1 module (DEFINITIONS EXPLICIT TAGS) as
// encoding/asn1 structures: an independent decoder of our hand-written DER.
// (gokrb5's spnego package would be another, but it imports modules this
// module does not require.)
type stdNegTokenInit struct {
	MechTypes   []asn1.ObjectIdentifier `asn1:"explicit,tag:0"`
	ReqFlags    asn1.BitString          `asn1:"explicit,optional,tag:1"`
	MechToken   []byte                  `asn1:"explicit,optional,tag:2"`
	MechListMIC []byte                  `asn1:"explicit,optional,tag:3"`
}

type stdNegTokenResp struct {
	NegState      asn1.Enumerated       `asn1:"explicit,optional,tag:0,default:-1"`
	SupportedMech asn1.ObjectIdentifier `asn1:"explicit,optional,tag:1"`
	ResponseToken []byte                `asn1:"explicit,optional,tag:2"`
	MechListMIC   []byte                `asn1:"explicit,optional,tag:3"`
}

// TestStdlibDecodesOurTokens decodes what we send with encoding/asn1, and
// what encoding/asn1 sends with our decoder.
func TestStdlibDecodesOurTokens(t *testing.T) {
	list, _ := encodeMechTypes([]asn1.ObjectIdentifier{OIDMSKerberos, OIDKerberos, OIDNTLM})
	init := encodeInit(list, []byte("optimistic"))
	var framing struct {
		Raw  asn1.RawContent
		OID  asn1.ObjectIdentifier
		Rest asn1.RawValue
	}
	if rest, err := asn1.UnmarshalWithParams(init, &framing, "application,tag:0"); err != nil || len(rest) != 0 {
		t.Fatalf("asn1.Unmarshal(framing %x) = %v", init, err)
	}
	var ni stdNegTokenInit
	if rest, err := asn1.UnmarshalWithParams(framing.Rest.FullBytes, &ni, "explicit,tag:0"); err != nil || len(rest) != 0 {
		t.Fatalf("asn1.Unmarshal(NegTokenInit %x) = %v", framing.Rest.FullBytes, err)
	}
	if !framing.OID.Equal(OIDSPNEGO) || len(ni.MechTypes) != 3 || !ni.MechTypes[0].Equal(OIDMSKerberos) ||
		!ni.MechTypes[2].Equal(OIDNTLM) || string(ni.MechToken) != "optimistic" {
		t.Errorf("encoding/asn1 decoded NegTokenInit as %v %+v", framing.OID, ni)
	}

	tests := []negTokenResp{
		{hasNegState: true, negState: AcceptCompleted, supportedMech: OIDMSKerberos, responseToken: []byte("ap-rep")},
		{hasNegState: true, negState: AcceptIncomplete, supportedMech: OIDNTLM, responseToken: bytes.Repeat([]byte{7}, 300)},
		{hasNegState: true, negState: AcceptCompleted, mechListMIC: bytes.Repeat([]byte{9}, 16)},
		{hasNegState: true, negState: Reject},
		{responseToken: bytes.Repeat([]byte{1}, 70000), mechListMIC: []byte{1}},
	}
	for _, r := range tests {
		b, err := r.encode()
		if err != nil {
			t.Fatal(err)
		}
		var g stdNegTokenResp
		if rest, err := asn1.UnmarshalWithParams(b, &g, "explicit,tag:1"); err != nil || len(rest) != 0 {
			t.Errorf("asn1.Unmarshal(%.40x...) error: %v", b, err)
			continue
		}
		wantState := asn1.Enumerated(-1)
		if r.hasNegState {
			wantState = asn1.Enumerated(r.negState)
		}
		if g.NegState != wantState || !g.SupportedMech.Equal(r.supportedMech) ||
			!bytes.Equal(g.ResponseToken, r.responseToken) || !bytes.Equal(g.MechListMIC, r.mechListMIC) {
			t.Errorf("encoding/asn1 decoded %.40x... as %+v; want %+v", b, g, r)
		}
		// And the other way round.
		gb, err := asn1.MarshalWithParams(g, "explicit,tag:1")
		if err != nil {
			t.Fatal(err)
		}
		_, back, err := decodeToken(gb)
		if err != nil || back.hasNegState != r.hasNegState || back.negState != r.negState || !back.supportedMech.Equal(r.supportedMech) ||
			!bytes.Equal(back.responseToken, r.responseToken) || !bytes.Equal(back.mechListMIC, r.mechListMIC) {
			t.Errorf("decodeToken(encoding/asn1's %.40x...) = %+v, %v; want %+v", gb, back, err, r)
		}
	}
}

func TestDecodeNegTokenInit2(t *testing.T) {
	// MS-SPNG §2.2.1: the hint Windows servers send, with the fixed
	// hintName "not_defined_in_RFC4178@please_ignore".
	oids, _ := encodeMechTypes([]asn1.ObjectIdentifier{OIDMSKerberos, OIDNTLM})
	name := "not_defined_in_RFC4178@please_ignore"
	hints := appendTLV(nil, tagSequence, appendTLV(nil, tagCtx0, appendTLV(nil, tagGeneralStr, []byte(name))))
	seq := appendTLV(nil, tagCtx0, oids)
	seq = appendTLV(seq, tagCtx0|3, hints)
	spnego, _ := marshalOID(OIDSPNEGO)
	tok := appendTLV(nil, tagApp0, spnego, appendTLV(nil, tagCtx0, appendTLV(nil, tagSequence, seq)))
	d, err := Describe(tok)
	if err != nil {
		t.Fatalf("Describe(NegTokenInit2) error: %v", err)
	}
	if want := `negTokenInit2 mechTypes=[MS-Kerberos NTLMSSP] hintName="` + name + `"`; d.String() != want {
		t.Errorf("Describe(NegTokenInit2) = %q; want %q", d, want)
	}
	// A hint on the first Step is tolerated and ignored.
	ini := NewInitiator([]Mech{ntlmMech("x", nil, nil)})
	if out, cont, err := ini.Step(context.Background(), tok); err != nil || !cont || len(out) == 0 {
		t.Errorf("Step(NegTokenInit2 hint) = %d bytes, %v, %v; want a token", len(out), cont, err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good, _ := (&negTokenResp{hasNegState: true, negState: AcceptIncomplete, responseToken: []byte("x")}).encode()
	tests := []struct{ name, hex string }{
		{"empty", ""},
		{"unknown choice", "a2023000"},
		{"truncated", hex.EncodeToString(good[:len(good)-1])},
		{"trailing data", hex.EncodeToString(good) + "00"},
		{"indefinite length", "a1803000"},
		{"length too long", "a18500000000023000"},
		{"bad negState", "a1073005a0030a0104"},
		{"negState not enumerated", "a1073005a003020101"},
		{"fields out of order", "a10c300aa2030401aaa0030a0101"},
		{"duplicate field", "a10e300ca0030a0101a0030a0101"},
		{"unknown field", "a1073005a4030401aa"},
		{"bad OID", "a1063004a1020600"},
		{"framing with another OID", "600606022a03a000"},
		{"high tag", "bf01023000"},
		{"init without sequence", "6008" + "06062b0601050502"},
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.hex)
		if _, err := Describe(b); !errors.Is(err, gss.ErrMalformedToken) {
			t.Errorf("%s: Describe(%x) = %v; want ErrMalformedToken", tt.name, b, err)
		}
	}
}

func TestRawReplies(t *testing.T) {
	ctx := context.Background()
	// Kerberos optimistic; the server answers with a bare AP-REP.
	var made []*fakeInit
	ini := NewInitiator([]Mech{krbMech(2, "k", nil, nil, &made), ntlmMech("k", nil, &made)})
	out, _, err := ini.Step(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _ = out, made, err
	acc := &fakeAcc{name: "krb", secret: "k", n: 2}
	init, _, _ := decodeToken(out)
	apRep, _, err := acc.Accept(init.mechToken)
	if err != nil {
		t.Fatal(err)
	}
	if out, cont, err := ini.Step(ctx, apRep); err != nil || cont || out != nil {
		t.Fatalf("Step(raw AP-REP) = %x, %v, %v; want nil, false, nil", out, cont, err)
	}
	if !ini.MechComplete() || !ini.Selected().Equal(OIDKerberos) {
		t.Errorf("after raw AP-REP: MechComplete %v, Selected %v", ini.MechComplete(), ini.Selected())
	}

	// NTLM optimistic; the server answers with a bare CHALLENGE and takes
	// the bare AUTHENTICATE.
	ini = NewInitiator([]Mech{ntlmMech("n", nil, nil)})
	out, _, _ = ini.Step(ctx, nil)
	init, _, _ = decodeToken(out)
	nacc := &fakeAcc{name: "ntlm", secret: "n", n: 3}
	chal, _, _ := nacc.Accept(init.mechToken)
	auth, cont, err := ini.Step(ctx, chal)
	if err != nil || cont || !bytes.HasPrefix(auth, []byte("NTLMSSP\x00")) {
		t.Fatalf("Step(raw CHALLENGE) = %q, %v, %v; want a bare AUTHENTICATE, false, nil", auth, cont, err)
	}
	if _, done, err := nacc.Accept(auth); err != nil || !done {
		t.Errorf("acceptor on the bare AUTHENTICATE: done %v, %v", done, err)
	}

	// A bare token of a mechanism other than the optimistic one is refused.
	ini = NewInitiator([]Mech{krbMech(2, "k", nil, nil, nil), ntlmMech("k", nil, nil)})
	ini.Step(ctx, nil)
	if _, _, err := ini.Step(ctx, []byte("NTLMSSP\x00\x02\x00\x00\x00")); !errors.Is(err, gss.ErrMalformedToken) {
		t.Errorf("Step(bare NTLM after Kerberos) = %v; want ErrMalformedToken", err)
	}
}

func TestInitiatorProtocolErrors(t *testing.T) {
	ctx := context.Background()
	resp := func(r negTokenResp) []byte { b, _ := r.encode(); return b }
	tests := []struct {
		name  string
		reply []byte
		want  error
	}{
		{"empty reply", nil, gss.ErrRejected},
		{"reject", resp(negTokenResp{hasNegState: true, negState: Reject}), gss.ErrRejected},
		{"reject with a mechanism error", resp(negTokenResp{hasNegState: true, negState: Reject, responseToken: []byte("krb-error")}), errFakeBadToken},
		{"no negState in first reply", resp(negTokenResp{responseToken: []byte("x")}), gss.ErrMalformedToken},
		{"negTokenInit as a reply", encodeInit([]byte{0x30, 0}, nil), gss.ErrMalformedToken},
		{"completed without the mechanism's MIC-capable end", resp(negTokenResp{hasNegState: true, negState: AcceptCompleted, mechListMIC: []byte("m")}), gss.ErrMalformedToken},
		{"incomplete with nothing to answer", resp(negTokenResp{hasNegState: true, negState: AcceptIncomplete}), gss.ErrMalformedToken},
		{"switch with a token", resp(negTokenResp{hasNegState: true, negState: AcceptIncomplete, supportedMech: OIDNTLM, responseToken: []byte("x")}), gss.ErrMalformedToken},
		{"garbage", []byte("\x00garbage"), gss.ErrMalformedToken},
	}
	for _, tt := range tests {
		ini := NewInitiator([]Mech{krbMech(2, "k", nil, nil, nil), ntlmMech("k", nil, nil)})
		if _, _, err := ini.Step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		_, _, err := ini.Step(ctx, tt.reply)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Step(%x) = %v; want %v", tt.name, tt.reply, err, tt.want)
		}
		if _, _, err2 := ini.Step(ctx, tt.reply); err2 == nil || !strings.Contains(err2.Error(), "after failure") {
			t.Errorf("%s: second Step after failure = %v; want an error", tt.name, err2)
		}
	}
}

// TestAcceptCompletedWithoutAPREP: the acceptor completes without the
// mechanism's final token; SPNEGO completes, the mechanism does not, and the
// caller decides about mutual authentication.
func TestAcceptCompletedWithoutAPREP(t *testing.T) {
	ctx := context.Background()
	ini := NewInitiator([]Mech{krbMech(2, "k", nil, nil, nil)})
	ini.Step(ctx, nil)
	b, _ := (&negTokenResp{hasNegState: true, negState: AcceptCompleted, supportedMech: OIDMSKerberos}).encode()
	out, cont, err := ini.Step(ctx, b)
	if err != nil || cont || out != nil {
		t.Fatalf("Step(accept-completed, no token) = %x, %v, %v; want nil, false, nil", out, cont, err)
	}
	if ini.MechComplete() {
		t.Errorf("MechComplete() = true; want false")
	}
}
