package httptestutil_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// An IIS-like server that offers Negotiate and NTLM and keeps NTLM per
// connection: two requests of one client cost one handshake.
func ExampleNewServer() {
	srv := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{`CORP\alice`: "s3cret"}})
	defer srv.Close()

	tr := &negotiate.Transport{Credentials: negotiate.Password(`CORP\alice`, "s3cret")}
	defer tr.CloseIdleConnections()
	for range 2 {
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status, resp.Header.Get("X-User"))
	}
	st := srv.Stats()
	fmt.Println("handshakes:", st.Handshakes, "authenticated requests:", st.Authenticated)
	// Output:
	// 200 OK CORP\alice
	// 200 OK CORP\alice
	// handshakes: 1 authenticated requests: 2
}

// A forward proxy that demands its own credentials (407) before it
// forwards a request to an origin that demands others (401).
func ExampleNewServer_proxy() {
	proxy := httptestutil.NewServer(httptestutil.Config{Proxy: true, Users: map[string]string{`CORP\gateway`: "proxy pass"}})
	defer proxy.Close()
	origin := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{`CORP\alice`: "s3cret"}})
	defer origin.Close()
	proxyURL, err := url.Parse(proxy.URL)
	if err != nil {
		log.Fatal(err)
	}

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
	fmt.Println(resp.Status, resp.Header.Get("X-User"), "via", resp.Header.Get("X-Proxy-User"))
	fmt.Println("forwarded:", proxy.Stats().Forwarded > 0)
	// Output:
	// 200 OK CORP\alice via CORP\gateway
	// forwarded: true
}

// Kerberos over TLS as IIS serves it: Extended Protection required (the
// client's tokens must be bound to the server's certificate) and HTTP/2
// offered but refused with HTTP_1_1_REQUIRED, so the client retries over
// HTTP/1.1. The key comes from an in-process KDC; the URL names localhost,
// the host of the server's SPN, and the certificate is made for it.
func ExampleNewTLSServer() {
	k, err := kdc.Start("EXAMPLE.TEST", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	k.AddUser("alice", "secret")
	srv := httptestutil.NewTLSServer(httptestutil.Config{
		Kerberos:           &httptestutil.KerberosConfig{KDC: k},
		ExtendedProtection: httptestutil.EPARequire,
		H2:                 httptestutil.H2Reset,
	})
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	tr := &negotiate.Transport{
		Base:        &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true},
		Credentials: negotiate.Password("alice@EXAMPLE.TEST", "secret"),
		Krb5Config:  k.Krb5ConfPath(),
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Proto, resp.Header.Get("X-User"))
	fmt.Println("refused over HTTP/2 first:", srv.Stats().HTTP2Resets > 0)
	// Output:
	// 200 OK HTTP/1.1 alice@EXAMPLE.TEST
	// refused over HTTP/2 first: true
}
