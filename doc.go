// Package negotiate is an HTTP client transport for servers and proxies that
// demand Windows Integrated Authentication, the Negotiate (SPNEGO, Kerberos)
// and NTLM schemes of RFC 4559: IIS, Exchange, SharePoint, AD Certificate
// Services, Apache mod_auth_gssapi, authenticating proxies.
//
//	tr := &negotiate.Transport{Credentials: negotiate.DefaultCredentials()}
//	resp, err := (&http.Client{Transport: tr}).Get("https://intranet.example.com/")
//
// A [Transport] answers 401 and 407 challenges by running the client
// security-context loop (SSPI's InitializeSecurityContext, one call per leg)
// on one dedicated connection, and keeps that connection for later requests
// of the same identity. [Credentials] say who the client is; [ResponseError]
// says why a final 401 was not accepted. The Transport's documentation says
// how requests travel, where it steps past the RoundTripper contract and
// when a request is sent again; [AuthError]'s lists what RoundTrip returns
// for each failure. DESIGN.md maps the files and a request's way through them.
package negotiate
