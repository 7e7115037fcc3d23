// Example of parsing the challenges of a 401 and choosing one to answer.

package negotiate_test

import (
	"fmt"
	"net/http"

	"github.com/negotiate-go/negotiate"
)

func ExampleParseChallenges() {
	// IIS sends one challenge per field line.
	h := http.Header{}
	h.Add("WWW-Authenticate", "Negotiate")
	h.Add("WWW-Authenticate", "NTLM")
	h.Add("WWW-Authenticate", `Basic realm="intranet"`)

	cs, err := negotiate.ParseChallenges(h, "WWW-Authenticate")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cs {
		fmt.Println(c.Kind(), c.Params)
	}

	// Without TLS, Basic is never chosen; NTLM is chosen if preferred first.
	c, ok := negotiate.Choose(cs, negotiate.DefaultPreference, true, false)
	fmt.Println(c.Scheme, ok)
	c, ok = negotiate.Choose(cs, []negotiate.Scheme{negotiate.SchemeNTLM}, true, false)
	fmt.Println(c.Scheme, ok)
	_, ok = negotiate.Choose(cs[2:], negotiate.DefaultPreference, true, false)
	fmt.Println(ok)
	// Output:
	// Negotiate map[]
	// NTLM map[]
	// Basic map[realm:intranet]
	// Negotiate true
	// NTLM true
	// false
}
