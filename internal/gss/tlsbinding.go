// This file derives the tls-server-end-point channel bindings (RFC 5929
// §4) from the certificate a TLS server presented: the bindings that
// Windows' Extended Protection for Authentication checks.

package gss

import (
	"crypto"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash.New
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrNoServerEndPoint: tls-server-end-point bindings cannot be derived, because
// there is no server certificate or its signature algorithm names no single
// hash function (RFC 5929 §4.1 leaves that case undefined; Ed25519 is one).
var ErrNoServerEndPoint = errors.New("negotiate: no tls-server-end-point channel bindings for the certificate")

// serverEndPointPrefix is the channel binding type's name (RFC 5929 §4)
// and the ':' that precede the certificate hash in the application data,
// the prefix RFC 5056 §2.1 asks for and Windows expects.
const serverEndPointPrefix = "tls-server-end-point:"

// TLSServerEndPoint returns the channel bindings for the certificate the
// server presented (RFC 5929 §4.1): ApplicationData is
// "tls-server-end-point:" followed by the hash of the DER certificate, the
// hash being the one the certificate's signature algorithm uses, except that
// MD5 and SHA-1 are replaced by SHA-256 (RFC 5929 §4.1). A certificate
// whose signature has no single hash (Ed25519, an unknown algorithm) or one
// this package cannot compute (MD2) gives an error wrapping
// ErrNoServerEndPoint.
func TLSServerEndPoint(cert *x509.Certificate) (*ChannelBindings, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrNoServerEndPoint)
	}
	h, ok := serverEndPointHash(cert.SignatureAlgorithm)
	if !ok {
		return nil, fmt.Errorf("%w: signature algorithm %v", ErrNoServerEndPoint, cert.SignatureAlgorithm)
	}
	d := h.New()
	d.Write(cert.Raw)
	data := make([]byte, 0, len(serverEndPointPrefix)+h.Size())
	data = append(data, serverEndPointPrefix...)
	return &ChannelBindings{ApplicationData: d.Sum(data)}, nil
}

// serverEndPointHash returns the hash RFC 5929 §4.1 prescribes for a
// certificate signed with alg, and whether there is one.
func serverEndPointHash(alg x509.SignatureAlgorithm) (crypto.Hash, bool) {
	switch alg {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		// "if the certificate's signatureAlgorithm uses a single hash
		// function and that hash function is either MD5 or SHA-1, then use
		// SHA-256" (RFC 5929 §4.1).
		return crypto.SHA256, true
	case x509.SHA256WithRSA, x509.DSAWithSHA256, x509.ECDSAWithSHA256, x509.SHA256WithRSAPSS:
		// crypto/x509 recognises RSA-PSS only when the MGF1 hash equals the
		// message hash, so a PSS algorithm here uses a single hash.
		return crypto.SHA256, true
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		return crypto.SHA384, true
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		return crypto.SHA512, true
	}
	// MD2WithRSA (MD2 is not implemented; crypto/x509 reports such
	// certificates as UnknownSignatureAlgorithm), PureEd25519 (no separate
	// hash) and other algorithms crypto/x509 does not know.
	return 0, false
}

// FromConnectionState returns the tls-server-end-point channel bindings of
// a TLS connection: those of the leaf certificate, cs.PeerCertificates[0]
// (see TLSServerEndPoint). A nil cs, as in http.Response.TLS for plain HTTP,
// gives nil, nil: no bindings. A state without peer certificates gives an
// error wrapping ErrNoServerEndPoint.
func FromConnectionState(cs *tls.ConnectionState) (*ChannelBindings, error) {
	if cs == nil {
		return nil, nil
	}
	if len(cs.PeerCertificates) == 0 {
		return nil, fmt.Errorf("%w: the TLS connection has no server certificate", ErrNoServerEndPoint)
	}
	return TLSServerEndPoint(cs.PeerCertificates[0])
}
