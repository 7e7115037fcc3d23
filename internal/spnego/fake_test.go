// This file holds toy mechanisms for the tests: a shared-secret exchange of
// a configurable number of tokens with HMAC-based MICs, in an initiator and
// an acceptor flavour, so that SPNEGO can be tested on every path without
// the real Kerberos and NTLM packages.

package spnego

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// fakeToken returns the idx-th token of the toy exchange. Prefixes make the
// tokens look like their real counterparts to rawMech: "NTLMSSP\0" for the
// NTLM stand-in, 0x6f (AP-REP's tag) for the Kerberos one.
func fakeToken(name, secret string, idx int, transcript []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s|%d|", name, idx)
	m.Write(transcript)
	prefix := "\x6f" + name
	if name == "ntlm" {
		prefix = "NTLMSSP\x00"
	}
	return append([]byte(fmt.Sprintf("%s:%d:", prefix, idx)), m.Sum(nil)[:8]...)
}

// fakeMIC is the toy per-message integrity token: dir is "I" for the
// initiator's and "A" for the acceptor's.
func fakeMIC(secret string, transcript []byte, dir string, msg []byte) []byte {
	k := hmac.New(sha256.New, []byte(secret))
	k.Write(transcript)
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(dir))
	m.Write(msg)
	return m.Sum(nil)
}

var errFakeBadToken = errors.New("fake: bad token")

// fakeInit is the initiator side of the toy mechanism: n tokens in all,
// the initiator sending the even-numbered ones.
type fakeInit struct {
	name, secret string
	n            int
	idx          int
	transcript   []byte
	stepErr      error // returned by the first Step, if set
	micErr       error // returned by GetMIC, if set
	micMsgs      [][]byte
}

func (f *fakeInit) Step(_ context.Context, in []byte) ([]byte, bool, error) {
	if f.stepErr != nil {
		return nil, false, f.stepErr
	}
	if f.idx == 0 && in != nil || f.idx > 0 && in == nil || f.idx >= f.n {
		return nil, false, fmt.Errorf("fake %s: unexpected Step at %d", f.name, f.idx)
	}
	if in != nil {
		if !bytes.Equal(in, fakeToken(f.name, f.secret, f.idx, f.transcript)) {
			return nil, false, fmt.Errorf("fake %s: %w: %w", f.name, gss.ErrRejected, errFakeBadToken)
		}
		f.transcript = append(f.transcript, in...)
		f.idx++
		if f.idx == f.n {
			return nil, false, nil
		}
	}
	out := fakeToken(f.name, f.secret, f.idx, f.transcript)
	f.transcript = append(f.transcript, out...)
	f.idx++
	return out, f.idx < f.n, nil
}

func (f *fakeInit) GetMIC(msg []byte) ([]byte, error) {
	if f.micErr != nil {
		return nil, f.micErr
	}
	if f.idx < f.n {
		return nil, errors.New("fake: GetMIC before completion")
	}
	f.micMsgs = append(f.micMsgs, bytes.Clone(msg))
	return fakeMIC(f.secret, f.transcript, "I", msg), nil
}

func (f *fakeInit) VerifyMIC(msg, mic []byte) error {
	if f.idx < f.n {
		return errors.New("fake: VerifyMIC before completion")
	}
	if !hmac.Equal(mic, fakeMIC(f.secret, f.transcript, "A", msg)) {
		return errors.New("fake: MIC mismatch")
	}
	return nil
}

// fakeAcc is the acceptor side of the toy mechanism.
type fakeAcc struct {
	name, secret string
	n            int
	idx          int
	transcript   []byte
}

func (f *fakeAcc) Accept(in []byte) ([]byte, bool, error) {
	if f.idx >= f.n || f.idx%2 != 0 {
		return nil, false, fmt.Errorf("fake %s acceptor: unexpected token at %d", f.name, f.idx)
	}
	if !bytes.Equal(in, fakeToken(f.name, f.secret, f.idx, f.transcript)) {
		return nil, false, errFakeBadToken
	}
	f.transcript = append(f.transcript, in...)
	f.idx++
	if f.idx == f.n {
		return nil, true, nil
	}
	out := fakeToken(f.name, f.secret, f.idx, f.transcript)
	f.transcript = append(f.transcript, out...)
	f.idx++
	return out, f.idx == f.n, nil
}

func (f *fakeAcc) GetMIC(msg []byte) ([]byte, error) {
	if f.idx < f.n {
		return nil, errors.New("fake: GetMIC before completion")
	}
	return fakeMIC(f.secret, f.transcript, "A", msg), nil
}

func (f *fakeAcc) VerifyMIC(msg, mic []byte) error {
	if f.idx < f.n {
		return errors.New("fake: VerifyMIC before completion")
	}
	if !hmac.Equal(mic, fakeMIC(f.secret, f.transcript, "I", msg)) {
		return errors.New("fake: MIC mismatch")
	}
	return nil
}

// krbMech and ntlmMech are client candidates backed by the toy mechanism;
// the created contexts are appended to *made.
func krbMech(n int, secret string, newErr, stepErr error, made *[]*fakeInit) Mech {
	return Mech{
		OIDs: []asn1.ObjectIdentifier{OIDMSKerberos, OIDKerberos},
		New: func() (gss.MICContext, error) {
			if newErr != nil {
				return nil, newErr
			}
			f := &fakeInit{name: "krb", secret: secret, n: n, stepErr: stepErr}
			if made != nil {
				*made = append(*made, f)
			}
			return f, nil
		},
	}
}

func ntlmMech(secret string, newErr error, made *[]*fakeInit) Mech {
	return Mech{
		OIDs: []asn1.ObjectIdentifier{OIDNTLM},
		New: func() (gss.MICContext, error) {
			if newErr != nil {
				return nil, newErr
			}
			f := &fakeInit{name: "ntlm", secret: secret, n: 3}
			if made != nil {
				*made = append(*made, f)
			}
			return f, nil
		},
	}
}

// fakeAcceptor returns an Acceptor with the toy Kerberos (n tokens, under
// the standard OID only) and NTLM mechanisms.
func fakeAcceptor(krbN int, secret string) *Acceptor {
	return &Acceptor{Mechs: map[string]func() (AcceptorMech, error){
		OIDKerberos.String(): func() (AcceptorMech, error) { return &fakeAcc{name: "krb", secret: secret, n: krbN}, nil },
		OIDNTLM.String():     func() (AcceptorMech, error) { return &fakeAcc{name: "ntlm", secret: secret, n: 3}, nil },
	}}
}
