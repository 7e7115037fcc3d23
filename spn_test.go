package negotiate_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"golang.org/x/net/dns/dnsmessage"
)

// cnameDNS answers DNS queries on 127.0.0.1: alias -> CNAME canonical, and
// canonical -> A 127.0.0.1. It returns a resolver that asks it.
func cnameDNS(t *testing.T, alias, canonical string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			name := q.Name
			if strings.EqualFold(q.Name.String(), alias+".") {
				target := dnsmessage.MustNewName(canonical + ".")
				b.CNAMEResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.CNAMEResource{CNAME: target})
				name = target
			}
			if q.Type == dnsmessage.TypeA {
				b.AResource(dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
			}
			msg, err := b.Finish()
			if err == nil {
				pc.WriteTo(msg, addr)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// TestSPNCanonicalize: behind a CNAME, the SPN names the canonical host
// only when asked to, and the Host header is never rewritten.
func TestSPNCanonicalize(t *testing.T) {
	k := newKDC(t, nil)
	var hosts []string
	s := kerberosServer(t, k, httptestutil.Config{
		Kerberos: &httptestutil.KerberosConfig{SPN: "HTTP/real.example.test"},
		Handler:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hosts = append(hosts, r.Host) }),
	})
	addr := strings.TrimPrefix(s.URL, "http://localhost")
	url := "http://alias.example.test" + addr + "/"
	resolver := cnameDNS(t, "alias.example.test", "real.example.test")
	for _, canonicalize := range []bool{true, false} {
		tr := krbTransport(t, k, krbAlice())
		tr.DisableNTLM = true
		tr.Base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, "127.0.0.1"+addr)
		}
		tr.SPN = negotiate.SPNPolicy{Canonicalize: canonicalize, Resolver: resolver}
		resp, _, err := legsOf(t, tr, "GET", url, nil)
		if canonicalize {
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("canonicalized: %v %v", resp, err)
			}
			if hosts[len(hosts)-1] != "alias.example.test"+addr {
				t.Errorf("Host = %q; want the alias the caller asked for", hosts[len(hosts)-1])
			}
			continue
		}
		err = authFailure(t, resp, err, 401)
		if !errors.Is(err, negotiate.ErrUnknownPrincipal) || !strings.Contains(err.Error(), "HTTP/alias.example.test") {
			t.Fatalf("not canonicalized: err = %v; want ErrUnknownPrincipal for HTTP/alias.example.test", err)
		}
	}
}
