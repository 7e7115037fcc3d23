// This file is the one door through which outside bytes reach gokrb5's
// parsers: keytab and krb5.conf files, and the KDC's replies. gokrb5 v8.4.4
// panics on some malformed input (an index out of range in its krb5.conf
// parser, for one), and its keytab errors quote the file's bytes, keys
// included. Every call here is read with a size bound, runs under a recover
// that turns a panic into an error wrapping a gss sentinel, and never puts
// gokrb5's error text for a keytab in our errors.

package krb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// Size limits on local files. They are far above real files (a keytab
// entry is about 100 bytes, so 4 MiB holds some 40,000 keys; Debian's and
// Fedora's krb5.conf with all of /etc/krb5.conf.d is a few KiB) and keep a
// mistaken path such as a disk image or /dev/zero from being read whole.
const (
	// maxKeytabSize bounds a keytab file.
	maxKeytabSize = 4 << 20
	// maxConfigFileSize bounds one krb5.conf file, main or included.
	maxConfigFileSize = 1 << 20
	// maxConfigSize bounds the text of a krb5.conf with all its includes
	// expanded (an includedir of many files, or one file included many
	// times from several places).
	maxConfigSize = 4 << 20
)

// errPanicked is wrapped by the errors of the guards below when gokrb5's
// parser panicked, so tests can tell a refused input from a guarded crash.
var errPanicked = errors.New("parser failed on malformed input")

// guard runs parse and turns a panic inside it into an error wrapping
// sentinel and errPanicked. The panic value is dropped: it may hold parts
// of the input, and a keytab's input is keys.
func guard(what string, sentinel error, parse func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("negotiate: kerberos: malformed %s (%w): %w", what, errPanicked, sentinel)
		}
	}()
	return parse()
}

// errTooLarge reports a file above its size limit.
type errTooLarge struct {
	path  string
	limit int64
}

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes", e.path, e.limit)
}

// readFileLimited reads the file at path if it has at most limit bytes,
// else it fails with *errTooLarge without reading more than limit+1 bytes
// (a FIFO or a device has no size to check before reading). Errors of the
// file system are returned as they are, so fs.ErrNotExist can be tested.
func readFileLimited(path string, limit int64) ([]byte, error) {
	// Only regular files: opening a FIFO blocks until someone writes, and
	// a device (/dev/stdin, /dev/zero) is no configuration or keytab.
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("negotiate: kerberos: %s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
		return nil, &errTooLarge{path, limit}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &errTooLarge{path, limit}
	}
	return b, nil
}

// LoadKeytab reads and parses the keytab file at path; files over
// maxKeytabSize (4 MiB) are refused unread. Every error wraps
// gss.ErrNoCredentials, and the file system's error when there is one (so
// errors.Is(err, fs.ErrNotExist) tells a missing file). No error carries
// the file's bytes.
func LoadKeytab(path string) (*keytab.Keytab, error) {
	b, err := readFileLimited(path, maxKeytabSize)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: reading keytab: %w (%w)", gss.ErrNoCredentials, err)
	}
	kt, err := ParseKeytab(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return kt, nil
}

// ParseKeytab parses a keytab in the MIT format (versions 0x501 and
// 0x502). The error wraps gss.ErrNoCredentials and never quotes the input:
// gokrb5's own errors print the whole keytab, keys included.
func ParseKeytab(b []byte) (*keytab.Keytab, error) {
	kt := keytab.New()
	err := guard("keytab", gss.ErrNoCredentials, func() error { return kt.Unmarshal(b) })
	if errors.Is(err, errPanicked) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: malformed keytab: %w", gss.ErrNoCredentials)
	}
	return kt, nil
}

// The parsers of KDC replies. Their errors wrap gss.ErrMalformedToken.

// parseKRBError parses a KRB-ERROR (RFC 4120 §5.9.1).
func parseKRBError(b []byte) (messages.KRBError, error) {
	var ke messages.KRBError
	err := guard("KRB-ERROR", gss.ErrMalformedToken, func() error { return ke.Unmarshal(b) })
	return ke, err
}

// parseASRep parses an AS-REP (RFC 4120 §5.4.2), without decrypting it.
func parseASRep(b []byte) (messages.ASRep, error) {
	var rep messages.ASRep
	err := guard("AS-REP", gss.ErrMalformedToken, func() error { return rep.Unmarshal(b) })
	return rep, err
}

// parseTGSRep parses a TGS-REP (RFC 4120 §5.4.2), without decrypting it.
func parseTGSRep(b []byte) (messages.TGSRep, error) {
	var rep messages.TGSRep
	err := guard("TGS-REP", gss.ErrMalformedToken, func() error { return rep.Unmarshal(b) })
	return rep, err
}

// decryptEncPart decrypts a KDC reply's enc-part with key and usage. A
// failure is errDecrypt (wrong key or altered reply) unless the decryption
// panicked, which is a malformed reply.
func decryptEncPart(ed types.EncryptedData, key types.EncryptionKey, usage uint32) ([]byte, error) {
	var plain []byte
	var derr error
	err := guard("KDC reply encrypted part", gss.ErrMalformedToken, func() error {
		plain, derr = crypto.DecryptEncPart(ed, key, usage)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, errDecrypt
	}
	return plain, nil
}

// errDecrypt is decryptEncPart's error for a reply not made with the key.
var errDecrypt = errors.New("negotiate: kerberos: cannot decrypt the KDC reply")

// parseEncKDCRepPart parses the decrypted part of an AS-REP or TGS-REP
// (RFC 4120 §5.4.2). gokrb5 accepts both application tags (25 and 26).
func parseEncKDCRepPart(b []byte) (messages.EncKDCRepPart, error) {
	var p messages.EncKDCRepPart
	err := guard("KDC reply encrypted part", gss.ErrMalformedToken, func() error { return p.Unmarshal(b) })
	return p, err
}

// parsePAData parses a METHOD-DATA (a sequence of PA-DATA), as a
// KDC_ERR_PREAUTH_REQUIRED carries in its e-data (RFC 4120 §5.2.7).
func parsePAData(b []byte) (types.PADataSequence, error) {
	var s types.PADataSequence
	err := guard("PA-DATA", gss.ErrMalformedToken, func() error { return s.Unmarshal(b) })
	return s, err
}

// parseETypeInfo2 parses an ETYPE-INFO2 (RFC 4120 §5.2.7.5).
func parseETypeInfo2(b []byte) (types.ETypeInfo2, error) {
	var info types.ETypeInfo2
	err := guard("ETYPE-INFO2", gss.ErrMalformedToken, func() error { return info.Unmarshal(b) })
	return info, err
}

// maxS2KIterations bounds the PBKDF2 iteration count a KDC may ask for in
// the s2kparams of ETYPE-INFO2 (RFC 3962 §4, RFC 8009 §4): the hint comes
// before any authentication of the KDC, and 2^32-1 iterations would keep a
// core busy for hours. The defaults are 4096 (AES-SHA1) and 32768
// (AES-SHA2); 2^20 takes about a second.
const maxS2KIterations = 1 << 20

// checkS2KParams checks the s2kparams a KDC sent for an AES enctype: four
// bytes, an iteration count of at most maxS2KIterations (0 means 2^32,
// RFC 3962 §4). Other enctypes' params are left to gokrb5.
func checkS2KParams(etype int32, params []byte) error {
	switch etype {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
	default:
		return nil
	}
	if len(params) != 4 {
		return fmt.Errorf("negotiate: kerberos: KDC sent %d-byte s2kparams for enctype %d, want 4: %w", len(params), etype, gss.ErrMalformedToken)
	}
	n := uint64(binary.BigEndian.Uint32(params))
	if n == 0 {
		n = 1 << 32
	}
	if n > maxS2KIterations {
		return fmt.Errorf("negotiate: kerberos: KDC asks for %d PBKDF2 iterations for enctype %d, more than %d: %w", n, etype, maxS2KIterations, gss.ErrRejected)
	}
	return nil
}

// parseETypeInfo parses an ETYPE-INFO (RFC 4120 §5.2.7.4).
func parseETypeInfo(b []byte) (types.ETypeInfo, error) {
	var info types.ETypeInfo
	err := guard("ETYPE-INFO", gss.ErrMalformedToken, func() error { return info.Unmarshal(b) })
	return info, err
}
