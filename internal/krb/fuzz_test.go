// Fuzz targets for the outside bytes package krb reads: keytab files,
// krb5.conf files with their includes, and KDC replies (AS-REP, TGS-REP,
// KRB-ERROR with its PA-DATA and ETYPE-INFO2). The seeds are real: what
// the in-process KDC (httptestutil/kdc) answered a Client, its keytabs and
// its krb5.conf.

package krb

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
)

// kdcRecording is what a Client exchanged with the in-process KDC.
type kdcRecording struct {
	cfg     *config.Config
	kt      *keytab.Keytab // alice's keys, which the replies are made for
	svcKT   *keytab.Keytab // the service's keys
	conf    string         // the KDC's krb5.conf text
	preauth []byte         // KRB-ERROR KDC_ERR_PREAUTH_REQUIRED
	asRep   []byte
	tgsRep  []byte
	errs    [][]byte // other KRB-ERRORs: unknown service, wrong password
	tgt     *cred    // the TGT tgsRep was got with
}

// recordKDC runs the AS and TGS exchanges of a keytab client, a failed
// TGS exchange and a wrong password against a new in-process KDC with the
// given enctypes (by default kdc.DefaultEnctypes), keeping the KDC's raw
// replies.
func recordKDC(tb testing.TB, enctypes ...int32) *kdcRecording {
	tb.Helper()
	k := kdc.New(tb, testRealm, &kdc.Options{Enctypes: enctypes})
	k.AddUser("alice", "s3cret!")
	r := &kdcRecording{cfg: kdcConfig(k), kt: kdcKeytab(k.Keytab("alice")), svcKT: kdcKeytab(k.AddService(testSPN))}
	r.cfg = kdcConfig(k)
	b, err := os.ReadFile(k.Krb5ConfPath())
	if err != nil {
		tb.Fatal(err)
	}
	r.conf = string(b)
	var mu sync.Mutex
	var got [][]byte
	record := func(ctx context.Context, realm string, req []byte) ([]byte, error) {
		rep, err := roundTripKDC(ctx, r.cfg, realm, req)
		if err == nil {
			mu.Lock()
			got = append(got, rep)
			mu.Unlock()
		}
		return rep, err
	}
	take := func(want int) [][]byte {
		tb.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(got) != want {
			tb.Fatalf("recorded %d KDC replies; want %d", len(got), want)
		}
		out := got
		got = nil
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c := NewKeytabClient("alice", testRealm, r.kt, r.cfg)
	c.roundTrip = record
	if _, _, err := c.ServiceTicket(ctx, testSPN); err != nil {
		tb.Fatalf("ServiceTicket(%s) = %v", testSPN, err)
	}
	reps := take(3) // PREAUTH_REQUIRED, AS-REP, TGS-REP
	r.preauth, r.asRep, r.tgsRep = reps[0], reps[1], reps[2]
	r.tgt = c.tgt
	if _, _, err := c.ServiceTicket(ctx, "HTTP/nowhere.example.test"); !errors.Is(err, gss.ErrUnknownPrincipal) {
		tb.Fatalf("ServiceTicket(unknown) = %v; want ErrUnknownPrincipal", err)
	}
	r.errs = append(r.errs, take(1)...)
	p := NewPasswordClient("alice", testRealm, "wrong", r.cfg)
	p.roundTrip = record
	if _, _, err := p.ServiceTicket(ctx, testSPN); !errors.Is(err, gss.ErrRejected) {
		tb.Fatalf("ServiceTicket(wrong password) = %v; want ErrRejected", err)
	}
	r.errs = append(r.errs, take(2)[1])
	return r
}

// replayClient returns a keytab client for alice whose KDC answers with
// replies, in order, and then stops answering.
func replayClient(r *kdcRecording, replies ...[]byte) *Client {
	c := NewKeytabClient("alice", testRealm, r.kt, r.cfg)
	c.roundTrip = func(ctx context.Context, realm string, req []byte) ([]byte, error) {
		if len(replies) == 0 {
			return nil, unreachable(realm, context.DeadlineExceeded)
		}
		rep := replies[0]
		replies = replies[1:]
		return rep, nil
	}
	return c
}

// kdcSentinels are the errors a KDC exchange may end with.
var kdcSentinels = []error{
	gss.ErrMalformedToken, gss.ErrRejected, gss.ErrNoCredentials, gss.ErrClockSkew,
	gss.ErrCredentialsExpired, gss.ErrUnknownPrincipal, gss.ErrKDCUnreachable,
}

// checkKDCError fails unless err is nil or wraps one of kdcSentinels.
func checkKDCError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range kdcSentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Errorf("%s = %v; want an error wrapping a gss sentinel", what, err)
}

// FuzzASExchange feeds an AS exchange two KDC replies: the answer to the
// AS-REQ without pre-authentication and the answer to the one with it.
// sha2 picks the recording of a KDC with only aes128-cts-hmac-sha256-128,
// whose decryption (gokrb5's rfc8009) is another code path.
func FuzzASExchange(f *testing.F) {
	rs := [2]*kdcRecording{recordKDC(f), recordKDC(f, kdc.AES128SHA256)}
	for i, r := range rs {
		sha2 := i == 1
		f.Add(sha2, r.preauth, r.asRep)
		f.Add(sha2, r.asRep, []byte(nil))
		f.Add(sha2, r.preauth, r.errs[1])
		for _, e := range r.errs {
			f.Add(sha2, e, []byte(nil))
		}
	}
	f.Fuzz(func(t *testing.T, sha2 bool, first, second []byte) {
		r := rs[0]
		if sha2 {
			r = rs[1]
		}
		c := replayClient(r, first, second)
		cr, err := c.asExchange(context.Background())
		checkKDCError(t, "asExchange", err)
		if err == nil && cr == nil {
			t.Errorf("asExchange = nil, nil")
		}
	})
}

// FuzzTGSExchange feeds a TGS exchange one KDC reply; sha2 as in
// FuzzASExchange.
func FuzzTGSExchange(f *testing.F) {
	rs := [2]*kdcRecording{recordKDC(f), recordKDC(f, kdc.AES128SHA256)}
	for i, r := range rs {
		sha2 := i == 1
		f.Add(sha2, r.tgsRep)
		f.Add(sha2, r.asRep)
		for _, e := range r.errs {
			f.Add(sha2, e)
		}
	}
	sname := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, testSPN)
	f.Fuzz(func(t *testing.T, sha2 bool, rep []byte) {
		r := rs[0]
		if sha2 {
			r = rs[1]
		}
		c := replayClient(r, rep)
		cr, err := c.tgsExchange(context.Background(), testRealm, r.tgt, sname, false, false, testSPN)
		checkKDCError(t, "tgsExchange", err)
		if err == nil && cr == nil {
			t.Errorf("tgsExchange = nil, nil")
		}
	})
}

// FuzzKDCReplyParts runs the parsers of the parts nested in KDC replies
// on the same bytes, so that the fuzzer reaches them without rebuilding
// the DER around them: a reply, the KRB-ERROR's e-data (METHOD-DATA), the
// ETYPE-INFO2 and ETYPE-INFO in it, and a decrypted EncKDCRepPart.
func FuzzKDCReplyParts(f *testing.F) {
	r := recordKDC(f)
	for _, b := range [][]byte{r.preauth, r.asRep, r.tgsRep, r.errs[0], r.errs[1]} {
		f.Add(b)
	}
	ke, err := parseKRBError(r.preauth)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ke.EData)
	hints, err := parsePAData(ke.EData)
	if err != nil {
		f.Fatal(err)
	}
	for _, pa := range hints {
		f.Add(pa.PADataValue)
	}
	rep, err := parseASRep(r.asRep)
	if err != nil {
		f.Fatal(err)
	}
	key, _, err := r.kt.GetEncryptionKey(rep.CName, rep.CRealm, 0, rep.EncPart.EType)
	if err != nil {
		f.Fatal(err)
	}
	plain, err := decryptEncPart(rep.EncPart, key, keyusage.AS_REP_ENCPART)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := checkKRBError(b)
		var ke messages.KRBError
		if errors.As(err, &ke) {
			err = newError(ke, testSPN, time.Now())
		}
		checkKDCError(t, "checkKRBError", err)
		// gokrb5's own refusals are wrapped by the callers; a recovered
		// panic must already wrap ErrMalformedToken.
		guarded := func(what string, err error) {
			t.Helper()
			if errors.Is(err, errPanicked) && !errors.Is(err, gss.ErrMalformedToken) {
				t.Errorf("%s(%x) = %v; want ErrMalformedToken", what, b, err)
			}
		}
		_, err = parseASRep(b)
		guarded("parseASRep", err)
		_, err = parseTGSRep(b)
		guarded("parseTGSRep", err)
		_, err = parseEncKDCRepPart(b)
		guarded("parseEncKDCRepPart", err)
		_, err = parseETypeInfo(b)
		guarded("parseETypeInfo", err)
		_, err = parseETypeInfo2(b)
		guarded("parseETypeInfo2", err)
		pas, err := parsePAData(b)
		guarded("parsePAData", err)
		// The hints as the AS exchange uses them: as METHOD-DATA, and as
		// one ETYPE-INFO2 or ETYPE-INFO value.
		c := NewKeytabClient("alice", testRealm, r.kt, r.cfg)
		for _, h := range []types.PADataSequence{
			pas,
			{{PADataType: patype.PA_ETYPE_INFO2, PADataValue: b}},
			{{PADataType: patype.PA_ETYPE_INFO, PADataValue: b}},
		} {
			_, err := c.encTimestamp(h)
			checkKDCError(t, "encTimestamp", err)
		}
	})
}

// keytabSeeds are real keytabs: the KDC's for a user and a service, an
// empty one, and the user's read as version 1 (native byte order, no name
// type).
func keytabSeeds(tb testing.TB, r *kdcRecording) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, kt := range []*keytab.Keytab{r.kt, r.svcKT, keytab.New()} {
		b, err := kt.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	v1 := append([]byte(nil), out[0]...)
	v1[1] = 1
	out = append(out, v1)
	if b, ok := mitKeytab(tb); ok {
		out = append(out, b)
	}
	return out
}

// mitKeytab returns a keytab written by MIT krb5's ktutil, when it is
// installed: alice@EXAMPLE.TEST with password "s3cret!" (aes256-cts, kvno
// 3) and HTTP/www.example.test (aes128-sha2, kvno 2, password "x").
func mitKeytab(tb testing.TB) ([]byte, bool) {
	tb.Helper()
	ktutil, err := exec.LookPath("ktutil")
	if err != nil {
		return nil, false
	}
	p := filepath.Join(tb.TempDir(), "mit.keytab")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ktutil)
	cmd.Stdin = strings.NewReader("addent -password -p alice@EXAMPLE.TEST -k 3 -e aes256-cts-hmac-sha1-96\ns3cret!\n" +
		"addent -password -p HTTP/www.example.test@EXAMPLE.TEST -k 2 -e aes128-cts-hmac-sha256-128\nx\n" +
		"wkt " + p + "\nquit\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ktutil: %v\n%s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatalf("ktutil wrote no keytab: %v", err)
	}
	return b, true
}

// TestParseKeytabMIT reads a keytab MIT's ktutil wrote and checks its
// keys against gokrb5's string-to-key of the same passwords.
func TestParseKeytabMIT(t *testing.T) {
	b, ok := mitKeytab(t)
	if !ok {
		t.Skip("ktutil (MIT krb5) not installed")
	}
	kt, err := ParseKeytab(b)
	if err != nil {
		t.Fatalf("ParseKeytab(MIT keytab) = %v", err)
	}
	tests := []struct {
		name     string
		pass     string
		etype    int32
		kvno     int
		nameType int32
	}{
		{"alice", "s3cret!", 18, 3, nametype.KRB_NT_PRINCIPAL},
		{"HTTP/www.example.test", "x", 19, 2, nametype.KRB_NT_PRINCIPAL},
	}
	for _, tt := range tests {
		pn := types.NewPrincipalName(tt.nameType, tt.name)
		got, kvno, err := kt.GetEncryptionKey(pn, testRealm, 0, tt.etype)
		if err != nil {
			t.Errorf("GetEncryptionKey(%s, %d) = %v", tt.name, tt.etype, err)
			continue
		}
		want, _, err := crypto.GetKeyFromPassword(tt.pass, pn, testRealm, tt.etype, types.PADataSequence{})
		if err != nil {
			t.Fatal(err)
		}
		if kvno != tt.kvno || !bytes.Equal(got.KeyValue, want.KeyValue) {
			t.Errorf("MIT key of %s = %x (kvno %d); want %x (kvno %d)", tt.name, got.KeyValue, kvno, want.KeyValue, tt.kvno)
		}
	}
}

// FuzzParseKeytab parses keytabs: errors wrap ErrNoCredentials and never
// quote the input (keys).
func FuzzParseKeytab(f *testing.F) {
	r := recordKDC(f)
	for _, b := range keytabSeeds(f, r) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kt, err := ParseKeytab(b)
		if err != nil {
			if !errors.Is(err, gss.ErrNoCredentials) {
				t.Errorf("ParseKeytab(%x) = %v; want an error wrapping ErrNoCredentials", b, err)
			}
			if len(b) >= 8 && strings.Contains(err.Error(), string(b[2:])) {
				t.Errorf("ParseKeytab(%x) error quotes the keytab: %v", b, err)
			}
			return
		}
		for _, e := range kt.Entries {
			if len(e.Key.KeyValue) > len(b) {
				t.Errorf("ParseKeytab(%x): a %d-byte key from a %d-byte keytab", b, len(e.Key.KeyValue), len(b))
			}
		}
	})
}

// confSeeds are real krb5.conf texts: the in-process KDC's, and Debian's
// and Fedora's layouts with include and includedir ("$DIR" stands for the
// directory the fuzz target writes the files to).
func confSeeds(r *kdcRecording) [][2]string {
	return [][2]string{
		{r.conf, ""},
		{"includedir $DIR/krb5.conf.d/\n" + r.conf, "[libdefaults]\n dns_canonicalize_hostname = fallback\n"},
		{"[libdefaults]\n default_realm = EXAMPLE.TEST\ninclude $DIR/inc.conf\n rdns = false\n", r.conf},
		{"include $DIR/krb5.conf\n", ""},
		{"[realms]\n EXAMPLE.TEST = {\n  kdc = kdc.example.test\n  admin_server = kdc.example.test\n  v4_realm = X\n }\n", ""},
	}
}

// FuzzParseConfig parses krb5.conf texts without includes: the fast
// target for gokrb5's parser behind ours.
func FuzzParseConfig(f *testing.F) {
	r := recordKDC(f)
	for _, s := range confSeeds(r) {
		f.Add(s[0] + s[1])
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 16<<10 {
			// gokrb5 compiles regular expressions per line; under the
			// fuzzer's instrumentation a long text can outlast CI's 3 s.
			t.Skip()
		}
		cfg, err := parseConfig(text)
		if err == nil && cfg == nil {
			t.Errorf("parseConfig(%q) = nil, nil", text)
		}
		if errors.Is(err, errPanicked) && !errors.Is(err, gss.ErrNoCredentials) {
			t.Errorf("parseConfig(%q) = %v; want ErrNoCredentials", text, err)
		}
	})
}

// FuzzLoadConfig loads a krb5.conf that may include a second file (as an
// include and as the only file of an includedir).
func FuzzLoadConfig(f *testing.F) {
	r := recordKDC(f)
	for _, s := range confSeeds(r) {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, main, inc string) {
		// Includes stay inside the test's directory (anything else reads
		// the machine's files, slowly), and inputs stay small enough that
		// one run fits well inside CI's 3 s of fuzzing.
		if len(main)+len(inc) > 8<<10 || includesOutside(main) || includesOutside(inc) {
			t.Skip()
		}
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "krb5.conf.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		write := func(p, s string) {
			if err := os.WriteFile(filepath.Join(dir, p), []byte(strings.ReplaceAll(s, "$DIR", dir)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("krb5.conf", main)
		write("inc.conf", inc)
		write("krb5.conf.d/inc.conf", inc)
		cfg, err := LoadConfig(filepath.Join(dir, "krb5.conf"))
		if err == nil && cfg == nil {
			t.Errorf("LoadConfig(%q, %q) = nil, nil", main, inc)
		}
		if errors.Is(err, errPanicked) && !errors.Is(err, gss.ErrNoCredentials) {
			t.Errorf("LoadConfig(%q, %q) = %v; want ErrNoCredentials", main, inc, err)
		}
	})
}

// includesOutside reports whether a krb5.conf text has an include or
// includedir line whose path is not under $DIR (FuzzLoadConfig's folder).
func includesOutside(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 1 && (f[0] == "include" || f[0] == "includedir") &&
			(len(f) < 2 || !strings.HasPrefix(f[1], "$DIR/") || strings.Contains(f[1], "..")) {
			return true
		}
	}
	return false
}
