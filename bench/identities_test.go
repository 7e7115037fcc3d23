// This file measures what a Transport keeps per identity when one service
// calls an origin on behalf of many users, each with Credentials of its own
// (a fresh value per request, as a handler would make them).

package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

const (
	identities          = 1000
	requestsPerIdentity = 5
	identityWorkers     = 8
)

// BenchmarkManyIdentities sends requestsPerIdentity requests for each of
// identities distinct users through one Transport, against a
// connection-bound Kerberos server (IIS-like), and reports per identity:
// heap bytes and goroutines (client and in-process server together) while
// the connections are idle in the pool, and again after
// CloseIdleConnections, and the AS exchanges (AS-REQ messages, two per
// login with pre-authentication) the KDC saw. Run it with -benchtime=1x:
// one iteration is identities x requestsPerIdentity requests.
func BenchmarkManyIdentities(b *testing.B) {
	k := kdc.New(b, realm, nil)
	names := make([]string, identities)
	for i := range names {
		names[i] = fmt.Sprintf("user%04d", i)
		k.AddUser(names[i], "pw-"+names[i])
	}
	s := httptestutil.NewServer(httptestutil.Config{
		Kerberos: &httptestutil.KerberosConfig{KDC: k, ConnectionBound: true},
	})
	b.Cleanup(s.Close)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap0, gr0 := ms.HeapAlloc, runtime.NumGoroutine()
		as0 := k.Stats().ASRequests
		tr := &negotiate.Transport{Base: &http.Transport{}, Krb5Config: k.Krb5ConfPath()}
		b.StartTimer()

		var wg sync.WaitGroup
		errs := make(chan error, identityWorkers)
		next := make(chan string)
		for range identityWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for name := range next {
					for range requestsPerIdentity {
						if err := sendAs(s.URL, tr, negotiate.Password(name+"@"+realm, "pw-"+name), name+"@"+realm); err != nil {
							select {
							case errs <- err:
							default:
							}
							return
						}
					}
				}
			}()
		}
		for _, n := range names {
			next <- n
		}
		close(next)
		wg.Wait()
		b.StopTimer()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heapActive, grActive := ms.HeapAlloc, runtime.NumGoroutine()
		tr.CloseIdleConnections()
		time.Sleep(200 * time.Millisecond) // connection goroutines end
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heapIdle, grIdle := ms.HeapAlloc, runtime.NumGoroutine()
		per := func(after, before float64) float64 { return (after - before) / identities }
		b.ReportMetric(per(float64(heapActive), float64(heap0)), "heapB/identity-active")
		b.ReportMetric(per(float64(grActive), float64(gr0)), "goroutines/identity-active")
		b.ReportMetric(per(float64(heapIdle), float64(heap0)), "heapB/identity-closed")
		b.ReportMetric(per(float64(grIdle), float64(gr0)), "goroutines/identity-closed")
		b.ReportMetric(per(float64(k.Stats().ASRequests), float64(as0)), "AS-REQs/identity")
		b.StartTimer()
	}
}

// sendAs sends a GET as c and checks the server saw want.
func sendAs(url string, tr *negotiate.Transport, c *negotiate.Credentials, want string) error {
	req, err := http.NewRequestWithContext(negotiate.WithCredentials(context.Background(), c), "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("X-User"); resp.StatusCode != 200 || got != want {
		return fmt.Errorf("as %s: status %d, served as %q", want, resp.StatusCode, got)
	}
	return nil
}
