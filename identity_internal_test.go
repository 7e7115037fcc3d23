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

func TestIdentityOfNil(t *testing.T) {
	if (&Transport{}).identityOf(nil) != (identity{}) {
		t.Errorf("identityOf(nil) is not the zero identity")
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
		if n := tr.mech.KerberosClients(); n > 4 {
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
