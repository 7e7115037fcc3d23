package negotiate

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

func TestStaticIdentity(t *testing.T) {
	same := []struct{ a, b *Credentials }{
		{Password(`D\u`, "p"), Password(`D\u`, "p")},
		{NTHash(`D\u`, []byte{1, 2}), NTHash(`D\u`, []byte{1, 2})},
		{Keytab("u@R", "/k"), Keytab("u@R", "/k")},
	}
	for _, tt := range same {
		if tt.a.static != tt.b.static {
			t.Errorf("identity(%v) != identity(%v); want equal values to be one identity", tt.a, tt.b)
		}
	}
	distinct := []*Credentials{
		Password(`D\u`, "p"),
		Password(`D\u`, "q"),
		Password(`E\u`, "p"),
		Password(`D\v`, "p"),
		Password(`u@D`, "p"), // a UPN is typed differently from D\u
		Password("u", "p"),
		Password("", "p"),
		Password(`D\u`, ""),
		Password(`ab\c`, "p"), // length prefixes keep field boundaries apart
		Password(`a\bc`, "p"),
		NTHash(`D\u`, []byte("p")), // a hash is not the password
		NTHash(`D\u`, nil),
		Keytab("u@R", "/k"),
		Keytab("u@R", "/k2"),
		Keytab("v@R", "/k"),
	}
	seen := map[identity]string{}
	for _, c := range distinct {
		id := c.static
		if prev, ok := seen[id]; ok {
			t.Errorf("identity(%#v) == identity(%s); want distinct", c, prev)
		}
		seen[id] = fmt.Sprintf("%#v", c)
	}
	if (&Transport{}).identityOf(nil) != (identity{}) {
		t.Errorf("identityOf(nil) is not the zero identity")
	}
}

func TestLRU(t *testing.T) {
	c := newLRU[string, int](2)
	c.put("a", 1)
	c.put("b", 2)
	c.get("a") // b is now the least recently used
	c.put("c", 3)
	if _, ok := c.get("b"); ok {
		t.Errorf("b survived; want the least recently used entry forgotten")
	}
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Errorf("get(a) = %d, %v; want 1, true", v, ok)
	}
	if got := c.add("a", 9, func(int) bool { return true }); got != 1 {
		t.Errorf("add over a kept value = %d; want the stored 1", got)
	}
	if got := c.add("a", 9, func(int) bool { return false }); got != 9 {
		t.Errorf("add over a value not kept = %d; want 9", got)
	}
	if c.len() != 2 {
		t.Errorf("len = %d; want 2", c.len())
	}
}

// manyUsers returns n users for a test server and their credentials.
func manyUsers(n int) (map[string]string, []func() *Credentials) {
	users := map[string]string{}
	var creds []func() *Credentials
	for i := range n {
		name, pass := fmt.Sprintf(`TEST\user%d`, i), fmt.Sprintf("pw-%d", i)
		users[name] = pass
		creds = append(creds, func() *Credentials { return Password(name, pass) })
	}
	return users, creds
}

func sendAs(t *testing.T, tr *Transport, url string, c *Credentials) {
	t.Helper()
	req, _ := http.NewRequestWithContext(WithCredentials(context.Background(), c), "GET", url, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("as %v: status %d", c, resp.StatusCode)
	}
}

// waitFor polls cond for up to two seconds.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// However many identities a Transport serves, it keeps at most
// Base.MaxIdleConns idle authenticated connections, and once they are
// closed its goroutines are back where they started.
func TestPoolBoundedAcrossIdentities(t *testing.T) {
	users, creds := manyUsers(40)
	s := httptestutil.NewServer(httptestutil.Config{Users: users})
	defer s.Close()
	base := s.Client().Transport.(*http.Transport).Clone()
	base.MaxIdleConns = 8
	tr := &Transport{Base: base}
	before, fdsBefore := runtime.NumGoroutine(), openFiles()
	for round := range 2 {
		for i, c := range creds {
			sendAs(t, tr, s.URL, c())
			if n := tr.pool.len(); n > 8 {
				t.Fatalf("round %d, after %d identities: %d idle connections; want at most 8", round, i+1, n)
			}
		}
	}
	if n := tr.pool.len(); n != 8 {
		t.Errorf("idle connections = %d; want the cap, 8", n)
	}
	// The 8 most recently used identities kept theirs: no new handshake.
	hs := s.Stats().Handshakes
	for _, c := range creds[len(creds)-8:] {
		sendAs(t, tr, s.URL, c())
	}
	if got := s.Stats().Handshakes; got != hs {
		t.Errorf("the 8 most recent identities cost %d new handshakes; want 0", got-hs)
	}
	tr.CloseIdleConnections()
	if n := tr.pool.len(); n != 0 {
		t.Errorf("after CloseIdleConnections: %d idle connections", n)
	}
	if !waitFor(func() bool { return runtime.NumGoroutine() <= before }) {
		t.Errorf("goroutines: %d before, %d after closing the idle connections", before, runtime.NumGoroutine())
	}
	if !waitFor(func() bool { return openFiles() <= fdsBefore }) {
		t.Errorf("open files: %d before, %d after closing the idle connections", fdsBefore, openFiles())
	}
}

// openFiles counts the process's open file descriptors, 0 where /proc is
// missing.
func openFiles() int {
	fds, _ := os.ReadDir("/proc/self/fd")
	return len(fds)
}

func TestPoolIdleTimeout(t *testing.T) {
	users, creds := manyUsers(3)
	s := httptestutil.NewServer(httptestutil.Config{Users: users})
	defer s.Close()
	base := s.Client().Transport.(*http.Transport).Clone()
	base.IdleConnTimeout = 100 * time.Millisecond
	tr := &Transport{Base: base}
	defer tr.CloseIdleConnections()
	for _, c := range creds {
		sendAs(t, tr, s.URL, c())
	}
	if n := tr.pool.len(); n != 3 {
		t.Fatalf("idle connections = %d; want 3", n)
	}
	if !waitFor(func() bool { return tr.pool.len() == 0 }) {
		t.Errorf("idle connections after the idle timeout: %d; want 0", tr.pool.len())
	}
}

// Kerberos clients (TGTs and service tickets) are kept for at most
// MaxIdentities identities, the least recently used forgotten first.
func TestKerberosIdentitiesBounded(t *testing.T) {
	const realm = "BOUND.TEST"
	k := kdc.New(t, realm, nil)
	s := httptestutil.NewServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{
		SPN: "HTTP/127.0.0.1", Keytab: k.AddService("HTTP/127.0.0.1"),
	}})
	defer s.Close()
	var creds []func() *Credentials
	for i := range 10 {
		name, pass := fmt.Sprintf("user%d", i), fmt.Sprintf("pw-%d", i)
		k.AddUser(name, pass)
		creds = append(creds, func() *Credentials { return Password(name+"@"+realm, pass) })
	}
	tr := &Transport{Base: &http.Transport{}, Krb5Config: k.Krb5ConfPath(), MaxIdentities: 4,
		SPN: SPNPolicy{Hosts: map[string]string{"127.0.0.1": "HTTP/127.0.0.1"}}}
	defer tr.CloseIdleConnections()
	for _, c := range creds {
		sendAs(t, tr, s.URL, c())
		if n := tr.krb.clients.len(); n > 4 {
			t.Fatalf("%d Kerberos clients kept; want at most 4", n)
		}
	}
	as := k.Stats().ASRequests
	// The four most recent identities still hold their TGTs...
	for _, c := range creds[6:] {
		sendAs(t, tr, s.URL, c())
	}
	if got := k.Stats().ASRequests - as; got != 0 {
		t.Errorf("the 4 most recent identities cost %d AS exchanges; want 0", got)
	}
	// ...and a forgotten one logs in again.
	sendAs(t, tr, s.URL, creds[0]())
	if got := k.Stats().ASRequests - as; got < 1 {
		t.Errorf("a forgotten identity cost %d AS exchanges; want at least 1", got)
	}
}

// Impersonate credentials are the pair of the service's identity and the
// user: fresh equal values share, any difference does not.
func TestImpersonateIdentity(t *testing.T) {
	tr := &Transport{}
	svc := func(pw string) *Credentials { return Password("websvc@AD.TEST", pw) }
	a1 := tr.identityOf(Impersonate(svc("p"), "alice"))
	a2 := tr.identityOf(Impersonate(svc("p"), "alice"))
	if a1 != a2 {
		t.Errorf("Impersonate with equal values: two identities; want one")
	}
	for _, c := range []*Credentials{
		Impersonate(svc("p"), "bob"),
		Impersonate(svc("q"), "alice"),
		svc("p"),
		Password("alice", "p"),
	} {
		if tr.identityOf(c) == a1 {
			t.Errorf("identity(%v) == identity(Impersonate(websvc, alice)); want distinct", c)
		}
	}
}
