// Command negcurl is a curl-like HTTP client for servers behind Windows
// Integrated Authentication (Negotiate with Kerberos, and NTLM), built on
// the public API of package negotiate. With -v it prints every request and
// response of every authentication leg, with each token decoded in plain
// words and no secret; on failure it says in one line why and what to try.
//
//	go run ./examples/negcurl -u 'LAB\alice' https://intranet.example.com/
//	go run ./examples/negcurl -u : --negotiate -v https://intranet.example.com/
//	go install github.com/negotiate-go/negotiate/examples/negcurl@latest
//
// Flags follow curl's names and meanings; run negcurl -h for the list and
// see README.md beside this file.
//
// Exit status:
//
//	0  the response's status is below 400 and authentication (if any) completed
//	1  the server answered with a status of 400 or more, not an authentication failure
//	2  usage error: a bad flag, a missing URL, a feature not supported yet
//	3  connection failure: DNS, TCP, TLS, proxy, or --max-time exceeded
//	4  authentication failure: rejected or missing credentials, Kerberos errors
//	5  mutual authentication failure: the server did not prove its identity
//	6  local file error: reading a data file or writing the output
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/negotiate-go/negotiate"
)

// Exit codes; see the package documentation.
const (
	exitOK         = 0
	exitHTTPStatus = 1
	exitUsage      = 2
	exitConnection = 3
	exitAuth       = 4
	exitMutual     = 5
	exitFile       = 6
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is negcurl with its arguments and standard files; it returns the
// exit status.
func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "negcurl: %v\n", err)
		fmt.Fprintln(stderr, "negcurl: try 'negcurl -h' for the flags")
		return exitUsage
	}
	in := bufio.NewReader(stdin)
	c, err := o.setup(stdin, in, stderr)
	if err != nil {
		var fe *fileError
		if errors.As(err, &fe) {
			o.fail(stderr, "%v", err)
			return exitFile
		}
		fmt.Fprintf(stderr, "negcurl: %v\n", err)
		return exitUsage
	}
	defer c.transport.CloseIdleConnections()
	describeCache(stderr, o, c)

	ctx := context.Background()
	if o.maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.maxTime)
		defer cancel()
	}
	if o.verbose {
		fmt.Fprintf(stderr, "* schemes allowed with the server: %s\n", c.allowed(false))
		if o.proxy || o.proxyUser != "" || o.proxyAnyauth || o.proxyNegotiate || o.proxyNTLM {
			fmt.Fprintf(stderr, "* schemes allowed with a proxy: %s\n", c.allowed(true))
		}
	}
	if c.proxyNote != "" {
		switch {
		case o.verbose:
			fmt.Fprintf(stderr, "* %s\n", c.proxyNote)
		case o.proxyUser != "":
			// -U would otherwise be ignored without a word.
			o.fail(stderr, "warning: -U not used: %s", c.proxyNote)
		}
	}
	tr := &tracer{w: stderr, verbose: o.verbose}
	if o.verbose && o.impersonate != "" {
		fmt.Fprintf(stderr, "* credentials: %v: S4U2Self (a ticket for the user to the service account) then S4U2Proxy (the user's ticket for the SPN) at the KDC\n", c.creds)
	}
	ctx = negotiate.WithClientTrace(ctx, &negotiate.ClientTrace{Leg: tr.leg})
	req, err := c.newRequest(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "negcurl: %v\n", err)
		return exitUsage
	}

	resp, err := c.client.Do(req)
	if err != nil {
		code, msg := explain(err, nil, o, c, tr)
		o.fail(stderr, "%s", msg)
		return code
	}
	defer resp.Body.Close()
	tr.finish(o, resp)

	out, closeOut, err := o.openOutput(stdout)
	if err != nil {
		o.fail(stderr, "%v", err)
		return exitFile
	}
	if o.include {
		writeHead(out, resp)
	}
	_, copyErr := io.Copy(out, resp.Body)
	if err := closeOut(); copyErr == nil && err != nil {
		o.fail(stderr, "cannot write %s: %v", o.output, err)
		return exitFile
	}
	if copyErr != nil {
		if errors.Is(copyErr, context.DeadlineExceeded) {
			o.fail(stderr, "operation timed out after %v (--max-time) while reading the body", o.maxTime)
			return exitConnection
		}
		o.fail(stderr, "reading the response body: %v", copyErr)
		return exitConnection
	}

	if authErr := negotiate.ResponseError(resp); authErr != nil {
		code, msg := explain(authErr, resp, o, c, tr)
		o.fail(stderr, "%s", msg)
		return code
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusProxyAuthRequired {
		o.fail(stderr, "%s", unanswered(resp, c))
		return exitAuth
	}
	if resp.StatusCode >= 400 {
		o.fail(stderr, "the server answered %s", resp.Status)
		return exitHTTPStatus
	}
	return exitOK
}

// fail prints one line on stderr, unless -s silenced errors.
func (o *options) fail(stderr io.Writer, format string, args ...any) {
	if o.silent && !o.showError {
		return
	}
	fmt.Fprintf(stderr, "negcurl: "+format+"\n", args...)
}

// writeHead writes the status line and the headers, as curl -i does.
func writeHead(w io.Writer, resp *http.Response) {
	fmt.Fprintf(w, "%s %s\r\n", resp.Proto, resp.Status)
	resp.Header.Write(w)
	io.WriteString(w, "\r\n")
}

// openOutput returns where the body goes: stdout, or the -o file.
func (o *options) openOutput(stdout io.Writer) (io.Writer, func() error, error) {
	if o.output == "" || o.output == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(o.output)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot write %s: %v", o.output, err)
	}
	return f, f.Close, nil
}

// durationOf converts curl's --max-time seconds (fractions allowed).
func durationOf(seconds float64) time.Duration {
	return time.Duration(seconds * float64(time.Second))
}
