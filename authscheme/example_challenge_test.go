// Example of parsing the challenges of a 401 and choosing one to answer.

package authscheme_test

import (
	"fmt"
	"net/http"

	"github.com/negotiate-go/negotiate/authscheme"
)

func ExampleParseChallenges() {
	// IIS sends one challenge per field line.
	h := http.Header{}
	h.Add("WWW-Authenticate", "Negotiate")
	h.Add("WWW-Authenticate", "NTLM")
	h.Add("WWW-Authenticate", `Basic realm="intranet"`)

	cs, err := authscheme.ParseChallenges(h, "WWW-Authenticate")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cs {
		fmt.Println(c.Kind(), c.Params)
	}

	// Without TLS, Basic is never chosen; NTLM is chosen if preferred first.
	prefer := []authscheme.Scheme{authscheme.Negotiate, authscheme.NTLM, authscheme.Basic}
	c, ok := authscheme.Choose(cs, prefer, true, false)
	fmt.Println(c.Scheme, ok)
	c, ok = authscheme.Choose(cs, []authscheme.Scheme{authscheme.NTLM}, true, false)
	fmt.Println(c.Scheme, ok)
	_, ok = authscheme.Choose(cs[2:], prefer, true, false)
	fmt.Println(ok)
	// Output:
	// Negotiate map[]
	// NTLM map[]
	// Basic map[realm:intranet]
	// Negotiate true
	// NTLM true
	// false
}
