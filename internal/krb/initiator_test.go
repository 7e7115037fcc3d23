// Unit tests of the initiator's reply handling, MIC tokens, config
// expansion, error mapping and DefaultClient, without a KDC.

package krb

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
)

func testKey(t testing.TB, b byte) types.EncryptionKey {
	return types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: bytes.Repeat([]byte{b}, 32)}
}

// marshalAPRep builds an AP-REP (RFC 4120 §5.5.2) encrypted in key.
func marshalAPRep(t testing.TB, key types.EncryptionKey, part messages.EncAPRepPart) []byte {
	pb, err := asn1.Marshal(part)
	if err != nil {
		t.Fatal(err)
	}
	pb = asn1tools.AddASNAppTag(pb, 27)
	ed, err := crypto.GetEncryptedData(pb, key, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := asn1.Marshal(messages.APRep{PVNO: 5, MsgType: 15, EncPart: ed})
	if err != nil {
		t.Fatal(err)
	}
	return asn1tools.AddASNAppTag(rb, 15)
}

func marshalKRBError(t testing.TB, code int32, stime time.Time) []byte {
	ke := messages.NewKRBError(types.NewPrincipalName(1, testSPN), testRealm, code, "test error")
	ke.STime = stime
	ke.Susec = 0
	b, err := ke.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// awaiting returns an Initiator that has sent an AP-REQ with session key
// sk, authenticator time ctime and sequence number 1000.
func awaiting(sk types.EncryptionKey, ctime time.Time, now time.Time) *Initiator {
	return &Initiator{
		spn:        testSPN,
		opts:       InitiatorOptions{Mutual: true, Now: func() time.Time { return now }},
		state:      stateAwaitRep,
		sessionKey: sk,
		subkey:     testKey(nil, 0x22),
		ctime:      ctime.Truncate(time.Second),
		cusec:      ctime.Nanosecond() / 1000,
		sendSeq:    1000,
	}
}

func TestStepReply(t *testing.T) {
	sk, wrong := testKey(t, 0x11), testKey(t, 0x99)
	now := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	acc := testKey(t, 0x33)
	good := messages.EncAPRepPart{CTime: now.Truncate(time.Second), Cusec: 123456, Subkey: acc, SequenceNumber: 77}
	badTime := good
	badTime.CTime = good.CTime.Add(time.Second)
	badUsec := good
	badUsec.Cusec = 123457
	rep := marshalAPRep(t, sk, good)
	tests := []struct {
		name string
		in   []byte
		want error // nil: success
	}{
		{"framed AP-REP", wrapToken(tokAPRep, rep), nil},
		{"raw AP-REP", rep, nil},
		{"no token", nil, gss.ErrMutualAuth},
		{"wrong key", wrapToken(tokAPRep, marshalAPRep(t, wrong, good)), gss.ErrMutualAuth},
		{"wrong ctime", wrapToken(tokAPRep, marshalAPRep(t, sk, badTime)), gss.ErrMutualAuth},
		{"wrong cusec", wrapToken(tokAPRep, marshalAPRep(t, sk, badUsec)), gss.ErrMutualAuth},
		{"KRB-ERROR skew", wrapToken(tokKRBError, marshalKRBError(t, errorcode.KRB_AP_ERR_SKEW, now.Add(10*time.Minute))), gss.ErrClockSkew},
		{"raw KRB-ERROR", marshalKRBError(t, errorcode.KRB_AP_ERR_MODIFIED, now), gss.ErrRejected},
		{"AP-REQ token ID", wrapToken(tokAPReq, rep), gss.ErrMalformedToken},
		{"garbage", []byte("HTTP/1.1 200 OK"), gss.ErrMalformedToken},
		{"truncated", wrapToken(tokAPRep, rep)[:40], gss.ErrMalformedToken},
		{"bad DER in AP-REP", wrapToken(tokAPRep, []byte{0x6f, 0x03, 0x01, 0x02, 0x03}), gss.ErrMalformedToken},
	}
	for _, tt := range tests {
		i := awaiting(sk, now, now)
		out, cont, err := i.Step(context.Background(), tt.in)
		if tt.want == nil {
			if err != nil || cont || out != nil || !i.Verified() {
				t.Errorf("%s: Step = %x, %v, %v (verified %v); want complete", tt.name, out, cont, err, i.Verified())
			}
			if !bytes.Equal(i.SessionKey().KeyValue, acc.KeyValue) {
				t.Errorf("%s: SessionKey() is not the acceptor subkey", tt.name)
			}
			continue
		}
		if !errors.Is(err, tt.want) || i.Verified() {
			t.Errorf("%s: Step = %v (verified %v); want %v", tt.name, err, i.Verified(), tt.want)
		}
		if tt.name == "KRB-ERROR skew" {
			var ke *Error
			if !errors.As(err, &ke) || ke.Skew != 10*time.Minute-123456*time.Microsecond || ke.Principal != testSPN {
				t.Errorf("%s: error %#v; want skew 10m-123456µs for %s", tt.name, ke, testSPN)
			}
		}
	}
}

func TestMIC(t *testing.T) {
	sk := testKey(t, 0x11)
	now := time.Now()
	acc := testKey(t, 0x33)
	i := awaiting(sk, now, now)
	part := messages.EncAPRepPart{CTime: i.ctime, Cusec: i.cusec, Subkey: acc, SequenceNumber: 77}
	if _, _, err := i.Step(context.Background(), marshalAPRep(t, sk, part)); err != nil {
		t.Fatal(err)
	}
	msg := []byte("mechTypes DER")
	mic, err := i.GetMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	// Checked with gokrb5's independent RFC 4121 code.
	var mt gssapi.MICToken
	if err := mt.Unmarshal(mic, false); err != nil {
		t.Fatalf("MICToken.Unmarshal: %v", err)
	}
	mt.Payload = msg
	if ok, err := mt.Verify(acc, keyusage.GSSAPI_INITIATOR_SIGN); !ok || mt.SndSeqNum != 1000 || mt.Flags != micAcceptorSubkey {
		t.Errorf("initiator MIC verify = %v, %v (seq %d flags %#x); want true, seq 1000, flags 0x04", ok, err, mt.SndSeqNum, mt.Flags)
	}
	acceptorMIC := func(key types.EncryptionKey, fl byte, payload []byte) []byte {
		m := gssapi.MICToken{Flags: fl, SndSeqNum: 77, Payload: payload}
		if err := m.SetChecksum(key, keyusage.GSSAPI_ACCEPTOR_SIGN); err != nil {
			t.Fatal(err)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		msg  []byte
		mic  []byte
		want error
	}{
		{"good", msg, acceptorMIC(acc, 0x05, msg), nil},
		{"altered message", []byte("other"), acceptorMIC(acc, 0x05, msg), gss.ErrMutualAuth},
		{"wrong key", msg, acceptorMIC(sk, 0x05, msg), gss.ErrMutualAuth},
		{"initiator subkey", msg, acceptorMIC(i.subkey, 0x01, msg), nil},
		{"not from acceptor", msg, acceptorMIC(acc, 0x04, msg), gss.ErrMutualAuth},
		{"short", msg, []byte{4, 4, 5}, gss.ErrMalformedToken},
	}
	for _, tt := range tests {
		err := i.VerifyMIC(tt.msg, tt.mic)
		if (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("VerifyMIC %s = %v; want %v", tt.name, err, tt.want)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		code int32
		name string
		want error
	}{
		{errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, "KDC_ERR_C_PRINCIPAL_UNKNOWN", gss.ErrUnknownPrincipal},
		{errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "KDC_ERR_S_PRINCIPAL_UNKNOWN", gss.ErrUnknownPrincipal},
		{errorcode.KDC_ERR_PREAUTH_FAILED, "KDC_ERR_PREAUTH_FAILED", gss.ErrRejected},
		{errorcode.KRB_AP_ERR_BAD_INTEGRITY, "KRB_AP_ERR_BAD_INTEGRITY", gss.ErrRejected},
		{errorcode.KRB_AP_ERR_SKEW, "KRB_AP_ERR_SKEW", gss.ErrClockSkew},
		{errorcode.KDC_ERR_KEY_EXPIRED, "KDC_ERR_KEY_EXPIRED", gss.ErrCredentialsExpired},
		{errorcode.KRB_AP_ERR_TKT_EXPIRED, "KRB_AP_ERR_TKT_EXPIRED", gss.ErrCredentialsExpired},
		{errorcode.KDC_ERR_CLIENT_REVOKED, "KDC_ERR_CLIENT_REVOKED", gss.ErrCredentialsExpired},
		{errorcode.KDC_ERR_ETYPE_NOSUPP, "KDC_ERR_ETYPE_NOSUPP", gss.ErrRejected},
		{999, "KRB_ERROR_999", gss.ErrRejected},
	}
	now := time.Now()
	for _, tt := range tests {
		e := newError(messages.KRBError{ErrorCode: tt.code, STime: now.Add(time.Minute)}, "p@R", now)
		if e.Name != tt.name || !errors.Is(e, tt.want) {
			t.Errorf("newError(%d) = %q, %v; want %q, %v", tt.code, e.Name, e.Err, tt.name, tt.want)
		}
		if (tt.code == errorcode.KRB_AP_ERR_SKEW) != (e.Skew == time.Minute) {
			t.Errorf("newError(%d).Skew = %v", tt.code, e.Skew)
		}
	}
}

func TestLoadConfigIncludes(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "krb5.conf.d")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(d, "realms.conf"), "[realms]\n B.TEST = {\n  kdc = kdc.b.test:88\n }\n")
	write(filepath.Join(d, "ignored.txt~"), "[realms]\n C.TEST = {\n  kdc = c\n }\n")
	write(filepath.Join(d, ".hidden.conf"), "[realms]\n D.TEST = {\n  kdc = d\n }\n")
	write(filepath.Join(dir, "extra"), "[domain_realm]\n .b.test = B.TEST\n")
	main := filepath.Join(dir, "krb5.conf")
	write(main, "includedir "+d+"\n[libdefaults]\n default_realm = A.TEST\ninclude "+filepath.Join(dir, "extra")+"\n dns_lookup_kdc = true\n[realms]\n A.TEST = {\n  kdc = 127.0.0.1:8888\n }\n")
	cfg, err := LoadConfig(main)
	if err != nil {
		t.Fatal(err)
	}
	var realms []string
	for _, r := range cfg.Realms {
		realms = append(realms, r.Realm)
	}
	if got := strings.Join(realms, ","); got != "B.TEST,A.TEST" {
		t.Errorf("realms = %q; want B.TEST,A.TEST", got)
	}
	if cfg.LibDefaults.DefaultRealm != "A.TEST" || !cfg.LibDefaults.DNSLookupKDC {
		t.Errorf("libdefaults = %q, dns_lookup_kdc %v; want A.TEST, true (line after include)", cfg.LibDefaults.DefaultRealm, cfg.LibDefaults.DNSLookupKDC)
	}
	if r := cfg.ResolveRealm("www.b.test"); r != "B.TEST" {
		t.Errorf("ResolveRealm(www.b.test) = %q; want B.TEST", r)
	}
	// A cycle is an error, not a hang.
	write(filepath.Join(dir, "loop"), "include "+filepath.Join(dir, "loop")+"\n")
	if _, err := LoadConfig(filepath.Join(dir, "loop")); err == nil {
		t.Errorf("LoadConfig(loop) = nil error; want a cycle error")
	}
}

func TestDefaultClientEnv(t *testing.T) {
	dir := t.TempDir()
	// A krb5.conf whose KCM socket does not exist, so that KCM: fails
	// here whatever daemon the machine runs.
	conf := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(conf, []byte("[libdefaults]\n kcm_socket = "+filepath.Join(dir, "no.socket")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", conf)
	tests := []struct {
		ccname, ktname string
		want           error
		msg            string
	}{
		{"KEYRING:session:negotiate-none-" + filepath.Base(dir), "", gss.ErrNoCredentials, "KEYRING:session:negotiate-none"},
		{"KCM:", "", gss.ErrNoCredentials, "no KCM daemon"},
		{"API:foo", "", gss.ErrNoCredentials, "API:"},
		{"MSLSA:", "", gss.ErrNoCredentials, "MSLSA:"},
		{"FILE:" + filepath.Join(dir, "none"), "", gss.ErrNoCredentials, "no ticket cache"},
		{filepath.Join(dir, "none"), filepath.Join(dir, "nokt"), gss.ErrNoCredentials, "no ticket cache"},
	}
	for _, tt := range tests {
		t.Setenv("KRB5CCNAME", tt.ccname)
		t.Setenv("KRB5_CLIENT_KTNAME", tt.ktname)
		_, err := DefaultClient(nil)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("DefaultClient with KRB5CCNAME=%q = %v; want %v mentioning %q", tt.ccname, err, tt.want, tt.msg)
		}
	}
}

func FuzzStepReply(f *testing.F) {
	sk := testKey(f, 0x11)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	rep := marshalAPRep(f, sk, messages.EncAPRepPart{CTime: now, SequenceNumber: 5})
	f.Add(wrapToken(tokAPRep, rep))
	f.Add(rep)
	f.Add(wrapToken(tokKRBError, marshalKRBError(f, errorcode.KRB_AP_ERR_SKEW, now)))
	f.Add([]byte{0x60, 0x80})
	f.Add([]byte{0x60, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		i := awaiting(sk, now, now)
		_, cont, err := i.Step(context.Background(), in)
		if cont {
			t.Errorf("Step(%x) asked for more", in)
		}
		if (err == nil) != i.Verified() {
			t.Errorf("Step(%x) = %v with Verified() = %v", in, err, i.Verified())
		}
	})
}

func FuzzDescribe(f *testing.F) {
	sk := testKey(f, 0x11)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Add(wrapToken(tokAPRep, marshalAPRep(f, sk, messages.EncAPRepPart{CTime: now})))
	f.Add(marshalKRBError(f, errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, now))
	f.Add(micHeader(0x05, 7))
	f.Add([]byte{0x60, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Describe(in)
		if err != nil && !errors.Is(err, gss.ErrMalformedToken) {
			t.Errorf("Describe(%x) = %v; want ErrMalformedToken", in, err)
		}
		if err == nil && s == "" {
			t.Errorf("Describe(%x) = empty string", in)
		}
	})
}

// TestErrorMessages: an error says its cause in plain words, with the
// code's name after it, and keeps the code in its fields.
func TestErrorMessages(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Code: errorcode.KDC_ERR_PREAUTH_FAILED, Name: "KDC_ERR_PREAUTH_FAILED", Principal: "alice@R", Text: "pre-authentication failed", Login: true},
			"negotiate: KDC rejected the password for alice@R (KDC_ERR_PREAUTH_FAILED)"},
		{Error{Code: errorcode.KDC_ERR_PREAUTH_FAILED, Name: "KDC_ERR_PREAUTH_FAILED", Principal: "alice@R", Login: true, Keytab: true},
			"negotiate: KDC rejected the keytab's key for alice@R (KDC_ERR_PREAUTH_FAILED)"},
		{Error{Code: errorcode.KRB_AP_ERR_BAD_INTEGRITY, Name: "KRB_AP_ERR_BAD_INTEGRITY", Principal: "alice@R", Login: true},
			"negotiate: KDC rejected the password for alice@R (KRB_AP_ERR_BAD_INTEGRITY)"},
		{Error{Code: errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, Name: "KDC_ERR_S_PRINCIPAL_UNKNOWN", Principal: "HTTP/web@R"},
			"negotiate: KDC does not know the service principal HTTP/web@R (KDC_ERR_S_PRINCIPAL_UNKNOWN)"},
		{Error{Code: errorcode.KRB_AP_ERR_SKEW, Name: "KRB_AP_ERR_SKEW", Principal: "alice@R", Skew: 7 * time.Minute},
			"negotiate: clock skew of 7m0s is too great for alice@R (KRB_AP_ERR_SKEW)"},
		{Error{Code: 999, Name: "KRB_ERROR_999", Principal: "alice@R", Text: "odd"},
			`negotiate: kerberos error KRB_ERROR_999 for alice@R: "odd"`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error{Code: %d}.Error() = %q; want %q", tt.e.Code, got, tt.want)
		}
	}
}
