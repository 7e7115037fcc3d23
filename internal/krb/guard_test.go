// Regression tests for the inputs that crashed gokrb5's parsers (found by
// the fuzz targets of fuzz_test.go or by reading gokrb5's code), and for
// the size limits on local files.

package krb

import (
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// unhex decodes a hex test vector.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// writeFile writes s to name in dir and returns its path.
func writeFile(tb testing.TB, dir, name, s string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestConfigCrashers loads krb5.conf texts on which gokrb5 v8.4.4's parser
// panics (index out of range [1] with length 1 in Realm.parseLines: any
// subsection inside a realm). MIT krb5 accepts them, and so do we now,
// dropping the subsection gokrb5 has no field for.
func TestConfigCrashers(t *testing.T) {
	tests := []struct {
		name, conf string
		wantKDC    string // the realm R's first KDC
	}{
		{"empty subsection", "[realms]\n R = {\n a = {\n }\n }\n", ""},
		{"auth_to_local_names", "[realms]\n R = {\n  kdc = k.r.test\n  auth_to_local_names = {\n   host/x = root\n  }\n  admin_server = a.r.test\n }\n", "k.r.test:88"},
		{"subsection before kdc", "[realms]\n R = {\n  x = {\n   y = {\n   }\n  }\n  kdc = k:1\n }\n", "k:1"},
		{"realm block in libdefaults", "[libdefaults]\n R = {\n  forwardable = false\n }\n default_realm = R\n[realms]\n R = {\n  kdc = k:1\n }\n", "k:1"},
	}
	for _, tt := range tests {
		p := writeFile(t, t.TempDir(), "krb5.conf", tt.conf)
		cfg, err := LoadConfig(p)
		if err != nil {
			t.Errorf("LoadConfig(%q) = %v; want no error", tt.conf, err)
			continue
		}
		got := ""
		for _, r := range cfg.Realms {
			if r.Realm == "R" && len(r.KDC) > 0 {
				got = r.KDC[0]
			}
		}
		if got != tt.wantKDC {
			t.Errorf("LoadConfig(%q): KDC of R = %q; want %q", tt.conf, got, tt.wantKDC)
		}
	}
}

// TestConfigRefused: krb5.conf texts that gokrb5 v8.4.4 panics on and
// that MIT krb5 does not accept either are refused with an error wrapping
// ErrNoCredentials, and so are texts over maxConfigLines settings.
func TestConfigRefused(t *testing.T) {
	tests := []struct {
		name, conf string
	}{
		// Found by FuzzParseConfig: a realm block opened and closed on
		// one line makes parseRealms slice lines[1:0].
		{"block on one line", "[reAlms]\n={}"}, // 5b7265416c6d735d0a3d7b7d
		{"realm on one line", "[realms]\n R = { kdc = k }\n"},
		{"too many settings", "[domain_realm]\n" + strings.Repeat(" .a.test = A\n", maxConfigLines+1)},
	}
	for _, tt := range tests {
		_, err := parseConfig(tt.conf)
		if !errors.Is(err, gss.ErrNoCredentials) {
			t.Errorf("%s: parseConfig(%.40q) = %v; want ErrNoCredentials", tt.name, tt.conf, err)
		}
	}
	// Comments, blank lines and sections gokrb5 skips do not count.
	conf := strings.Repeat("# comment\n\n", maxConfigLines) + "[capaths]\n" + strings.Repeat(" A = {\n  B = C\n }\n", maxConfigLines) +
		"[libdefaults]\n default_realm = A\n"
	if cfg, err := parseConfig(conf); err != nil || cfg.LibDefaults.DefaultRealm != "A" {
		t.Errorf("parseConfig(comments and [capaths]) = %v; want default_realm A", err)
	}
}

// TestGuardRecovers checks the guard itself: a panicking parser gives an
// error wrapping its sentinel, and neither the panic value nor the input
// appears in the message.
func TestGuardRecovers(t *testing.T) {
	for _, sentinel := range []error{gss.ErrNoCredentials, gss.ErrMalformedToken} {
		err := guard("keytab", sentinel, func() error { panic("secret-key-bytes") })
		if !errors.Is(err, sentinel) || !errors.Is(err, errPanicked) {
			t.Errorf("guard(panic) = %v; want %v and errPanicked", err, sentinel)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("guard(panic) = %q; quotes the panic value", err)
		}
	}
}

// asRepShortCipher is an AS-REP for alice@A whose enc-part is enctype 19
// (aes128-cts-hmac-sha256-128) with an empty cipher: gokrb5's
// rfc8009.DecryptMessage slices it at [:-16] and panics. Anyone who can
// answer the client's KDC request (UDP is easily spoofed) could crash a
// password client with these 106 bytes.
const asRepShortCipher = `6b683066a003020105a10302010ba3031b0141a4123010a003020101a10930071b05616c696365
a53461323030a003020105a1031b0141a2163014a003020102a10d300b1b066b72627467741b0141a30c300aa003020112a203040100
a60b3009a003020113a2020400`

// tgsRepShortCipher is the same reply as a TGS-REP.
const tgsRepShortCipher = `6d683066a003020105a10302010da3031b0141a4123010a003020101a10930071b05616c696365
a53461323030a003020105a1031b0141a2163014a003020102a10d300b1b066b72627467741b0141a30c300aa003020112a203040100
a60b3009a003020113a2020400`

// TestKDCReplyCrashers replays KDC replies that crashed gokrb5 to the AS
// and TGS exchanges: each must fail with ErrMalformedToken.
func TestKDCReplyCrashers(t *testing.T) {
	ctx := context.Background()
	tgt := &cred{
		ticket: messages.Ticket{TktVNO: 5, Realm: "A", SName: types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/A"), EncPart: types.EncryptedData{EType: 18, Cipher: []byte{0}}},
		key:    types.EncryptionKey{KeyType: 19, KeyValue: make([]byte, 16)},
		end:    time.Now().Add(time.Hour),
	}
	tests := []struct {
		name string
		tgs  bool
		rep  string
	}{
		{"AS-REP, enctype 19, empty cipher", false, asRepShortCipher},
		{"TGS-REP, session key enctype 19, empty cipher", true, tgsRepShortCipher},
	}
	for _, tt := range tests {
		rep := unhex(t, tt.rep)
		c := NewPasswordClient("alice", "A", "pw", nil)
		c.roundTrip = func(context.Context, string, []byte) ([]byte, error) { return rep, nil }
		var err error
		if tt.tgs {
			_, err = c.tgsExchange(ctx, "A", tgt, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "HTTP/h"), false, false, "HTTP/h")
		} else {
			_, err = c.asExchange(ctx)
		}
		if !errors.Is(err, gss.ErrMalformedToken) {
			t.Errorf("%s: exchange(%x) = %v; want ErrMalformedToken", tt.name, rep, err)
		}
	}
}

// TestS2KParamsBounded: an ETYPE-INFO2 asking for more PBKDF2 iterations
// than maxS2KIterations (or 0, meaning 2^32) is refused before any key is
// derived; the defaults pass.
func TestS2KParamsBounded(t *testing.T) {
	tests := []struct {
		etype  int32
		params string
		ok     bool
	}{
		{18, "00001000", true},  // RFC 3962 default, 4096
		{19, "00008000", true},  // RFC 8009 default, 32768
		{17, "00100000", true},  // 2^20
		{18, "00100001", false}, // 2^20 + 1
		{18, "ffffffff", false},
		{20, "00000000", false}, // 2^32
		{18, "001000", false},   // not four bytes
		{23, "ffffffff", true},  // RC4 has no iterations
	}
	for _, tt := range tests {
		err := checkS2KParams(tt.etype, unhex(t, tt.params))
		if (err == nil) != tt.ok {
			t.Errorf("checkS2KParams(%d, %s) = %v; want ok %v", tt.etype, tt.params, err, tt.ok)
		}
	}
	// Through the AS exchange: the KDC's hint is refused at once, where
	// gokrb5 would spend hours in PBKDF2.
	c := NewPasswordClient("alice", "A", "pw", nil)
	info, err := asn1.Marshal(types.ETypeInfo2{{EType: 18, Salt: "Aalice", S2KParams: []byte{0xff, 0xff, 0xff, 0xff}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.clientKey(18, types.PADataSequence{{PADataType: 19, PADataValue: info}})
	if !errors.Is(err, gss.ErrRejected) || time.Since(start) > 5*time.Second {
		t.Errorf("clientKey(2^32-1 iterations) = %v after %v; want ErrRejected at once", err, time.Since(start))
	}
}

// TestFileLimits: keytabs and krb5.conf files over their limits are
// refused without being read whole, and the errors wrap
// ErrNoCredentials; a missing keytab still reads as fs.ErrNotExist.
func TestFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := func(name string, size int64) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil { // sparse: costs no disk
			t.Fatal(err)
		}
		return p
	}
	if _, err := LoadKeytab(big("huge.keytab", 1<<30)); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("LoadKeytab(1 GiB) = %v; want ErrNoCredentials", err)
	}
	if _, err := LoadKeytab(big("over.keytab", maxKeytabSize+1)); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("LoadKeytab(maxKeytabSize+1) = %v; want ErrNoCredentials", err)
	}
	if _, err := LoadKeytab(filepath.Join(dir, "missing")); !errors.Is(err, gss.ErrNoCredentials) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadKeytab(missing) = %v; want ErrNoCredentials and fs.ErrNotExist", err)
	}
	if _, err := LoadKeytab("/dev/zero"); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("LoadKeytab(/dev/zero) = %v; want ErrNoCredentials", err)
	}
	if _, err := LoadConfig(big("huge.conf", 1<<30)); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("LoadConfig(1 GiB) = %v; want ErrNoCredentials", err)
	}
	// An included file over the limit.
	main := writeFile(t, dir, "inc-big.conf", "include "+big("big-inc.conf", maxConfigFileSize+1)+"\n")
	if _, err := LoadConfig(main); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("LoadConfig(include of a too large file) = %v; want ErrNoCredentials", err)
	}
	// Files under the limit, included often enough to pass the total.
	part := writeFile(t, dir, "part.conf", "[libdefaults]\n"+strings.Repeat("# padding line of a comment\n", (maxConfigFileSize-100)/28))
	main = writeFile(t, dir, "inc-many.conf", strings.Repeat("include "+part+"\n", maxConfigSize/maxConfigFileSize+1))
	if _, err := LoadConfig(main); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("LoadConfig(%d includes of %d bytes) = %v; want ErrNoCredentials", maxConfigSize/maxConfigFileSize+1, maxConfigFileSize, err)
	}
	// Many small includes, nested: 20 × 20 files.
	empty := writeFile(t, dir, "empty.conf", "")
	mid := writeFile(t, dir, "mid.conf", strings.Repeat("include "+empty+"\n", 20))
	main = writeFile(t, dir, "inc-files.conf", strings.Repeat("include "+mid+"\n", 20))
	if _, err := LoadConfig(main); !errors.Is(err, gss.ErrNoCredentials) {
		t.Errorf("LoadConfig(%d files) = %v; want ErrNoCredentials", 20*20, err)
	}
}

// TestKeytabErrorsHideKeys: gokrb5's keytab errors print the whole file;
// ours must not, as the file holds keys.
func TestKeytabErrorsHideKeys(t *testing.T) {
	kt := keytab.New()
	if err := kt.AddEntry("alice", "A", "pw", time.Unix(0, 0), 1, 18); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	key := kt.Entries[0].Key.KeyValue
	// Truncated inside the key: gokrb5 fails with the bytes in its error.
	trunc := b[:len(b)-10]
	var raw keytab.Keytab
	if rerr := raw.Unmarshal(trunc); rerr == nil || !strings.Contains(rerr.Error(), string(key[:8])) {
		t.Fatalf("gokrb5's Unmarshal(truncated keytab) = %v; want an error quoting the key (the case this test is for)", rerr)
	}
	p := writeFile(t, t.TempDir(), "trunc.keytab", string(trunc))
	_, err = LoadKeytab(p)
	if !errors.Is(err, gss.ErrNoCredentials) {
		t.Fatalf("LoadKeytab(truncated) = %v; want ErrNoCredentials", err)
	}
	if strings.Contains(err.Error(), string(key[:8])) {
		t.Errorf("LoadKeytab(truncated) = %q; quotes the key", err)
	}
	if _, err := LoadKeytab(writeFile(t, t.TempDir(), "ok.keytab", string(b))); err != nil {
		t.Errorf("LoadKeytab(valid) = %v", err)
	}
}

// TestReadFileNotRegular: a krb5.conf include or keytab path naming a
// device or a FIFO is refused at once; opening a FIFO would block until
// someone writes to it.
func TestReadFileNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	for _, p := range []string{fifo, os.DevNull} {
		done := make(chan error, 1)
		go func() { _, err := readFileLimited(p, 1<<20); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("readFileLimited(%s) = nil error; want a refusal", p)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("readFileLimited(%s) blocked", p)
		}
	}
}
