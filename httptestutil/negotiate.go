package httptestutil

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/krbacceptor"
	"github.com/negotiate-go/negotiate/internal/ntlmacceptor"
	"github.com/negotiate-go/negotiate/internal/spnego"
)

// KerberosConfig makes a Server accept Kerberos, raw or inside SPNEGO, as
// the Negotiate scheme carries it (RFC 4559). The service's keys come from
// KDC or from Keytab.
type KerberosConfig struct {
	// KDC, if set and Keytab is nil, registers SPN with this KDC when the
	// Server is made (kdc.KDC.AddService) and takes the keys it issues.
	KDC *kdc.KDC
	// SPN is the service principal, e.g. "HTTP/localhost" (the default).
	// The URL of the Server names localhost, or 127.0.0.1 when that is
	// the SPN's host; a client of a server with another SPN must be told
	// it (negotiate.SPNPolicy).
	SPN string
	// Keytab holds the service's keys, in the MIT keytab file format
	// (kdc.KDC.AddService and kdc.KDC.Keytab return one; os.ReadFile
	// reads one).
	Keytab []byte
	// ConnectionBound keeps a connection authenticated after a Kerberos
	// handshake and says "Persistent-Auth: true", as IIS does and Apache
	// with GssapiConnectionBound. Otherwise every request must carry a
	// token, as at Apache's plain Kerberos locations.
	ConnectionBound bool
	// MaxSkew bounds the authenticator's clock difference; default 5m.
	MaxSkew time.Duration
	// ClockOffset shifts the server's clock, to provoke skew.
	ClockOffset time.Duration
}

// setUpKerberos completes the server's copy of Config.Kerberos: the SPN's
// default, the keys from its KDC, the keytab parsed.
func (s *Server) setUpKerberos() error {
	kc := *s.cfg.Kerberos
	if kc.SPN == "" {
		kc.SPN = "HTTP/localhost"
	}
	if kc.Keytab == nil {
		if kc.KDC == nil {
			return errors.New("httptestutil: KerberosConfig needs a KDC or a Keytab")
		}
		kc.Keytab = kc.KDC.AddService(kc.SPN)
	}
	kt := keytab.New()
	if err := kt.Unmarshal(kc.Keytab); err != nil {
		return fmt.Errorf("httptestutil: KerberosConfig.Keytab: %w", err)
	}
	s.cfg.Kerberos, s.krbKeytab = &kc, kt
	return nil
}

// isSPNEGO reports whether tok is a SPNEGO token: an InitialContextToken
// with the SPNEGO OID (RFC 2743 §3.1) or a bare NegTokenResp ([1]).
func isSPNEGO(tok []byte) bool {
	if len(tok) > 0 && tok[0] == 0xa1 {
		return true
	}
	return framedWith(tok, []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02})
}

// isKerberos reports whether tok is a raw Kerberos InitialContextToken.
func isKerberos(tok []byte) bool {
	return framedWith(tok, []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02})
}

// framedWith reports whether tok is 0x60, a DER length, then oid.
func framedWith(tok, oid []byte) bool {
	if len(tok) < 2 || tok[0] != 0x60 {
		return false
	}
	i := 2
	if tok[1]&0x80 != 0 {
		i += int(tok[1] & 0x7f)
	}
	return i <= len(tok) && bytes.HasPrefix(tok[i:], oid)
}

// kerberosAcceptor returns the server's Kerberos acceptor, made on first use.
func (s *Server) kerberosAcceptor() *krbacceptor.Acceptor {
	s.krbOnce.Do(func() {
		k := s.cfg.Kerberos
		offset := k.ClockOffset
		s.krb = &krbacceptor.Acceptor{
			Keytab:  s.krbKeytab,
			SPN:     k.SPN,
			MaxSkew: k.MaxSkew,
			Now:     func() time.Time { return time.Now().Add(offset) },
		}
	})
	return s.krb
}

// negotiateResult is the outcome of a Negotiate token.
type negotiateResult struct {
	out   []byte
	done  bool
	user  string
	bound bool // the connection stays authenticated
	// delegated is the client of the TGT the client delegated, "" if none.
	delegated string
}

// delegatedBy returns the client of the TGT a Kerberos context delegated.
func delegatedBy(res *krbacceptor.Result) string {
	if res == nil || res.DelegatedTGT == nil {
		return ""
	}
	return res.DelegatedTGT.Client
}

// acceptNegotiate handles a Negotiate token on connection cs: SPNEGO,
// raw Kerberos, or raw NTLM (which IIS accepts under Negotiate).
func (s *Server) acceptNegotiate(cs *connState, tok []byte) (negotiateResult, error) {
	switch {
	case bytes.HasPrefix(tok, []byte("NTLMSSP\x00")):
		out, done, err := s.acceptNTLM(cs, tok)
		return negotiateResult{out: out, done: done, user: s.ntlmUser(cs, done), bound: true}, err
	case isKerberos(tok):
		if s.cfg.Kerberos == nil {
			return negotiateResult{}, errors.New("kerberos not configured")
		}
		out, res, err := s.kerberosAcceptorFor(cs).Accept(tok)
		if err != nil {
			return negotiateResult{out: krbacceptor.MakeError(krbacceptor.ErrorCode(err), s.cfg.Kerberos.SPN, time.Now().Add(s.cfg.Kerberos.ClockOffset))}, err
		}
		return negotiateResult{out: out, done: true, user: res.Client, bound: s.cfg.Kerberos.ConnectionBound, delegated: delegatedBy(res)}, nil
	case isSPNEGO(tok):
		if tok[0] == 0x60 {
			cs.spnego = s.connSPNEGO(cs).NewContext()
			cs.krbRes, cs.ntlm = nil, nil
		}
		if cs.spnego == nil {
			return negotiateResult{}, errors.New("no SPNEGO exchange in progress on this connection")
		}
		out, done, err := cs.spnego.Accept(tok)
		if err != nil {
			cs.spnego = nil
			return negotiateResult{out: out}, err
		}
		r := negotiateResult{out: out, done: done}
		if done {
			cs.spnego = nil
			if cs.krbRes != nil {
				r.user, r.bound = cs.krbRes.Client, s.cfg.Kerberos.ConnectionBound
				r.delegated = delegatedBy(cs.krbRes)
			} else {
				r.user, r.bound = s.ntlmUser(cs, true), true
			}
		}
		return r, nil
	}
	return negotiateResult{}, errors.New("unrecognised Negotiate token")
}

func (s *Server) ntlmUser(cs *connState, done bool) string {
	if !done || cs.ntlm == nil {
		return ""
	}
	if cs.ntlm.Domain() == "" {
		return cs.ntlm.User()
	}
	return cs.ntlm.Domain() + `\` + cs.ntlm.User()
}

// connSPNEGO returns a SPNEGO acceptor whose mechanisms leave their results
// on the connection cs: Kerberos if configured, NTLM if there are users.
func (s *Server) connSPNEGO(cs *connState) *spnego.Acceptor {
	a := &spnego.Acceptor{Mechs: map[string]func() (spnego.AcceptorMech, error){}, RequireMIC: s.cfg.SPNEGORequireMIC}
	if s.cfg.Kerberos != nil {
		a.Mechs[spnego.OIDKerberos.String()] = func() (spnego.AcceptorMech, error) {
			return &krbMech{s: s, cs: cs}, nil
		}
	}
	if len(s.cfg.Users) > 0 {
		a.Mechs[spnego.OIDNTLM.String()] = func() (spnego.AcceptorMech, error) {
			cs.ntlm = s.ntlmAcceptor(cs).NewContext()
			return ntlmMech{cs.ntlm}, nil
		}
	}
	return a
}

// krbMech is the Kerberos mechanism of the SPNEGO acceptor.
type krbMech struct {
	s  *Server
	cs *connState
}

func (m *krbMech) Accept(tok []byte) ([]byte, bool, error) {
	out, res, err := m.s.kerberosAcceptorFor(m.cs).Accept(tok)
	if err != nil {
		return krbacceptor.MakeError(krbacceptor.ErrorCode(err), m.s.cfg.Kerberos.SPN, time.Now().Add(m.s.cfg.Kerberos.ClockOffset)), false, err
	}
	m.cs.krbRes = res
	return out, true, nil
}

func (m *krbMech) GetMIC(msg []byte) ([]byte, error) {
	if m.cs.krbRes == nil {
		return nil, errors.New("kerberos context not established")
	}
	return m.cs.krbRes.GetMIC(msg)
}

func (m *krbMech) VerifyMIC(msg, mic []byte) error {
	if m.cs.krbRes == nil {
		return errors.New("kerberos context not established")
	}
	return m.cs.krbRes.VerifyMIC(msg, mic)
}

// ntlmMech is the NTLM mechanism of the SPNEGO acceptor.
type ntlmMech struct{ c *ntlmacceptor.Context }

func (m ntlmMech) Accept(tok []byte) ([]byte, bool, error) { return m.c.Accept(tok) }
func (m ntlmMech) GetMIC(msg []byte) ([]byte, error)       { return m.c.GetMIC(msg) }
func (m ntlmMech) VerifyMIC(msg, mic []byte) error         { return m.c.VerifyMIC(msg, mic) }

// finalToken formats the token of a successful response, corrupted when
// the Faults ask for it.
func (s *Server) finalToken(scheme string, out []byte) string {
	if s.cfg.Faults.CorruptFinalToken && len(out) > 0 {
		out = append([]byte(nil), out...)
		out[len(out)-1] ^= 0xff
	}
	return scheme + " " + base64.StdEncoding.EncodeToString(out)
}
