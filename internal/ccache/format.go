// This file reads and writes the MIT credential cache encoding
// (https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html):
// the FILE format (versions 3 and 4) and the version-4 principal and
// credential encodings that KCM replies and keyring payloads also use.
// Every length is checked against the bytes left, so no input can make
// the reader panic or allocate more than the input's size.

package ccache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/types"
)

// MaxSize bounds a cache file, a KCM reply and a keyring payload: MIT's
// KCM client refuses replies over 10 MiB, and a real cache is a few KiB.
const MaxSize = 10 << 20

// errFormat is the cause of every decoding error.
var errFormat = errors.New("malformed credential cache")

// reader decodes big-endian fields from b, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated %s", errFormat, what)
	}
	r.b = nil
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8(what string) uint8 {
	if b := r.bytes(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if b := r.bytes(2, what); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if b := r.bytes(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// data reads a counted octet string (uint32 length, then the bytes).
func (r *reader) data(what string) []byte {
	n := r.u32(what)
	if uint64(n) > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	return r.bytes(int(n), what)
}

// count reads a uint32 element count and checks that count elements of at
// least min bytes each can fit in what is left.
func (r *reader) count(min int, what string) int {
	n := r.u32(what)
	if r.err != nil || uint64(n)*uint64(min) > uint64(len(r.b)) {
		r.fail(what)
		return 0
	}
	return int(n)
}

// timestamp reads a krb5_timestamp: seconds since the epoch as an unsigned
// 32-bit number (MIT reads them unsigned since 1.17, for times past 2038);
// 0 means unset.
func (r *reader) timestamp(what string) time.Time {
	v := r.u32(what)
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0).UTC()
}

// principal reads a principal in the version-3/4 encoding: name type,
// component count, realm, components.
func (r *reader) principal() (realm string, name types.PrincipalName) {
	name.NameType = int32(r.u32("principal name type"))
	n := r.count(4, "principal component count")
	realm = string(r.data("principal realm"))
	name.NameString = make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		name.NameString = append(name.NameString, string(r.data("principal component")))
	}
	return realm, name
}

// credential reads one credential; v3 repeats the key's enctype.
func (r *reader) credential(version int) *credentials.Credential {
	c := new(credentials.Credential)
	c.Client.Realm, c.Client.PrincipalName = r.principal()
	c.Server.Realm, c.Server.PrincipalName = r.principal()
	c.Key.KeyType = int32(r.u16("key enctype"))
	if version == 3 {
		c.Key.KeyType = int32(r.u16("key enctype"))
	}
	c.Key.KeyValue = r.data("key")
	c.AuthTime = r.timestamp("auth time")
	c.StartTime = r.timestamp("start time")
	c.EndTime = r.timestamp("end time")
	c.RenewTill = r.timestamp("renew till")
	c.IsSKey = r.u8("is_skey") != 0
	c.TicketFlags = asn1.BitString{Bytes: append([]byte(nil), r.bytes(4, "ticket flags")...), BitLength: 32}
	n := r.count(6, "address count")
	for i := 0; i < n && r.err == nil; i++ {
		t := int32(r.u16("address type"))
		c.Addresses = append(c.Addresses, types.HostAddress{AddrType: t, Address: r.data("address")})
	}
	n = r.count(6, "authdata count")
	for i := 0; i < n && r.err == nil; i++ {
		t := int32(r.u16("authdata type"))
		c.AuthData = append(c.AuthData, types.AuthorizationDataEntry{ADType: t, ADData: r.data("authdata")})
	}
	c.Ticket = r.data("ticket")
	c.SecondTicket = r.data("second ticket")
	if r.err != nil {
		return nil
	}
	return c
}

// ParsePrincipal decodes a version-4 principal (a keyring's __krb5_princ__
// payload, a KCM GET_PRINCIPAL reply) into name@REALM form parts.
func ParsePrincipal(b []byte) (realm string, name types.PrincipalName, err error) {
	if len(b) > MaxSize {
		return "", name, fmt.Errorf("%w: %d bytes", errFormat, len(b))
	}
	r := &reader{b: b}
	realm, name = r.principal()
	if r.err != nil {
		return "", types.PrincipalName{}, r.err
	}
	return realm, name, nil
}

// ParseCredential decodes one version-4 credential (a keyring credential
// key's payload, a KCM GET_CRED_BY_UUID reply).
func ParseCredential(b []byte) (*credentials.Credential, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes", errFormat, len(b))
	}
	r := &reader{b: b}
	c := r.credential(4)
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// ParseFile decodes a FILE cache (format version 3 or 4; versions 1 and 2,
// in native byte order, have not been written since MIT krb5 1.0). An
// empty, truncated or header-only cache is an error, never a panic.
func ParseFile(b []byte) (*credentials.CCache, error) {
	cc, r, err := parseFileHead(b)
	if err != nil {
		return nil, err
	}
	for len(r.b) > 0 {
		c := r.credential(int(cc.Version))
		if r.err != nil {
			return nil, r.err
		}
		cc.Credentials = append(cc.Credentials, c)
	}
	return cc, nil
}

// parseFileHead decodes a FILE cache's version, header and default
// principal, returning the reader positioned at the first credential.
func parseFileHead(b []byte) (*credentials.CCache, *reader, error) {
	if len(b) > MaxSize {
		return nil, nil, fmt.Errorf("%w: %d bytes is more than a cache holds", errFormat, len(b))
	}
	r := &reader{b: b}
	if r.u8("version") != 5 {
		if r.err != nil {
			return nil, nil, fmt.Errorf("%w: empty", errFormat)
		}
		return nil, nil, fmt.Errorf("%w: not a ticket cache (first byte is not 5)", errFormat)
	}
	v := int(r.u8("version"))
	if r.err != nil {
		return nil, nil, r.err
	}
	if v != 3 && v != 4 {
		return nil, nil, fmt.Errorf("%w: unsupported file format version %d", errFormat, v)
	}
	cc := &credentials.CCache{Version: uint8(v)}
	if v == 4 {
		// Header tags (the KDC time offset) are skipped: they only
		// matter to a client whose clock is off.
		hl := int(r.u16("header length"))
		r.bytes(hl, "header")
	}
	cc.DefaultPrincipal.Realm, cc.DefaultPrincipal.PrincipalName = r.principal()
	if r.err != nil {
		return nil, nil, r.err
	}
	return cc, r, nil
}

// ParsePrimary decodes the payload of a keyring collection's
// "krb_ccache:primary" key: version 1, then the primary cache's name as a
// counted string.
func ParsePrimary(b []byte) (string, error) {
	r := &reader{b: b}
	if v := r.u32("primary version"); r.err == nil && v != 1 {
		return "", fmt.Errorf("%w: keyring collection version %d", errFormat, v)
	}
	name := r.data("primary name")
	if r.err != nil {
		return "", r.err
	}
	if !validKeyName(string(name)) {
		return "", fmt.Errorf("%w: bad primary cache name %q", errFormat, name)
	}
	return string(name), nil
}

// validKeyName reports whether s may name a key: not empty, no NUL.
func validKeyName(s string) bool { return s != "" && !strings.ContainsRune(s, 0) }

// writer appends the version-4 encodings.
type writer struct{ b []byte }

func (w *writer) u16(v uint16)  { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32)  { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) data(d []byte) { w.u32(uint32(len(d))); w.b = append(w.b, d...) }

func (w *writer) principal(realm string, name types.PrincipalName) {
	w.u32(uint32(name.NameType))
	w.u32(uint32(len(name.NameString)))
	w.data([]byte(realm))
	for _, s := range name.NameString {
		w.data([]byte(s))
	}
}

func (w *writer) timestamp(t time.Time) {
	if t.IsZero() {
		w.u32(0)
		return
	}
	w.u32(uint32(t.Unix()))
}

// MarshalPrincipal encodes a principal in the version-4 encoding.
func MarshalPrincipal(realm string, name types.PrincipalName) []byte {
	var w writer
	w.principal(realm, name)
	return w.b
}

// MarshalCredential encodes c in the version-4 encoding.
func MarshalCredential(c *credentials.Credential) []byte {
	var w writer
	w.principal(c.Client.Realm, c.Client.PrincipalName)
	w.principal(c.Server.Realm, c.Server.PrincipalName)
	w.u16(uint16(c.Key.KeyType))
	w.data(c.Key.KeyValue)
	w.timestamp(c.AuthTime)
	w.timestamp(c.StartTime)
	w.timestamp(c.EndTime)
	w.timestamp(c.RenewTill)
	if c.IsSKey {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
	fl := make([]byte, 4)
	copy(fl, c.TicketFlags.Bytes)
	w.b = append(w.b, fl...)
	w.u32(uint32(len(c.Addresses)))
	for _, a := range c.Addresses {
		w.u16(uint16(a.AddrType))
		w.data(a.Address)
	}
	w.u32(uint32(len(c.AuthData)))
	for _, a := range c.AuthData {
		w.u16(uint16(a.ADType))
		w.data(a.ADData)
	}
	w.data(c.Ticket)
	w.data(c.SecondTicket)
	return w.b
}

// MarshalFile encodes cc as a version-4 FILE cache with an empty header.
func MarshalFile(cc *credentials.CCache) []byte {
	w := writer{b: []byte{5, 4}}
	w.u16(0)
	w.principal(cc.DefaultPrincipal.Realm, cc.DefaultPrincipal.PrincipalName)
	for _, c := range cc.Credentials {
		w.b = append(w.b, MarshalCredential(c)...)
	}
	return w.b
}
