package negotiate_test

// Examples of the common set-ups, each against in-process servers (and a
// KDC) from httptestutil, so that they run in go test as they are shown.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// Kerberos with a keytab, as a service account or a batch job logs in:
// the Transport gets a ticket from the KDC that krb5.conf names and
// verifies the server's answer (mutual authentication, required by
// default).
func ExampleTransport_kerberosKeytab() {
	// The realm: an in-process KDC, a web server with its service key,
	// and the account's keytab on disk.
	k, err := kdc.Start("EXAMPLE.TEST", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	k.AddUser("batch", "a long random password")
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keytab := filepath.Join(dir, "batch.keytab")
	if err := k.WriteKeytab(keytab, "batch"); err != nil {
		log.Fatal(err)
	}
	// The server's key for HTTP/localhost comes from the KDC; its URL
	// names localhost, the host of that SPN.
	srv := httptestutil.NewServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{KDC: k}})
	defer srv.Close()

	// The client.
	tr := &negotiate.Transport{
		Credentials: negotiate.Keytab("batch@EXAMPLE.TEST", keytab),
		Krb5Config:  k.Krb5ConfPath(), // "" means KRB5_CONFIG, else /etc/krb5.conf
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("X-User"))
	// Output: 200 OK batch@EXAMPLE.TEST
}

// A proxy that wants its own credentials (407): ProxyCredentials go to the
// proxy only, Credentials to the origin only. The proxy comes from Base's
// Proxy func (by default HTTP_PROXY, HTTPS_PROXY and NO_PROXY).
func ExampleTransport_proxy() {
	proxy := httptestutil.NewServer(httptestutil.Config{Proxy: true, Users: map[string]string{`CORP\gateway`: "proxy pass"}})
	defer proxy.Close()
	origin := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{`CORP\alice`: "s3cret"}})
	defer origin.Close()
	proxyURL, _ := url.Parse(proxy.URL)

	tr := &negotiate.Transport{
		Base:             &http.Transport{Proxy: http.ProxyURL(proxyURL)},
		Credentials:      negotiate.Password(`CORP\alice`, "s3cret"),
		ProxyCredentials: negotiate.Password(`CORP\gateway`, "proxy pass"),
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(origin.URL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, "origin user:", resp.Header.Get("X-User"), "proxy user:", resp.Header.Get("X-Proxy-User"))
	// Output: 200 OK origin user: CORP\alice proxy user: CORP\gateway
}

// Base carries the TLS settings (a private CA here), timeouts and the
// proxy; the Transport authenticates on top of it. Over TLS the tokens are
// bound to the server's certificate (channel bindings), as Extended
// Protection requires.
func ExampleTransport_customBase() {
	srv := httptestutil.NewTLSServer(httptestutil.Config{
		Users:              map[string]string{`CORP\alice`: "s3cret"},
		ExtendedProtection: httptestutil.EPARequire,
	})
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate()) // in real life: the company CA's PEM file

	tr := &negotiate.Transport{
		Base: &http.Transport{
			TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			Proxy:                 http.ProxyFromEnvironment,
		},
		Credentials: negotiate.Password(`CORP\alice`, "s3cret"),
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("X-User"), "over TLS:", resp.TLS != nil)
	// Output: 200 OK CORP\alice over TLS: true
}

// A service that calls a Windows-authenticated backend as each of its own
// users: one shared Transport, and the user's credentials in each
// request's context. Connections authenticated as one user never carry
// another's request.
func ExampleWithCredentials() {
	backend := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{
		`CORP\alice`: "alice pass", `CORP\bob`: "bob pass",
	}})
	defer backend.Close()

	// Made once per user (from a vault, say) and reused: the Transport
	// keeps each user's authenticated connections and tickets.
	creds := map[string]*negotiate.Credentials{
		"alice": negotiate.Password(`CORP\alice`, "alice pass"),
		"bob":   negotiate.Password(`CORP\bob`, "bob pass"),
	}
	tr := &negotiate.Transport{} // shared; no default Credentials
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-Caller") // however the service knows its caller
		ctx := negotiate.WithCredentials(r.Context(), creds[user])
		req, _ := http.NewRequestWithContext(ctx, "GET", backend.URL+"/report", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		fmt.Fprintf(w, "%s as %s", resp.Status, resp.Header.Get("X-User"))
	})

	for _, caller := range []string{"alice", "bob", "alice"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Caller", caller)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(caller+":", rec.Body.String())
	}
	fmt.Println("handshakes:", backend.Stats().Handshakes)
	// Output:
	// alice: 200 OK as CORP\alice
	// bob: 200 OK as CORP\bob
	// alice: 200 OK as CORP\alice
	// handshakes: 2
}

// A rejected login is a 401 response, not an error; ResponseError says
// why, for errors.Is to branch on, and its message names the scheme, the
// host and the leg.
func ExampleResponseError_rejected() {
	srv := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{`CORP\alice`: "s3cret"}})
	defer srv.Close()
	tr := &negotiate.Transport{Credentials: negotiate.Password(`CORP\alice`, "wrong")}
	defer tr.CloseIdleConnections()

	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		log.Fatal(err) // no answer at all: DNS, TCP, TLS, a malformed challenge...
	}
	resp.Body.Close()
	why := negotiate.ResponseError(resp)
	var ae *negotiate.AuthError
	switch {
	case why == nil:
		fmt.Println("authenticated:", resp.Status)
	case errors.Is(why, negotiate.ErrRejected) && errors.As(why, &ae):
		// why.Error() says it all in one line, for a log (with
		// ae.Host); the fields say it for code.
		party := "the origin"
		if ae.Proxy {
			party = "the proxy"
		}
		fmt.Printf("%d: %s rejected the %v credentials (leg %d)\n", resp.StatusCode, party, ae.Scheme, ae.Leg)
	case errors.Is(why, negotiate.ErrNoCredentials):
		fmt.Println(resp.StatusCode, "no credentials for it")
	default:
		fmt.Println(resp.StatusCode, why)
	}
	// Output: 401: the origin rejected the NTLM credentials (leg 2)
}

// SlogTrace logs every leg at debug level, tokens decoded (never raw), in
// the service's own log.
func ExampleSlogTrace() {
	srv := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{`CORP\alice`: "s3cret"}})
	defer srv.Close()
	tr := &negotiate.Transport{Credentials: negotiate.Password(`CORP\alice`, "s3cret")}
	defer tr.CloseIdleConnections()

	// A logger that keeps a few attributes, for a stable example; a real
	// one would keep them all.
	keep := map[string]bool{"msg": true, "leg": true, "status": true, "scheme": true}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if !keep[a.Key] {
				return slog.Attr{}
			}
			return a
		},
	}))

	ctx := negotiate.WithClientTrace(context.Background(), negotiate.SlogTrace(logger))
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Output:
	// msg="negotiate leg" leg=0 status=401
	// msg="negotiate leg" leg=1 status=401 scheme=NTLM
	// msg="negotiate leg" leg=2 status=200 scheme=NTLM
}
