// Package httptestutil provides HTTP servers protected by Windows-style
// authentication, for tests of clients such as package negotiate's
// Transport, in the shape of net/http/httptest: NewServer starts one on
// loopback, Close stops it.
//
// The servers verify what clients send with their own server-side code
// (internal/ntlmacceptor for NTLM), not with the client's, and keep
// authentication state per TCP connection as IIS does. They count
// connections, handshakes and authenticated requests, so tests and
// benchmarks can check what a client cost.
//
// Package kdc, beside this one, is an in-process Kerberos KDC.
package httptestutil
