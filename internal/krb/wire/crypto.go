// This file holds the per-usage keys of RFC 3961 §5.3 and the AES-CTS
// encryption of RFC 3962, so that the keys derived from a session or
// service key are computed once per key and usage rather than once per
// message, as gokrb5's EncryptMessage and DecryptMessage do.

package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

const (
	confounderLen = aes.BlockSize // RFC 3962 §6: one cipher block
	sha1MACLen    = 12            // HMAC-SHA1-96
)

// Keys are the keys RFC 3961 §5.3 derives from one base key for one key
// usage: Ke = DK(base, usage|0xAA) and Ki = DK(base, usage|0x55). For
// aes128-cts-hmac-sha1-96 and aes256-cts-hmac-sha1-96 (RFC 3962) they are
// derived once, with gokrb5's DeriveKey, and used directly; for the other
// enctypes Keys falls back to gokrb5's EncryptMessage and DecryptMessage,
// which derive them on every call.
//
// Keys are immutable once made and safe for concurrent use.
type Keys struct {
	etype int32
	usage uint32
	et    etype.EType
	base  []byte       // for the fallback only
	ke    cipher.Block // AES with Ke; nil for the fallback
	ki    []byte       // HMAC-SHA1 key Ki
	mac   hash.Cloner  // HMAC-SHA1 keyed with Ki, never written: cloned per message
}

// DeriveKeys returns the keys of key for usage.
func DeriveKeys(key types.EncryptionKey, usage uint32) (*Keys, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("enctype %d not supported", key.KeyType)
	}
	if n := KeyLength(key.KeyType, et); len(key.KeyValue) != n {
		return nil, fmt.Errorf("key of enctype %d has %d bytes, want %d", key.KeyType, len(key.KeyValue), n)
	}
	k := &Keys{etype: key.KeyType, usage: usage, et: et}
	if key.KeyType != etypeID.AES128_CTS_HMAC_SHA1_96 && key.KeyType != etypeID.AES256_CTS_HMAC_SHA1_96 {
		k.base = append([]byte(nil), key.KeyValue...)
		return k, nil
	}
	ke, err := et.DeriveKey(key.KeyValue, common.GetUsageKe(usage))
	if err != nil {
		return nil, fmt.Errorf("deriving Ke: %v", err)
	}
	ki, err := et.DeriveKey(key.KeyValue, common.GetUsageKi(usage))
	if err != nil {
		return nil, fmt.Errorf("deriving Ki: %v", err)
	}
	if k.ke, err = aes.NewCipher(ke); err != nil {
		return nil, err
	}
	k.ki = ki
	if c, ok := hmac.New(sha1.New, ki).(hash.Cloner); ok {
		k.mac = c
	}
	return k, nil
}

// newMAC returns a fresh HMAC-SHA1 keyed with Ki: a clone of the keyed
// prototype, which skips hashing the key pads again.
func (k *Keys) newMAC() hash.Hash {
	if k.mac != nil {
		if h, err := k.mac.Clone(); err == nil {
			return h
		}
	}
	return hmac.New(sha1.New, k.ki)
}

// EType returns the enctype of the base key.
func (k *Keys) EType() int32 { return k.etype }

// Encrypt returns the RFC 3961 §5.3 ciphertext of msg: a random
// confounder and msg encrypted with Ke, then the truncated HMAC of the
// plaintext with Ki.
func (k *Keys) Encrypt(msg []byte) ([]byte, error) {
	if k.ke == nil {
		_, b, err := k.et.EncryptMessage(k.base, msg, k.usage)
		return b, err
	}
	n := confounderLen + len(msg)
	// Room after the message for ctsEncrypt's scratch blocks, so that
	// they are not allocated on their own (a cipher.Block call makes
	// stack arrays escape).
	buf := make([]byte, n+sha1MACLen+ctsScratch)
	out := buf[: n+sha1MACLen : n+sha1MACLen]
	if _, err := rand.Read(out[:confounderLen]); err != nil {
		return nil, err
	}
	copy(out[confounderLen:], msg)
	mac := k.newMAC()
	mac.Write(out[:n])
	var sum [sha1.Size]byte
	copy(out[n:], mac.Sum(sum[:0]))
	ctsEncrypt(k.ke, out[:n], buf[n+sha1MACLen:])
	return out, nil
}

var errIntegrity = errors.New("integrity check failed")

// Decrypt verifies and decrypts a ciphertext made by Encrypt (or any
// RFC 3961 implementation with the same key and usage) and returns the
// message without its confounder. ct is not modified.
func (k *Keys) Decrypt(ct []byte) ([]byte, error) {
	if k.ke == nil {
		return k.fallbackDecrypt(ct)
	}
	if len(ct) < confounderLen+sha1MACLen {
		return nil, errors.New("ciphertext too short")
	}
	n := len(ct) - sha1MACLen
	buf := make([]byte, n+ctsScratch)
	p := buf[:n:n]
	copy(p, ct[:n])
	ctsDecrypt(k.ke, p, buf[n:])
	mac := k.newMAC()
	mac.Write(p)
	var sum [sha1.Size]byte
	if !hmac.Equal(mac.Sum(sum[:0])[:sha1MACLen], ct[n:]) {
		return nil, errIntegrity
	}
	return p[confounderLen:], nil
}

// fallbackDecrypt is Decrypt with gokrb5's DecryptMessage. gokrb5 v8.4.4
// panics on a ciphertext shorter than its confounder and checksum with the
// RFC 8009 enctypes (slice bounds out of range), and a server or KDC
// chooses the length: such a ciphertext is refused first, and any other
// panic of gokrb5's on a malformed ciphertext becomes an error.
func (k *Keys) fallbackDecrypt(ct []byte) (plain []byte, err error) {
	if len(ct) < k.et.GetConfounderByteSize()+k.et.GetHMACBitLength()/8 {
		return nil, errors.New("ciphertext too short")
	}
	defer func() {
		if recover() != nil {
			plain, err = nil, errors.New("malformed ciphertext")
		}
	}()
	return k.et.DecryptMessage(k.base, ct, k.usage)
}

// ctsScratch is the scratch space ctsEncrypt and ctsDecrypt need.
const ctsScratch = 3 * aes.BlockSize

// ctsEncrypt encrypts p in place with AES in CBC mode with ciphertext
// stealing and a zero IV, as RFC 3962 §5 defines it: the last two cipher
// blocks are swapped and the output is as long as the input. len(p) must
// be at least one block; scratch must hold ctsScratch zero bytes.
func ctsEncrypt(b cipher.Block, p, scratch []byte) {
	const bs = aes.BlockSize
	if len(p) == bs {
		b.Encrypt(p, p)
		return
	}
	nb := (len(p) + bs - 1) / bs
	r := len(p) - bs*(nb-1) // bytes in the last block, 1..16
	iv, last := scratch[:bs:bs], scratch[bs:2*bs:2*bs]
	for i := 0; i < nb-1; i++ {
		blk := p[i*bs : (i+1)*bs]
		subtleXOR(blk, iv)
		b.Encrypt(blk, blk)
		copy(iv, blk)
	}
	// iv is now C(n-1). The last block, zero padded, chains on it.
	copy(last, p[(nb-1)*bs:])
	subtleXOR(last, iv)
	b.Encrypt(last, last)
	copy(p[(nb-2)*bs:], last)
	copy(p[(nb-1)*bs:], iv[:r])
}

// ctsDecrypt reverses ctsEncrypt in place; scratch must hold ctsScratch
// zero bytes.
func ctsDecrypt(b cipher.Block, c, scratch []byte) {
	const bs = aes.BlockSize
	if len(c) == bs {
		b.Decrypt(c, c)
		return
	}
	nb := (len(c) + bs - 1) / bs
	r := len(c) - bs*(nb-1)
	// c holds C1..C(n-2), Cn, and C(n-1) cut to r bytes. Decrypting Cn
	// gives Pn (zero padded) XOR C(n-1), whose tail is the stolen tail of
	// C(n-1), since Pn's padding is zeros.
	d, cn1, prev := scratch[:bs:bs], scratch[bs:2*bs:2*bs], scratch[2*bs:3*bs:3*bs]
	b.Decrypt(d, c[(nb-2)*bs:(nb-1)*bs])
	copy(cn1[:r], c[(nb-1)*bs:])
	copy(cn1[r:], d[r:])
	if nb >= 3 {
		copy(prev, c[(nb-3)*bs:(nb-2)*bs])
	}
	// Pn, then P(n-1) = D(C(n-1)) XOR C(n-2).
	for i := 0; i < r; i++ {
		c[(nb-1)*bs+i] = d[i] ^ cn1[i]
	}
	pn1 := c[(nb-2)*bs : (nb-1)*bs]
	b.Decrypt(pn1, cn1)
	subtleXOR(pn1, prev)
	// The leading blocks are plain CBC. Going backwards, each block's
	// predecessor is still ciphertext when it is needed.
	for i := nb - 3; i >= 0; i-- {
		blk := c[i*bs : (i+1)*bs]
		b.Decrypt(blk, blk)
		if i > 0 {
			subtleXOR(blk, c[(i-1)*bs:i*bs])
		}
	}
}

func subtleXOR(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// maxCachedKeys bounds a KeyCache: once it holds this many base keys it
// starts afresh, so that a long-running acceptor seeing many session keys
// does not grow without bound.
const maxCachedKeys = 1024

// A KeyCache keeps the Keys derived from base keys, by base key and
// usage. The zero value is ready to use; it is safe for concurrent use.
type KeyCache struct {
	mu sync.RWMutex
	m  map[string][]*Keys // by base key bytes; one entry per (enctype, usage)
}

// Get returns the keys of key for usage, deriving them on first use.
func (c *KeyCache) Get(key types.EncryptionKey, usage uint32) (*Keys, error) {
	c.mu.RLock()
	for _, k := range c.m[string(key.KeyValue)] {
		if k.etype == key.KeyType && k.usage == usage {
			c.mu.RUnlock()
			return k, nil
		}
	}
	c.mu.RUnlock()
	k, err := DeriveKeys(key, usage)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[string][]*Keys)
	}
	old := c.m[string(key.KeyValue)]
	for _, o := range old {
		if o.etype == key.KeyType && o.usage == usage {
			return o, nil // derived concurrently
		}
	}
	// A new slice, so that readers ranging over the old one are safe.
	c.m[string(key.KeyValue)] = append(old[:len(old):len(old)], k)
	return k, nil
}

// KeyLength is the length in bytes of a protocol key of keyType, whose
// gokrb5 etype is et. For aes256-cts-hmac-sha384-192 it is 32 (RFC 8009
// §3: AES-256), where gokrb5's GetKeyByteSize reports 24, the size of its
// Kc and Ki; a 24-byte random key or subkey of that enctype is unusable.
func KeyLength(keyType int32, et etype.EType) int {
	if keyType == etypeID.AES256_CTS_HMAC_SHA384_192 {
		return 32
	}
	return et.GetKeyByteSize()
}

// RandomKey returns a new random protocol key of keyType (RFC 3961
// random-to-key of a random seed of the key's length).
func RandomKey(keyType int32) (types.EncryptionKey, error) {
	et, err := crypto.GetEtype(keyType)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("enctype %d not supported", keyType)
	}
	seed := make([]byte, KeyLength(keyType, et))
	if _, err := rand.Read(seed); err != nil {
		return types.EncryptionKey{}, err
	}
	return types.EncryptionKey{KeyType: keyType, KeyValue: et.RandomToKey(seed)}, nil
}
