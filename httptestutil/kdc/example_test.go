package kdc_test

import (
	"fmt"
	"log"

	"github.com/jcmturner/gokrb5/v8/client"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// A KDC for a demo or a test without testing.TB: a user logs in with
// gokrb5's client and gets a ticket for a web service, which the service's
// keytab decrypts.
func ExampleStart() {
	k, err := kdc.Start("EXAMPLE.TEST", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	k.AddUser("alice", "secret")
	kt := k.AddService("HTTP/www.example.test")

	cl := client.NewWithPassword("alice", k.Realm(), "secret", k.Config(), client.DisablePAFXFAST(true))
	defer cl.Destroy()
	tkt, _, err := cl.GetServiceTicket("HTTP/www.example.test")
	if err != nil {
		log.Fatal(err)
	}
	if err := tkt.DecryptEncPart(kt, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println(tkt.DecryptedEncPart.CName.PrincipalNameString(), k.Stats().TGSBySPN)
	// Output: alice map[HTTP/www.example.test:1]
}
