package negotiate_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/negotiate-go/negotiate"
	"github.com/negotiate-go/negotiate/httptestutil"
)

// A Transport answers the server's 401 with NTLM (or Negotiate) and hands
// back the final response.
func ExampleTransport() {
	srv := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{`CORP\alice`: "s3cret"}})
	defer srv.Close()

	client := &http.Client{Transport: &negotiate.Transport{
		Credentials: negotiate.Password(`CORP\alice`, "s3cret"),
	}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("X-User"))
	// Output: 200 OK CORP\alice
}

// A final 401 is a response, not an error; ResponseError says why
// authentication did not succeed.
func ExampleResponseError() {
	srv := httptestutil.NewServer(httptestutil.Config{Users: map[string]string{`CORP\alice`: "s3cret"}})
	defer srv.Close()

	client := &http.Client{Transport: &negotiate.Transport{
		Credentials: negotiate.Password(`CORP\alice`, "wrong"),
	}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	why := negotiate.ResponseError(resp)
	var ae *negotiate.AuthError
	errors.As(why, &ae)
	fmt.Println(resp.StatusCode, errors.Is(why, negotiate.ErrRejected), ae.Scheme, ae.Leg)
	// Output: 401 true NTLM 2
}

// Credentials are typed the way users type them.
func ExamplePassword() {
	for _, user := range []string{`CORP\alice`, "alice@corp.example.com", "alice"} {
		fmt.Println(negotiate.Password(user, "secret"))
	}
	// Output:
	// CORP\alice
	// alice@corp.example.com
	// alice
}
