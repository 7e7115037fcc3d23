// Package gss holds what every authentication mechanism of package negotiate
// shares: the client security-context contract, modelled on the client side of
// SSPI (InitializeSecurityContext) and GSS-API (gss_init_sec_context), the
// channel bindings given to a context, and the sentinel errors that package
// negotiate re-exports for callers to branch on.
//
// Mechanisms (internal/ntlm, internal/krb, internal/spnego, internal/sspi)
// implement Context; internal/mech makes them and wraps each in a context
// with named capabilities, which the transport drives, one call per HTTP
// leg, never looking inside a token.
package gss

import "context"

// A Context is the client side of one authentication exchange.
//
// Step is called first with a nil input token and then once with each token
// the server returns, for as long as the previous call reported continueNeeded
// (SSPI's SEC_I_CONTINUE_NEEDED). It returns the token to send to the server
// (nil when there is nothing to send) and whether the context expects another
// token from the server. When continueNeeded is false and err is nil the
// context is complete (SEC_E_OK).
//
// A Context is used by one goroutine at a time. The ctx bounds any network
// calls a mechanism makes while stepping (Kerberos KDC exchanges); it is not
// retained.
type Context interface {
	Step(ctx context.Context, input []byte) (output []byte, continueNeeded bool, err error)
}

// A MICContext is a Context that, once it has established a session key, can
// make and check per-message integrity tokens (GSS_GetMIC and GSS_VerifyMIC).
// SPNEGO uses them for the mechListMIC (RFC 4178 §5, MS-SPNG §3.1.5.1).
type MICContext interface {
	Context
	// GetMIC returns the integrity token the initiator sends for msg.
	GetMIC(msg []byte) ([]byte, error)
	// VerifyMIC checks a token the acceptor made for msg.
	VerifyMIC(msg, mic []byte) error
}

// Flags a Context may be asked to request (RFC 2744 §5.19 req_flags; the same
// bits RFC 4121 §4.1.1.1 carries in the checksum's Flags field).
const (
	FlagDeleg    uint32 = 1
	FlagMutual   uint32 = 2
	FlagReplay   uint32 = 4
	FlagSequence uint32 = 8
	FlagConf     uint32 = 16
	FlagInteg    uint32 = 32
)
