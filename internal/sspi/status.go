// This file names SSPI status codes (winerror.h) and maps them to the
// sentinel errors of package gss, keeping the code itself for diagnosis.

package sspi

import (
	"fmt"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// A Status is a SECURITY_STATUS: an HRESULT, negative (high bit set) for
// errors.
type Status uint32

// Status codes the loop handles or names (winerror.h; a few NTSTATUS codes
// that Kerberos lets through).
const (
	StatusOK                        Status = 0x00000000
	StatusContinueNeeded            Status = 0x00090312 // SEC_I_CONTINUE_NEEDED
	StatusCompleteNeeded            Status = 0x00090313 // SEC_I_COMPLETE_NEEDED
	StatusCompleteAndContinue       Status = 0x00090314 // SEC_I_COMPLETE_AND_CONTINUE
	StatusIncompleteCredentials     Status = 0x00090320 // SEC_I_INCOMPLETE_CREDENTIALS
	StatusInsufficientMemory        Status = 0x80090300
	StatusInvalidHandle             Status = 0x80090301
	StatusUnsupportedFunction       Status = 0x80090302
	StatusTargetUnknown             Status = 0x80090303
	StatusInternalError             Status = 0x80090304
	StatusSecpkgNotFound            Status = 0x80090305
	StatusInvalidToken              Status = 0x80090308
	StatusLogonDenied               Status = 0x8009030C
	StatusUnknownCredentials        Status = 0x8009030D
	StatusNoCredentials             Status = 0x8009030E
	StatusMessageAltered            Status = 0x8009030F
	StatusOutOfSequence             Status = 0x80090310
	StatusNoAuthenticatingAuthority Status = 0x80090311
	StatusContextExpired            Status = 0x80090317
	StatusIncompleteMessage         Status = 0x80090318
	StatusBufferTooSmall            Status = 0x80090321
	StatusWrongPrincipal            Status = 0x80090322
	StatusTimeSkew                  Status = 0x80090324
	StatusIllegalMessage            Status = 0x80090326
	StatusKDCUnknownEtype           Status = 0x80090342
	StatusBadBindings               Status = 0x80090346
	StatusInvalidParameter          Status = 0x8009035D
	StatusMutualAuthFailed          Status = 0x80090363
	StatusPasswordExpired           Status = 0xC0000071 // NTSTATUS
	StatusAccountExpired            Status = 0xC0000193 // NTSTATUS
	StatusPasswordMustChange        Status = 0xC0000224 // NTSTATUS
)

var statusNames = map[Status]string{
	StatusOK:                        "SEC_E_OK",
	StatusContinueNeeded:            "SEC_I_CONTINUE_NEEDED",
	StatusCompleteNeeded:            "SEC_I_COMPLETE_NEEDED",
	StatusCompleteAndContinue:       "SEC_I_COMPLETE_AND_CONTINUE",
	StatusIncompleteCredentials:     "SEC_I_INCOMPLETE_CREDENTIALS",
	StatusInsufficientMemory:        "SEC_E_INSUFFICIENT_MEMORY",
	StatusInvalidHandle:             "SEC_E_INVALID_HANDLE",
	StatusUnsupportedFunction:       "SEC_E_UNSUPPORTED_FUNCTION",
	StatusTargetUnknown:             "SEC_E_TARGET_UNKNOWN",
	StatusInternalError:             "SEC_E_INTERNAL_ERROR",
	StatusSecpkgNotFound:            "SEC_E_SECPKG_NOT_FOUND",
	StatusInvalidToken:              "SEC_E_INVALID_TOKEN",
	StatusLogonDenied:               "SEC_E_LOGON_DENIED",
	StatusUnknownCredentials:        "SEC_E_UNKNOWN_CREDENTIALS",
	StatusNoCredentials:             "SEC_E_NO_CREDENTIALS",
	StatusMessageAltered:            "SEC_E_MESSAGE_ALTERED",
	StatusOutOfSequence:             "SEC_E_OUT_OF_SEQUENCE",
	StatusNoAuthenticatingAuthority: "SEC_E_NO_AUTHENTICATING_AUTHORITY",
	StatusContextExpired:            "SEC_E_CONTEXT_EXPIRED",
	StatusIncompleteMessage:         "SEC_E_INCOMPLETE_MESSAGE",
	StatusBufferTooSmall:            "SEC_E_BUFFER_TOO_SMALL",
	StatusWrongPrincipal:            "SEC_E_WRONG_PRINCIPAL",
	StatusTimeSkew:                  "SEC_E_TIME_SKEW",
	StatusIllegalMessage:            "SEC_E_ILLEGAL_MESSAGE",
	StatusKDCUnknownEtype:           "SEC_E_KDC_UNKNOWN_ETYPE",
	StatusBadBindings:               "SEC_E_BAD_BINDINGS",
	StatusInvalidParameter:          "SEC_E_INVALID_PARAMETER",
	StatusMutualAuthFailed:          "SEC_E_MUTUAL_AUTH_FAILED",
	StatusPasswordExpired:           "STATUS_PASSWORD_EXPIRED",
	StatusAccountExpired:            "STATUS_ACCOUNT_EXPIRED",
	StatusPasswordMustChange:        "STATUS_PASSWORD_MUST_CHANGE",
}

// String returns the status's symbolic name, or its code in hex.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

// Failed reports whether s is an error code (SEC_E_*, NTSTATUS errors).
func (s Status) Failed() bool { return int32(s) < 0 }

// sentinels maps a status to the gss sentinel it means for the caller.
var sentinels = map[Status]error{
	StatusNoCredentials:             gss.ErrNoCredentials,
	StatusUnknownCredentials:        gss.ErrNoCredentials,
	StatusIncompleteCredentials:     gss.ErrNoCredentials,
	StatusNoAuthenticatingAuthority: gss.ErrKDCUnreachable,
	StatusTargetUnknown:             gss.ErrUnknownPrincipal,
	StatusWrongPrincipal:            gss.ErrUnknownPrincipal,
	StatusLogonDenied:               gss.ErrRejected,
	StatusBadBindings:               gss.ErrRejected,
	StatusTimeSkew:                  gss.ErrClockSkew,
	StatusInvalidToken:              gss.ErrMalformedToken,
	StatusIllegalMessage:            gss.ErrMalformedToken,
	StatusIncompleteMessage:         gss.ErrMalformedToken,
	StatusMutualAuthFailed:          gss.ErrMutualAuth,
	StatusSecpkgNotFound:            gss.ErrUnsupportedMech,
	StatusPasswordExpired:           gss.ErrCredentialsExpired,
	StatusAccountExpired:            gss.ErrCredentialsExpired,
	StatusPasswordMustChange:        gss.ErrCredentialsExpired,
}

// An Error is an SSPI function's failure. It keeps the status code for
// diagnosis and unwraps to the gss sentinel the code means, if any, so that
// errors.Is(err, gss.ErrRejected) holds for SEC_E_LOGON_DENIED.
type Error struct {
	Func   string // the secur32 function, e.g. "InitializeSecurityContextW"
	Status uint32 // its SECURITY_STATUS
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("negotiate: %s failed: 0x%08X", e.Func, e.Status)
	if n, ok := statusNames[Status(e.Status)]; ok {
		msg += " " + n
	}
	if s := e.Unwrap(); s != nil {
		msg += " (" + trimPrefix(s.Error()) + ")"
	}
	return msg
}

// Unwrap returns the sentinel the status means, or nil.
func (e *Error) Unwrap() error { return sentinels[Status(e.Status)] }

func trimPrefix(s string) string {
	const p = "negotiate: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
