//go:build integration

package integration

import (
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// TestKDCRejectionInPlainWords: MIT's KDC answers a wrong password with
// KDC_ERR_PREAUTH_FAILED; the library's error says so in plain words, as
// negcurl does, with the code's name kept after it.
func TestKDCRejectionInPlainWords(t *testing.T) {
	e := lab(t)
	tr := newTransport(t, e, negotiate.Password(e.principal(), "wrong-Lab.pw9"))
	tr.DisableNTLM = true
	r := do(t, tr, "GET", e.url("http")+"/krb/whoami", nil, nil)
	want := "KDC rejected the password for " + e.principal() + " (KDC_ERR_PREAUTH_FAILED)"
	if r.err == nil || !strings.Contains(r.err.Error(), want) {
		t.Fatalf("error = %v; want one saying %q", r.err, want)
	}
}
