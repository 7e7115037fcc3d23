// Tests of the tls-server-end-point bindings (RFC 5929 §4.1) for every
// signature algorithm family, and of the gss_channel_bindings_struct
// encoding and hash they feed.

package gss

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Signature algorithm OIDs (RFC 3279 §2.2, RFC 5758 §3.1, RFC 8017 A.2.4)
// for certificates crypto/x509 will not create.
var (
	oidMD2WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 2}
	oidMD5WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}
	oidDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}
	oidDSAWithSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 2}
	oidUnknown       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
)

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	p256Key  *ecdsa.PrivateKey
	p384Key  *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if p256Key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if p384Key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
		if _, edKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
}

// makeCert creates a self-signed certificate signed with alg by key.
func makeCert(t *testing.T, alg x509.SignatureAlgorithm, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(time.Now().UnixNano()),
		Subject:            pkix.Name{CommonName: "server.example.test"},
		DNSNames:           []string{"server.example.test"},
		NotBefore:          time.Now().Add(-time.Hour),
		NotAfter:           time.Now().Add(time.Hour),
		SignatureAlgorithm: alg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("CreateCertificate(%v): %v", alg, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate(%v): %v", alg, err)
	}
	if cert.SignatureAlgorithm != alg {
		t.Fatalf("certificate signed with %v; want %v", cert.SignatureAlgorithm, alg)
	}
	return cert
}

// rewriteCert re-encodes an RSA certificate with the signature algorithm
// oid (in the TBSCertificate and the outer Certificate, RFC 5280 §4.1) and
// signs it again with PKCS #1 v1.5 and hash h. crypto/x509 refuses to create
// MD5 (and cannot create DSA) certificates, but parses them.
func rewriteCert(t *testing.T, oid asn1.ObjectIdentifier, h crypto.Hash, want x509.SignatureAlgorithm) *x509.Certificate {
	t.Helper()
	testKeys(t)
	orig := makeCert(t, x509.SHA256WithRSA, rsaKey)
	algID := pkix.AlgorithmIdentifier{Algorithm: oid}
	if oid.Equal(oidMD5WithRSA) || oid.Equal(oidMD2WithRSA) {
		algID.Parameters = asn1.NullRawValue // RFC 3279 §2.2.1
	}
	algDER, err := asn1.Marshal(algID)
	if err != nil {
		t.Fatal(err)
	}

	// TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, ... }
	var tbs asn1.RawValue
	if _, err := asn1.Unmarshal(orig.RawTBSCertificate, &tbs); err != nil {
		t.Fatal(err)
	}
	var fields []byte
	for i, rest := 0, tbs.Bytes; len(rest) > 0; i++ {
		var f asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			fields = append(fields, algDER...)
		} else {
			fields = append(fields, f.FullBytes...)
		}
	}
	tbsDER, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: fields})
	if err != nil {
		t.Fatal(err)
	}
	d := h.New()
	d.Write(tbsDER)
	sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, h, d.Sum(nil))
	if err != nil {
		t.Fatalf("SignPKCS1v15(%v): %v", h, err)
	}
	der, err := asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tbsDER}, asn1.RawValue{FullBytes: algDER}, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate(rewritten with %v): %v", oid, err)
	}
	if cert.SignatureAlgorithm != want {
		t.Fatalf("rewritten certificate parses as %v; want %v", cert.SignatureAlgorithm, want)
	}
	return cert
}

// Hashes computed directly, not through crypto.Hash, to check the mapping.
func sum256(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
func sum384(b []byte) []byte { s := sha512.Sum384(b); return s[:] }
func sum512(b []byte) []byte { s := sha512.Sum512(b); return s[:] }

func TestTLSServerEndPoint(t *testing.T) {
	testKeys(t)
	tests := []struct {
		name string
		cert func(t *testing.T) *x509.Certificate
		want func([]byte) []byte // nil: an error is expected
	}{
		{"SHA256WithRSA", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.SHA256WithRSA, rsaKey) }, sum256},
		{"SHA384WithRSA", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.SHA384WithRSA, rsaKey) }, sum384},
		{"SHA512WithRSA", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.SHA512WithRSA, rsaKey) }, sum512},
		{"SHA1WithRSA to SHA-256", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.SHA1WithRSA, rsaKey) }, sum256},
		{"MD5WithRSA to SHA-256", func(t *testing.T) *x509.Certificate {
			return rewriteCert(t, oidMD5WithRSA, crypto.MD5, x509.MD5WithRSA)
		}, sum256},
		{"SHA256WithRSAPSS", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.SHA256WithRSAPSS, rsaKey) }, sum256},
		{"SHA384WithRSAPSS", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.SHA384WithRSAPSS, rsaKey) }, sum384},
		{"SHA512WithRSAPSS", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.SHA512WithRSAPSS, rsaKey) }, sum512},
		{"ECDSAWithSHA256", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.ECDSAWithSHA256, p256Key) }, sum256},
		{"ECDSAWithSHA384", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.ECDSAWithSHA384, p384Key) }, sum384},
		{"ECDSAWithSHA512", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.ECDSAWithSHA512, p256Key) }, sum512},
		{"ECDSAWithSHA1 to SHA-256", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.ECDSAWithSHA1, p256Key) }, sum256},
		{"DSAWithSHA1 to SHA-256", func(t *testing.T) *x509.Certificate {
			return rewriteCert(t, oidDSAWithSHA1, crypto.SHA256, x509.DSAWithSHA1)
		}, sum256},
		{"DSAWithSHA256", func(t *testing.T) *x509.Certificate {
			return rewriteCert(t, oidDSAWithSHA256, crypto.SHA256, x509.DSAWithSHA256)
		}, sum256},
		{"Ed25519", func(t *testing.T) *x509.Certificate { return makeCert(t, x509.PureEd25519, edKey) }, nil},
		// crypto/x509 now parses MD2WithRSA as an unknown algorithm.
		{"MD2WithRSA", func(t *testing.T) *x509.Certificate {
			return rewriteCert(t, oidMD2WithRSA, crypto.SHA256, x509.UnknownSignatureAlgorithm)
		}, nil},
		{"unknown algorithm", func(t *testing.T) *x509.Certificate {
			return rewriteCert(t, oidUnknown, crypto.SHA256, x509.UnknownSignatureAlgorithm)
		}, nil},
		{"nil certificate", func(t *testing.T) *x509.Certificate { return nil }, nil},
		{"unparsed certificate", func(t *testing.T) *x509.Certificate {
			return &x509.Certificate{SignatureAlgorithm: x509.SHA256WithRSA}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := tt.cert(t)
			cb, err := TLSServerEndPoint(cert)
			if tt.want == nil {
				if !errors.Is(err, ErrNoServerEndPoint) || cb != nil {
					t.Fatalf("TLSServerEndPoint(%s) = %v, %v; want nil, ErrNoServerEndPoint", tt.name, cb, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("TLSServerEndPoint(%s): %v", tt.name, err)
			}
			want := append([]byte("tls-server-end-point:"), tt.want(cert.Raw)...)
			if !bytes.Equal(cb.ApplicationData, want) {
				t.Errorf("TLSServerEndPoint(%s).ApplicationData = %q; want %q", tt.name, cb.ApplicationData, want)
			}
		})
	}
}

func TestFromConnectionState(t *testing.T) {
	testKeys(t)
	if cb, err := FromConnectionState(nil); cb != nil || err != nil {
		t.Errorf("FromConnectionState(nil) = %v, %v; want nil, nil", cb, err)
	}
	if cb, err := FromConnectionState(&tls.ConnectionState{}); cb != nil || !errors.Is(err, ErrNoServerEndPoint) {
		t.Errorf("FromConnectionState(no certificates) = %v, %v; want nil, ErrNoServerEndPoint", cb, err)
	}

	// The leaf, not the issuer, is bound.
	leaf := makeCert(t, x509.SHA384WithRSA, rsaKey)
	issuer := makeCert(t, x509.ECDSAWithSHA256, p256Key)
	cb, err := FromConnectionState(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, issuer}})
	want := append([]byte("tls-server-end-point:"), sum384(leaf.Raw)...)
	if err != nil || !bytes.Equal(cb.ApplicationData, want) {
		t.Errorf("FromConnectionState(leaf, issuer) = %v, %v; want the leaf's SHA-384", cb, err)
	}
}

// TestFromConnectionStateLive binds a real TLS connection on loopback: the
// client-side state of an HTTPS response yields the server's certificate.
func TestFromConnectionStateLive(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	cert := srv.Certificate()
	want, ok := map[x509.SignatureAlgorithm]func([]byte) []byte{
		x509.SHA256WithRSA:   sum256,
		x509.ECDSAWithSHA256: sum256,
		x509.SHA384WithRSA:   sum384,
		x509.ECDSAWithSHA384: sum384,
	}[cert.SignatureAlgorithm]
	if !ok {
		t.Fatalf("httptest certificate signed with %v; extend the test", cert.SignatureAlgorithm)
	}
	cb, err := FromConnectionState(resp.TLS)
	if err != nil {
		t.Fatalf("FromConnectionState(live): %v", err)
	}
	if w := append([]byte("tls-server-end-point:"), want(cert.Raw)...); !bytes.Equal(cb.ApplicationData, w) {
		t.Errorf("FromConnectionState(live).ApplicationData = %q; want %q", cb.ApplicationData, w)
	}
}

// TestChannelBindingsEncoding checks Marshal and Hash against the
// gss_channel_bindings_struct built by hand (RFC 2744 §3.11, RFC 4121
// §4.1.1.2, MS-NLMP §2.2.2.1): initiator addrtype, initiator address length,
// acceptor addrtype, acceptor address length (all zero, 16 bytes), then the
// application data's length as a little-endian uint32 and the data.
func TestChannelBindingsEncoding(t *testing.T) {
	certHash := make([]byte, 32)
	for i := range certHash {
		certHash[i] = byte(i)
	}
	data := append([]byte("tls-server-end-point:"), certHash...) // 21 + 32 = 53 bytes

	want := make([]byte, 0, 20+len(data))
	want = append(want, make([]byte, 16)...)
	want = append(want, 53, 0, 0, 0)
	want = append(want, data...)

	tests := []struct {
		name     string
		cb       *ChannelBindings
		wantMar  []byte
		wantHash [16]byte
	}{
		{"tls-server-end-point", &ChannelBindings{ApplicationData: data}, want, md5.Sum(want)},
		{"empty application data", &ChannelBindings{}, make([]byte, 20), md5.Sum(make([]byte, 20))},
		{"nil", nil, make([]byte, 20), [16]byte{}},
	}
	for _, tt := range tests {
		if got := tt.cb.Marshal(); !bytes.Equal(got, tt.wantMar) {
			t.Errorf("%s: Marshal() = %x; want %x", tt.name, got, tt.wantMar)
		}
		if got := tt.cb.Hash(); got != tt.wantHash {
			t.Errorf("%s: Hash() = %x; want %x", tt.name, got, tt.wantHash)
		}
	}

	// A length that needs more than one byte, to pin the byte order.
	long := &ChannelBindings{ApplicationData: make([]byte, 0x0102)}
	if got := binary.LittleEndian.Uint32(long.Marshal()[16:20]); got != 0x0102 {
		t.Errorf("Marshal() length field = %#x; want 0x102", got)
	}
	if got := long.Marshal()[16:20]; !bytes.Equal(got, []byte{0x02, 0x01, 0, 0}) {
		t.Errorf("Marshal() length bytes = %x; want 02010000", got)
	}

	// The bindings of a certificate hash like any other.
	testKeys(t)
	cert := makeCert(t, x509.ECDSAWithSHA256, p256Key)
	cb, err := TLSServerEndPoint(cert)
	if err != nil {
		t.Fatal(err)
	}
	m := append(append(make([]byte, 16), 0x35, 0, 0, 0), append([]byte("tls-server-end-point:"), sum256(cert.Raw)...)...)
	if got, want := cb.Hash(), md5.Sum(m); got != want {
		t.Errorf("TLSServerEndPoint(cert).Hash() = %x; want %x", got, want)
	}
}
