package krbacceptor

import (
	"bytes"
	"crypto/md5"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
)

const (
	realm = "EXAMPLE.TEST"
	spn   = "HTTP/www.example.test"
)

func serviceKeytab(t testing.TB, password string) *keytab.Keytab {
	t.Helper()
	kt := keytab.New()
	for _, e := range []int32{17, 18, 23} {
		if err := kt.AddEntry(spn, realm, password, time.Now(), 1, e); err != nil {
			t.Fatal(err)
		}
	}
	return kt
}

// tokenSpec describes an AP-REQ the test builds with gokrb5 (the
// independent peer): NewTicket, NewAuthenticator, NewAPReq.
type tokenSpec struct {
	kt       *keytab.Keytab // encrypts the ticket
	etype    int32
	sname    string
	ctime    time.Time
	end      time.Time
	mutual   bool
	noCksum  bool
	bnd      [16]byte
	gssFlags uint32
	badMatch bool
	noSubkey bool
	// deleg, if set, returns the Deleg field (a KRB-CRED) to put in
	// the checksum, given the session key and the subkey.
	deleg func(session, subkey types.EncryptionKey) []byte
}

type built struct {
	token   []byte
	session types.EncryptionKey
	auth    types.Authenticator
}

// frameByHand wraps an AP-REQ as RFC 2743 §3.1 says, with encoding/asn1
// rather than the package's own framing code.
func frameByHand(t testing.TB, tokID []byte, inner []byte) []byte {
	t.Helper()
	oid, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2})
	body := append(append(oid, tokID...), inner...)
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 0, IsCompound: true, Bytes: body})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func build(t testing.TB, s tokenSpec) built {
	t.Helper()
	now := time.Now().UTC()
	if s.etype == 0 {
		s.etype = 18
	}
	if s.sname == "" {
		s.sname = spn
	}
	if s.ctime.IsZero() {
		s.ctime = now
	}
	if s.end.IsZero() {
		s.end = now.Add(time.Hour)
	}
	cname := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice")
	tkt, sess, err := messages.NewTicket(cname, realm, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, s.sname), realm,
		types.NewKrbFlags(), s.kt, s.etype, 1, now.Add(-time.Hour), now.Add(-time.Hour), s.end, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	acname := cname
	if s.badMatch {
		acname = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "mallory")
	}
	auth, err := types.NewAuthenticator(realm, acname)
	if err != nil {
		t.Fatal(err)
	}
	auth.CTime = s.ctime
	if !s.noSubkey {
		et, _ := crypto.GetEtype(sess.KeyType)
		if err := auth.GenerateSeqNumberAndSubKey(sess.KeyType, et.GetKeyByteSize()); err != nil {
			t.Fatal(err)
		}
	}
	if !s.noCksum {
		ck := make([]byte, 24)
		binary.LittleEndian.PutUint32(ck, 16)
		copy(ck[4:], s.bnd[:])
		fl := s.gssFlags
		if s.mutual {
			fl |= gss.FlagMutual
		}
		if s.deleg != nil {
			d := s.deleg(sess, auth.SubKey)
			fl |= gss.FlagDeleg
			ck = binary.LittleEndian.AppendUint16(ck, 1)
			ck = binary.LittleEndian.AppendUint16(ck, uint16(len(d)))
			ck = append(ck, d...)
		}
		binary.LittleEndian.PutUint32(ck[20:], fl)
		auth.Cksum = types.Checksum{CksumType: 0x8003, Checksum: ck}
	}
	ap, err := messages.NewAPReq(tkt, sess, auth)
	if err != nil {
		t.Fatal(err)
	}
	if s.mutual {
		types.SetFlag(&ap.APOptions, flags.APOptionMutualRequired)
	}
	b, err := ap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return built{token: frameByHand(t, []byte{1, 0}, b), session: sess, auth: auth}
}

// acceptorOpts are the Acceptor fields a test case sets.
type acceptorOpts struct {
	SPN                    string
	MaxSkew                time.Duration
	ChannelBindings        *gss.ChannelBindings
	RequireChannelBindings bool
}

func TestAccept(t *testing.T) {
	kt := serviceKeytab(t, "service password")
	other := serviceKeytab(t, "another password")
	cb := &gss.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}
	now := time.Now().UTC()
	tests := []struct {
		name     string
		spec     tokenSpec
		acceptor acceptorOpts
		wantErr  error
		wantCB   bool
	}{
		{name: "aes256", spec: tokenSpec{kt: kt}},
		{name: "aes128", spec: tokenSpec{kt: kt, etype: 17}},
		{name: "rc4", spec: tokenSpec{kt: kt, etype: 23}},
		{name: "mutual", spec: tokenSpec{kt: kt, mutual: true}},
		{name: "wrong service", spec: tokenSpec{kt: kt}, acceptor: acceptorOpts{SPN: "HTTP/other.example.test"}, wantErr: ErrWrongService},
		{name: "wrong realm", spec: tokenSpec{kt: kt}, acceptor: acceptorOpts{SPN: spn + "@OTHER.TEST"}, wantErr: ErrWrongService},
		{name: "forged ticket", spec: tokenSpec{kt: other}, wantErr: ErrDecrypt},
		{name: "client mismatch", spec: tokenSpec{kt: kt, badMatch: true}, wantErr: ErrBadMatch},
		{name: "skew past", spec: tokenSpec{kt: kt, ctime: now.Add(-6 * time.Minute)}, wantErr: ErrSkew},
		{name: "skew future", spec: tokenSpec{kt: kt, ctime: now.Add(6 * time.Minute)}, wantErr: ErrSkew},
		{name: "skew within custom", spec: tokenSpec{kt: kt, ctime: now.Add(-6 * time.Minute)}, acceptor: acceptorOpts{MaxSkew: 10 * time.Minute}},
		{name: "expired", spec: tokenSpec{kt: kt, end: now.Add(-10 * time.Minute)}, wantErr: ErrExpired},
		{name: "no gss checksum", spec: tokenSpec{kt: kt, noCksum: true}, wantErr: ErrBadChecksum},
		{name: "bindings match", spec: tokenSpec{kt: kt, bnd: md5.Sum(cb.Marshal())}, acceptor: acceptorOpts{ChannelBindings: cb, RequireChannelBindings: true}, wantCB: true},
		{name: "bindings wrong", spec: tokenSpec{kt: kt, bnd: md5.Sum([]byte("x"))}, acceptor: acceptorOpts{ChannelBindings: cb}, wantErr: ErrChannelBindingsMismatch},
		{name: "bindings absent required", spec: tokenSpec{kt: kt}, acceptor: acceptorOpts{ChannelBindings: cb, RequireChannelBindings: true}, wantErr: ErrChannelBindingsMissing},
		{name: "bindings absent allowed", spec: tokenSpec{kt: kt}, acceptor: acceptorOpts{ChannelBindings: cb}},
		{name: "bindings sent on plain http", spec: tokenSpec{kt: kt, bnd: md5.Sum([]byte("x"))}, wantCB: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Acceptor{Keytab: kt, SPN: spn, MaxSkew: tt.acceptor.MaxSkew,
				ChannelBindings: tt.acceptor.ChannelBindings, RequireChannelBindings: tt.acceptor.RequireChannelBindings}
			if tt.acceptor.SPN != "" {
				a.SPN = tt.acceptor.SPN
			}
			b := build(t, tt.spec)
			reply, res, err := a.Accept(b.token)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Accept() error = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if res != nil || reply != nil {
					t.Errorf("Accept() = %v, %v with error; want nil, nil", reply, res)
				}
				return
			}
			if res.Client != "alice@"+realm {
				t.Errorf("Client = %q; want %q", res.Client, "alice@"+realm)
			}
			if res.ChannelBindingsPresent != tt.wantCB {
				t.Errorf("ChannelBindingsPresent = %v; want %v", res.ChannelBindingsPresent, tt.wantCB)
			}
			if res.Mutual != tt.spec.mutual || (reply != nil) != tt.spec.mutual {
				t.Errorf("Mutual = %v, reply %d bytes; want mutual %v", res.Mutual, len(reply), tt.spec.mutual)
			}
			if tt.spec.mutual {
				checkAPRep(t, reply, b)
			}
		})
	}
}

// checkAPRep decodes the AP-REP with gokrb5 and checks ctime/cusec are
// echoed and a subkey and sequence number are present.
func checkAPRep(t *testing.T, reply []byte, b built) types.EncryptionKey {
	t.Helper()
	var rep messages.APRep
	if err := rep.Unmarshal(innerByHand(t, reply, []byte{2, 0})); err != nil {
		t.Fatalf("APRep.Unmarshal: %v", err)
	}
	pb, err := crypto.DecryptEncPart(rep.EncPart, b.session, keyusage.AP_REP_ENCPART)
	if err != nil {
		t.Fatalf("AP-REP does not decrypt with the session key: %v", err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(pb); err != nil {
		t.Fatalf("EncAPRepPart.Unmarshal: %v", err)
	}
	if !part.CTime.Equal(b.auth.CTime.Truncate(time.Second)) || part.Cusec != b.auth.Cusec {
		t.Errorf("AP-REP ctime %v.%d; want %v.%d", part.CTime, part.Cusec, b.auth.CTime.Truncate(time.Second), b.auth.Cusec)
	}
	// No acceptor subkey for RC4-HMAC contexts (see apRep); else one of the
	// context key's enctype.
	kt := b.session.KeyType
	if b.auth.SubKey.KeyType != 0 {
		kt = b.auth.SubKey.KeyType
	}
	if kt == 23 {
		if len(part.Subkey.KeyValue) != 0 || part.Subkey.KeyType != 0 {
			t.Errorf("AP-REP of an RC4-HMAC context has acceptor subkey of enctype %d; want none", part.Subkey.KeyType)
		}
	} else if len(part.Subkey.KeyValue) == 0 || part.Subkey.KeyType != kt {
		t.Errorf("AP-REP has acceptor subkey of enctype %d; want %d", part.Subkey.KeyType, kt)
	}
	return part.Subkey
}

// innerByHand returns the inner message of a framed token, decoded with
// encoding/asn1: everything after the OID and the two-byte token ID.
func innerByHand(t *testing.T, tok []byte, tokID []byte) []byte {
	t.Helper()
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(tok, &raw); err != nil {
		t.Fatal(err)
	}
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(raw.Bytes, &oid)
	if err != nil || len(rest) < 2 || !bytes.Equal(rest[:2], tokID) || !oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}) {
		t.Fatalf("bad token framing")
	}
	return rest[2:]
}

func TestAcceptReplay(t *testing.T) {
	kt := serviceKeytab(t, "pw")
	a := &Acceptor{Keytab: kt, SPN: spn}
	b := build(t, tokenSpec{kt: kt})
	if _, _, err := a.Accept(b.token); err != nil {
		t.Fatalf("first Accept() = %v; want nil", err)
	}
	if _, _, err := a.Accept(b.token); !errors.Is(err, ErrReplay) {
		t.Fatalf("second Accept() = %v; want %v", err, ErrReplay)
	}
	// Another Acceptor has its own cache.
	a2 := &Acceptor{Keytab: kt, SPN: spn}
	if _, _, err := a2.Accept(b.token); err != nil {
		t.Fatalf("Accept() on a second acceptor = %v; want nil", err)
	}
	// A token rejected for skew is not remembered, and concurrent
	// Accepts of one token admit exactly one.
	b2 := build(t, tokenSpec{kt: kt})
	a3 := &Acceptor{Keytab: kt, SPN: spn}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := a3.Accept(b2.token); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d of 8 concurrent Accepts of one token succeeded; want 1", ok)
	}
}

func mustInner(t *testing.T, tok []byte) []byte {
	t.Helper()
	_, inner, err := unframe(tok)
	if err != nil {
		t.Fatal(err)
	}
	return inner
}

func TestAcceptMalformed(t *testing.T) {
	kt := serviceKeytab(t, "pw")
	a := &Acceptor{Keytab: kt, SPN: spn}
	good := build(t, tokenSpec{kt: kt}).token
	inner := mustInner(t, good)
	badOID := frameByHand(t, nil, nil)
	{
		oid, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10})
		badOID, _ = asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 0, IsCompound: true, Bytes: append(append(oid, 1, 0), inner...)})
	}
	tests := []struct {
		name string
		tok  []byte
	}{
		{"empty", nil},
		{"not application 0", append([]byte{0x61}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"ntlm oid", badOID},
		{"ap-rep token id", frameByHand(t, []byte{2, 0}, inner)},
		{"garbage ap-req", frameByHand(t, []byte{1, 0}, []byte{0x6e, 0x03, 0x02, 0x01, 0x05})},
		{"no token id", frameByHand(t, nil, nil)},
	}
	for _, tt := range tests {
		if _, _, err := a.Accept(tt.tok); !errors.Is(err, ErrMalformed) || !errors.Is(err, gss.ErrMalformedToken) {
			t.Errorf("Accept(%s) = %v; want %v", tt.name, err, ErrMalformed)
		}
	}
}

func TestMIC(t *testing.T) {
	kt := serviceKeytab(t, "pw")
	for _, tc := range []struct {
		name   string
		mutual bool
		etype  int32
	}{
		{"mutual aes256", true, 18},
		{"mutual aes128", true, 17},
		{"no mutual", false, 18},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Acceptor{Keytab: kt, SPN: spn}
			b := build(t, tokenSpec{kt: kt, mutual: tc.mutual, etype: tc.etype})
			reply, res, err := a.Accept(b.token)
			if err != nil {
				t.Fatal(err)
			}
			// The key both sides use: the acceptor subkey after an
			// AP-REP, else the initiator subkey (RFC 4121 §2).
			key := b.auth.SubKey
			if tc.mutual {
				key = checkAPRep(t, reply, b)
			}
			msg := []byte("mechTypes list")
			mic, err := res.GetMIC(msg)
			if err != nil {
				t.Fatal(err)
			}
			var mt gssapi.MICToken
			if err := mt.Unmarshal(mic, true); err != nil {
				t.Fatalf("gokrb5 MICToken.Unmarshal: %v", err)
			}
			mt.Payload = msg
			if ok, err := mt.Verify(key, keyusage.GSSAPI_ACCEPTOR_SIGN); !ok {
				t.Errorf("gokrb5 cannot verify our MIC: %v", err)
			}
			if got := mt.Flags&gssapi.MICTokenFlagAcceptorSubkey != 0; got != tc.mutual {
				t.Errorf("AcceptorSubkey flag = %v; want %v", got, tc.mutual)
			}

			// An initiator using the acceptor's subkey says so in the
			// flags (RFC 4121 §4.2.2).
			im := &gssapi.MICToken{Payload: msg}
			if tc.mutual {
				im.Flags = gssapi.MICTokenFlagAcceptorSubkey
			}
			if err := im.SetChecksum(key, keyusage.GSSAPI_INITIATOR_SIGN); err != nil {
				t.Fatal(err)
			}
			ib, err := im.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := res.VerifyMIC(msg, ib); err != nil {
				t.Errorf("VerifyMIC(gokrb5 token) = %v; want nil", err)
			}
			if err := res.VerifyMIC([]byte("other list"), ib); err == nil {
				t.Errorf("VerifyMIC(other message) = nil; want an error")
			}
			if err := res.VerifyMIC(msg, mic); err == nil {
				t.Errorf("VerifyMIC(acceptor's own token) = nil; want an error")
			}
		})
	}
}

func TestMakeError(t *testing.T) {
	stime := time.Date(2026, 1, 2, 3, 4, 5, 678000, time.UTC)
	tok := MakeError(errorcode.KRB_AP_ERR_SKEW, spn+"@"+realm, stime)
	var k struct{ KRBError messages.KRBError }
	if err := k.KRBError.Unmarshal(innerByHand(t, tok, []byte{3, 0})); err != nil {
		t.Fatalf("gokrb5 cannot decode MakeError's KRB-ERROR: %v", err)
	}
	if k.KRBError.ErrorCode != errorcode.KRB_AP_ERR_SKEW || !k.KRBError.STime.Equal(stime.Truncate(time.Second)) || k.KRBError.Susec != 678 || k.KRBError.Realm != realm {
		t.Errorf("KRB-ERROR = code %d stime %v susec %d realm %q; want %d %v 678 %q",
			k.KRBError.ErrorCode, k.KRBError.STime, k.KRBError.Susec, k.KRBError.Realm, errorcode.KRB_AP_ERR_SKEW, stime.Truncate(time.Second), realm)
	}
	for _, tc := range []struct {
		err  error
		code int32
	}{
		{ErrSkew, errorcode.KRB_AP_ERR_SKEW},
		{ErrReplay, errorcode.KRB_AP_ERR_REPEAT},
		{ErrExpired, errorcode.KRB_AP_ERR_TKT_EXPIRED},
		{ErrWrongService, errorcode.KRB_AP_ERR_NOT_US},
		{ErrDecrypt, errorcode.KRB_AP_ERR_BAD_INTEGRITY},
		{ErrChannelBindingsMismatch, errorcode.KRB_AP_ERR_MODIFIED},
		{errors.New("other"), errorcode.KRB_ERR_GENERIC},
	} {
		if got := ErrorCode(tc.err); got != tc.code {
			t.Errorf("ErrorCode(%v) = %d; want %d", tc.err, got, tc.code)
		}
	}
}

func FuzzAccept(f *testing.F) {
	kt := serviceKeytab(f, "pw")
	good := build(f, tokenSpec{kt: kt, mutual: true}).token
	f.Add(good)
	f.Add(good[:40])
	f.Add([]byte{0x60, 0x80})
	f.Add([]byte{0x60, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add(frameByHand(f, []byte{1, 0}, []byte{0x6e, 0x00}))
	f.Fuzz(func(t *testing.T, tok []byte) {
		a := &Acceptor{Keytab: kt, SPN: spn, Now: func() time.Time { return time.Now() }}
		reply, res, err := a.Accept(tok)
		if err != nil && (reply != nil || res != nil) {
			t.Errorf("Accept returned a reply or result with error %v", err)
		}
		if err == nil && res == nil {
			t.Errorf("Accept returned neither result nor error")
		}
	})
}

// TestAcceptKDCTicket runs the whole chain: the test KDC issues a service
// ticket to gokrb5's client, which the acceptor verifies with the keytab
// the KDC made, for an AES and an RC4-only service.
func TestAcceptKDCTicket(t *testing.T) {
	k := kdc.New(t, realm, nil)
	k.AddUser("alice", "pw")
	for _, tc := range []struct {
		spn   string
		etype int32
	}{
		{"HTTP/aes.example.test", kdc.AES256SHA1},
		{"HTTP/rc4.example.test", kdc.RC4HMAC},
	} {
		kt := keytab.New()
		if err := kt.Unmarshal(k.AddService(tc.spn, tc.etype)); err != nil {
			t.Fatal(err)
		}
		conf, err := config.Load(k.Krb5ConfPath())
		if err != nil {
			t.Fatal(err)
		}
		cl := client.NewWithPassword("alice", realm, "pw", conf, client.DisablePAFXFAST(true))
		tkt, key, err := cl.GetServiceTicket(tc.spn)
		cl.Destroy()
		if err != nil {
			t.Fatalf("GetServiceTicket(%q) = %v", tc.spn, err)
		}
		auth, err := types.NewAuthenticator(realm, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		ck := make([]byte, 24)
		binary.LittleEndian.PutUint32(ck, 16)
		binary.LittleEndian.PutUint32(ck[20:], gss.FlagMutual|gss.FlagInteg)
		auth.Cksum = types.Checksum{CksumType: 0x8003, Checksum: ck}
		ap, err := messages.NewAPReq(tkt, key, auth)
		if err != nil {
			t.Fatal(err)
		}
		types.SetFlag(&ap.APOptions, flags.APOptionMutualRequired)
		ab, _ := ap.Marshal()
		a := &Acceptor{Keytab: kt, SPN: tc.spn}
		reply, res, err := a.Accept(frameByHand(t, []byte{1, 0}, ab))
		if err != nil {
			t.Fatalf("Accept(ticket for %s) = %v; want nil", tc.spn, err)
		}
		if res.Client != "alice@"+realm || res.SessionKeyType != tc.etype || reply == nil {
			t.Errorf("Accept(%s) = client %q, session key %d, reply %d bytes; want alice@%s, %d, an AP-REP", tc.spn, res.Client, res.SessionKeyType, len(reply), realm, tc.etype)
		}
		checkAPRep(t, reply, built{session: key, auth: auth})
	}
}
