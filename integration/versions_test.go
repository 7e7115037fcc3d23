//go:build integration

// Records in the test output which server versions the suite ran against.

package integration

import (
	"strings"
	"testing"
)

func TestLabVersions(t *testing.T) {
	e := lab(t)
	pkgs := strings.Split(e["LAB_VERSIONS"], ",")
	for _, p := range pkgs {
		name, version, ok := strings.Cut(p, "=")
		if !ok || name == "" || version == "" {
			t.Errorf("LAB_VERSIONS entry %q; want package=version", p)
			continue
		}
		t.Logf("%s %s", name, version)
	}
	for _, want := range []string{"apache2", "libapache2-mod-auth-gssapi", "gss-ntlmssp", "krb5-kdc", "squid"} {
		if !strings.Contains(","+e["LAB_VERSIONS"], ","+want+"=") {
			t.Errorf("LAB_VERSIONS lacks %s: %q", want, e["LAB_VERSIONS"])
		}
	}
}
