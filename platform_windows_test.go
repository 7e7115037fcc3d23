//go:build windows && wine

// The real SSPI tier: Transport through secur32 against the real-peer lab
// (.ci/lab: MIT KDC, Apache mod_auth_gssapi, gss-ntlmssp), run under Wine
// by .ci/wine/run.sh. Assertions stay within what Wine 8 implements: raw
// Kerberos or NTLM under Negotiate (never SPNEGO), no channel bindings in
// its Kerberos, QueryContextAttributesW for SIZES and NEGOTIATION_INFO only.
//
// os.RemoveAll fails under Wine 8, so these tests use no t.TempDir.

package negotiate

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/mech"
	"github.com/negotiate-go/negotiate/internal/sspi"
)

// wineLab returns the lab's lab.env as a map, or skips the test.
func wineLab(t testing.TB) map[string]string {
	t.Helper()
	path := os.Getenv("LAB_ENV")
	if path == "" {
		t.Skip("LAB_ENV is not set: run .ci/wine/run.sh (it brings up the lab and runs this under Wine)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading LAB_ENV: %v", err)
	}
	env := make(map[string]string)
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			env[k] = v
		}
	}
	return env
}

// recordingAPI is the real table, with a count of the handles it hands
// out and gets back, and the InitializeSecurityContextW results.
type recordingAPI struct {
	sspi.API

	mu       sync.Mutex
	creds    int // acquired minus freed
	ctxs     int // created minus deleted
	mems     int // context buffers handed out minus freed
	results  []sspi.Status
	attrs    []uint32
	packages []string // what NegotiatedPackage answered
}

func (r *recordingAPI) QuerySecurityPackageInfo(pkg string) (sspi.PackageInfo, sspi.ContextBuffer, sspi.Status) {
	info, mem, st := r.API.QuerySecurityPackageInfo(pkg)
	r.mu.Lock()
	if mem != 0 {
		r.mems++
	}
	r.mu.Unlock()
	return info, mem, st
}

func (r *recordingAPI) AcquireCredentialsHandle(pkg string, id *sspi.Identity) (sspi.Handle, sspi.Status) {
	h, st := r.API.AcquireCredentialsHandle(pkg, id)
	r.mu.Lock()
	if !st.Failed() {
		r.creds++
	}
	r.mu.Unlock()
	return h, st
}

func (r *recordingAPI) InitializeSecurityContext(cred sspi.Handle, ctx *sspi.Handle, target string, req uint32, in, out []sspi.Buffer) (sspi.Handle, uint32, sspi.Status) {
	h, attrs, st := r.API.InitializeSecurityContext(cred, ctx, target, req, in, out)
	r.mu.Lock()
	if ctx == nil && !st.Failed() {
		r.ctxs++
	}
	r.results = append(r.results, st)
	r.attrs = append(r.attrs, attrs)
	r.mu.Unlock()
	return h, attrs, st
}

func (r *recordingAPI) NegotiatedPackage(ctx sspi.Handle) (string, sspi.ContextBuffer, sspi.Status) {
	name, mem, st := r.API.NegotiatedPackage(ctx)
	r.mu.Lock()
	if mem != 0 {
		r.mems++
	}
	r.packages = append(r.packages, name)
	r.mu.Unlock()
	return name, mem, st
}

func (r *recordingAPI) FreeContextBuffer(mem sspi.ContextBuffer) sspi.Status {
	r.mu.Lock()
	r.mems--
	r.mu.Unlock()
	return r.API.FreeContextBuffer(mem)
}

func (r *recordingAPI) DeleteSecurityContext(ctx sspi.Handle) sspi.Status {
	r.mu.Lock()
	r.ctxs--
	r.mu.Unlock()
	return r.API.DeleteSecurityContext(ctx)
}

func (r *recordingAPI) FreeCredentialsHandle(cred sspi.Handle) sspi.Status {
	r.mu.Lock()
	r.creds--
	r.mu.Unlock()
	return r.API.FreeCredentialsHandle(cred)
}

// mutualSeen reports whether a call completed (SEC_E_OK) with
// ISC_RET_MUTUAL_AUTH.
func (r *recordingAPI) mutualSeen() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, st := range r.results {
		if st == sspi.StatusOK && r.attrs[i]&sspi.RetMutualAuth != 0 {
			return true
		}
	}
	return false
}

// checkBalanced fails t if a handle or context buffer was not given back.
// A context the Transport dropped mid-handshake (a restart on a new
// connection, a final 401) is freed by its cleanup when collected, so
// this collects garbage, boundedly, before it counts.
func (r *recordingAPI) checkBalanced(t testing.TB) {
	t.Helper()
	held := func() (int, int, int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.creds, r.ctxs, r.mems
	}
	for i := 0; i < 100; i++ {
		if c, x, m := held(); c == 0 && x == 0 && m == 0 {
			return
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	c, x, m := held()
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Errorf("not given back: %d credentials handles, %d contexts, %d context buffers (calls: %v)", c, x, m, r.results)
}

// recordSSPI makes the Transport's SSPI calls go through a recordingAPI
// for the rest of the test.
func recordSSPI(t testing.TB) *recordingAPI {
	t.Helper()
	api, err := sspi.System()
	if err != nil {
		t.Fatalf("sspi.System: %v", err)
	}
	rec := &recordingAPI{API: api}
	old := mech.SystemSSPI
	mech.SystemSSPI = func() (sspi.API, error) { return rec, nil }
	t.Cleanup(func() { mech.SystemSSPI = old })
	return rec
}

// wineTransport returns a Transport for the lab that trusts its CA.
func wineTransport(t testing.TB, lab map[string]string, c *Credentials) *Transport {
	t.Helper()
	pem, err := os.ReadFile(lab["LAB_CA_FILE"])
	if err != nil {
		t.Fatalf("reading the lab CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the lab CA file")
	}
	base := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(base.CloseIdleConnections)
	return &Transport{Base: base, Credentials: c}
}

// whoami GETs url through tr and returns the two lines of the lab's whoami
// (user, then scheme/mechanism), or the error.
func whoami(t testing.TB, tr *Transport, url string) (user, mech string, status int, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return "", "", resp.StatusCode, ResponseError(resp)
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4096))
	if sc.Scan() {
		user = sc.Text()
	}
	if sc.Scan() {
		mech = sc.Text()
	}
	return user, mech, resp.StatusCode, nil
}

// TestWineKerberosDefaultCredentials: the logged-on user's Kerberos
// credentials, which under Wine are the ccache KRB5CCNAME names (run.sh
// fills it with kinit). Run on its own, before the tests that replace it.
func TestWineKerberosDefaultCredentials(t *testing.T) {
	lab := wineLab(t)
	if os.Getenv("WINE_KINIT_CCACHE") == "" {
		t.Skip("WINE_KINIT_CCACHE is not set: run.sh runs this test with a ccache made by kinit")
	}
	rec := recordSSPI(t)
	tr := wineTransport(t, lab, DefaultCredentials())
	user, mech, status, err := whoami(t, tr, lab["LAB_HTTP_URL"]+"/krb/whoami")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /krb/whoami = %d, %v; want 200", status, err)
	}
	if want := lab["LAB_USER"] + "@" + lab["LAB_REALM"]; user != want || mech != "Negotiate/krb5" {
		t.Errorf("whoami = %q, %q; want %q, %q", user, mech, want, "Negotiate/krb5")
	}
	if !rec.mutualSeen() {
		t.Errorf("no InitializeSecurityContextW completed with ISC_RET_MUTUAL_AUTH; results %v", rec.results)
	}
	tr.CloseIdleConnections()
	rec.checkBalanced(t)
}

func TestWineExplicitCredentials(t *testing.T) {
	lab := wineLab(t)
	if os.Getenv("WINE_KINIT_CCACHE") != "" {
		t.Skip("run.sh runs this test with a scratch ccache, not the kinit one")
	}
	krbUser := lab["LAB_REALM"] + `\` + lab["LAB_USER"]
	ntlmUser := lab["LAB_NTLM_DOMAIN"] + `\` + lab["LAB_USER"]
	tests := []struct {
		name       string
		creds      *Credentials
		prefer     []Scheme
		url        string
		wantUser   string
		wantMech   string
		wantMutual bool
	}{
		{"Kerberos, password", Password(krbUser, lab["LAB_PASSWORD"]), nil, lab["LAB_HTTP_URL"] + "/krb/whoami",
			lab["LAB_USER"] + "@" + lab["LAB_REALM"], "Negotiate/krb5", true},
		{"Kerberos, password, HTTPS", Password(krbUser, lab["LAB_PASSWORD"]), nil, lab["LAB_HTTPS_URL"] + "/krb/whoami",
			lab["LAB_USER"] + "@" + lab["LAB_REALM"], "Negotiate/krb5", true},
		{"NTLM, password", Password(ntlmUser, lab["LAB_PASSWORD"]), []Scheme{SchemeNTLM}, lab["LAB_HTTP_URL"] + "/ntlm/whoami",
			ntlmUser, "NTLM/NTLM", false},
		{"NTLM, password, HTTPS with channel bindings", Password(ntlmUser, lab["LAB_PASSWORD"]), []Scheme{SchemeNTLM}, lab["LAB_HTTPS_URL"] + "/ntlm/whoami",
			ntlmUser, "NTLM/NTLM", false},
		{"NTLM, second user", Password(lab["LAB_NTLM_DOMAIN"]+`\`+lab["LAB_USER2"], lab["LAB_PASSWORD2"]), []Scheme{SchemeNTLM}, lab["LAB_HTTP_URL"] + "/any/whoami",
			lab["LAB_NTLM_DOMAIN"] + `\` + lab["LAB_USER2"], "NTLM/NTLM", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := recordSSPI(t)
			tr := wineTransport(t, lab, tt.creds)
			tr.SSPI = SSPIAlways
			tr.Preference = tt.prefer
			for i := range 3 { // the first handshakes, then the kept connection
				user, mech, status, err := whoami(t, tr, tt.url)
				if err != nil || status != http.StatusOK {
					t.Fatalf("request %d: GET = %d, %v; want 200", i+1, status, err)
				}
				if user != tt.wantUser || mech != tt.wantMech {
					t.Errorf("request %d: whoami = %q, %q; want %q, %q", i+1, user, mech, tt.wantUser, tt.wantMech)
				}
			}
			if got := rec.mutualSeen(); got != tt.wantMutual {
				t.Errorf("mutual authentication seen = %v; want %v (results %v)", got, tt.wantMutual, rec.results)
			}
			if len(rec.results) == 0 {
				t.Errorf("no InitializeSecurityContextW call: SSPI was not used")
			}
			tr.CloseIdleConnections()
			rec.checkBalanced(t)
		})
	}
}

func TestWineWrongPassword(t *testing.T) {
	lab := wineLab(t)
	if os.Getenv("WINE_KINIT_CCACHE") != "" {
		t.Skip("run.sh runs this test with a scratch ccache, not the kinit one")
	}
	tests := []struct {
		name        string
		user        string
		prefer      []Scheme
		url         string
		disableNTLM bool
	}{
		{"NTLM", lab["LAB_NTLM_DOMAIN"] + `\` + lab["LAB_USER"], []Scheme{SchemeNTLM}, lab["LAB_HTTP_URL"] + "/ntlm/whoami", false},
		// Wine's Negotiate falls back to NTLM when Kerberos fails: the
		// server then rejects the NTLM token.
		{"Kerberos", lab["LAB_REALM"] + `\` + lab["LAB_USER"], nil, lab["LAB_HTTP_URL"] + "/krb/whoami", false},
		// With NTLM disabled, that token is refused before it is sent.
		{"Kerberos, NTLM disabled", lab["LAB_REALM"] + `\` + lab["LAB_USER"], nil, lab["LAB_HTTP_URL"] + "/krb/whoami", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := recordSSPI(t)
			tr := wineTransport(t, lab, Password(tt.user, "not-the-password"))
			tr.SSPI = SSPIAlways
			tr.Preference = tt.prefer
			tr.DisableNTLM = tt.disableNTLM
			_, _, status, err := whoami(t, tr, tt.url)
			if status == http.StatusOK || err == nil {
				t.Fatalf("GET with a wrong password = %d, %v; want a failure", status, err)
			}
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *AuthError", err)
			}
			if !errors.Is(err, ErrRejected) && !errors.Is(err, ErrNoCredentials) && !(tt.disableNTLM && errors.Is(err, gss.ErrUnsupportedMech)) {
				t.Errorf("error = %v; want one wrapping ErrRejected or ErrNoCredentials", err)
			}
			if strings.Contains(err.Error(), "not-the-password") {
				t.Errorf("error %q shows the password", err)
			}
			t.Logf("%s: %v", tt.name, err)
			tr.CloseIdleConnections()
			rec.checkBalanced(t)
		})
	}
}

// TestWineManyHandshakes runs handshakes on new connections and checks that
// the real table got every handle back.
func TestWineManyHandshakes(t *testing.T) {
	lab := wineLab(t)
	if os.Getenv("WINE_KINIT_CCACHE") != "" {
		t.Skip("run.sh runs this test with a scratch ccache, not the kinit one")
	}
	rec := recordSSPI(t)
	n := 50
	for i := range n {
		tr := wineTransport(t, lab, Password(lab["LAB_NTLM_DOMAIN"]+`\`+lab["LAB_USER"], lab["LAB_PASSWORD"]))
		tr.SSPI = SSPIAlways
		tr.Preference = []Scheme{SchemeNTLM}
		if _, _, status, err := whoami(t, tr, lab["LAB_HTTP_URL"]+"/ntlm/whoami"); err != nil || status != http.StatusOK {
			t.Fatalf("handshake %d: %d, %v", i+1, status, err)
		}
		tr.CloseIdleConnections()
	}
	rec.checkBalanced(t)
}
