package negotiate

import (
	"errors"
	"fmt"
	"github.com/negotiate-go/negotiate/authscheme"
	"net/http"
	"strings"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/mech"
)

// Errors callers branch on with errors.Is. An error from this package never
// contains a token, a password, a key or a ticket.
var (
	// ErrMalformedChallenge: a WWW-Authenticate or Proxy-Authenticate field
	// does not follow RFC 7235.
	ErrMalformedChallenge = authscheme.ErrMalformedChallenge
	// ErrMalformedToken: a token from the server could not be decoded.
	ErrMalformedToken = gss.ErrMalformedToken
	// ErrNoCredentials: the server asked for authentication and no
	// credentials fit (none configured, no ticket cache, no keytab).
	ErrNoCredentials = gss.ErrNoCredentials
	// ErrHostNotAllowed: the credential policy does not allow sending
	// credentials to the host (for instance after a redirect to another host).
	ErrHostNotAllowed = errors.New("negotiate: credentials not allowed for host")
	// ErrRejected: the server (or the KDC) rejected the credentials.
	ErrRejected = gss.ErrRejected
	// ErrMutualAuth: the server did not prove its identity as mutual
	// authentication requires.
	ErrMutualAuth = gss.ErrMutualAuth
	// ErrBodyNotReplayable: the request body was needed on another leg but
	// could not be sent again (no GetBody, larger than MaxBodyBuffer, and
	// already consumed).
	ErrBodyNotReplayable = errors.New("negotiate: request body cannot be replayed")
	// ErrBodyLength: the request body is shorter or longer than its
	// ContentLength. A body read ahead (see Transport.MaxBodyBuffer) is
	// refused before any of it is sent; a body sent once fails as net/http
	// fails it.
	ErrBodyLength = errors.New("negotiate: request body length differs from ContentLength")
	// ErrBodyNotSent: the server answered the first NTLM leg, which went
	// without the request's body, with something other than a challenge:
	// it did not ask for authentication and may have served that leg as
	// the request, without its body. The request is not idempotent, so it
	// is not sent again; AuthError.Response is that answer.
	ErrBodyNotSent = errors.New("negotiate: the server answered a leg sent without the request body")
	// ErrTooManyLegs: the handshake did not complete within the leg limit
	// (a server that answers 401 forever, say).
	ErrTooManyLegs = errors.New("negotiate: too many authentication legs")
	// ErrConnectionLost: the server closed the connection after a
	// challenge during the handshake, twice. A connection that broke
	// without an answer gives the real cause instead (the reset, the
	// timeout), wrapped in an AuthError with Op OpSend.
	ErrConnectionLost = errors.New("negotiate: connection lost during the handshake")
	// ErrUnsupportedScheme: the server asked for authentication only in
	// schemes this Transport does not speak or may not use.
	ErrUnsupportedScheme = mech.ErrUnsupportedScheme
	// ErrUnsupportedMech: within the scheme, the server chose or needs
	// what the client cannot do: a SPNEGO mechanism it did not offer (or
	// none was left to offer), a Kerberos encryption type or an NTLM
	// feature (Unicode, extended session security) not supported, NTLM
	// chosen by Windows' Negotiate package under DisableNTLM, or an SSPI
	// package Windows lacks.
	ErrUnsupportedMech = gss.ErrUnsupportedMech
	// ErrClockSkew: client and KDC or server clocks differ too much.
	ErrClockSkew = gss.ErrClockSkew
	// ErrUnknownPrincipal: the KDC does not know the client or the service
	// principal (usually a wrong SPN).
	ErrUnknownPrincipal = gss.ErrUnknownPrincipal
	// ErrCredentialsExpired: password, ticket or cache expired.
	ErrCredentialsExpired = gss.ErrCredentialsExpired
	// ErrKDCUnreachable: no KDC of the realm answered.
	ErrKDCUnreachable = gss.ErrKDCUnreachable
	// ErrNoSPN: no service principal name fits the host (an IP literal) and
	// none was configured.
	ErrNoSPN = gss.ErrNoSPN
	// ErrNotForwardable: DelegateAlways, but the ticket-granting ticket is
	// not forwardable (kinit -f, or the KDC's policy). It also matches
	// ErrNoCredentials.
	ErrNotForwardable = mech.ErrNotForwardable
)

// An AuthError describes an authentication that did not succeed: where it
// failed and why. It wraps the cause, so errors.Is works with the Err*
// values above.
//
// When authentication fails after a challenge, RoundTrip returns that final
// 401 or 407 as the response and a nil error, and [ResponseError] returns
// the *AuthError; RoundTrip returns an *AuthError as its error when it
// cannot give the caller a response (a body it cannot replay, a failed
// mutual authentication, a failed send).
//
// One shape for all failures: when the server or proxy answered with a challenge and
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
type AuthError struct {
	// Scheme is the authentication scheme in use, SchemeUnknown if none
	// was chosen.
	Scheme Scheme
	// Host is the host (host:port) that challenged.
	Host string
	// Proxy reports whether the challenge came from a proxy (407).
	Proxy bool
	// Leg is the 1-based leg of the handshake on which authentication
	// failed; 0 if it failed before the first authenticated leg.
	Leg int
	// Op says what was being done, one of the Op* constants.
	Op Op
	// StatusCode is the status of the server's last response, or 0.
	StatusCode int
	// Response is the server's last response, when RoundTrip returned an
	// error instead of it; its Body is already closed. Nil otherwise.
	Response *http.Response
	// Err is the cause.
	Err error
}

func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString("negotiate: ")
	if e.Scheme != SchemeUnknown {
		b.WriteString(e.Scheme.String())
		b.WriteByte(' ')
	}
	if e.Proxy {
		b.WriteString("proxy ")
	}
	b.WriteString("authentication")
	if e.Host != "" {
		b.WriteString(" to ")
		b.WriteString(e.Host)
	}
	if e.Leg > 0 {
		fmt.Fprintf(&b, ", leg %d", e.Leg)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (status %d)", e.StatusCode)
	}
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(string(e.Op))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "negotiate: "))
	}
	return b.String()
}

func (e *AuthError) Unwrap() error { return e.Err }

// An Op names the step of authentication an [AuthError] happened in. Its
// values are plain words, the same as the text Error shows, so that code
// which compared the text of AuthError.Op keeps working.
type Op string

// The steps of authentication.
const (
	// OpChooseScheme: choosing a challenge to answer.
	OpChooseScheme Op = "choose scheme"
	// OpAcquireCredentials: finding credentials (a ticket, a password).
	OpAcquireCredentials Op = "acquire credentials"
	// OpInitializeContext: making a token, or processing the server's.
	OpInitializeContext Op = "initialize context"
	// OpSend: sending the request or a leg, reading its answer.
	OpSend Op = "send"
	// OpReadChallenge: reading a 401 or 407 and its challenge.
	OpReadChallenge Op = "read challenge"
	// OpVerifyServer: verifying the server's final token (mutual
	// authentication).
	OpVerifyServer Op = "verify server"
	// OpConnect: opening a tunnel through a proxy with CONNECT.
	OpConnect Op = "connect"
)

// failureKey keys the *failureBox in the context of every request the
// Transport sends, so that ResponseError can find it from resp.Request.
type failureKey struct{}

type failureBox struct{ err *AuthError }

// ResponseError returns why authentication did not succeed for resp, a
// response returned by a [Transport] (directly or through an http.Client),
// or nil if it succeeded or was not needed. The result is an *AuthError; use
// errors.Is with the Err* values to branch on the cause, for example
// ErrRejected for a server that rejected the credentials.
func ResponseError(resp *http.Response) error {
	if resp == nil || resp.Request == nil {
		return nil
	}
	box, _ := resp.Request.Context().Value(failureKey{}).(*failureBox)
	if box == nil || box.err == nil {
		return nil
	}
	return box.err
}
