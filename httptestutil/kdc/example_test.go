package kdc_test

import (
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// A KDC for a demo or a test without testing.TB: a web server checks
// tickets with the keytab the KDC made for its service principal, and a
// negotiate.Transport logs in as a user of the realm, gets a ticket for the
// server and verifies the server's answer.
func ExampleStart() {
	k, err := kdc.Start("EXAMPLE.TEST", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	k.AddUser("alice", "secret")

	srv := httptestutil.NewUnstartedServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{
		SPN:    "HTTP/localhost",
		Keytab: k.AddService("HTTP/localhost"),
	}})
	srv.Start()
	defer srv.Close()

	tr := &negotiate.Transport{
		Credentials: negotiate.Password("alice@EXAMPLE.TEST", "secret"),
		Krb5Config:  k.Krb5Conf(), // a krb5.conf that names this KDC
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("X-User"), k.Stats().TGSBySPN)
	// Output: 200 OK alice@EXAMPLE.TEST map[HTTP/localhost:1]
}
