package kdc_test

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// A KDC for a demo or a test without testing.TB: a web server takes its
// service key from the KDC, and a negotiate.Transport logs in as a user of
// the realm with the krb5.conf the KDC wrote, gets a ticket for the server
// and verifies the server's answer. Close removes the krb5.conf.
func ExampleStart() {
	k, err := kdc.Start("EXAMPLE.TEST", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	k.AddUser("alice", "secret")

	// Registers HTTP/localhost with k; the URL names localhost.
	srv := httptestutil.NewServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{KDC: k}})
	defer srv.Close()

	tr := &negotiate.Transport{
		Credentials: negotiate.Password("alice@EXAMPLE.TEST", "secret"),
		Krb5Config:  k.Krb5ConfPath(), // a krb5.conf that names this KDC
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("X-User"), k.Stats().TGSBySPN)
	// Output: 200 OK alice@EXAMPLE.TEST map[HTTP/localhost:1]
}

// The files a client reads, written without testing.TB: a user's keytab
// (what kinit -k or negotiate.Keytab logs in with) and a credential cache
// holding a TGT (what kinit leaves behind). The caller owns them.
func ExampleKDC_WriteKeytab() {
	k, err := kdc.Start("EXAMPLE.TEST", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	k.AddUser("batch", "a long random password")
	dir, err := os.MkdirTemp("", "kdc-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keytab := filepath.Join(dir, "batch.keytab")
	if err := k.WriteKeytab(keytab, "batch"); err != nil {
		log.Fatal(err)
	}
	ccache := filepath.Join(dir, "ccache")
	if err := k.WriteCCache(ccache, "batch", "a long random password"); err != nil {
		log.Fatal(err)
	}

	srv := httptestutil.NewServer(httptestutil.Config{Kerberos: &httptestutil.KerberosConfig{KDC: k}})
	defer srv.Close()
	for _, creds := range []*negotiate.Credentials{
		negotiate.Keytab("batch@EXAMPLE.TEST", keytab),
		negotiate.CCache("FILE:" + ccache),
	} {
		tr := &negotiate.Transport{Credentials: creds, Krb5Config: k.Krb5ConfPath()}
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		fmt.Println(resp.Status, resp.Header.Get("X-User"))
	}
	// Output:
	// 200 OK batch@EXAMPLE.TEST
	// 200 OK batch@EXAMPLE.TEST
}
