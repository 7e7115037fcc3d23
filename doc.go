// Package negotiate is an HTTP client for servers and proxies protected by
// Windows Integrated Authentication: the Negotiate (SPNEGO, Kerberos) and NTLM
// schemes of RFC 4559, as IIS, Exchange, SharePoint, AD Certificate Services,
// Apache mod_auth_gssapi and authenticating proxies speak them.
//
// [Transport] is a [net/http.RoundTripper]. It sends a request as it is; when
// the server answers 401 with a challenge it can meet, it acquires
// credentials, runs the client security-context loop (the client side of
// SSPI's InitializeSecurityContext: one call per leg, each output token sent
// in an Authorization header, each server token fed back in) until the
// context is complete, and returns the server's final response.
//
// NTLM, and Negotiate on many servers, authenticate a TCP connection rather
// than a request, so every leg of a handshake travels on one dedicated
// HTTP/1.1 connection, and an authenticated connection is kept for later
// requests of the same identity to the same origin.
//
// A proxy that answers 407 with Negotiate or NTLM is authenticated the same
// way, on the same connection as the origin, or on the CONNECT requests of an
// HTTPS tunnel. Over TLS, tokens carry channel bindings (Extended
// Protection). On Windows, the system's SSPI can authenticate as the
// logged-on user ([DefaultCredentials]).
//
// Where it steps past the RoundTripper contract: to replay a request on each
// leg the Transport reads the request body ahead (see
// [Transport.MaxBodyBuffer]) and sends it again; it keeps connections of its
// own, outside Base's pool ([Transport.CloseIdleConnections] closes both).
// A final 401 is still a response, not an error; [ResponseError] tells why
// authentication did not succeed.
package negotiate
