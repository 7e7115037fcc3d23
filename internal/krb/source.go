// This file says where a client's existing credentials come from and whom
// they hold, cheaply enough to ask on every request: the Transport keys
// what it shares per user by that answer, so that a cache re-initialised
// for another principal (kdestroy; kinit bob) is a new identity.

package krb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// A Source names a credential source and the principal it holds.
type Source struct {
	// Name is the resolved source: "FILE:/tmp/krb5cc_1000" or
	// "KEYTAB:/etc/krb5.keytab".
	Name string
	// Principal is the client principal as user@REALM.
	Principal string
}

// DefaultSource resolves the credentials DefaultClient would use, as
// DefaultClient looks them up, and reads the principal they hold. It reads
// a cache's header (or a keytab's first entry) only when the file changed
// since the last call.
func DefaultSource(cfg *config.Config) (Source, error) {
	path, err := defaultCachePath()
	if err != nil {
		return Source{}, err
	}
	src, err := CacheSource(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return src, err
	}
	ktPath := os.Getenv("KRB5_CLIENT_KTNAME")
	if ktPath == "" && cfg != nil {
		ktPath = cfg.LibDefaults.DefaultClientKeytabName
	}
	ktPath = strings.TrimPrefix(ktPath, "FILE:")
	if ktPath == "" {
		return Source{}, err
	}
	return fileSource("KEYTAB:", ktPath, keytabPrincipal)
}

// defaultCachePath is the FILE cache DefaultClient reads: KRB5CCNAME, else
// /tmp/krb5cc_<uid>.
func defaultCachePath() (string, error) {
	path := "/tmp/krb5cc_" + strconv.Itoa(os.Getuid())
	if env := os.Getenv("KRB5CCNAME"); env != "" {
		typ, rest, ok := strings.Cut(env, ":")
		switch {
		case !ok || strings.HasPrefix(env, "/"):
			path = env
		case strings.EqualFold(typ, "FILE"):
			path = rest
		default:
			return "", fmt.Errorf("negotiate: kerberos: ticket cache type %s (KRB5CCNAME) is not supported, only FILE: %w", typ, gss.ErrNoCredentials)
		}
	}
	return path, nil
}

// CacheSource reads the default principal of the FILE ticket cache at path
// ("FILE:" prefix allowed).
func CacheSource(path string) (Source, error) {
	return fileSource("FILE:", strings.TrimPrefix(path, "FILE:"), cachePrincipal)
}

// sourceMemo remembers the principal of each file read, while the file's
// size and modification time (to the nanosecond where the file system
// keeps it) stay the same. It is bounded: a
// process reads few distinct credential files.
var sourceMemo = struct {
	sync.Mutex
	m map[string]memoEntry
}{m: map[string]memoEntry{}}

const maxSourceMemo = 64

type memoEntry struct {
	size      int64
	mtime     time.Time
	principal string
}

func fileSource(prefix, path string, read func(io.Reader) (string, error)) (Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Source{}, err
	}
	key := prefix + path
	stamp := memoEntry{size: fi.Size(), mtime: fi.ModTime()}
	sourceMemo.Lock()
	e, ok := sourceMemo.m[key]
	sourceMemo.Unlock()
	if ok && e.size == stamp.size && e.mtime.Equal(stamp.mtime) {
		return Source{Name: key, Principal: e.principal}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return Source{}, err
	}
	defer f.Close()
	p, err := read(io.LimitReader(f, 64<<10))
	if err != nil {
		return Source{}, fmt.Errorf("negotiate: kerberos: %s: %w: %w", key, err, gss.ErrNoCredentials)
	}
	stamp.principal = p
	sourceMemo.Lock()
	if len(sourceMemo.m) >= maxSourceMemo {
		clear(sourceMemo.m)
	}
	sourceMemo.m[key] = stamp
	sourceMemo.Unlock()
	return Source{Name: key, Principal: p}, nil
}

var errShort = errors.New("truncated")

// cachePrincipal reads the default principal from the head of an MIT FILE
// ticket cache, versions 3 and 4 (big-endian; MIT's ccache file format):
// a 2-byte version, for version 4 a length-prefixed header, then the
// principal: name type, component count, realm and components, each
// string with a 4-byte length.
func cachePrincipal(r io.Reader) (string, error) {
	var v [2]byte
	if _, err := io.ReadFull(r, v[:]); err != nil {
		return "", errShort
	}
	if v[0] != 5 || (v[1] != 3 && v[1] != 4) {
		return "", fmt.Errorf("not a version 3 or 4 ticket cache (%#x%02x)", v[0], v[1])
	}
	if v[1] == 4 {
		var hl [2]byte
		if _, err := io.ReadFull(r, hl[:]); err != nil {
			return "", errShort
		}
		if _, err := io.CopyN(io.Discard, r, int64(binary.BigEndian.Uint16(hl[:]))); err != nil {
			return "", errShort
		}
	}
	return readPrincipal(r, false)
}

// keytabPrincipal reads the principal of a keytab's first entry (MIT's
// keytab format, version 0x502: big-endian; 0x501 is host order and rare).
func keytabPrincipal(r io.Reader) (string, error) {
	var v [2]byte
	if _, err := io.ReadFull(r, v[:]); err != nil {
		return "", errShort
	}
	if v[0] != 5 || v[1] != 2 {
		return "", fmt.Errorf("not a version 0x502 keytab (%#x%02x)", v[0], v[1])
	}
	for {
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return "", fmt.Errorf("no entry: %w", errShort)
		}
		n := int32(binary.BigEndian.Uint32(l[:]))
		if n < 0 {
			// A hole left by a deleted entry.
			if _, err := io.CopyN(io.Discard, r, -int64(n)); err != nil {
				return "", errShort
			}
			continue
		}
		return readPrincipal(io.LimitReader(r, int64(n)), true)
	}
}

// readPrincipal reads a principal: in a cache, name type, component count
// (4 bytes each), realm, components; in a keytab entry, a 2-byte count,
// realm, components (then a name type, not needed here).
func readPrincipal(r io.Reader, keytab bool) (string, error) {
	var count uint32
	if keytab {
		var c [2]byte
		if _, err := io.ReadFull(r, c[:]); err != nil {
			return "", errShort
		}
		count = uint32(binary.BigEndian.Uint16(c[:]))
	} else {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return "", errShort
		}
		count = binary.BigEndian.Uint32(h[4:])
	}
	if count == 0 || count > 16 {
		return "", fmt.Errorf("principal with %d components", count)
	}
	realm, err := readString(r, keytab)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, count)
	for range count {
		s, err := readString(r, keytab)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "/") + "@" + realm, nil
}

// readString reads a counted string: a 4-byte length in caches, 2 bytes in
// keytabs.
func readString(r io.Reader, keytab bool) (string, error) {
	var n int
	if keytab {
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return "", errShort
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	} else {
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return "", errShort
		}
		u := binary.BigEndian.Uint32(l[:])
		if u > 1024 {
			return "", fmt.Errorf("principal name of %d bytes", u)
		}
		n = int(u)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", errShort
	}
	return string(b), nil
}
