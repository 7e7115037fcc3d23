package negotiate_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// ProxyPreference, not Preference, decides whether Negotiate may stand
// down to raw NTLM with a proxy: with Negotiate alone allowed for the
// proxy, NTLM travels inside SPNEGO even where the origin may use raw NTLM,
// and the other way round.
func TestProxyPreferenceDecidesRawNTLM(t *testing.T) {
	origin := newNTLMServer(t, httptestutil.Config{})
	neg, ntlm := negotiate.SchemeNegotiate, negotiate.SchemeNTLM
	tests := []struct {
		prefer, proxyPrefer []negotiate.Scheme
		want                string // the scheme of the proxy's tokens
	}{
		{[]negotiate.Scheme{neg, ntlm}, []negotiate.Scheme{neg}, "Negotiate"},
		{[]negotiate.Scheme{neg}, []negotiate.Scheme{neg, ntlm}, "NTLM"},
		{[]negotiate.Scheme{neg}, nil, "Negotiate"},
	}
	for _, tt := range tests {
		p := newProxy(t, httptestutil.Config{})
		// The proxy is an IP literal: no SPN, so Kerberos cannot work and
		// NTLM stands in, raw or inside SPNEGO.
		tr := proxyTransport(t, p.URL, nil, alice(), bob())
		tr.Preference, tr.ProxyPreference = tt.prefer, tt.proxyPrefer
		var schemes []string
		ctx := negotiate.WithClientTrace(context.Background(), &negotiate.ClientTrace{Leg: func(l negotiate.LegInfo) {
			if l.ProxySent != nil {
				schemes = append(schemes, l.ProxyScheme.String())
			}
		}})
		req, _ := http.NewRequestWithContext(ctx, "GET", origin.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("Preference %v, ProxyPreference %v: %v", tt.prefer, tt.proxyPrefer, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(schemes) == 0 {
			t.Fatalf("Preference %v, ProxyPreference %v: status %d, proxy legs %v", tt.prefer, tt.proxyPrefer, resp.StatusCode, schemes)
		}
		for _, s := range schemes {
			if s != tt.want {
				t.Errorf("Preference %v, ProxyPreference %v: proxy legs %v; want %s only", tt.prefer, tt.proxyPrefer, schemes, tt.want)
				break
			}
		}
	}
}
