// A cross-check of the RFC 4757 MIC tokens against MIT krb5: the acceptor
// is MIT's GSS-API library (through python3-gssapi, .ci/lab/rc4mic), given
// the keytab of an RC4-only service of the test KDC. Skipped when
// /usr/bin/python3 cannot import gssapi.

package krb

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// mitAcceptor is the running acceptor script.
type mitAcceptor struct {
	t   *testing.T
	in  *json.Encoder
	out *bufio.Scanner
}

type mitReply struct {
	Token    string `json:"token"`
	Complete bool   `json:"complete"`
	OK       bool   `json:"ok"`
	MIC      string `json:"mic"`
	Error    string `json:"error"`
}

func (m *mitAcceptor) call(req map[string]string) mitReply {
	m.t.Helper()
	if err := m.in.Encode(req); err != nil {
		m.t.Fatalf("writing to the MIT acceptor: %v", err)
	}
	if !m.out.Scan() {
		m.t.Fatalf("MIT acceptor gave no answer to %q: %v", req["op"], m.out.Err())
	}
	var r mitReply
	if err := json.Unmarshal(m.out.Bytes(), &r); err != nil {
		m.t.Fatalf("MIT acceptor answer %q: %v", m.out.Text(), err)
	}
	return r
}

// startMIT runs .ci/lab/rc4mic/acceptor.py with a keytab for the KDC's
// service spn and a krb5.conf that permits RC4-HMAC, all in a temporary
// directory, or skips the test.
func startMIT(t *testing.T, k *kdc.KDC, spn string) *mitAcceptor {
	t.Helper()
	// MIT 1.20 permits rc4-hmac by default; say so anyway, for later
	// releases (allow_rc4 appeared in 1.21).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := mitCommand(t, ctx, k, spn, ".ci/lab/rc4mic/acceptor.py",
		" permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 rc4-hmac\n allow_rc4 = true\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting the MIT acceptor: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("MIT acceptor: %v; stderr: %s", err, stderr.String())
		}
		cancel()
	})
	return &mitAcceptor{t: t, in: json.NewEncoder(stdin), out: bufio.NewScanner(stdout)}
}

func TestMITRC4MIC(t *testing.T) {
	k := kdc.New(t, testRealm, nil)
	k.AddUser("alice", "s3cret!")
	k.AddService(rc4SPN, kdc.RC4HMAC)
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	for _, mutual := range []bool{true, false} {
		mit := startMIT(t, k, rc4SPN)
		in := NewInitiator(c, rc4SPN, InitiatorOptions{Mutual: mutual})
		tok, _, err := in.Step(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := mit.call(map[string]string{"op": "accept", "token": hex.EncodeToString(tok)})
		if r.Error != "" || !r.Complete {
			t.Fatalf("mutual=%v: MIT accept = %+v; want complete", mutual, r)
		}
		if mutual {
			rep, _ := hex.DecodeString(r.Token)
			if _, cont, err := in.Step(context.Background(), rep); err != nil || cont {
				t.Fatalf("mutual=%v: Step(MIT's AP-REP) = %v, %v; want done", mutual, cont, err)
			}
		}
		msg := []byte("0\x18\x06\n+\x06\x01\x04\x01\x827\x02\x02\n\x06\t*\x86H\x86\xf7\x12\x01\x02\x02")
		// Two in a row: MIT checks the sequence numbers too.
		for n := range 2 {
			mic, err := in.GetMIC(msg)
			if err != nil {
				t.Fatal(err)
			}
			r = mit.call(map[string]string{"op": "verify", "msg": hex.EncodeToString(msg), "mic": hex.EncodeToString(mic)})
			if !r.OK {
				t.Errorf("mutual=%v: MIT verify(our MIC %d) = %+v; want ok", mutual, n, r)
			}
		}
		bad, _ := in.GetMIC(msg)
		bad[len(bad)-1] ^= 1
		if r = mit.call(map[string]string{"op": "verify", "msg": hex.EncodeToString(msg), "mic": hex.EncodeToString(bad)}); r.OK {
			t.Errorf("mutual=%v: MIT verify(altered MIC) = ok; want an error", mutual)
		}
		for n := range 2 {
			r = mit.call(map[string]string{"op": "getmic", "msg": hex.EncodeToString(msg)})
			mic, err := hex.DecodeString(r.MIC)
			if r.Error != "" || err != nil {
				t.Fatalf("mutual=%v: MIT getmic = %+v", mutual, r)
			}
			if err := in.VerifyMIC(msg, mic); err != nil {
				t.Errorf("mutual=%v: VerifyMIC(MIT's MIC %d) = %v; want nil", mutual, n, err)
			}
			if testing.Verbose() && os.Getenv("RC4MIC_RECORD") != "" {
				t.Logf("vector: key %x msg %x MIT acceptor MIC %x", in.SessionKey().KeyValue, msg, mic)
			}
			if err := in.VerifyMIC([]byte("other"), mic); err == nil {
				t.Errorf("mutual=%v: VerifyMIC(MIT's MIC, other message) = nil; want an error", mutual)
			}
		}
	}
}
