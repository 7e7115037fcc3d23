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
//
// # Errors: one shape
//
// The rule: when the server or proxy answered with a challenge and
// authentication then failed, that answer is the result, as a RoundTripper
// must return it, and ResponseError says why; when there is no answer to
// give, or the answer would mislead, RoundTrip returns an error. Both are
// *[AuthError] values (or wrap one, or wrap net/http's error) with the same
// errors.Is answers for the same cause.
//
//	failure                                        RoundTrip returns          errors.Is
//	credentials rejected by the server (401)       the final 401, nil         ErrRejected
//	  or by a proxy, over HTTP or HTTPS (407)      the final 407, nil         ErrRejected
//	wrong Kerberos password, no ticket, unknown    the 401 (407) that asked   ErrRejected, ErrNoCredentials,
//	  principal, no SPN, clock skew, KDC down         for authentication, nil   ErrUnknownPrincipal, ErrNoSPN,
//	  (the context cannot start)                                                ErrClockSkew, ErrKDCUnreachable
//	no credentials, host not allowed               the 401 (407), nil         ErrNoCredentials, ErrHostNotAllowed
//	no usable scheme offered                       the 401 (407), nil         ErrUnsupportedScheme
//	malformed or oversized challenge or token      the 401 (407), nil         ErrMalformedChallenge, ErrMalformedToken
//	handshake never ends                           the last 401 (407), nil    ErrTooManyLegs
//	mutual authentication failed on the success    error (Response: the 2xx,  ErrMutualAuth
//	                                                 body closed)
//	the server answered the body-less NTLM leg     error (Response: that      ErrBodyNotSent
//	  (request not idempotent)                       answer, body closed)
//	body needed twice but sent once already        error                      ErrBodyNotReplayable
//	body shorter or longer than ContentLength      error, nothing sent        ErrBodyLength
//	connection reset, late answer, context ended   error wrapping the cause   context.DeadlineExceeded, ...
//	  (when the request may not be sent again)
//	the proxy refused CONNECT (not 407)            error                      -
//
// Why the exceptions: a success whose server did not prove its identity is
// not to be trusted, so it is not handed over as one; a body-less leg's
// answer is not the answer to the caller's request; the rest have no
// answer at all.
//
// # Sending a request again
//
// The Transport keeps net/http's guarantee: a request that may have reached
// the server's handler is sent again only if it is idempotent (GET, HEAD,
// OPTIONS, TRACE, or an Idempotency-Key or X-Idempotency-Key header), its
// body can be replayed and its context is live. A request that was not
// written, or that the server refused with a challenge, may go again, once.
// Otherwise the caller gets the real cause: net/http's "timeout awaiting
// response headers" (which matches context.DeadlineExceeded), the reset,
// the context's error.
//
// The first NTLM leg is sure to be answered with a challenge by a server
// that wants NTLM, so curl sends it without the body. A server that does
// not want authentication for that request serves it instead. So that it
// never serves a request that is not idempotent twice, or with a body other
// than the caller's, that leg carries the body when the request is not
// idempotent and its body is replayable and at most 64 KiB; otherwise it
// goes without, and if the server serves it, an idempotent request is sent
// again with its body, and any other fails with ErrBodyNotSent, with the
// server's answer in AuthError.Response, and is not sent again.
package negotiate
