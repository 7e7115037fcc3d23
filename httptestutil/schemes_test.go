// Tests of Config.Schemes as what a Server accepts, Basic included, and of
// User for a client that named no domain.

package httptestutil_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// getWith sends one GET with the Authorization value auth ("" for none) and
// returns the status and X-User (or, on a 401, the WWW-Authenticate
// fields).
func getWith(t testing.TB, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return resp.StatusCode, strings.Join(resp.Header.Values("Www-Authenticate"), ", ")
	}
	return resp.StatusCode, resp.Header.Get("X-User")
}

func TestBasicOffered(t *testing.T) {
	users := map[string]string{`LAB\bob`: "b0b-pass", "carol": "car0l-pass"}
	basic := func(user, pass string) string {
		r, _ := http.NewRequest("GET", "http://x/", nil)
		r.SetBasicAuth(user, pass)
		return r.Header.Get("Authorization")
	}
	withBasic := httptestutil.NewServer(httptestutil.Config{Users: users, Schemes: []string{"NTLM", `Basic realm="test"`}})
	defer withBasic.Close()
	without := httptestutil.NewServer(httptestutil.Config{Users: users})
	defer without.Close()
	tests := []struct {
		name      string
		url, auth string
		code      int
		wantUser  string
	}{
		{"Basic, domain user", withBasic.URL, basic(`LAB\bob`, "b0b-pass"), 200, `LAB\bob`},
		{"Basic, bare user", withBasic.URL, basic("carol", "car0l-pass"), 200, "carol"},
		{"Basic, wrong password", withBasic.URL, basic(`LAB\bob`, "wrong"), 401, `NTLM, Basic realm="test"`},
		{"Basic, wrong domain", withBasic.URL, basic(`OTHER\bob`, "b0b-pass"), 401, `NTLM, Basic realm="test"`},
		{"Basic not offered", without.URL, basic(`LAB\bob`, "b0b-pass"), 401, "Negotiate, NTLM"},
		{"Negotiate not offered", withBasic.URL, "Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAF1YAAAADw==", 401, `NTLM, Basic realm="test"`},
	}
	for _, tt := range tests {
		code, user := getWith(t, tt.url, tt.auth)
		if code != tt.code || user != tt.wantUser {
			t.Errorf("%s: status %d user %q; want %d %q", tt.name, code, user, tt.code, tt.wantUser)
		}
	}
	if st := without.Stats(); st.Handshakes != 0 {
		t.Errorf("server without Basic counted %d handshakes", st.Handshakes)
	}
}

// TestUserWithoutDomain: an NTLM client that names no domain is reported
// as the bare user, not `\user`.
func TestUserWithoutDomain(t *testing.T) {
	s := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{"alice": "al1ce-pass"}})
	defer s.Close()
	for _, tt := range []struct{ creds, want string }{{"alice", "alice"}, {`CORP\alice`, `CORP\alice`}} {
		c := &http.Client{Transport: &negotiate.Transport{Credentials: negotiate.Password(tt.creds, "al1ce-pass"), Preference: []negotiate.Scheme{negotiate.SchemeNTLM}}}
		resp, err := c.Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-User"); resp.StatusCode != 200 || got != tt.want {
			t.Errorf("User for %q = %q (status %d); want %q", tt.creds, got, resp.StatusCode, tt.want)
		}
	}
}
