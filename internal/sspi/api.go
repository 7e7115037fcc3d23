// Package sspi is the client side of Windows' Security Support Provider
// Interface as a mechanism of package negotiate: a gss.Context whose legs
// are InitializeSecurityContextW calls on one of the packages Negotiate,
// Kerberos or NTLM.
//
// The leg loop, the buffers and the status handling live here, on every
// operating system, behind the API interface: a table of the secur32
// functions the loop calls. On Windows, System returns the real table
// (secur32.dll through package syscall, no cgo); the tests drive the same
// loop with a fake table, so they run everywhere.
package sspi

// Package names, as QuerySecurityPackageInfoW and AcquireCredentialsHandleW
// take them.
const (
	PackageNegotiate = "Negotiate"
	PackageKerberos  = "Kerberos"
	PackageNTLM      = "NTLM"
)

// Context requirement and attribute flags (sspi.h, ISC_REQ_* and ISC_RET_*,
// which share their values).
const (
	ReqDelegate        uint32 = 0x00000001
	ReqMutualAuth      uint32 = 0x00000002
	ReqReplayDetect    uint32 = 0x00000004
	ReqSequenceDetect  uint32 = 0x00000008
	ReqConfidentiality uint32 = 0x00000010
	ReqAllocateMemory  uint32 = 0x00000100
	ReqConnection      uint32 = 0x00000800
	ReqIntegrity       uint32 = 0x00010000

	RetMutualAuth = ReqMutualAuth
)

// Buffer types (sspi.h SECBUFFER_*).
const (
	BufferEmpty           uint32 = 0
	BufferToken           uint32 = 2
	BufferChannelBindings uint32 = 14
)

// A Handle is a CredHandle or CtxtHandle (SecHandle): two pointer-sized
// words owned by the security package.
type Handle struct {
	Lower, Upper uintptr
}

// A Buffer is a SecBuffer. On input Data is what the package reads; on
// output Data is the space the caller provides (its length is cbBuffer), and
// the API reslices it to the bytes the package wrote.
type Buffer struct {
	Type uint32
	Data []byte
}

// An Identity is the explicit credentials given to
// AcquireCredentialsHandleW as SEC_WINNT_AUTH_IDENTITY_W (always UTF-16,
// SEC_WINNT_AUTH_IDENTITY_UNICODE). A nil *Identity means the logged-on
// user's credentials (a nil pAuthData).
type Identity struct {
	User, Domain, Password string
}

// String returns the identity as users type it; never the password.
func (id *Identity) String() string {
	switch {
	case id == nil:
		return "<logged-on user>"
	case id.Domain != "":
		return id.Domain + `\` + id.User
	}
	return id.User
}

// GoString keeps the password out of %#v.
func (id *Identity) GoString() string { return "sspi.Identity(" + id.String() + ")" }

// PackageInfo is what the loop needs of a SecPkgInfoW.
type PackageInfo struct {
	Name     string
	MaxToken uint32 // cbMaxToken: the largest token the package makes
}

// A ContextBuffer is memory the security package allocated and the caller
// must give back with FreeContextBuffer. It is an address the Go side never
// dereferences; zero means none.
type ContextBuffer uintptr

// API is the table of secur32 functions the context loop calls, with Go
// types: System's on Windows, a fake in the tests. Each returns the
// function's SECURITY_STATUS. Strings are converted to UTF-16 by the table.
type API interface {
	// QuerySecurityPackageInfo calls QuerySecurityPackageInfoW; on success
	// mem is the SecPkgInfoW to free.
	QuerySecurityPackageInfo(pkg string) (info PackageInfo, mem ContextBuffer, status Status)
	// AcquireCredentialsHandle calls AcquireCredentialsHandleW for outbound
	// credentials (SECPKG_CRED_OUTBOUND); id nil means the logged-on user.
	AcquireCredentialsHandle(pkg string, id *Identity) (cred Handle, status Status)
	// InitializeSecurityContext calls InitializeSecurityContextW. ctx is
	// nil on the first call; newCtx is the context handle, valid when ctx
	// was nil and the status is a success. An empty target means none
	// (NULL). Empty in means no input buffers (NULL). out's Data are
	// resliced to what the package wrote.
	InitializeSecurityContext(cred Handle, ctx *Handle, target string, req uint32, in, out []Buffer) (newCtx Handle, attrs uint32, status Status)
	// CompleteAuthToken calls CompleteAuthToken on the output buffers of
	// the InitializeSecurityContext call that asked for it.
	CompleteAuthToken(ctx Handle, out []Buffer) Status
	// NegotiatedPackage calls QueryContextAttributesW with
	// SECPKG_ATTR_NEGOTIATION_INFO and returns the name of the package the
	// Negotiate package chose; mem is the SecPkgInfoW to free.
	NegotiatedPackage(ctx Handle) (name string, mem ContextBuffer, status Status)
	// FreeContextBuffer gives back memory a package allocated.
	FreeContextBuffer(mem ContextBuffer) Status
	// DeleteSecurityContext deletes a context handle.
	DeleteSecurityContext(ctx Handle) Status
	// FreeCredentialsHandle frees a credentials handle.
	FreeCredentialsHandle(cred Handle) Status
}
