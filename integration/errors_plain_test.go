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
	// The 401 that asked is the answer (AuthError's table); ResponseError
	// says why.
	err := r.err
	if err == nil {
		err = negotiate.ResponseError(r.resp)
	}
	want := "KDC rejected the password for " + e.principal() + " (KDC_ERR_PREAUTH_FAILED)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v; want one saying %q", err, want)
	}
}
