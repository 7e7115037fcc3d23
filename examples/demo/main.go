// Command demo shows the negotiate Transport at work with nothing to
// install: it starts an NTLM-protected test server (and, for Kerberos, an
// in-process KDC) on loopback, makes authenticated requests through the
// Transport, prints every leg (status, scheme and token sizes) and says in
// one line what each count proves.
//
//	go run ./examples/demo
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	fmt.Fprintln(w, "== NTLM: a server that plays IIS (Negotiate and NTLM offered, auth kept per connection)")
	srv := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{`CORP\alice`: "correct horse"}})
	defer srv.Close()
	tr := &negotiate.Transport{Credentials: negotiate.Password(`CORP\alice`, "correct horse")}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	if err := request(w, client, "GET", srv.URL+"/hello", nil); err != nil {
		return err
	}
	body := []byte(strings.Repeat("a request body that must arrive whole; ", 100))
	if err := request(w, client, "POST", srv.URL+"/echo", body); err != nil {
		return err
	}
	if err := request(w, client, "GET", srv.URL+"/again", nil); err != nil {
		return err
	}
	st := srv.Stats()
	fmt.Fprintf(w, "server: %d connections, %d handshake(s), %d authenticated requests\n", st.Connections, st.Handshakes, st.Authenticated)
	fmt.Fprintf(w, "  what it proves: %d handshake for %d requests, because NTLM authenticates a connection and the Transport keeps it for the same user;\n", st.Handshakes, st.Authenticated)
	fmt.Fprintf(w, "  %d connections, because the first try goes without credentials through the ordinary pool and the handshake on a connection of its own\n\n", st.Connections)

	fmt.Fprintln(w, "== A wrong password: the 401 comes back, and ResponseError says why")
	bad := &http.Client{Transport: &negotiate.Transport{Credentials: negotiate.Password(`CORP\alice`, "wrong")}}
	resp, err := bad.Do(traced(w, "GET", srv.URL+"/", nil))
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Fprintf(w, "result: %s; why: %v\n", resp.Status, negotiate.ResponseError(resp))
	return runKerberos(w)
}

// request sends one request, printing its legs, and checks the answer.
func request(w io.Writer, client *http.Client, method, url string, body []byte) error {
	fmt.Fprintf(w, "%s %s\n", method, url)
	resp, err := client.Do(traced(w, method, url, body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s (%v)", method, url, resp.Status, negotiate.ResponseError(resp))
	}
	if body != nil && !bytes.Equal(got, body) {
		return fmt.Errorf("%s %s: the echoed body differs from the one sent", method, url)
	}
	fmt.Fprintf(w, "result: %s as %s, %d body bytes echoed intact\n", resp.Status, resp.Header.Get("X-User"), len(got))
	return nil
}

// traced makes a request whose legs are printed to w.
func traced(w io.Writer, method, url string, body []byte) *http.Request {
	ctx := negotiate.WithClientTrace(context.Background(), &negotiate.ClientTrace{Leg: func(l negotiate.LegInfo) {
		sent := "no token"
		if l.Sent != nil {
			sent = fmt.Sprintf("%s token, %d bytes", l.Scheme, len(l.Sent))
		}
		got := ""
		if l.Received != nil {
			got = fmt.Sprintf(", server token %d bytes", len(l.Received))
		}
		reused := ""
		if l.Reused {
			reused = " on the kept authenticated connection"
		}
		fmt.Fprintf(w, "  leg %d: sent %s%s -> %d%s\n", l.Leg, sent, reused, l.Response.StatusCode, got)
	}})
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, r)
	return req
}
