package authscheme_test

import (
	"encoding/hex"
	"fmt"

	"github.com/negotiate-go/negotiate/authscheme"
)

// DescribeToken explains a token as a verbose client logs it: here the
// NTLM NEGOTIATE message that opens an NTLM handshake (MS-NLMP §2.2.1.1).
func ExampleDescribeToken() {
	negotiateMessage, _ := hex.DecodeString("4e544c4d5353500001000000158288e2000000002800000000000000280000000a007c4f0000000f")
	s, err := authscheme.DescribeToken("NTLM", negotiateMessage)
	if err != nil {
		panic(err)
	}
	fmt.Print(s)
	// Output:
	// NTLM NEGOTIATE
	//   flags: 0xe2888215 UNICODE REQUEST_TARGET SIGN NTLM ALWAYS_SIGN EXTENDED_SESSIONSECURITY TARGET_INFO VERSION 128 KEY_EXCH 56
	//   version: 10.0.20348 (NTLM revision 15)
}
