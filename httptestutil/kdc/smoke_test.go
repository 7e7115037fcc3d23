package kdc

import (
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
)

func TestSmoke(t *testing.T) {
	k := New(t, "EXAMPLE.TEST", nil)
	k.AddUser("alice", "pw")
	kt := k.AddService("HTTP/www.example.test")
	cl := client.NewWithPassword("alice", "EXAMPLE.TEST", "pw", k.Config(), client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		t.Fatal(err)
	}
	tkt, key, err := cl.GetServiceTicket("HTTP/www.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := tkt.DecryptEncPart(kt, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v %v %+v", key.KeyType, tkt.DecryptedEncPart.CName, k.Stats())
}
