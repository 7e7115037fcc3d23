// Package spnego implements SPNEGO, the Simple and Protected GSS-API
// Negotiation Mechanism (RFC 4178, with Microsoft's variations in MS-SPNG),
// as used by the HTTP "Negotiate" scheme (RFC 4559).
//
// The Initiator is the client: a gss.Context that offers candidate
// mechanisms (Kerberos, NTLM), falls back when one cannot be used, follows
// the acceptor's choice, and protects the negotiation with the mechListMIC.
// The Acceptor is the server side, used by the package's test servers.
// Describe decodes a token for diagnostics.
//
// Every token from the peer is untrusted: decoding errors wrap
// gss.ErrMalformedToken, and no error message contains token bytes.
package spnego
