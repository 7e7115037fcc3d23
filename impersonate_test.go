package negotiate_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// TestImpersonate: a service account's credentials reach the server as
// another user through S4U2Self and S4U2Proxy at the in-process KDC, with
// mutual authentication; the KDC's refusals come as typed errors.
func TestImpersonate(t *testing.T) {
	k := newKDC(t, nil)
	k.AddUser("dave", "dave-pw")
	k.SetSensitive("dave", true)
	k.AddUser("websvc", "websvc-pw")
	k.AddUser("plainsvc", "plainsvc-pw")
	s := kerberosServer(t, k, httptestutil.Config{})
	k.SetConstrainedDelegation("websvc", true, "HTTP/localhost")
	web := negotiate.Password("websvc@"+realm, "websvc-pw")

	tr := krbTransport(t, k, negotiate.Impersonate(web, "alice"))
	tr.Mutual = negotiate.MutualRequired
	for i := range 2 {
		resp, legs, err := legsOf(t, tr, "GET", s.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("X-User") != "alice@"+realm {
			t.Fatalf("request %d: status %d user %q; want 200 alice@%s (%v)", i, resp.StatusCode, resp.Header.Get("X-User"), realm, negotiate.ResponseError(resp))
		}
		if last := legs[len(legs)-1]; last.Scheme != negotiate.SchemeNegotiate || last.Received == nil {
			t.Fatalf("request %d: last leg %q without the AP-REP", i, last.Scheme)
		}
	}
	if st := k.Stats(); st.S4U2Self != 1 || st.S4U2Proxy != 1 {
		t.Errorf("S4U2Self %d, S4U2Proxy %d; want 1 and 1 for two requests", st.S4U2Self, st.S4U2Proxy)
	}
	if got, want := negotiate.Impersonate(web, "alice").String(), "alice (impersonated by websvc@"+realm+")"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}

	for _, tt := range []struct {
		name  string
		creds *negotiate.Credentials
		want  error
	}{
		{"untrusted service", negotiate.Impersonate(negotiate.Password("plainsvc@"+realm, "plainsvc-pw"), "alice"), negotiate.ErrNoProtocolTransition},
		{"sensitive user", negotiate.Impersonate(web, "dave"), negotiate.ErrUserNotDelegable},
		{"no service credentials", negotiate.Impersonate(nil, "alice"), negotiate.ErrNoCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := krbTransport(t, k, tt.creds)
			resp, _, err := legsOf(t, tr, "GET", s.URL, nil)
			if err == nil {
				if resp.StatusCode == http.StatusOK {
					t.Fatalf("got a 200")
				}
				err = negotiate.ResponseError(resp)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v; want %v", err, tt.want)
			}
		})
	}
	t.Run("SPN not allowed", func(t *testing.T) {
		k.SetConstrainedDelegation("websvc", true, "HTTP/elsewhere")
		defer k.SetConstrainedDelegation("websvc", true, "HTTP/localhost")
		tr := krbTransport(t, k, negotiate.Impersonate(web, "alice"))
		resp, _, err := legsOf(t, tr, "GET", s.URL, nil)
		if err == nil {
			err = negotiate.ResponseError(resp)
		}
		if !errors.Is(err, negotiate.ErrDelegationNotAllowed) || !errors.Is(err, negotiate.ErrRejected) {
			t.Fatalf("error %v; want ErrDelegationNotAllowed", err)
		}
	})
}

// TestImpersonateSharesTickets: new Impersonate values for the same
// service credentials and user reuse the tickets (one S4U2Self and one
// S4U2Proxy), as a handler that makes them per request needs.
func TestImpersonateSharesTickets(t *testing.T) {
	k := newKDC(t, nil)
	k.AddUser("websvc", "websvc-pw")
	s := kerberosServer(t, k, httptestutil.Config{})
	k.SetConstrainedDelegation("websvc", true, "HTTP/localhost")
	web := negotiate.Password("websvc@"+realm, "websvc-pw")
	tr := krbTransport(t, k, nil)
	for i := range 3 {
		req, _ := http.NewRequestWithContext(negotiate.WithCredentials(context.Background(), negotiate.Impersonate(web, "alice")), "GET", s.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-User") != "alice@"+realm {
			t.Fatalf("request %d: status %d user %q", i, resp.StatusCode, resp.Header.Get("X-User"))
		}
	}
	if st := k.Stats(); st.S4U2Self != 1 || st.S4U2Proxy != 1 || st.ASRequests > 2 {
		t.Errorf("S4U2Self %d, S4U2Proxy %d, AS %d; want 1, 1 and at most 2 (pre-auth)", st.S4U2Self, st.S4U2Proxy, st.ASRequests)
	}
}
