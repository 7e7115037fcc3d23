package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemo runs the demo as `go run ./examples/demo` would and checks that
// each part reached its result.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`200 OK as CORP\alice, 3900 body bytes echoed intact`,
		"on the kept authenticated connection",
		"1 handshake(s)",
		"401 Unauthorized; why: negotiate: NTLM authentication",
		"200 OK as alice@DEMO.TEST",
		"GET http://localhost:", // the Kerberos server's URL names the host of its SPN
		"1 TGS exchange(s)",
		"what it proves: 1 handshake for 3 requests",
		"2 connections, because the first try",
		"what it proves: 1 TGS exchange for 2 requests",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
