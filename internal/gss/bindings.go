package gss

import (
	"crypto/md5"
	"encoding/binary"
)

// ChannelBindings are the channel bindings given to a context (RFC 2744
// §3.11, gss_channel_bindings_struct). HTTP authentication uses no addresses,
// only application data: for TLS, "tls-server-end-point:" followed by the
// hash of the server's certificate (RFC 5929 §4.1).
//
// A nil *ChannelBindings means "no bindings".
type ChannelBindings struct {
	ApplicationData []byte
}

// Marshal returns the gss_channel_bindings_struct as it is hashed for the
// Kerberos checksum's Bnd field (RFC 4121 §4.1.1.2, RFC 1964 §1.1.1) and for
// NTLM's MsvAvChannelBindings (MS-NLMP §2.2.2.1): initiator address type and
// address, acceptor address type and address (all zero here), then the
// application data, each length a 32-bit little-endian integer.
func (cb *ChannelBindings) Marshal() []byte {
	var data []byte
	if cb != nil {
		data = cb.ApplicationData
	}
	b := make([]byte, 20, 20+len(data))
	binary.LittleEndian.PutUint32(b[16:], uint32(len(data)))
	return append(b, data...)
}

// Hash returns the MD5 hash of Marshal, or 16 zero bytes when cb is nil:
// both RFC 4121 and MS-NLMP send all zeros for "no bindings".
func (cb *ChannelBindings) Hash() [16]byte {
	if cb == nil {
		return [16]byte{}
	}
	return md5.Sum(cb.Marshal())
}
