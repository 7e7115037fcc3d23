// This file is the real function table: secur32.dll through package
// syscall (no cgo), with the C structures of sspi.h laid out for Go.

package sspi

import (
	"errors"
	"runtime"
	"sync"
	"syscall"
	"unicode/utf16"
	"unsafe"
)

var (
	secur32 = syscall.NewLazyDLL("secur32.dll")

	procQuerySecurityPackageInfoW  = secur32.NewProc("QuerySecurityPackageInfoW")
	procAcquireCredentialsHandleW  = secur32.NewProc("AcquireCredentialsHandleW")
	procInitializeSecurityContextW = secur32.NewProc("InitializeSecurityContextW")
	procCompleteAuthToken          = secur32.NewProc("CompleteAuthToken")
	procQueryContextAttributesW    = secur32.NewProc("QueryContextAttributesW")
	procFreeContextBuffer          = secur32.NewProc("FreeContextBuffer")
	procDeleteSecurityContext      = secur32.NewProc("DeleteSecurityContext")
	procFreeCredentialsHandle      = secur32.NewProc("FreeCredentialsHandle")

	allProcs = []*syscall.LazyProc{
		procQuerySecurityPackageInfoW, procAcquireCredentialsHandleW,
		procInitializeSecurityContextW, procCompleteAuthToken,
		procQueryContextAttributesW, procFreeContextBuffer,
		procDeleteSecurityContext, procFreeCredentialsHandle,
	}
)

// sspi.h constants used only here.
const (
	secpkgCredOutbound               = 2    // SECPKG_CRED_OUTBOUND
	securityNativeDrep               = 0x10 // SECURITY_NATIVE_DREP
	secbufferVersion                 = 0    // SECBUFFER_VERSION
	secWinntAuthIdentUnicode         = 2    // SEC_WINNT_AUTH_IDENTITY_UNICODE
	secpkgAttrNegotiationInfo        = 12   // SECPKG_ATTR_NEGOTIATION_INFO
	maxPackageNameLen                = 256
	errBufferMoved            Status = StatusInternalError
)

// secHandle is SecHandle (CredHandle, CtxtHandle), laid out as Handle.
type secHandle struct{ Lower, Upper uintptr }

// timeStamp is TimeStamp (a LARGE_INTEGER); its value is not used.
type timeStamp struct{ low, high uint32 }

// secBuffer is SecBuffer.
type secBuffer struct {
	cbBuffer   uint32
	bufferType uint32
	pvBuffer   *byte
}

// secBufferDesc is SecBufferDesc.
type secBufferDesc struct {
	ulVersion uint32
	cBuffers  uint32
	pBuffers  *secBuffer
}

// secPkgInfoW is SecPkgInfoW.
type secPkgInfoW struct {
	fCapabilities uint32
	wVersion      uint16
	wRPCID        uint16
	cbMaxToken    uint32
	name          *uint16
	comment       *uint16
}

// secPkgContextNegotiationInfoW is SecPkgContext_NegotiationInfoW.
type secPkgContextNegotiationInfoW struct {
	packageInfo      *secPkgInfoW
	negotiationState uint32
}

// secWinntAuthIdentityW is SEC_WINNT_AUTH_IDENTITY_W; lengths are in
// UTF-16 code units, without the terminating NUL.
type secWinntAuthIdentityW struct {
	user           *uint16
	userLength     uint32
	domain         *uint16
	domainLength   uint32
	password       *uint16
	passwordLength uint32
	flags          uint32
}

var (
	loadOnce sync.Once
	loadErr  error
)

// System returns the table of secur32.dll's functions, or an error when
// the DLL or one of the functions cannot be found.
func System() (API, error) {
	loadOnce.Do(func() {
		for _, p := range allProcs {
			if err := p.Find(); err != nil {
				loadErr = errors.New("negotiate: secur32.dll lacks " + p.Name)
				return
			}
		}
	})
	if loadErr != nil {
		return nil, loadErr
	}
	return system{}, nil
}

type system struct{}

// utf16z returns s in UTF-16 with a terminating NUL, and its length
// without it.
func utf16z(s string) ([]uint16, uint32) {
	u := utf16.Encode([]rune(s))
	return append(u, 0), uint32(len(u))
}

// wstring reads a NUL-terminated UTF-16 string the package owns, up to
// maxPackageNameLen units.
func wstring(p *uint16) string {
	if p == nil {
		return ""
	}
	var u []uint16
	for i := 0; i < maxPackageNameLen; i++ {
		c := *(*uint16)(unsafe.Add(unsafe.Pointer(p), 2*i))
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

func (system) QuerySecurityPackageInfo(pkg string) (PackageInfo, ContextBuffer, Status) {
	name, _ := utf16z(pkg)
	var info *secPkgInfoW
	r, _, _ := procQuerySecurityPackageInfoW.Call(uintptr(unsafe.Pointer(&name[0])), uintptr(unsafe.Pointer(&info)))
	st := Status(r)
	if st.Failed() || info == nil {
		return PackageInfo{}, 0, st
	}
	return PackageInfo{Name: wstring(info.name), MaxToken: info.cbMaxToken}, ContextBuffer(unsafe.Pointer(info)), st
}

func (system) AcquireCredentialsHandle(pkg string, id *Identity) (Handle, Status) {
	name, _ := utf16z(pkg)
	var auth *secWinntAuthIdentityW
	var pw []uint16
	if id != nil {
		user, ul := utf16z(id.User)
		domain, dl := utf16z(id.Domain)
		var pl uint32
		pw, pl = utf16z(id.Password)
		auth = &secWinntAuthIdentityW{
			user: &user[0], userLength: ul,
			domain: &domain[0], domainLength: dl,
			password: &pw[0], passwordLength: pl,
			flags: secWinntAuthIdentUnicode,
		}
	}
	var cred secHandle
	var expiry timeStamp
	r, _, _ := procAcquireCredentialsHandleW.Call(
		0, // pszPrincipal
		uintptr(unsafe.Pointer(&name[0])),
		secpkgCredOutbound,
		0, // pvLogonId
		uintptr(unsafe.Pointer(auth)),
		0, 0, // pGetKeyFn, pvGetKeyArgument
		uintptr(unsafe.Pointer(&cred)),
		uintptr(unsafe.Pointer(&expiry)),
	)
	runtime.KeepAlive(auth)
	// The package has copied the password: wipe ours.
	clear(pw)
	return Handle(cred), Status(r)
}

// descOf returns a SecBufferDesc for bufs (nil for none) and the
// secBuffers it points to.
func descOf(bufs []Buffer) (*secBufferDesc, []secBuffer) {
	if len(bufs) == 0 {
		return nil, nil
	}
	sb := make([]secBuffer, len(bufs))
	for i, b := range bufs {
		sb[i] = secBuffer{cbBuffer: uint32(len(b.Data)), bufferType: b.Type}
		if len(b.Data) > 0 {
			sb[i].pvBuffer = &b.Data[0]
		}
	}
	return &secBufferDesc{ulVersion: secbufferVersion, cBuffers: uint32(len(sb)), pBuffers: &sb[0]}, sb
}

// readBack reslices out to what the package wrote into sb, and reports
// whether the package kept to the buffers it was given (without
// ISC_REQ_ALLOCATE_MEMORY it must).
func readBack(out []Buffer, sb []secBuffer) bool {
	for i := range out {
		if int(sb[i].cbBuffer) > len(out[i].Data) {
			return false
		}
		if sb[i].cbBuffer > 0 && sb[i].pvBuffer != &out[i].Data[0] {
			return false
		}
		out[i].Type = sb[i].bufferType
		out[i].Data = out[i].Data[:sb[i].cbBuffer]
	}
	return true
}

func (system) InitializeSecurityContext(cred Handle, ctx *Handle, target string, req uint32, in, out []Buffer) (Handle, uint32, Status) {
	var tgt *uint16
	if target != "" {
		t, _ := utf16z(target)
		tgt = &t[0]
	}
	inDesc, inSB := descOf(in)
	outDesc, outSB := descOf(out)
	ch := secHandle(cred)
	var prev *secHandle
	var next secHandle
	if ctx != nil {
		p := secHandle(*ctx)
		prev, next = &p, p
	}
	var attrs uint32
	var expiry timeStamp
	r, _, _ := procInitializeSecurityContextW.Call(
		uintptr(unsafe.Pointer(&ch)),
		uintptr(unsafe.Pointer(prev)),
		uintptr(unsafe.Pointer(tgt)),
		uintptr(req),
		0, // Reserved1
		securityNativeDrep,
		uintptr(unsafe.Pointer(inDesc)),
		0, // Reserved2
		uintptr(unsafe.Pointer(&next)),
		uintptr(unsafe.Pointer(outDesc)),
		uintptr(unsafe.Pointer(&attrs)),
		uintptr(unsafe.Pointer(&expiry)),
	)
	runtime.KeepAlive(in)
	runtime.KeepAlive(inSB)
	runtime.KeepAlive(out)
	st := Status(r)
	if !readBack(out, outSB) && !st.Failed() {
		// The context exists but its token cannot be trusted; the caller
		// deletes the handle on the error path.
		return Handle(next), attrs, errBufferMoved
	}
	return Handle(next), attrs, st
}

func (system) CompleteAuthToken(ctx Handle, out []Buffer) Status {
	h := secHandle(ctx)
	desc, sb := descOf(out)
	r, _, _ := procCompleteAuthToken.Call(uintptr(unsafe.Pointer(&h)), uintptr(unsafe.Pointer(desc)))
	runtime.KeepAlive(out)
	if !readBack(out, sb) {
		return errBufferMoved
	}
	return Status(r)
}

func (system) NegotiatedPackage(ctx Handle) (string, ContextBuffer, Status) {
	h := secHandle(ctx)
	var info secPkgContextNegotiationInfoW
	r, _, _ := procQueryContextAttributesW.Call(uintptr(unsafe.Pointer(&h)), secpkgAttrNegotiationInfo, uintptr(unsafe.Pointer(&info)))
	st := Status(r)
	if st.Failed() || info.packageInfo == nil {
		return "", 0, st
	}
	return wstring(info.packageInfo.name), ContextBuffer(unsafe.Pointer(info.packageInfo)), st
}

func (system) FreeContextBuffer(mem ContextBuffer) Status {
	r, _, _ := procFreeContextBuffer.Call(uintptr(mem))
	return Status(r)
}

func (system) DeleteSecurityContext(ctx Handle) Status {
	h := secHandle(ctx)
	r, _, _ := procDeleteSecurityContext.Call(uintptr(unsafe.Pointer(&h)))
	return Status(r)
}

func (system) FreeCredentialsHandle(cred Handle) Status {
	h := secHandle(cred)
	r, _, _ := procFreeCredentialsHandle.Call(uintptr(unsafe.Pointer(&h)))
	return Status(r)
}
