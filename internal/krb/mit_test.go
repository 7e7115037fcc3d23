package krb

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// mitPython is the Python whose gssapi module is MIT krb5's (Debian's
// python3-gssapi); a pyenv python3 on PATH may lack it.
const mitPython = "/usr/bin/python3"

// mitCommand prepares one of the repository's MIT acceptor scripts
// (script, relative to the repository root) to run with a keytab for the
// KDC's service spn and a krb5.conf whose [libdefaults] carry extra lines
// after default_realm, all in a temporary directory. It skips the test
// when MIT's GSS-API for Python is missing.
func mitCommand(t *testing.T, ctx context.Context, k *kdc.KDC, spn, script, extra string, env ...string) *exec.Cmd {
	t.Helper()
	if err := exec.Command(mitPython, "-c", "import gssapi").Run(); err != nil {
		t.Skipf("no MIT GSS-API for python (%s -c 'import gssapi': %v); apt-get install python3-gssapi", mitPython, err)
	}
	path, err := filepath.Abs(filepath.Join("../..", script))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ktb := k.Keytab(spn)
	kt := filepath.Join(dir, "service.keytab")
	conf := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(kt, ktb, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("[libdefaults]\n default_realm = "+k.Realm()+"\n"+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, mitPython, path)
	cmd.Env = append(os.Environ(), append([]string{"KRB5_KTNAME=FILE:" + kt, "KRB5_CONFIG=" + conf, "KRB5RCACHETYPE=none",
		"KRB5CCNAME=FILE:" + filepath.Join(dir, "none.ccache")}, env...)...)
	return cmd
}
