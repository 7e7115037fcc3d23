// A cross-check of credential delegation against MIT krb5: MIT's GSS-API
// acceptor (through python3-gssapi, .ci/lab/gssapi/deleg_acceptor.py)
// accepts our delegating AP-REQ and reports the delegated credentials.
// Skipped when /usr/bin/python3 cannot import gssapi.

package krb

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

type mitDeleg struct {
	Complete  bool   `json:"complete"`
	DelegFlag bool   `json:"deleg_flag"`
	Delegated string `json:"delegated"`
	Lifetime  int    `json:"lifetime"`
	Error     string `json:"error"`
}

// mitAccept runs the MIT acceptor once on tok with the keytab of spn.
func mitAccept(t *testing.T, k *kdc.KDC, spn string, tok []byte) mitDeleg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Delegated credentials go to a memory ccache of the acceptor.
	cmd := mitCommand(t, ctx, k, spn, ".ci/lab/gssapi/deleg_acceptor.py", "", "KRB5CCNAME=MEMORY:deleg")
	cmd.Stdin = strings.NewReader(hex.EncodeToString(tok) + "\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("MIT acceptor: %v; stderr: %s", err, stderr.String())
	}
	var r mitDeleg
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("MIT acceptor answer %q: %v", out, err)
	}
	return r
}

func TestMITDelegation(t *testing.T) {
	k, _ := newKDC(t, nil)
	c := NewPasswordClient("alice", testRealm, "s3cret!", kdcConfig(k))
	for _, policy := range []Delegation{DelegateAlways, DelegateNone} {
		in := NewInitiator(c, testSPN, InitiatorOptions{Mutual: true, Delegation: policy})
		tok, _, err := in.Step(testCtx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := mitAccept(t, k, testSPN, tok)
		if r.Error != "" || !r.Complete {
			t.Fatalf("%v: MIT accept = %+v; want complete", policy, r)
		}
		want := policy == DelegateAlways
		if r.DelegFlag != want || (r.Delegated == "alice@"+testRealm) != want {
			t.Errorf("%v: MIT reports delegation flag %v, delegated credentials %q; want %v for alice@%s", policy, r.DelegFlag, r.Delegated, want, testRealm)
		}
		if want && r.Lifetime <= 0 {
			t.Errorf("%v: delegated credentials' lifetime %d; want > 0", policy, r.Lifetime)
		}
	}
}
