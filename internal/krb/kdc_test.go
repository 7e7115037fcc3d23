// Tests of the Client and Initiator against the in-process test KDC
// (httptestutil/kdc), with the AP-REQ checked by gokrb5's acceptor code.

package krb

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
)

const (
	testRealm = "EXAMPLE.TEST"
	testSPN   = "HTTP/www.example.test"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newKDC starts a KDC with user alice and the test service.
func newKDC(t *testing.T, opts *kdc.Options) (*kdc.KDC, *keytab.Keytab) {
	t.Helper()
	k := kdc.New(t, testRealm, opts)
	k.AddUser("alice", "s3cret!")
	kt := kdcKeytab(k.AddService(testSPN))
	return k, kt
}

// acceptAPReq unwraps an initiator token and verifies it as a server
// would, with gokrb5's acceptor code; it returns the decrypted AP-REQ.
func acceptAPReq(t *testing.T, tok []byte, kt *keytab.Keytab) messages.APReq {
	t.Helper()
	id, m, err := unwrapToken(tok)
	if err != nil || id != tokAPReq {
		t.Fatalf("unwrapToken = %x, %v; want AP-REQ", id, err)
	}
	var req messages.APReq
	if err := req.Unmarshal(m); err != nil {
		t.Fatalf("APReq.Unmarshal: %v", err)
	}
	// gokrb5's acceptor check (its service package wraps this one).
	ok, err := req.Verify(kt, 5*time.Minute, types.HostAddress{}, nil)
	if !ok || err != nil {
		t.Fatalf("APReq.Verify = %v, %v; want true", ok, err)
	}
	return req
}

func TestPasswordLoginAndAPReq(t *testing.T) {
	k, kt := newKDC(t, nil)
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	if got := c.Principal(); got != "alice@"+testRealm {
		t.Errorf("Principal() = %q; want %q", got, "alice@"+testRealm)
	}
	cb := &gss.ChannelBindings{ApplicationData: append([]byte("tls-server-end-point:"), bytes.Repeat([]byte{0xab}, 32)...)}
	for _, mutual := range []bool{false, true} {
		in := NewInitiator(c, testSPN, InitiatorOptions{Mutual: mutual, ChannelBindings: cb})
		tok, cont, err := in.Step(testCtx(t), nil)
		if err != nil || cont != mutual {
			t.Fatalf("Step(nil) mutual=%v = _, %v, %v; want continue %v", mutual, cont, err, mutual)
		}
		req := acceptAPReq(t, tok, kt)
		if got := types.IsFlagSet(&req.APOptions, flags.APOptionMutualRequired); got != mutual {
			t.Errorf("mutual=%v: AP option MUTUAL-REQUIRED = %v; want %v", mutual, got, mutual)
		}
		// The checksum, computed by hand (RFC 4121 §4.1.1, RFC 2744 §3.11).
		var cbs []byte
		cbs = append(cbs, make([]byte, 16)...)
		cbs = binary.LittleEndian.AppendUint32(cbs, uint32(len(cb.ApplicationData)))
		cbs = append(cbs, cb.ApplicationData...)
		sum := md5.Sum(cbs)
		want := []byte{16, 0, 0, 0}
		want = append(want, sum[:]...)
		fl := byte(0x38) // sequence | conf | integ
		if mutual {
			fl |= 0x02
		}
		want = append(want, fl, 0, 0, 0)
		a := req.Authenticator
		if a.Cksum.CksumType != 0x8003 || !bytes.Equal(a.Cksum.Checksum, want) {
			t.Errorf("checksum = %d %x; want 32771 %x", a.Cksum.CksumType, a.Cksum.Checksum, want)
		}
		if a.SubKey.KeyType != req.Ticket.DecryptedEncPart.Key.KeyType || len(a.SubKey.KeyValue) == 0 {
			t.Errorf("subkey enctype %d; want %d", a.SubKey.KeyType, req.Ticket.DecryptedEncPart.Key.KeyType)
		}
		if d, err := Describe(tok); err != nil || !bytes.Contains([]byte(d), []byte(testSPN+"@"+testRealm)) {
			t.Errorf("Describe(AP-REQ) = %q, %v; want the SPN", d, err)
		}
	}
	if as, tgs := c.Stats(); as != 1 || tgs != 1 {
		t.Errorf("Stats() = %d, %d; want 1, 1 (ticket cached)", as, tgs)
	}
}

func TestKDCErrors(t *testing.T) {
	k, _ := newKDC(t, nil)
	k.AddUser("old", "pw")
	k.ExpireUser("old")
	tests := []struct {
		name, user, pass, spn string
		want                  error
		code                  int32
		principal             string
	}{
		{"wrong password", "alice", "wrong", testSPN, gss.ErrRejected, errorcode.KDC_ERR_PREAUTH_FAILED, "alice@" + testRealm},
		{"unknown user", "bob", "x", testSPN, gss.ErrUnknownPrincipal, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, "bob@" + testRealm},
		{"unknown SPN", "alice", "s3cret!", "HTTP/nowhere.example.test", gss.ErrUnknownPrincipal, errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "HTTP/nowhere.example.test@" + testRealm},
		{"expired password", "old", "pw", testSPN, gss.ErrCredentialsExpired, errorcode.KDC_ERR_KEY_EXPIRED, "old@" + testRealm},
	}
	for _, tt := range tests {
		c := NewPasswordClient(tt.user, testRealm, tt.pass, kdcConfig(k))
		_, _, err := c.ServiceTicket(testCtx(t), tt.spn)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: ServiceTicket(%q) = %v; want %v", tt.name, tt.spn, err, tt.want)
			continue
		}
		var ke *Error
		if !errors.As(err, &ke) || ke.Code != tt.code || ke.Principal != tt.principal {
			t.Errorf("%s: error = %#v; want code %d principal %q", tt.name, ke, tt.code, tt.principal)
		}
		if bytes.Contains([]byte(err.Error()), []byte(tt.pass)) && tt.pass != "x" {
			t.Errorf("%s: error %q contains the password", tt.name, err)
		}
	}
}

func TestClockSkew(t *testing.T) {
	k, _ := newKDC(t, &kdc.Options{ClockOffset: 20 * time.Minute})
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	_, _, err := c.ServiceTicket(testCtx(t), testSPN)
	var ke *Error
	if !errors.Is(err, gss.ErrClockSkew) || !errors.As(err, &ke) {
		t.Fatalf("ServiceTicket with a KDC 20m ahead = %v; want ErrClockSkew", err)
	}
	if ke.Skew < 19*time.Minute || ke.Skew > 21*time.Minute {
		t.Errorf("Skew = %v; want about 20m", ke.Skew)
	}
}

func TestConcurrentColdCallsShareOneTGS(t *testing.T) {
	k, _ := newKDC(t, nil)
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.ServiceTicket(testCtx(t), testSPN)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("ServiceTicket: %v", err)
		}
	}
	st := k.Stats()
	if st.TGSBySPN[testSPN] != 1 || st.ASRequests > 2 {
		t.Errorf("KDC saw %d TGS-REQs for %s and %d AS-REQs; want 1 and at most 2 (one with pre-auth)", st.TGSBySPN[testSPN], testSPN, st.ASRequests)
	}
	if as, tgs := c.Stats(); as != 1 || tgs != 1 {
		t.Errorf("Stats() = %d, %d; want 1, 1", as, tgs)
	}
}

func TestExpiredTGTReacquired(t *testing.T) {
	// Tickets live one second past the refresh margin.
	k, _ := newKDC(t, &kdc.Options{TicketLifetime: refreshMargin + time.Second})
	k.AddService("HTTP/other.example.test")
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	if _, _, err := c.ServiceTicket(testCtx(t), testSPN); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, _, err := c.ServiceTicket(testCtx(t), "HTTP/other.example.test"); err != nil {
		t.Fatalf("ServiceTicket after expiry: %v", err)
	}
	if as, tgs := c.Stats(); as != 2 || tgs != 2 {
		t.Errorf("Stats() = %d, %d; want 2, 2 (TGT re-acquired)", as, tgs)
	}
	// The expired service ticket is fetched again too.
	if _, _, err := c.ServiceTicket(testCtx(t), testSPN); err != nil {
		t.Fatal(err)
	}
	if _, tgs := c.Stats(); tgs != 3 {
		t.Errorf("TGS exchanges = %d; want 3", tgs)
	}
}

func TestKDCDownAndCancellation(t *testing.T) {
	k, _ := newKDC(t, nil)
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	k.SetDown(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.ServiceTicket(ctx, testSPN)
	if !errors.Is(err, gss.ErrKDCUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ServiceTicket with KDC down = %v; want ErrKDCUnreachable and DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ServiceTicket took %v; want about the 300ms deadline", d)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel2)
	start = time.Now()
	_, _, err = c.ServiceTicket(ctx2, "HTTP/x.example.test")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("ServiceTicket cancelled = %v after %v; want Canceled promptly", err, time.Since(start))
	}
}

func TestNoKDCListening(t *testing.T) {
	// A closed port: UDP gets ICMP unreachable, TCP a refused dial.
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.LocalAddr().String()
	l.Close()
	cfg, err := parseConfig("[libdefaults]\n default_realm = " + testRealm + "\n[realms]\n " + testRealm + " = {\n  kdc = " + addr + "\n }\n")
	if err != nil {
		t.Fatal(err)
	}
	c := NewPasswordClient("alice", testRealm, "pw", cfg)
	_, _, err = c.ServiceTicket(testCtx(t), testSPN)
	var opErr *net.OpError
	if !errors.Is(err, gss.ErrKDCUnreachable) || !errors.As(err, &opErr) {
		t.Errorf("ServiceTicket with no KDC = %v; want ErrKDCUnreachable wrapping a *net.OpError", err)
	}
}

func TestRC4ServiceTicket(t *testing.T) {
	k := kdc.New(t, testRealm, nil)
	k.AddUser("alice", "s3cret!")
	kt := kdcKeytab(k.AddService("HTTP/legacy.example.test", kdc.RC4HMAC))
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	in := NewInitiator(c, "HTTP/legacy.example.test", InitiatorOptions{})
	tok, _, err := in.Step(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	req := acceptAPReq(t, tok, kt)
	if req.Ticket.EncPart.EType != kdc.RC4HMAC {
		t.Errorf("ticket enctype %d; want RC4-HMAC (23)", req.Ticket.EncPart.EType)
	}
}

func TestKeytabAndCCacheClients(t *testing.T) {
	k, kt := newKDC(t, &kdc.Options{UDPPreferenceLimit: 1465})
	dir := t.TempDir()
	k.AddUser("svc", "pw-of-svc")
	kc := NewKeytabClient("svc", testRealm, kdcKeytab(k.Keytab("svc")), kdcConfig(k))
	if _, _, err := kc.ServiceTicket(testCtx(t), testSPN); err != nil {
		t.Fatalf("keytab client: %v", err)
	}
	// Full cache (TGT).
	p := filepath.Join(dir, "cc")
	if err := k.WriteCCache(p, "alice", "s3cret!"); err != nil {
		t.Fatal(err)
	}
	cc, err := credentials.LoadCCache(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCCacheClient(cc, kdcConfig(k))
	if err != nil {
		t.Fatal(err)
	}
	in := NewInitiator(c, testSPN, InitiatorOptions{})
	tok, _, err := in.Step(testCtx(t), nil)
	if err != nil {
		t.Fatalf("ccache client: %v", err)
	}
	acceptAPReq(t, tok, kt)
	// Service ticket only: works for that service, not for others.
	k.AddService("HTTP/other.example.test")
	p2 := filepath.Join(dir, "cc2")
	if err := k.WriteCCacheServiceOnly(p2, "alice", testSPN); err != nil {
		t.Fatal(err)
	}
	cc2, err := credentials.LoadCCache(p2)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := NewCCacheClient(cc2, kdcConfig(k))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c2.ServiceTicket(testCtx(t), testSPN); err != nil {
		t.Errorf("service-only cache, its service: %v", err)
	}
	if _, _, err := c2.ServiceTicket(testCtx(t), "HTTP/other.example.test"); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("service-only cache, other service = %v; want ErrNoCredentials", err)
	}
	if st := k.Stats(); st.UDP == 0 {
		t.Errorf("KDC saw no UDP requests with udp_preference_limit 1465")
	}
}

func TestUDPTooBigFallsBackToTCP(t *testing.T) {
	// Tickets padded past MaxUDPReply: the KDC answers
	// KRB_ERR_RESPONSE_TOO_BIG over UDP and the client retries over TCP.
	k, kt := newKDC(t, &kdc.Options{UDPPreferenceLimit: 1465, TicketPadding: 3000})
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	in := NewInitiator(c, testSPN, InitiatorOptions{})
	tok, _, err := in.Step(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	acceptAPReq(t, tok, kt)
	if st := k.Stats(); st.UDP == 0 || st.TCP == 0 || st.Errors[errorcode.KRB_ERR_RESPONSE_TOO_BIG] == 0 {
		t.Errorf("KDC stats UDP %d TCP %d RESPONSE_TOO_BIG %d; want all non-zero", st.UDP, st.TCP, st.Errors[errorcode.KRB_ERR_RESPONSE_TOO_BIG])
	}
}
