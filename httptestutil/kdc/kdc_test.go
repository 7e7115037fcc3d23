package kdc

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

const (
	testRealm = "EXAMPLE.TEST"
	testSPN   = "HTTP/www.example.test"
)

func newClient(k *KDC, cfg *config.Config, user, password string) *client.Client {
	if cfg == nil {
		cfg = k.testConfig()
	}
	return client.NewWithPassword(user, k.Realm(), password, cfg, client.DisablePAFXFAST(true))
}

func TestLoginAndServiceTicket(t *testing.T) {
	for _, tc := range []struct {
		name string
		udp  bool
	}{{"tcp", false}, {"udp", true}} {
		t.Run(tc.name, func(t *testing.T) {
			k := New(t, testRealm, nil)
			k.AddUser("alice", "alice password")
			kt := parsedKeytab(k.AddService(testSPN))
			cfg := k.testConfig()
			if tc.udp {
				cfg.LibDefaults.UDPPreferenceLimit = 1465
			}
			cl := newClient(k, cfg, "alice", "alice password")
			defer cl.Destroy()
			if err := cl.Login(); err != nil {
				t.Fatalf("Login() = %v; want nil", err)
			}
			tkt, key, err := cl.GetServiceTicket(testSPN)
			if err != nil {
				t.Fatalf("GetServiceTicket(%q) = %v; want nil", testSPN, err)
			}
			if err := tkt.DecryptEncPart(kt, nil); err != nil {
				t.Fatalf("service ticket does not decrypt with the service keytab: %v", err)
			}
			if got := tkt.DecryptedEncPart.CName.PrincipalNameString(); got != "alice" {
				t.Errorf("ticket client = %q; want %q", got, "alice")
			}
			if tk := tkt.DecryptedEncPart.Key; tk.KeyType != key.KeyType || !bytes.Equal(tk.KeyValue, key.KeyValue) {
				t.Errorf("ticket session key (type %d) differs from the reply's (type %d)", tk.KeyType, key.KeyType)
			}
			if key.KeyType != AES256SHA1 || tkt.EncPart.EType != AES256SHA1 {
				t.Errorf("session key type %d, ticket enctype %d; want %d, %d", key.KeyType, tkt.EncPart.EType, AES256SHA1, AES256SHA1)
			}
			s := k.Stats()
			if s.ASRequests != 2 || s.TGSRequests != 1 || s.TGSBySPN[testSPN] != 1 || s.Errors[errorcode.KDC_ERR_PREAUTH_REQUIRED] != 1 {
				t.Errorf("Stats() = %+v; want 2 AS (one PREAUTH_REQUIRED), 1 TGS for %s", s, testSPN)
			}
			if tc.udp && (s.UDP != 3 || s.TCP != 0) || !tc.udp && (s.TCP != 3 || s.UDP != 0) {
				t.Errorf("Stats() UDP=%d TCP=%d; want all 3 over %s", s.UDP, s.TCP, tc.name)
			}
		})
	}
}

func TestLoginFailures(t *testing.T) {
	k := New(t, testRealm, nil)
	k.AddUser("alice", "alice password")
	k.AddUser("bob", "bob password")
	k.ExpireUser("bob")
	k.AddService(testSPN)
	tests := []struct {
		name, user, password string
		spn                  string
		code                 int32
	}{
		{"wrong password", "alice", "guess", "", errorcode.KDC_ERR_PREAUTH_FAILED},
		{"unknown user", "carol", "x", "", errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN},
		{"expired password", "bob", "bob password", "", errorcode.KDC_ERR_KEY_EXPIRED},
		{"unknown spn", "alice", "alice password", "HTTP/nowhere.example.test", errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k.ResetStats()
			cl := newClient(k, nil, tt.user, tt.password)
			defer cl.Destroy()
			err := cl.Login()
			if tt.spn != "" {
				if err != nil {
					t.Fatalf("Login() = %v; want nil", err)
				}
				_, _, err = cl.GetServiceTicket(tt.spn)
			}
			if err == nil {
				t.Fatalf("%s: got no error; want KDC error %d", tt.name, tt.code)
			}
			if got := k.Stats().Errors[tt.code]; got != 1 {
				t.Errorf("Stats().Errors[%d] = %d; want 1 (errors: %v; client: %v)", tt.code, got, k.Stats().Errors, err)
			}
		})
	}
}

// asReq builds an AS-REQ for alice; ts, if not zero, is put in a
// PA-ENC-TIMESTAMP encrypted with key.
func asReq(t testing.TB, k *KDC, ts time.Time, key types.EncryptionKey) []byte {
	t.Helper()
	cfg := k.testConfig()
	req, err := messages.NewASReqForTGT(k.Realm(), cfg, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if !ts.IsZero() {
		b, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: ts.UTC().Truncate(time.Second), PAUSec: ts.Nanosecond() / 1000})
		if err != nil {
			t.Fatal(err)
		}
		ed, err := crypto.GetEncryptedData(b, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP, 1)
		if err != nil {
			t.Fatal(err)
		}
		eb, _ := ed.Marshal()
		req.PAData = append(req.PAData, types.PAData{PADataType: patype.PA_ENC_TIMESTAMP, PADataValue: eb})
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func krbError(t *testing.T, b []byte) messages.KRBError {
	t.Helper()
	var e messages.KRBError
	if err := e.Unmarshal(b); err != nil {
		t.Fatalf("reply is not a KRB-ERROR: %v", err)
	}
	return e
}

func TestPreauthAndSkew(t *testing.T) {
	k := New(t, testRealm, &Options{ClockOffset: 10 * time.Minute})
	k.AddUser("alice", "pw")
	key, _, err := parsedKeytab(k.Keytab("alice")).GetEncryptionKey(types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"), testRealm, 0, AES256SHA1)
	if err != nil {
		t.Fatal(err)
	}

	// No pre-authentication: PREAUTH_REQUIRED with ETYPE-INFO2 and the
	// default salt.
	e := krbError(t, k.Handle(asReq(t, k, time.Time{}, key)))
	if e.ErrorCode != errorcode.KDC_ERR_PREAUTH_REQUIRED {
		t.Fatalf("error code = %d; want %d", e.ErrorCode, errorcode.KDC_ERR_PREAUTH_REQUIRED)
	}
	var md types.PADataSequence
	if err := md.Unmarshal(e.EData); err != nil {
		t.Fatalf("e-data is not METHOD-DATA: %v", err)
	}
	var info types.ETypeInfo2
	for _, pa := range md {
		if pa.PADataType == patype.PA_ETYPE_INFO2 {
			if info, err = pa.GetETypeInfo2(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(info) == 0 || info[0].EType != AES256SHA1 || info[0].Salt != "EXAMPLE.TESTalice" {
		t.Errorf("ETYPE-INFO2 = %+v; want first aes256 with salt EXAMPLE.TESTalice", info)
	}

	// A timestamp outside the skew: KRB_AP_ERR_SKEW with the KDC's time.
	e = krbError(t, k.Handle(asReq(t, k, time.Now(), key)))
	want := time.Now().Add(10 * time.Minute)
	if e.ErrorCode != errorcode.KRB_AP_ERR_SKEW {
		t.Fatalf("error code = %d; want %d", e.ErrorCode, errorcode.KRB_AP_ERR_SKEW)
	}
	if d := e.STime.Sub(want); d < -2*time.Second || d > 2*time.Second || e.Susec < 0 || e.Susec > 999999 {
		t.Errorf("stime = %v, susec %d; want about %v", e.STime, e.Susec, want)
	}
	// The same timestamp with the KDC's clock: accepted.
	if rep := k.Handle(asReq(t, k, want, key)); rep[0] != 0x6b {
		t.Errorf("AS-REQ with the KDC's time: reply %v; want an AS-REP", krbError(t, rep))
	}
	// A timestamp under another key: PREAUTH_FAILED.
	bad := types.EncryptionKey{KeyType: AES256SHA1, KeyValue: make([]byte, 32)}
	if e := krbError(t, k.Handle(asReq(t, k, want, bad))); e.ErrorCode != errorcode.KDC_ERR_PREAUTH_FAILED {
		t.Errorf("error code = %d; want %d", e.ErrorCode, errorcode.KDC_ERR_PREAUTH_FAILED)
	}
	// And the gokrb5 client, whose clock is 10 minutes behind, fails.
	cl := newClient(k, nil, "alice", "pw")
	defer cl.Destroy()
	k.ResetStats()
	if err := cl.Login(); err == nil {
		t.Errorf("Login() with 10m skew = nil; want an error")
	}
	if got := k.Stats().Errors[errorcode.KRB_AP_ERR_SKEW]; got != 1 {
		t.Errorf("Stats().Errors[SKEW] = %d; want 1", got)
	}
}

// tgt logs alice in with gokrb5's AS exchange and returns her TGT.
func tgt(t *testing.T, k *KDC, cl *client.Client) messages.ASRep {
	t.Helper()
	req, err := messages.NewASReqForTGT(k.Realm(), cl.Config, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := cl.ASExchange(k.Realm(), req, 0)
	if err != nil {
		t.Fatalf("ASExchange() = %v; want nil", err)
	}
	return rep
}

// tgsExchange sends a TGS-REQ straight to Handle; it returns the reply
// decrypted, or the KRB-ERROR code.
func tgsExchange(t *testing.T, k *KDC, cfg *config.Config, as messages.ASRep, sname string, renew bool) (messages.TGSRep, int32) {
	t.Helper()
	req, err := messages.NewTGSReq(as.CName, k.Realm(), cfg, as.Ticket, as.DecryptedEncPart.Key,
		types.NewPrincipalName(nametype.KRB_NT_SRV_INST, sname), renew)
	if err != nil {
		t.Fatal(err)
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return tgsReply(t, k, b, as.DecryptedEncPart.Key)
}

// tgsReply hands a marshalled TGS-REQ to k and returns the decrypted
// TGS-REP, or the KRB-ERROR code.
func tgsReply(t *testing.T, k *KDC, req []byte, key types.EncryptionKey) (messages.TGSRep, int32) {
	t.Helper()
	rb := k.Handle(req)
	if rb[0] == 0x7e {
		return messages.TGSRep{}, krbError(t, rb).ErrorCode
	}
	var rep messages.TGSRep
	if err := rep.Unmarshal(rb); err != nil {
		t.Fatalf("TGSRep.Unmarshal: %v", err)
	}
	if err := rep.DecryptEncPart(key); err != nil {
		t.Fatalf("TGS-REP does not decrypt with the TGT session key: %v", err)
	}
	return rep, 0
}

func TestExpiryAndRenewal(t *testing.T) {
	k := New(t, testRealm, &Options{TicketLifetime: time.Minute, RenewLifetime: time.Hour})
	k.AddUser("alice", "pw")
	k.AddService(testSPN)
	cfg := k.testConfig()
	cl := newClient(k, cfg, "alice", "pw")
	defer cl.Destroy()
	as := tgt(t, k, cl)
	ep := as.DecryptedEncPart
	if !types.IsFlagSet(&ep.Flags, flags.Renewable) || !types.IsFlagSet(&ep.Flags, flags.Initial) || !types.IsFlagSet(&ep.Flags, flags.PreAuthent) {
		t.Errorf("TGT flags %x; want renewable, initial, pre-authent", ep.Flags.Bytes)
	}
	if d := ep.EndTime.Sub(ep.AuthTime); d != time.Minute {
		t.Errorf("TGT lifetime %v; want 1m", d)
	}
	if d := ep.RenewTill.Sub(ep.AuthTime); d < 59*time.Minute || d > time.Hour {
		t.Errorf("TGT renewable for %v; want 1h", d)
	}

	k.SetClockOffset(30 * time.Second)
	rep, code := tgsExchange(t, k, cfg, as, "krbtgt/"+testRealm, true)
	if code != 0 {
		t.Fatalf("renewal: KRB-ERROR %d; want a TGS-REP", code)
	}
	if !rep.DecryptedEncPart.EndTime.After(ep.EndTime) || rep.DecryptedEncPart.RenewTill != ep.RenewTill {
		t.Errorf("renewed TGT ends %v (renew till %v); want after %v (renew till %v)",
			rep.DecryptedEncPart.EndTime, rep.DecryptedEncPart.RenewTill, ep.EndTime, ep.RenewTill)
	}

	k.SetClockOffset(2 * time.Minute)
	if _, code := tgsExchange(t, k, cfg, as, testSPN, false); code != errorcode.KRB_AP_ERR_TKT_EXPIRED {
		t.Errorf("service ticket with an expired TGT: code %d; want %d", code, errorcode.KRB_AP_ERR_TKT_EXPIRED)
	}
	if _, code := tgsExchange(t, k, cfg, as, "krbtgt/"+testRealm, true); code != errorcode.KRB_AP_ERR_TKT_EXPIRED {
		t.Errorf("renewing an expired TGT: code %d; want %d", code, errorcode.KRB_AP_ERR_TKT_EXPIRED)
	}

	// A KDC without renewable tickets refuses RENEW.
	k2 := New(t, testRealm, nil)
	k2.AddUser("alice", "pw")
	cfg2 := k2.testConfig()
	cl2 := newClient(k2, cfg2, "alice", "pw")
	defer cl2.Destroy()
	as2 := tgt(t, k2, cl2)
	if types.IsFlagSet(&as2.DecryptedEncPart.Flags, flags.Renewable) {
		t.Errorf("TGT of a non-renewing KDC is renewable")
	}
	if _, code := tgsExchange(t, k2, cfg2, as2, "krbtgt/"+testRealm, true); code != errorcode.KDC_ERR_BADOPTION {
		t.Errorf("renewal on a non-renewing KDC: code %d; want %d", code, errorcode.KDC_ERR_BADOPTION)
	}
}

func TestTGSChecks(t *testing.T) {
	k := New(t, testRealm, nil)
	k.AddUser("alice", "pw")
	k.AddService(testSPN)
	cfg := k.testConfig()
	cl := newClient(k, cfg, "alice", "pw")
	defer cl.Destroy()
	as := tgt(t, k, cl)

	// A TGT whose encrypted part was tampered with.
	forged := as
	forged.Ticket.EncPart.Cipher = append([]byte(nil), as.Ticket.EncPart.Cipher...)
	forged.Ticket.EncPart.Cipher[20] ^= 1
	if _, code := tgsExchange(t, k, cfg, forged, testSPN, false); code != errorcode.KRB_AP_ERR_BAD_INTEGRITY {
		t.Errorf("forged TGT: code %d; want %d", code, errorcode.KRB_AP_ERR_BAD_INTEGRITY)
	}
	// A body changed after the checksum was computed.
	req, err := messages.NewTGSReq(as.CName, k.Realm(), cfg, as.Ticket, as.DecryptedEncPart.Key, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, testSPN), false)
	if err != nil {
		t.Fatal(err)
	}
	req.ReqBody.Nonce++
	b, _ := req.Marshal()
	if e := krbError(t, k.Handle(b)); e.ErrorCode != errorcode.KRB_AP_ERR_MODIFIED {
		t.Errorf("modified body: code %d; want %d", e.ErrorCode, errorcode.KRB_AP_ERR_MODIFIED)
	}
	// A service the client's enctypes cannot reach.
	k.AddService("HTTP/rc4only.example.test", RC4HMAC)
	cfgAES := k.testConfig()
	cfgAES.LibDefaults.DefaultTGSEnctypeIDs = []int32{AES256SHA1}
	if _, code := tgsExchange(t, k, cfgAES, as, "HTTP/rc4only.example.test", false); code != errorcode.KDC_ERR_ETYPE_NOSUPP {
		t.Errorf("aes-only request for an rc4-only service: code %d; want %d", code, errorcode.KDC_ERR_ETYPE_NOSUPP)
	}
}

func TestEnctypes(t *testing.T) {
	k := New(t, testRealm, nil)
	k.AddUser("alice", "pw")
	tests := []struct {
		name     string
		service  []int32 // enctypes of the service
		client   []int32 // the client's default_tgs_enctypes
		wantSess int32
		wantTkt  int32
	}{
		{"rc4-only service", []int32{RC4HMAC}, nil, RC4HMAC, RC4HMAC},
		{"aes128 client", nil, []int32{AES128SHA1, AES256SHA1}, AES128SHA1, AES256SHA1},
		{"aes-sha2 client", nil, []int32{AES256SHA384}, AES256SHA384, AES256SHA1},
		{"aes128-sha256 service", []int32{AES128SHA256}, nil, AES128SHA256, AES128SHA256},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spn := "HTTP/svc" + string(rune('a'+i)) + ".example.test"
			kt := parsedKeytab(k.AddService(spn, tt.service...))
			cfg := k.testConfig()
			if tt.client != nil {
				cfg.LibDefaults.DefaultTGSEnctypeIDs = tt.client
			} else {
				cfg.LibDefaults.DefaultTGSEnctypeIDs = []int32{AES256SHA1, AES128SHA1, AES256SHA384, AES128SHA256, RC4HMAC}
			}
			cl := newClient(k, cfg, "alice", "pw")
			defer cl.Destroy()
			tkt, key, err := cl.GetServiceTicket(spn)
			if err != nil {
				t.Fatalf("GetServiceTicket(%q) = %v; want nil", spn, err)
			}
			if key.KeyType != tt.wantSess || tkt.EncPart.EType != tt.wantTkt {
				t.Errorf("session key %d, ticket enctype %d; want %d, %d", key.KeyType, tkt.EncPart.EType, tt.wantSess, tt.wantTkt)
			}
			if err := tkt.DecryptEncPart(kt, nil); err != nil {
				t.Errorf("ticket does not decrypt with the keytab: %v", err)
			}
		})
	}
}

func TestUDPResponseTooBig(t *testing.T) {
	k := New(t, testRealm, &Options{UDPPreferenceLimit: 1465, TicketPadding: 1600})
	k.AddUser("alice", "pw")
	kt := parsedKeytab(k.AddService(testSPN))
	cl := newClient(k, nil, "alice", "pw")
	defer cl.Destroy()
	tkt, _, err := cl.GetServiceTicket(testSPN)
	if err != nil {
		t.Fatalf("GetServiceTicket() = %v; want nil after a TCP retry", err)
	}
	if err := tkt.DecryptEncPart(kt, nil); err != nil {
		t.Fatal(err)
	}
	s := k.Stats()
	if s.Errors[errorcode.KRB_ERR_RESPONSE_TOO_BIG] == 0 || s.TCP == 0 || s.UDP == 0 {
		t.Errorf("Stats() = %+v; want RESPONSE_TOO_BIG over UDP and a TCP retry", s)
	}
}

func TestSetDown(t *testing.T) {
	k := New(t, testRealm, nil)
	k.AddUser("alice", "pw")
	req := asReq(t, k, time.Time{}, types.EncryptionKey{})

	uc, err := net.Dial("udp", k.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	tc, err := net.Dial("tcp", k.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(req)))
	frame = append(frame, req...)

	buf := make([]byte, 4096)
	k.SetDown(true)
	uc.Write(req)
	tc.Write(frame)
	uc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := uc.Read(buf); err == nil {
		t.Errorf("UDP reply of %d bytes while down; want none", n)
	}
	tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := tc.Read(buf); err == nil {
		t.Errorf("TCP reply of %d bytes while down; want none", n)
	}
	if got := k.Stats().Dropped; got != 2 {
		t.Errorf("Stats().Dropped = %d; want 2", got)
	}

	k.SetDown(false)
	uc.Write(req)
	uc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := uc.Read(buf)
	if err != nil || krbError(t, buf[:n]).ErrorCode != errorcode.KDC_ERR_PREAUTH_REQUIRED {
		t.Errorf("UDP after SetDown(false): %v; want PREAUTH_REQUIRED", err)
	}
	tc.Write(frame)
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(tc, hdr[:]); err != nil {
		t.Fatalf("TCP after SetDown(false): %v", err)
	}
	rep := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(tc, rep); err != nil || krbError(t, rep).ErrorCode != errorcode.KDC_ERR_PREAUTH_REQUIRED {
		t.Errorf("TCP after SetDown(false): %v; want PREAUTH_REQUIRED", err)
	}
	// A length with the reserved high bit: FIELD_TOOLONG, then close.
	tc.Write([]byte{0x80, 0, 0, 1})
	if _, err := io.ReadFull(tc, hdr[:]); err != nil {
		t.Fatalf("reading the FIELD_TOOLONG reply: %v", err)
	}
	rep = make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(tc, rep); err != nil || krbError(t, rep).ErrorCode != errorcode.KRB_ERR_FIELD_TOOLONG {
		t.Errorf("reserved length bit: %v; want FIELD_TOOLONG", err)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	k, err := Start(testRealm, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.AddUser("alice", "pw")
	// Leave a TCP connection open and idle: Close must end its goroutine.
	c, err := net.Dial("tcp", k.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := newClient(k, nil, "alice", "pw")
	if err := cl.Login(); err != nil {
		t.Fatal(err)
	}
	cl.Destroy()
	conf := k.Krb5ConfPath()
	if err := k.Close(); err != nil {
		t.Errorf("Close() = %v; want nil", err)
	}
	if err := k.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
	if _, err := os.Stat(conf); !os.IsNotExist(err) {
		t.Errorf("krb5.conf still present after Close: %v", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close; want at most %d\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestConcurrentClients(t *testing.T) {
	k := New(t, testRealm, nil)
	k.AddService(testSPN)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		user := "user" + string(rune('a'+i))
		k.AddUser(user, "pw"+user)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := newClient(k, nil, user, "pw"+user)
			defer cl.Destroy()
			if _, _, err := cl.GetServiceTicket(testSPN); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent GetServiceTicket: %v", err)
	}
	if got := k.Stats().TGSBySPN[testSPN]; got != n {
		t.Errorf("TGS requests for %s = %d; want %d", testSPN, got, n)
	}
}

func TestKrb5Conf(t *testing.T) {
	k := New(t, testRealm, &Options{RenewLifetime: time.Hour})
	k.AddService("HTTP/intranet.corp.test")
	cfg, err := config.Load(k.Krb5ConfPath())
	if err != nil {
		t.Fatalf("config.Load(Krb5ConfPath()) = %v", err)
	}
	_, kdcs, err := cfg.GetKDCs(testRealm, true)
	if err != nil || len(kdcs) != 1 || kdcs[1] != k.Addr() {
		t.Errorf("GetKDCs() = %v, %v; want [%s]", kdcs, err, k.Addr())
	}
	if cfg.LibDefaults.DefaultRealm != testRealm || cfg.LibDefaults.UDPPreferenceLimit != 1 || cfg.LibDefaults.DNSLookupKDC {
		t.Errorf("libdefaults = %q, udp limit %d, dns %v; want %q, 1, false", cfg.LibDefaults.DefaultRealm, cfg.LibDefaults.UDPPreferenceLimit, cfg.LibDefaults.DNSLookupKDC, testRealm)
	}
	for _, h := range []string{"intranet.corp.test", "www.example.test"} {
		if got := cfg.ResolveRealm(h); got != testRealm {
			t.Errorf("ResolveRealm(%q) = %q; want %q", h, got, testRealm)
		}
	}
	if cfg.LibDefaults.RenewLifetime != time.Hour {
		t.Errorf("renew_lifetime = %v; want 1h", cfg.LibDefaults.RenewLifetime)
	}
}

func TestCCache(t *testing.T) {
	k := New(t, testRealm, &Options{TicketLifetime: 30 * time.Minute, RenewLifetime: time.Hour})
	k.AddUser("alice", "pw")
	kt := parsedKeytab(k.AddService(testSPN))
	dir := t.TempDir()

	path := filepath.Join(dir, "tgt.ccache")
	if err := k.WriteCCache(path, "alice", "wrong"); err == nil {
		t.Errorf("WriteCCache(wrong password) = nil; want an error")
	}
	if err := k.WriteCCache(path, "alice", "pw"); err != nil {
		t.Fatalf("WriteCCache() = %v", err)
	}
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		t.Fatalf("LoadCCache() = %v", err)
	}
	if cc.Version != 4 || cc.GetClientPrincipalName().PrincipalNameString() != "alice" || cc.GetClientRealm() != testRealm {
		t.Errorf("ccache version %d, client %v@%s; want 4, alice@%s", cc.Version, cc.GetClientPrincipalName(), cc.GetClientRealm(), testRealm)
	}
	cl, err := client.NewFromCCache(cc, k.testConfig(), client.DisablePAFXFAST(true))
	if err != nil {
		t.Fatalf("NewFromCCache() = %v", err)
	}
	defer cl.Destroy()
	tkt, _, err := cl.GetServiceTicket(testSPN)
	if err != nil {
		t.Fatalf("GetServiceTicket from the ccache TGT = %v", err)
	}
	if err := tkt.DecryptEncPart(kt, nil); err != nil {
		t.Fatal(err)
	}
	e := cc.GetEntries()[0]
	if !types.IsFlagSet(&e.TicketFlags, flags.Renewable) || !types.IsFlagSet(&e.TicketFlags, flags.Initial) || e.RenewTill.IsZero() {
		t.Errorf("ccache TGT flags %x renew till %v; want renewable, initial", e.TicketFlags.Bytes, e.RenewTill)
	}

	spath := filepath.Join(dir, "svc.ccache")
	if err := k.WriteCCacheServiceOnly(spath, "alice", testSPN); err != nil {
		t.Fatalf("WriteCCacheServiceOnly() = %v", err)
	}
	sc, err := credentials.LoadCCache(spath)
	if err != nil {
		t.Fatalf("LoadCCache(service only) = %v", err)
	}
	entries := sc.GetEntries()
	if len(entries) != 1 || entries[0].Server.PrincipalName.PrincipalNameString() != testSPN {
		t.Fatalf("service-only ccache holds %d entries; want one for %s", len(entries), testSPN)
	}
	var st messages.Ticket
	if err := st.Unmarshal(entries[0].Ticket); err != nil {
		t.Fatal(err)
	}
	if err := st.DecryptEncPart(kt, nil); err != nil {
		t.Errorf("service-only ticket does not decrypt: %v", err)
	}
	if sk := st.DecryptedEncPart.Key; sk.KeyType != entries[0].Key.KeyType || !bytes.Equal(sk.KeyValue, entries[0].Key.KeyValue) {
		t.Errorf("ccache session key differs from the ticket's")
	}
}

// TestMITTools checks MIT kinit, kvno and klist accept the KDC and its
// ccache. It runs only where they are installed (package krb5-user).
func TestMITTools(t *testing.T) {
	for _, tool := range []string{"kinit", "kvno", "klist"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	k := New(t, testRealm, &Options{TicketLifetime: 30 * time.Minute, RenewLifetime: time.Hour})
	k.AddUser("alice", "alice pw")
	k.AddService(testSPN)
	k.AddService("HTTP/rc4.example.test", RC4HMAC)
	dir := t.TempDir()
	ccache := filepath.Join(dir, "cc")
	run := func(stdin string, name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(os.Environ(), "KRB5_CONFIG="+k.Krb5ConfPath(), "KRB5CCNAME=FILE:"+ccache, "KRB5_TRACE=/dev/null")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	run("alice pw\n", "kinit", "alice")
	run("", "kvno", testSPN)
	run("", "kvno", "HTTP/rc4.example.test")
	out := run("", "klist", "-e")
	for _, want := range []string{"alice@" + testRealm, "krbtgt/" + testRealm, testSPN, "DEPRECATED:arcfour-hmac"} {
		if !strings.Contains(out, want) && !(want == "DEPRECATED:arcfour-hmac" && strings.Contains(out, "arcfour-hmac")) {
			t.Errorf("klist output lacks %q:\n%s", want, out)
		}
	}
	run("", "kinit", "-R")
	// klist reads the ccache WriteCCache writes.
	if err := k.WriteCCache(ccache, "alice", "alice pw"); err != nil {
		t.Fatal(err)
	}
	out = run("", "klist", "-f")
	if !strings.Contains(out, "alice@"+testRealm) || !strings.Contains(out, "krbtgt/"+testRealm) {
		t.Errorf("klist of WriteCCache's ccache:\n%s", out)
	}
	run("", "kvno", testSPN)
}

func FuzzKDC(f *testing.F) {
	k, err := Start(testRealm, &Options{RenewLifetime: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	defer k.Close()
	k.AddUser("alice", "pw")
	k.AddService(testSPN)
	cfg := k.testConfig()
	key, _, _ := parsedKeytab(k.Keytab("alice")).GetEncryptionKey(types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"), testRealm, 0, AES256SHA1)
	f.Add(asReq(f, k, time.Time{}, key))
	f.Add(asReq(f, k, time.Now(), key))
	cl := newClient(k, cfg, "alice", "pw")
	req, _ := messages.NewASReqForTGT(testRealm, cfg, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"))
	if as, err := cl.ASExchange(testRealm, req, 0); err == nil {
		for _, renew := range []bool{false, true} {
			tr, err := messages.NewTGSReq(as.CName, testRealm, cfg, as.Ticket, as.DecryptedEncPart.Key, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, testSPN), renew)
			if err == nil {
				b, _ := tr.Marshal()
				f.Add(b)
			}
		}
	}
	cl.Destroy()
	f.Add([]byte{})
	f.Add([]byte{0x6a, 0x80})
	f.Add([]byte{0x6c, 0x03, 0x30, 0x01, 0x00})
	f.Add([]byte{0x6c, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		rep := k.Handle(b)
		if len(rep) == 0 {
			t.Fatalf("Handle(%x) returned nothing", b)
		}
		switch rep[0] {
		case 0x7e: // KRB-ERROR
			var e messages.KRBError
			if err := e.Unmarshal(rep); err != nil {
				t.Fatalf("Handle(%x) returned an undecodable KRB-ERROR: %v", b, err)
			}
		case 0x6b, 0x6d: // AS-REP, TGS-REP: only for valid requests
		default:
			t.Fatalf("Handle(%x) reply starts with %#x", b, rep[0])
		}
	})
}

// TestKeytabFiles: Keytab and AddService hand out keytab files (the MIT
// format gokrb5 and MIT tools read) with the principal's current keys, and
// WriteKeytab writes the same to disk, private to its owner.
func TestKeytabFiles(t *testing.T) {
	k := New(t, testRealm, &Options{Enctypes: []int32{AES256SHA1, RC4HMAC}})
	k.AddUser("alice", "pw")
	k.AddService(testSPN)
	second := k.AddService(testSPN) // re-keyed: kvno 2
	tests := []struct {
		name     string
		b        []byte
		nameType int32
		kvno     uint32
	}{
		{"alice", k.Keytab("alice"), nametype.KRB_NT_PRINCIPAL, 1},
		{testSPN, k.Keytab(testSPN), nametype.KRB_NT_SRV_INST, 2},
		{"AddService", second, nametype.KRB_NT_SRV_INST, 2},
	}
	for _, tt := range tests {
		kt := parsedKeytab(tt.b)
		if len(kt.Entries) != 2 {
			t.Fatalf("Keytab(%q): %d entries; want one per enctype, 2", tt.name, len(kt.Entries))
		}
		for _, e := range kt.Entries {
			if e.KVNO != tt.kvno || e.Principal.NameType != tt.nameType || e.Principal.Realm != testRealm {
				t.Errorf("Keytab(%q) entry: kvno %d, name type %d, realm %q; want %d, %d, %q", tt.name, e.KVNO, e.Principal.NameType, e.Principal.Realm, tt.kvno, tt.nameType, testRealm)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "alice.keytab")
	if err := k.WriteKeytab(path, "alice"); err != nil {
		t.Fatalf("WriteKeytab(alice) = %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, want := parsedKeytab(b), parsedKeytab(k.Keytab("alice"))
	for i := range want.Entries {
		if !bytes.Equal(got.Entries[i].Key.KeyValue, want.Entries[i].Key.KeyValue) {
			t.Errorf("WriteKeytab: entry %d holds another key than Keytab's", i)
		}
	}
	if fi, err := os.Stat(path); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("WriteKeytab: file mode %v; want 0600", fi.Mode().Perm())
	}
	if b := k.Keytab("nobody"); b != nil {
		t.Errorf("Keytab(nobody) = %d bytes; want nil", len(b))
	}
	if err := k.WriteKeytab(filepath.Join(t.TempDir(), "x"), "nobody"); err == nil {
		t.Errorf("WriteKeytab(nobody) = nil; want an error")
	}
}
