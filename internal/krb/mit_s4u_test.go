// S4U2Self against MIT krb5's KDC (the lab's realms tier, REALMS_ENV):
// MIT understands PA-S4U-X509-USER and echoes it signed in its reply,
// which the client verifies. Samba 4.17's KDC ignores that padata and
// uses PA-FOR-USER, which the AD tier's tests cover.

package krb

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// realmsEnv reads the realms tier's KEY=value file, or skips.
func realmsEnv(t *testing.T) map[string]string {
	t.Helper()
	path := os.Getenv("REALMS_ENV")
	if path == "" {
		t.Skip("realms tier not up: run .ci/lab/realms/start.sh and set REALMS_ENV")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	if env["REALMS_SERVICE_KEYTAB"] == "" {
		t.Fatalf("%s: REALMS_SERVICE_KEYTAB missing", path)
	}
	return env
}

func TestMITS4U2SelfX509(t *testing.T) {
	env := realmsEnv(t)
	cfg, err := LoadConfig(env["KRB5_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(env["REALMS_SERVICE_KEYTAB"])
	if err != nil {
		t.Fatal(err)
	}
	svc := NewKeytabClient(env["REALMS_SERVICE"], env["REALMS_REALM"], kt, cfg)
	tgt, err := svc.getTGT(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	user := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, env["REALMS_USER"])
	ev, err := svc.s4u2Self(testCtx(t), tgt, user, env["REALMS_REALM"])
	if err != nil {
		t.Fatalf("S4U2Self: %v", err)
	}
	if !samePrincipal(ev.cname, user) || !types.IsFlagSet(&ev.flags, flags.Forwardable) {
		t.Fatalf("evidence ticket for %v, flags %x; want %v, forwardable (ok_to_auth_as_delegate)", ev.cname, ev.flags.Bytes, user)
	}

	// The reply's PA-S4U-X509-USER, checked by hand: MIT sends one,
	// and a reply checked against another nonce or user is refused.
	pa, _ := PAForUser(user, env["REALMS_REALM"], tgt.key)
	req, err := svc.newTGSReq(tgt, svc.cname)
	if err != nil {
		t.Fatal(err)
	}
	x, err := NewPAS4UX509User(user, env["REALMS_REALM"], req.ReqBody.Nonce, tgt.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := signTGSReq(&req, tgt, svc.realm, pa, x); err != nil {
		t.Fatal(err)
	}
	cr, pad, err := svc.sendTGSReq(testCtx(t), tgt, &req, "s4u")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pad {
		found = found || p.PADataType == PaS4UX509User
	}
	if !found {
		t.Fatalf("MIT's S4U2Self reply has no PA-S4U-X509-USER (padata %v)", pad)
	}
	if err := checkS4UReply(pad, tgt.key, req.ReqBody.Nonce, cr.cname); err != nil {
		t.Fatalf("checkS4UReply: %v", err)
	}
	bad := append(types.PADataSequence(nil), pad...)
	for i := range bad {
		if bad[i].PADataType == PaS4UX509User {
			v := append([]byte(nil), bad[i].PADataValue...)
			v[len(v)-1] ^= 1 // the checksum's last byte
			bad[i].PADataValue = v
		}
	}
	if err := checkS4UReply(bad, tgt.key, req.ReqBody.Nonce, cr.cname); err == nil {
		t.Errorf("checkS4UReply with a corrupted checksum succeeded")
	}
	if err := checkS4UReply(pad, tgt.key, req.ReqBody.Nonce+1, cr.cname); err == nil {
		t.Errorf("checkS4UReply with another nonce succeeded")
	}
	if err := checkS4UReply(pad, tgt.key, req.ReqBody.Nonce, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "mallory")); err == nil {
		t.Errorf("checkS4UReply with another user succeeded")
	}
}
