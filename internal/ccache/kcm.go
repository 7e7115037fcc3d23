// This file is the client side of the KCM protocol (Heimdal's, as MIT
// krb5's cc_kcm.c speaks it to sssd-kcm and Heimdal's kcm over a Unix
// socket). A request is a 4-byte big-endian length, then the message:
// protocol version 2.0 (two bytes), a 16-bit big-endian opcode and the
// parameters (names as NUL-terminated strings). A reply is a 4-byte
// length, a 4-byte transport status, then that many bytes: a 32-bit
// status code (0 for success, else a krb5 error code) and the results
// (principals and credentials in the version-4 cache encoding, UUIDs as
// 16 bytes with nothing after a list of them).

package ccache

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
)

// DefaultKCMSocket is where MIT krb5 and Heimdal look for the KCM daemon
// unless krb5.conf's kcm_socket says otherwise.
const DefaultKCMSocket = "/var/run/.heim_org.h5l.kcm-socket"

// KCM opcodes (MIT krb5's kcm.h, Heimdal's kcm_protocol.h).
const (
	kcmOpGetPrincipal     = 8
	kcmOpGetCredUUIDList  = 9
	kcmOpGetCredByUUID    = 10
	kcmOpGetCacheUUIDList = 18
	kcmOpGetCacheByUUID   = 19
	kcmOpGetDefaultCache  = 20
	kcmOpGetCredList      = 13001 // MIT extension, sssd 2.5+
)

// KCM opcodes a test server needs too.
const (
	KCMOpGetPrincipal     = kcmOpGetPrincipal
	KCMOpGetCredUUIDList  = kcmOpGetCredUUIDList
	KCMOpGetCredByUUID    = kcmOpGetCredByUUID
	KCMOpGetCacheUUIDList = kcmOpGetCacheUUIDList
	KCMOpGetCacheByUUID   = kcmOpGetCacheByUUID
	KCMOpGetDefaultCache  = kcmOpGetDefaultCache
	KCMOpGetCredList      = kcmOpGetCredList
)

// KCMErrNoCache is KRB5_FCC_NOFILE, the status a KCM daemon answers for a
// cache that does not exist.
const KCMErrNoCache = -1765328189

const (
	kcmUUIDLen = 16
	// kcmTimeout bounds one connection's exchanges: the daemon is local.
	kcmTimeout = 5 * time.Second
	// maxKCMCreds bounds how many credentials a cache may list.
	maxKCMCreds = 4096
)

// kcmConn is one connection to the KCM daemon.
type kcmConn struct {
	c    net.Conn
	path string
}

func dialKCM(path string) (*kcmConn, error) {
	c, err := net.DialTimeout("unix", path, kcmTimeout)
	if err != nil {
		return nil, fmt.Errorf("no KCM daemon at %s: %w", path, err)
	}
	_ = c.SetDeadline(time.Now().Add(kcmTimeout))
	return &kcmConn{c: c, path: path}, nil
}

func (k *kcmConn) close() { k.c.Close() }

// kcmStatusError is a non-zero status from the daemon.
type kcmStatusError int32

func (e kcmStatusError) Error() string {
	if e == KCMErrNoCache {
		return "no such cache"
	}
	return fmt.Sprintf("KCM error %d", int32(e))
}

// call sends one request and returns the reply's results (after the
// status code).
func (k *kcmConn) call(op uint16, args ...[]byte) ([]byte, error) {
	var req []byte
	req = append(req, 0, 0, 0, 0, 2, 0)
	req = binary.BigEndian.AppendUint16(req, op)
	for _, a := range args {
		req = append(req, a...)
	}
	binary.BigEndian.PutUint32(req, uint32(len(req)-4))
	if _, err := k.c.Write(req); err != nil {
		return nil, fmt.Errorf("writing to the KCM daemon at %s: %w", k.path, err)
	}
	var hdr [8]byte
	if _, err := io.ReadFull(k.c, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading from the KCM daemon at %s: %w", k.path, err)
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if st := int32(binary.BigEndian.Uint32(hdr[4:])); st != 0 {
		return nil, kcmStatusError(st)
	}
	if n > MaxSize {
		return nil, fmt.Errorf("%w: KCM reply of %d bytes", errFormat, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(k.c, body); err != nil {
		return nil, fmt.Errorf("reading from the KCM daemon at %s: %w", k.path, err)
	}
	return parseKCMReply(body)
}

// parseKCMReply splits a reply into its status and results.
func parseKCMReply(body []byte) ([]byte, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("%w: KCM reply of %d bytes has no status", errFormat, len(body))
	}
	if st := int32(binary.BigEndian.Uint32(body)); st != 0 {
		return nil, kcmStatusError(st)
	}
	return body[4:], nil
}

// kcmName encodes a cache name parameter.
func kcmName(name string) []byte { return append([]byte(name), 0) }

// parseKCMName reads a NUL-terminated name reply.
func parseKCMName(b []byte) (string, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", fmt.Errorf("%w: KCM name not terminated", errFormat)
	}
	return string(b[:i]), nil
}

// parseUUIDs splits a UUID list reply.
func parseUUIDs(b []byte) ([][]byte, error) {
	if len(b)%kcmUUIDLen != 0 {
		return nil, fmt.Errorf("%w: KCM UUID list of %d bytes", errFormat, len(b))
	}
	var out [][]byte
	for i := 0; i < len(b); i += kcmUUIDLen {
		out = append(out, b[i:i+kcmUUIDLen])
	}
	return out, nil
}

// ParseKCMCredList decodes a GET_CRED_LIST reply: a count, then each
// credential as a length and its version-4 encoding.
func ParseKCMCredList(b []byte) ([]*credentials.Credential, error) {
	r := &reader{b: b}
	n := r.count(4, "KCM credential count")
	if n > maxKCMCreds {
		return nil, fmt.Errorf("%w: %d credentials", errFormat, n)
	}
	var out []*credentials.Credential
	for i := 0; i < n && r.err == nil; i++ {
		c, err := ParseCredential(r.data("KCM credential"))
		if r.err != nil {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// kcmCache is one cache held by a KCM daemon.
type kcmCache struct {
	socket string
	name   string // the daemon's name for it, e.g. "0" or "0:12345"
}

func (c *kcmCache) Name() string { return "KCM:" + c.name }

func (c *kcmCache) withConn(f func(*kcmConn) error) error {
	k, err := dialKCM(c.socket)
	if err != nil {
		return err
	}
	defer k.close()
	return f(k)
}

func (c *kcmCache) Principal() (string, error) {
	var p string
	err := c.withConn(func(k *kcmConn) error {
		var err error
		p, err = kcmPrincipal(k, c.name)
		return err
	})
	return p, err
}

func kcmPrincipal(k *kcmConn, name string) (string, error) {
	b, err := k.call(kcmOpGetPrincipal, kcmName(name))
	if err != nil {
		return "", err
	}
	if len(b) == 0 {
		// Heimdal answers an empty cache this way.
		return "", kcmStatusError(KCMErrNoCache)
	}
	realm, pn, err := ParsePrincipal(b)
	if err != nil {
		return "", err
	}
	return principalString(realm, pn), nil
}

func (c *kcmCache) Load() (*credentials.CCache, error) {
	var cc *credentials.CCache
	err := c.withConn(func(k *kcmConn) error {
		b, err := k.call(kcmOpGetPrincipal, kcmName(c.name))
		if err != nil {
			return err
		}
		if len(b) == 0 {
			return kcmStatusError(KCMErrNoCache)
		}
		cc = &credentials.CCache{Version: 4}
		if cc.DefaultPrincipal.Realm, cc.DefaultPrincipal.PrincipalName, err = ParsePrincipal(b); err != nil {
			return err
		}
		// MIT's client asks for the whole list at once first and
		// falls back to one credential per request for daemons that
		// lack the extension.
		if b, err = k.call(kcmOpGetCredList, kcmName(c.name)); err == nil {
			cc.Credentials, err = ParseKCMCredList(b)
			return err
		}
		var st kcmStatusError
		if !errors.As(err, &st) {
			return err
		}
		b, err = k.call(kcmOpGetCredUUIDList, kcmName(c.name))
		if err != nil {
			return err
		}
		uuids, err := parseUUIDs(b)
		if err != nil {
			return err
		}
		if len(uuids) > maxKCMCreds {
			return fmt.Errorf("%w: %d credentials", errFormat, len(uuids))
		}
		for _, u := range uuids {
			b, err := k.call(kcmOpGetCredByUUID, kcmName(c.name), u)
			if err != nil {
				if errors.Is(err, kcmStatusError(KCMErrNoCache)) {
					continue // removed while we listed
				}
				return err
			}
			cr, err := ParseCredential(b)
			if err != nil {
				return err
			}
			cc.Credentials = append(cc.Credentials, cr)
		}
		return nil
	})
	return cc, err
}

// Stamp is the cache's principal and credential UUIDs: a daemon gives a
// credential a new UUID whenever it is stored, so kinit, kinit -R and
// renewals by sssd all change it.
func (c *kcmCache) Stamp() (string, error) {
	var s string
	err := c.withConn(func(k *kcmConn) error {
		b, err := k.call(kcmOpGetCredUUIDList, kcmName(c.name))
		if err != nil {
			return err
		}
		s = hex.EncodeToString(b)
		return nil
	})
	return s, err
}

// kcmPrimary returns the name of the daemon's default cache for the caller.
func kcmPrimary(socket string) (string, error) {
	k, err := dialKCM(socket)
	if err != nil {
		return "", err
	}
	defer k.close()
	b, err := k.call(kcmOpGetDefaultCache)
	if err != nil {
		return "", err
	}
	return parseKCMName(b)
}

// kcmList returns the names of the caller's caches.
func kcmList(socket string) ([]string, error) {
	k, err := dialKCM(socket)
	if err != nil {
		return nil, err
	}
	defer k.close()
	b, err := k.call(kcmOpGetCacheUUIDList)
	if errors.Is(err, kcmStatusError(KCMErrNoCache)) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	uuids, err := parseUUIDs(b)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, u := range uuids {
		b, err := k.call(kcmOpGetCacheByUUID, u)
		if err != nil {
			continue // destroyed while we listed
		}
		n, err := parseKCMName(b)
		if err != nil {
			return nil, err
		}
		names = append(names, n)
		if len(names) > maxKCMCreds {
			break
		}
	}
	return names, nil
}
