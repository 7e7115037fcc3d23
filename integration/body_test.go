//go:build integration

// Request bodies through the handshake: 1 MiB echoed intact by Apache on
// Kerberos and NTLM locations, over HTTP and HTTPS, whether or not the
// body can be got again.

package integration

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/negotiate-go/negotiate"
)

// onlyReader hides every method but Read, so http.NewRequest cannot set
// GetBody or ContentLength from it.
type onlyReader struct{ io.Reader }

func TestPostEcho(t *testing.T) {
	e := lab(t)
	payload := make([]byte, 1<<20)
	rng := rand.NewChaCha8([32]byte{'e', 'c', 'h', 'o'})
	rng.Read(payload)

	bodies := []struct {
		name   string
		maxBuf int64 // Transport.MaxBodyBuffer
		req    func(*http.Request)
	}{
		// bytes.Reader: Content-Length and GetBody.
		{"content-length", 0, func(req *http.Request) {}},
		// No GetBody, no length: chunked, read ahead to be replayed.
		{"chunked", 0, func(req *http.Request) {
			req.Body, req.GetBody, req.ContentLength = io.NopCloser(onlyReader{bytes.NewReader(payload)}), nil, 0
		}},
		// No GetBody but a length: Content-Length, read ahead.
		{"content-length, no GetBody", 0, func(req *http.Request) {
			req.Body, req.GetBody = io.NopCloser(onlyReader{bytes.NewReader(payload)}), nil
		}},
		// No GetBody and no read-ahead: the body may travel only once, on
		// the leg that can be the last.
		{"chunked, no read-ahead", -1, func(req *http.Request) {
			req.Body, req.GetBody, req.ContentLength = io.NopCloser(onlyReader{bytes.NewReader(payload)}), nil, 0
		}},
	}
	locations := []struct {
		name, path string
		creds      *negotiate.Credentials
	}{
		{"kerberos", "/krb/echo", negotiate.Password(e.principal(), e["LAB_PASSWORD"])},
		{"ntlm", "/ntlm/echo", ntlmCredentials(e, "nthash")},
	}
	for _, loc := range locations {
		for _, scheme := range []string{"http", "https"} {
			for _, b := range bodies {
				t.Run(loc.name+"/"+scheme+"/"+b.name, func(t *testing.T) {
					tr := newTransport(t, e, loc.creds)
					tr.MaxBodyBuffer = b.maxBuf
					u := e.url(scheme) + loc.path
					// Cold (the handshake) and warm (an authenticated origin).
					for _, round := range []string{"cold", "warm"} {
						r := do(t, tr, "POST", u, bytes.NewReader(payload), b.req)
						if r.err != nil || r.resp.StatusCode != http.StatusOK || r.bodyErr != nil {
							t.Fatalf("%s POST %s = %v, %v, %v; want 200 (legs %s)", round, u, r.resp, r.err, r.bodyErr, r.schemes())
						}
						if !bytes.Equal(r.body, payload) {
							t.Fatalf("%s POST %s: echoed %d bytes, equal %v; want the %d bytes sent", round, u, len(r.body), bytes.Equal(r.body, payload), len(payload))
						}
						if round == "cold" && r.tokens() == 0 {
							t.Fatalf("cold POST %s: legs %s; want a handshake", u, r.schemes())
						}
					}
				})
			}
		}
	}
}
