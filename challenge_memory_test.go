package negotiate_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// allocated returns the bytes allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeChallengeMemory: a 401 with about 9.5 MB of WWW-Authenticate
// (just under net/http's default MaxResponseHeaderBytes), on a handshake
// leg with a trace installed, costs the Transport at most twice what
// net/http alone allocates to read it.
func TestHugeChallengeMemory(t *testing.T) {
	const size = 9_500_000
	shapes := map[string][]string{
		"one line of challenges":  {strings.Repeat("NTLM, ", size/6)},
		"many lines":              strings.Split(strings.TrimSuffix(strings.Repeat("Negotiate\n", size/30), "\n"), "\n"),
		"one huge token68":        {"Negotiate " + strings.Repeat("A", size)},
		"one huge parameter list": {"Basic " + strings.Repeat("a=b, ", size/5)},
	}
	for name, lines := range shapes {
		t.Run(name, func(t *testing.T) {
			// The huge challenge answers a request that carries a token
			// (a handshake leg, traced) and, on its own, the first try.
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") == "" && r.URL.Path == "/leg" {
					w.Header().Set("Www-Authenticate", "NTLM")
				} else {
					w.Header()["Www-Authenticate"] = lines
				}
				w.WriteHeader(http.StatusUnauthorized)
			}))
			defer s.Close()
			trace := &negotiate.ClientTrace{Leg: func(negotiate.LegInfo) {}}
			get := func(rt http.RoundTripper) {
				req := mustRequest(t, "GET", s.URL, nil)
				if _, ok := rt.(*http.Transport); ok {
					req.Header.Set("Authorization", "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==")
				} else {
					req.URL.Path = "/leg"
					req = req.WithContext(negotiate.WithClientTrace(req.Context(), trace))
				}
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 401 {
					t.Fatalf("status %d; want 401", resp.StatusCode)
				}
			}
			plain := &http.Transport{}
			defer plain.CloseIdleConnections()
			tr := &negotiate.Transport{Base: &http.Transport{}, Credentials: alice()}
			defer tr.CloseIdleConnections()
			get(plain) // warm both up: connections, buffers
			get(tr)
			netHTTP := allocated(func() { get(plain) })
			ours := allocated(func() { get(tr) })
			t.Logf("%s: net/http alone %.1f MB, Transport %.1f MB", name, float64(netHTTP)/1e6, float64(ours)/1e6)
			if ours > 2*netHTTP {
				t.Errorf("%s: the Transport allocated %d bytes; want at most twice net/http's %d", name, ours, netHTTP)
			}
		})
	}
}
