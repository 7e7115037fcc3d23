package ntlm_test

// Examples for the package documentation.

import (
	"context"
	"fmt"

	"github.com/negotiate-go/negotiate/internal/ntlm"
)

// Describe prints what a token holds, as a verbose HTTP client logs it.
func ExampleDescribe() {
	c, err := ntlm.NewClient(ntlm.Config{User: "alice", Domain: "EXAMPLE", Password: "s3cret!"})
	if err != nil {
		panic(err)
	}
	neg, _, err := c.Step(context.Background(), nil)
	if err != nil {
		panic(err)
	}
	m, err := ntlm.Describe(neg)
	if err != nil {
		panic(err)
	}
	fmt.Print(m)
	// Output:
	// NTLM NEGOTIATE
	//   flags: 0xe2888215 UNICODE REQUEST_TARGET SIGN NTLM ALWAYS_SIGN EXTENDED_SESSIONSECURITY TARGET_INFO VERSION 128 KEY_EXCH 56
	//   version: 10.0.20348 (NTLM revision 15)
}
