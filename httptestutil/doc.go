// Package httptestutil provides HTTP servers protected by Windows-style
// authentication, for tests of clients such as package negotiate's
// Transport, in the shape of net/http/httptest: NewServer starts one on
// loopback, NewTLSServer one over TLS, NewUnstartedServer one to adjust
// before Start or StartTLS; Close stops it. What a server does is its
// Config: who it knows (Users), what it offers (Schemes), Kerberos (a KDC
// or a keytab), TLS (certificate and versions), HTTP/2 (H2, refused as IIS
// refuses it), Extended Protection, Faults, and whether it is a Proxy.
// Nothing needs a testing.TB, so a program's main can start one too.
//
// A proxy is a mode of the same Server (Config.Proxy) rather than a type
// of its own: it is configured by the same fields (users, schemes,
// Kerberos, faults), runs the same authentication code on the other side
// of HTTP authentication (407 and Proxy-Authenticate, RFC 9110 §11.7) and
// is counted by the same Stats; only what it does with an authenticated
// request differs (it forwards it or opens a CONNECT tunnel instead of
// calling a Handler). One type keeps the constructors to httptest's three
// and gives a proxy over TLS for free.
//
// The servers verify what clients send with their own server-side code
// (internal/ntlmacceptor for NTLM, internal/krbacceptor for Kerberos), not
// with the client's, and keep authentication state per TCP connection as
// IIS does. They count connections, handshakes and authenticated
// requests, so tests and benchmarks can check what a client cost.
//
// Package kdc, beside this one, is an in-process Kerberos KDC whose
// keytabs (kdc.KDC.AddService) a Server's KerberosConfig takes.
package httptestutil
