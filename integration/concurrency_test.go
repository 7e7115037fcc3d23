//go:build integration

// Many goroutines through one Transport against connection-bound
// locations: no failures, no request answered for the wrong identity or
// with another mechanism, and one handshake per connection.

package integration

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/negotiate-go/negotiate"
)

func TestConcurrency(t *testing.T) {
	e := lab(t)
	const goroutines, perGoroutine = 32, 10
	tests := []struct {
		name, path string
		creds      *negotiate.Credentials
		want       whoami
	}{
		{"krb-conn", "/krb-conn/whoami", negotiate.Password(e.principal(), e["LAB_PASSWORD"]), whoami{e.principal(), "Negotiate/krb5"}},
		// NTLM-only credentials and a server offering raw NTLM: raw NTLM,
		// whatever the timing.
		{"ntlm", "/ntlm/whoami", ntlmCredentials(e, "nthash"), whoami{e.ntlmUser(), "NTLM/NTLM"}},
	}
	for _, tt := range tests {
		for _, scheme := range []string{"http", "https"} {
			t.Run(tt.name+"/"+scheme, func(t *testing.T) {
				tr := newTransport(t, e, tt.creds)
				log := openAccessLog(t, e)
				u := e.url(scheme) + tt.path
				var (
					wg         sync.WaitGroup
					handshakes atomic.Int64
					failures   = make(chan error, goroutines*perGoroutine)
					otherMech  = make(chan string, goroutines*perGoroutine)
				)
				for range goroutines {
					wg.Go(func() {
						for range perGoroutine {
							r := do(t, tr, "GET", u, nil, nil)
							switch {
							case r.err != nil:
								failures <- r.err
								continue
							case r.resp.StatusCode != 200 || r.bodyErr != nil:
								failures <- fmt.Errorf("status %d, body error %v, ResponseError %v", r.resp.StatusCode, r.bodyErr, negotiate.ResponseError(r.resp))
								continue
							}
							w := parseWhoami(r.body)
							if w.user != tt.want.user {
								failures <- fmt.Errorf("whoami = %v; want %v", w, tt.want)
								continue
							}
							if w.mech != tt.want.mech {
								otherMech <- fmt.Sprintf("%s (legs %s)", w.mech, r.schemes())
							}
							// One handshake per request at most: a first
							// leg seen twice is the same handshake started
							// again on a new connection after Apache closed
							// the first (a busy event MPM does), and that
							// connection never served a 200.
							for _, l := range r.legs {
								if l.Leg == 1 {
									handshakes.Add(1)
									break
								}
							}
						}
					})
				}
				wg.Wait()
				close(failures)
				close(otherMech)
				const total = goroutines * perGoroutine
				n := 0
				for err := range failures {
					if n < 5 {
						t.Errorf("GET %s: %v", u, err)
					}
					n++
				}
				if n > 0 {
					t.Fatalf("%d of %d requests failed", n, total)
				}
				n = 0
				for m := range otherMech {
					if n < 3 {
						t.Errorf("bug: GET %s: mechanism %s; want %s", u, m, tt.want.mech)
					}
					n++
				}
				if n > 0 {
					t.Errorf("bug: %d of %d requests used another mechanism than %s", n, total, tt.want.mech)
				}
				// Apache's view: every handshake authenticated a connection of
				// its own (a client port), and no connection needed two.
				// Apache's event MPM may close idle keep-alive connections when
				// busy, so more connections than goroutines is no failure.
				ports := map[string]bool{}
				for _, le := range log.entries(t, portsOf(t, tr), tt.path, total) {
					if le.status == "200" {
						ports[le.port] = true
					}
				}
				if h := handshakes.Load(); h != int64(len(ports)) {
					t.Errorf("%d handshakes on %d connections; want one per connection", h, len(ports))
				}
				t.Logf("%d requests by %d goroutines: %d handshakes, %d connections", total, goroutines, handshakes.Load(), len(ports))
			})
		}
	}
}
