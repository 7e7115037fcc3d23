package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// runKerberos shows Kerberos: an in-process KDC, a server that checks
// tickets with its keytab and proves itself with an AP-REP, and a client
// that verifies it (mutual authentication).
func runKerberos(w io.Writer) error {
	fmt.Fprintln(w, "\n== Kerberos: an in-process KDC, a server with a keytab, mutual authentication verified")
	k, err := kdc.Start("DEMO.TEST", nil)
	if err != nil {
		return err
	}
	defer k.Close()
	k.AddUser("alice", "kerberos pass")

	// The server's key for HTTP/localhost comes from the KDC; its URL
	// names localhost, so the client asks for a ticket for that SPN.
	srv := httptestutil.NewServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{KDC: k}})
	defer srv.Close()

	tr := &negotiate.Transport{
		Credentials: negotiate.Password("alice@DEMO.TEST", "kerberos pass"),
		Krb5Config:  k.Krb5ConfPath(),
		// MutualRequired is the default: a 200 without a valid AP-REP
		// from the server would be an error, not a success.
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, path := range []string{"/first", "/warm"} {
		if err := request(w, client, "GET", srv.URL+path, nil); err != nil {
			return err
		}
	}
	st := k.Stats()
	fmt.Fprintf(w, "KDC: %d AS requests and %d TGS exchange(s)\n", st.ASRequests, st.TGSRequests)
	fmt.Fprintf(w, "  what it proves: %d TGS exchange for 2 requests, because the service ticket is cached; the %d AS requests are one login (the KDC first asks for pre-authentication);\n", st.TGSRequests, st.ASRequests)
	fmt.Fprintln(w, "  and the second request sent its token at once: an origin known to want Kerberos costs one round trip")
	return nil
}
