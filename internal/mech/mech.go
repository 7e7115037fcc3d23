// Package mech makes the security contexts package negotiate answers
// challenges with, and keeps what they share: NTLM (internal/ntlm),
// Kerberos inside SPNEGO (internal/krb, internal/spnego), Windows' SSPI
// (internal/sspi) and Basic; the Kerberos clients and tickets of each
// identity, the Kerberos failures remembered so that NTLM stands in at
// once, and the SPN of each target.
//
// Package negotiate is the HTTP side: it chooses a scheme from a
// challenge, asks a [Factory] for a [Context], carries the tokens on legs,
// and asks the Context's named capabilities (is the connection bound, may
// the first leg go without the body, did the server prove its identity,
// why was Kerberos not used) instead of looking inside it.
package mech

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"

	"github.com/negotiate-go/negotiate/internal/krb"
	"github.com/negotiate-go/negotiate/internal/lru"
)

// A Scheme is an HTTP authentication scheme a Context answers. The values
// are those of negotiate.Scheme.
type Scheme int

// The schemes.
const (
	Unknown   Scheme = iota // no scheme
	Basic                   // RFC 7617
	NTLM                    // MS-NTHT, raw NTLMSSP tokens
	Negotiate               // RFC 4559: SPNEGO, or raw Kerberos or NTLM tokens
)

func (s Scheme) String() string {
	switch s {
	case Basic:
		return "Basic"
	case NTLM:
		return "NTLM"
	case Negotiate:
		return "Negotiate"
	}
	return "unknown"
}

// Mutual is the Kerberos mutual-authentication policy (negotiate.MutualAuth).
type Mutual int

// The policies, in negotiate.MutualAuth's order.
const (
	MutualRequired Mutual = iota
	MutualOptional
	MutualDisabled
)

// Delegation says when Kerberos delegates (negotiate.Delegation).
type Delegation int

// The delegation policies, in negotiate.Delegation's order.
const (
	DelegateNone Delegation = iota
	DelegatePolicy
	DelegateAlways
)

// SSPIPolicy says when SSPI answers instead of the pure-Go mechanisms
// (negotiate.SSPIPolicy).
type SSPIPolicy int

// The SSPI policies, in negotiate.SSPIPolicy's order.
const (
	SSPIForDefaultCredentials SSPIPolicy = iota
	SSPIAlways
	SSPINever
)

// SPNPolicy decides the service principal name; see negotiate.SPNPolicy,
// whose fields it copies.
type SPNPolicy struct {
	Hosts        map[string]string
	Service      string
	IncludePort  bool
	Canonicalize bool
	Resolver     *net.Resolver
}

// Config is what a Factory is made from: a snapshot of the Transport's
// mechanism settings, taken once.
type Config struct {
	// Krb5Config is the krb5.conf path; "" means KRB5_CONFIG, else
	// /etc/krb5.conf.
	Krb5Config string
	SPN        SPNPolicy
	Mutual     Mutual
	Delegation Delegation
	// KDCTimeout bounds the KDC exchanges of one request; it must be set.
	KDCTimeout             time.Duration
	DisableNTLM            bool
	DisableChannelBindings bool
	// AllowBasic lets CanUse accept Basic (which NewContext still refuses
	// over plain HTTP).
	AllowBasic bool
	SSPI       SSPIPolicy
	// MaxIdentities bounds the identities whose Kerberos clients (and
	// remembered failures) are kept; at least one.
	MaxIdentities int
}

// maxCNAMEs bounds the CNAME answers a Factory remembers, one per host.
const maxCNAMEs = 1024

// A Factory makes security contexts with one Config, and keeps what they
// share: the Kerberos configuration, a Kerberos client per identity, the
// Kerberos failures NTLM stands in for, the CNAME answers. It is safe for
// concurrent use by multiple goroutines.
type Factory struct {
	cfg Config

	krbOnce   sync.Once
	krbCfg    *config.Config
	krbCfgErr error

	// clients keeps one Kerberos client, with its tickets, per identity:
	// at most MaxIdentities, the least recently used forgotten first.
	clients *lru.Cache[[32]byte, *krb.Client]
	// failures remembers, for a while, that Kerberos cannot work for an
	// identity and SPN (no KDC answered, the SPN is unknown), so that
	// each new connection falls back to NTLM at once instead of waiting
	// for the KDC again.
	failures *lru.Cache[failureKey, failure]
	// cnames maps a host to its canonical name (SPNPolicy.Canonicalize).
	cnames *lru.Cache[string, string]
}

// New returns a Factory for cfg.
func New(cfg Config) *Factory {
	return &Factory{
		cfg:      cfg,
		clients:  lru.New[[32]byte, *krb.Client](cfg.MaxIdentities),
		failures: lru.New[failureKey, failure](cfg.MaxIdentities),
		cnames:   lru.New[string, string](maxCNAMEs),
	}
}

// A Target is what a context authenticates to.
type Target struct {
	// URL is the origin's request URL or the proxy's URL: its host makes
	// the SPN and NTLM's target name.
	URL *url.URL
	// TLS is the state of the connection's TLS to the target, for channel
	// bindings; nil for plain HTTP (and for a proxy spoken to in plain
	// HTTP).
	TLS *tls.ConnectionState
	// Proxy says the target is a proxy (407): proxies send no final
	// token, so one is verified only when present.
	Proxy bool
	// RawNTLM says that raw NTLM may stand in for Negotiate when Kerberos
	// cannot work: the peer offered NTLM and the preference allows it.
	RawNTLM bool
}

// A Context is the client side of one authentication, on one connection,
// to one target. Step is gss.Context's; the rest are what the HTTP side
// asks of it. A Context is used by one goroutine at a time.
type Context interface {
	// Step makes the next token from the peer's (nil first).
	Step(ctx context.Context, in []byte) (out []byte, cont bool, err error)
	// ConnectionBound reports whether the server keeps the connection
	// authenticated once it accepted, so that later requests need no
	// token: always for NTLM; for Negotiate when the server said
	// "Persistent-Auth: true" (persistentAuth: IIS, Apache's
	// GssapiConnectionBound) or the context chose NTLM.
	ConnectionBound(persistentAuth bool) bool
	// FirstLegChallenged reports whether the first token is NTLM's
	// NEGOTIATE message (raw or in SPNEGO), which is sure to be answered
	// with a challenge, so that its leg may go without the body.
	FirstLegChallenged() bool
	// CheckMutual applies the mutual-authentication policy once the
	// server accepted: under MutualRequired a Kerberos context must have
	// verified the server's AP-REP. sawToken says whether the response
	// carried a final token.
	CheckMutual(sawToken bool) error
	// Explain adds to err why Kerberos was not used, when NTLM stood in
	// for it.
	Explain(err error) error
	// Close releases operating-system resources (an SSPI handle); safe to
	// repeat, a no-op for the pure-Go mechanisms.
	Close()
}

// Refusals of Kerberos the root re-exports (internal/krb defines them).
var (
	ErrDelegationNotAllowed = krb.ErrDelegationNotAllowed
	ErrNoProtocolTransition = krb.ErrNoProtocolTransition
	ErrUserNotDelegable     = krb.ErrUserNotDelegable
	ErrNoRealmPath          = krb.ErrNoRealmPath
)
