// Fuzz target for the proxy's answers to CONNECT: whatever bytes a proxy
// sends back, RoundTrip returns (an error or a response) without panicking,
// within the request's deadline.

package negotiate_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/negotiate-go/negotiate"
)

func FuzzConnectResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 Connection established\r\n\r\n",
		"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM TlRMTVNTUAACAAAAAAAAADgAAAAFgomiAAAAAAAAAAAAAAAAAAAAAA==\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 407 x\r\nProxy-Authenticate: Negotiate oRUwE6ADCgEDoQwGCisGAQQBgjcCAgo=\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"p\", NTLM\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad",
		"HTTP/1.0 200 OK\r\n\r\n\x16\x03\x01",
		"HTTP/1.1 407\r\nProxy-Authenticate: NTLM !!!\r\n\r\n",
		"garbage",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		base := &http.Transport{
			Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy.invalid:3128"}),
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				client, server := net.Pipe()
				go func() {
					// Read the CONNECT, answer, and hang up.
					go io.Copy(io.Discard, server)
					server.SetWriteDeadline(time.Now().Add(time.Second))
					server.Write(answer)
					server.Close()
				}()
				return client, nil
			},
		}
		tr := &negotiate.Transport{Base: base, Credentials: alice(), ProxyCredentials: bob(), MaxLegs: 3}
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://origin.invalid/", nil)
		start := time.Now()
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("RoundTrip took %v; want it bounded by the 2s deadline", took)
		}
	})
}
