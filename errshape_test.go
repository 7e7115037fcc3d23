// Tests of the one error shape (see the package documentation): a failure
// of authentication after a challenge returns that 401 or 407, with
// ResponseError saying why; errors are for the rest.

package negotiate_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// authFailure returns why authentication failed for an answer that must be
// the final challenge with the given status: ResponseError of the response.
func authFailure(t testing.TB, resp *http.Response, err error, status int) error {
	t.Helper()
	if err != nil {
		t.Fatalf("RoundTrip error %v; want the %d response and ResponseError", err, status)
	}
	if resp.StatusCode != status {
		t.Fatalf("status %d; want %d (ResponseError %v)", resp.StatusCode, status, negotiate.ResponseError(resp))
	}
	return negotiate.ResponseError(resp)
}

// TestOneErrorShape: the same failure gives the same shape whichever
// mechanism, peer or round: the final 401 or 407 as the response, and
// ResponseError wrapping the cause.
func TestOneErrorShape(t *testing.T) {
	k := newKDC(t, nil)
	krbServer := kerberosServer(t, k, httptestutil.Config{})
	ntlmServer := newNTLMServer(t, httptestutil.Config{})
	secure := httptest.NewTLSServer(httptestutil.EchoHandler())
	t.Cleanup(secure.Close)
	p := newProxy(t, httptestutil.Config{})
	wrongKrb := negotiate.Password("alice@"+realm, "wrong")
	wrongNTLM := negotiate.Password(`TEST\alice`, "wrong")
	cases := []struct {
		name   string
		tr     func() *negotiate.Transport
		url    string
		status int
		want   error
	}{
		{"NTLM wrong password", func() *negotiate.Transport { return newTransport(t, ntlmServer, wrongNTLM) }, ntlmServer.URL, 401, negotiate.ErrRejected},
		{"Kerberos wrong password", func() *negotiate.Transport {
			tr := krbTransport(t, k, wrongKrb)
			tr.DisableNTLM = true
			return tr
		}, krbServer.URL, 401, negotiate.ErrRejected},
		{"no credentials", func() *negotiate.Transport { return newTransport(t, ntlmServer, nil) }, ntlmServer.URL, 401, negotiate.ErrNoCredentials},
		{"proxy wrong password, HTTP", func() *negotiate.Transport {
			return proxyTransport(t, p.URL, nil, nil, wrongNTLM)
		}, ntlmServer.URL, 407, negotiate.ErrRejected},
		{"proxy wrong password, HTTPS", func() *negotiate.Transport {
			return proxyTransport(t, p.URL, secure, nil, wrongNTLM)
		}, secure.URL, 407, negotiate.ErrRejected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := c.tr()
			// Cold, then again once the peer is known to want
			// authentication.
			for _, round := range []string{"cold", "known"} {
				resp, err := tr.RoundTrip(mustRequest(t, "GET", c.url, nil))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				ferr := authFailure(t, resp, err, c.status)
				if !errors.Is(ferr, c.want) {
					t.Errorf("%s, %s: ResponseError = %v; want %v", c.name, round, ferr, c.want)
				}
			}
		})
	}
}
