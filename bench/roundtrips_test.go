// This file holds the round-trip tests: what a fresh handshake, a known
// origin and a warm Kerberos origin cost, counted by the servers. They are
// counts, not timings, so they are tests that can fail, not benchmarks.

package bench

import (
	"context"
	"testing"
)

// A step is one request of a sequence against one server and one client,
// with what the server should count for it.
type step struct {
	name          string
	closeIdle     bool   // close the client's idle connections first
	method        string // GET, or POST with a 64 KiB body
	roundTrips    int64  // requests the server answered, 401s included
	handshakes    int64  // handshakes that succeeded
	newConns      int64  // TCP connections accepted
	tgs           int    // TGS exchanges at the KDC
	checkNewConns bool   // newConns is checked (the baseline pool may add any)
}

func TestRoundTrips(t *testing.T) {
	tests := []struct {
		client string // a case of cases, by name
		steps  []step
	}{
		{"ntlm", []step{
			// Unknown origin: unauthenticated try (401 Negotiate, NTLM),
			// NEGOTIATE (401 CHALLENGE), AUTHENTICATE (200). The first try
			// goes through Base's pool, the handshake on a connection of
			// its own.
			{name: "unknown origin", method: "GET", roundTrips: 3, handshakes: 1},
			// Known to want NTLM: the handshake starts at once on a new
			// connection.
			{name: "known origin, new connection", closeIdle: true, method: "GET", roundTrips: 2, handshakes: 1, newConns: 1, checkNewConns: true},
			{name: "known origin, new connection, POST", closeIdle: true, method: "POST", roundTrips: 2, handshakes: 1, newConns: 1, checkNewConns: true},
			// The authenticated connection is kept: no token at all.
			{name: "authenticated connection", method: "GET", roundTrips: 1, newConns: 0, checkNewConns: true},
			{name: "authenticated connection, POST", method: "POST", roundTrips: 1, newConns: 0, checkNewConns: true},
		}},
		{"ntlm", []step{
			{name: "unknown origin, POST", method: "POST", roundTrips: 3, handshakes: 1},
		}},
		{"go-ntlmssp", []step{
			// The peer, for comparison: it tries without credentials
			// every time, so a new connection always costs 3.
			{name: "unknown origin", method: "GET", roundTrips: 3, handshakes: 1},
			{name: "known origin, new connection", closeIdle: true, method: "GET", roundTrips: 3, handshakes: 1, newConns: 1, checkNewConns: true},
			{name: "authenticated connection", method: "GET", roundTrips: 1, newConns: 0, checkNewConns: true},
		}},
		{"krb", []step{
			// Cold: unauthenticated try, then the AP-REQ; one TGS.
			{name: "unknown origin", method: "GET", roundTrips: 2, handshakes: 1, tgs: 1},
			// Warm: the token goes on the first try, the ticket is cached.
			{name: "warm origin", method: "GET", roundTrips: 1, handshakes: 1},
			{name: "warm origin, POST", method: "POST", roundTrips: 1, handshakes: 1},
			{name: "warm origin, new connection", closeIdle: true, method: "GET", roundTrips: 1, handshakes: 1, newConns: 1, checkNewConns: true},
		}},
		{"krb-bound", []step{
			{name: "unknown origin", method: "GET", roundTrips: 2, handshakes: 1, tgs: 1},
			// The server keeps the connection authenticated.
			{name: "authenticated connection", method: "GET", roundTrips: 1, newConns: 0, checkNewConns: true},
			{name: "warm origin, new connection", closeIdle: true, method: "POST", roundTrips: 1, handshakes: 1, newConns: 1, checkNewConns: true},
		}},
	}
	k := newKDC(t)
	payload := make([]byte, postSize)
	for _, tt := range tests {
		cc := caseNamed(t, tt.client)
		t.Run(tt.client+"/"+tt.steps[0].name, func(t *testing.T) {
			url, stats := newServer(t, cc.server, k)
			c := cc.setup(t, &env{url: url, kdc: k, base: newBase(t)})
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			defer cancel()
			for _, st := range tt.steps {
				if st.closeIdle {
					c.CloseIdleConnections()
				}
				s := &sender{c: c, ctx: ctx, url: url, method: st.method}
				if st.method == "POST" {
					s.payload = payload
				}
				before, tgs0 := stats(), k.Stats().TGSRequests
				if err := s.send(); err != nil {
					t.Fatalf("%s: %s: %v", st.name, st.method, err)
				}
				d, tgs := stats().sub(before), k.Stats().TGSRequests-tgs0
				if d.roundTrips != st.roundTrips {
					t.Errorf("%s: round trips = %d; want %d", st.name, d.roundTrips, st.roundTrips)
				}
				if d.handshakes != st.handshakes {
					t.Errorf("%s: handshakes = %d; want %d", st.name, d.handshakes, st.handshakes)
				}
				if st.checkNewConns && d.conns != st.newConns {
					t.Errorf("%s: new connections = %d; want %d", st.name, d.conns, st.newConns)
				}
				if tgs != st.tgs {
					t.Errorf("%s: TGS exchanges = %d; want %d", st.name, tgs, st.tgs)
				}
			}
		})
	}
}

// caseNamed returns the client case called name.
func caseNamed(tb testing.TB, name string) clientCase {
	tb.Helper()
	for _, cc := range cases {
		if cc.name == name {
			return cc
		}
	}
	tb.Fatalf("no client case %q", name)
	return clientCase{}
}
