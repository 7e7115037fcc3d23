// Package krb is the Kerberos V5 client mechanism of package negotiate: it
// gets tickets from a KDC (AS and TGS exchanges, RFC 4120 §3.1-3.3) with a
// password, a keytab or a ticket cache, caches them, and builds the
// GSS-API initiator tokens of RFC 4121 that SPNEGO and raw Negotiate carry.
//
// gokrb5 supplies the message types and the cryptography; the network
// I/O, the ticket cache and the GSS-API context are done here because
// gokrb5's client has no context.Context on KDC calls, no deduplication of
// concurrent ticket requests and no AP-REP verification.
//
// This file holds the Client: credentials, the ticket cache and the KDC
// exchanges.
package krb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/sync/singleflight"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb/wire"
)

const (
	// refreshMargin: a ticket this close to its end time is not handed
	// out, so that it does not expire on the way to the server.
	refreshMargin = 30 * time.Second
	// flightTimeout bounds a shared KDC exchange. Each caller waits only
	// as long as its own context allows; the exchange itself is detached
	// from any one caller so that one caller's cancellation does not fail
	// the others sharing it.
	flightTimeout = 30 * time.Second
	// maxReferrals bounds cross-realm referral chains (RFC 6806 §8).
	maxReferrals = 5
)

// A Client holds one principal's credentials (a password, a keytab or a
// ticket cache) and caches the tickets it gets. Concurrent cold requests
// for one service share one TGS exchange.
//
// A Client is safe for concurrent use by multiple goroutines. Create one
// with NewPasswordClient, NewKeytabClient, NewCCacheClient or
// DefaultClient; the zero value is not usable.
type Client struct {
	cfg      *config.Config
	cname    types.PrincipalName
	realm    string
	password string // never logged nor put in an error
	hasPass  bool
	kt       *keytab.Keytab
	initErr  error
	now      func() time.Time // for tests; time.Now otherwise
	src      *cacheSource     // the ticket cache to re-read; see refresh.go

	mu      sync.Mutex
	tgt     *cred                // TGT for the client's realm
	fwd     *cred                // forwarded TGT for delegation, reused while valid
	tickets map[string]*cred     // by "sname@realm"
	spns    map[string]spnTarget // parsed SPNs, by SPN

	// keys holds the keys derived from session keys for the AP-REQ's
	// authenticator and the AP-REP, so that they are derived once per
	// ticket rather than once per request.
	keys wire.KeyCache

	// s4u is set on a Client that impersonates a user through a
	// service's credentials (s4u.go).
	s4u *s4u
	// enterprise: cname is an enterprise name (a UPN, RFC 6806 §5) that
	// the KDC canonicalizes, possibly referring us to another realm
	// (upn.go).
	enterprise bool

	flights  singleflight.Group
	asCount  atomic.Int64
	tgsCount atomic.Int64

	// roundTrip, when set, replaces the network exchange with the KDC
	// (roundTripKDC): tests feed the client recorded or fuzzed replies.
	roundTrip func(ctx context.Context, realm string, req []byte) ([]byte, error)
}

// cred is a ticket with its session key and times (RFC 4120 §5.4.2
// EncKDCRepPart).
type cred struct {
	ticket    messages.Ticket
	key       types.EncryptionKey
	start     time.Time
	end       time.Time
	renewTill time.Time
	renewable bool
	flags     asn1.BitString // TicketFlags as the KDC reported them
	authTime  time.Time
	// cname and crealm are the ticket's client as the KDC named it, when
	// known and possibly other than the Client's (S4U).
	cname  types.PrincipalName
	crealm string

	derOnce sync.Once
	der     []byte // the ticket's DER, for the AP-REQ
	derErr  error
}

// ticketDER returns the ticket's DER encoding, made once: the AP-REQ
// carries it verbatim instead of encoding the ticket for every request.
func (c *cred) ticketDER() ([]byte, error) {
	c.derOnce.Do(func() {
		if c.der == nil {
			c.der, c.derErr = c.ticket.Marshal()
		}
	})
	return c.der, c.derErr
}

// spnTarget is a parsed SPN: the service's name, its realm and the
// ticket cache key.
type spnTarget struct {
	sname types.PrincipalName
	realm string
	key   string
}

// validAt reports whether the ticket may be used at t.
func (c *cred) validAt(t time.Time) bool {
	return c != nil && t.Add(refreshMargin).Before(c.end)
}

func newClient(user, realm string, cfg *config.Config) *Client {
	c := &Client{cfg: cfg, now: time.Now, tickets: map[string]*cred{}, spns: map[string]spnTarget{}}
	if cfg == nil {
		c.cfg = config.New()
		applyEnctypeDefaults(c.cfg, "")
	}
	if i := strings.LastIndex(user, "@"); i >= 0 {
		if realm == "" {
			realm = user[i+1:]
		}
		user = user[:i]
	}
	if realm == "" {
		realm = c.cfg.LibDefaults.DefaultRealm
	}
	c.realm = realm
	c.cname = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, user)
	switch {
	case user == "":
		c.initErr = fmt.Errorf("negotiate: kerberos: empty user name: %w", gss.ErrNoCredentials)
	case realm == "":
		c.initErr = fmt.Errorf("negotiate: kerberos: no realm for user %q and no default_realm: %w", user, gss.ErrNoCredentials)
	}
	return c
}

// NewPasswordClient returns a Client for user@realm that logs in with
// password (AS exchange, pre-authenticating with PA-ENC-TIMESTAMP when the
// KDC asks for it, RFC 4120 §5.2.7.2). user may carry "@REALM" when realm
// is empty; an empty realm falls back to cfg's default_realm. A nil cfg
// means an empty configuration. Nothing is sent until a ticket is needed.
func NewPasswordClient(user, realm, password string, cfg *config.Config) *Client {
	c := newClient(user, realm, cfg)
	c.password = password
	c.hasPass = true
	c.enterpriseIfUnknownRealm(user)
	return c
}

// NewKeytabClient returns a Client for user@realm that logs in with the
// keys of kt.
func NewKeytabClient(user, realm string, kt *keytab.Keytab, cfg *config.Config) *Client {
	c := newClient(user, realm, cfg)
	c.kt = kt
	if kt == nil && c.initErr == nil {
		c.initErr = fmt.Errorf("negotiate: kerberos: nil keytab: %w", gss.ErrNoCredentials)
	}
	return c
}

// NewCCacheClient returns a Client using the tickets of cc: its TGT for
// the client's realm, and any service tickets it holds (so a cache with
// only a service ticket still works for that service). Such a client
// cannot log in again: once the TGT has expired and cannot be renewed,
// requests fail with an error wrapping gss.ErrCredentialsExpired.
func NewCCacheClient(cc *credentials.CCache, cfg *config.Config) (*Client, error) {
	if cc == nil {
		return nil, fmt.Errorf("negotiate: kerberos: nil ticket cache: %w", gss.ErrNoCredentials)
	}
	cn := cc.GetClientPrincipalName()
	c := newClient(cn.PrincipalNameString(), cc.GetClientRealm(), cfg)
	if c.initErr != nil {
		return nil, c.initErr
	}
	c.cname = cn
	found := false
	for _, e := range cc.GetEntries() {
		var tkt messages.Ticket
		if err := tkt.Unmarshal(e.Ticket); err != nil {
			continue // not a ticket we can use
		}
		cr := &cred{
			ticket:    tkt,
			key:       e.Key,
			start:     e.StartTime,
			end:       e.EndTime,
			renewTill: e.RenewTill,
			renewable: types.IsFlagSet(&e.TicketFlags, flags.Renewable),
			flags:     e.TicketFlags,
			authTime:  e.AuthTime,
			der:       e.Ticket, // as the KDC issued it
		}
		if cr.start.IsZero() {
			cr.start = e.AuthTime
		}
		sn := e.Server.PrincipalName
		if len(sn.NameString) == 2 && sn.NameString[0] == "krbtgt" && sn.NameString[1] == c.realm && e.Server.Realm == c.realm {
			if c.tgt == nil || cr.end.After(c.tgt.end) {
				c.tgt = cr
			}
		} else {
			c.tickets[ticketKey(sn, e.Server.Realm)] = cr
		}
		found = true
	}
	if !found {
		return nil, fmt.Errorf("negotiate: kerberos: ticket cache for %s holds no tickets: %w", c.Principal(), gss.ErrNoCredentials)
	}
	return c, nil
}

// Principal returns the client principal as user@REALM: for a UPN login,
// the canonical name the KDC gave once logged in.
func (c *Client) Principal() string {
	if c.enterprise {
		c.mu.Lock()
		tgt := c.tgt
		c.mu.Unlock()
		if tgt != nil && tgt.crealm != "" {
			return tgt.cname.PrincipalNameString() + "@" + tgt.crealm
		}
	}
	return c.cname.PrincipalNameString() + "@" + c.realm
}

// Stats returns how many AS and TGS exchanges the Client has made.
func (c *Client) Stats() (as, tgs int) {
	return int(c.asCount.Load()), int(c.tgsCount.Load())
}

func ticketKey(sname types.PrincipalName, realm string) string {
	return sname.PrincipalNameString() + "@" + realm
}

// parseSPN splits "service/host[@REALM]" and finds the realm: the one
// given, else the domain_realm mapping of host, else the client's realm.
func (c *Client) parseSPN(spn string) (types.PrincipalName, string, error) {
	name, realm := spn, ""
	if i := strings.LastIndex(spn, "@"); i >= 0 {
		name, realm = spn[:i], spn[i+1:]
	}
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return types.PrincipalName{}, "", fmt.Errorf("negotiate: kerberos: bad service principal name %q: %w", spn, gss.ErrNoSPN)
	}
	pn := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, name)
	if realm == "" && len(pn.NameString) > 1 {
		realm = c.cfg.ResolveRealm(strings.ToLower(pn.NameString[1]))
	}
	if realm == "" {
		realm = c.realm
	}
	return pn, realm, nil
}

// ServiceTicket returns a ticket and its session key for spn
// ("HTTP/host" or "HTTP/host@REALM"), from the cache while it is valid.
// Concurrent cold calls for one SPN share a single TGS exchange. The TGT is
// renewed, or got again with the password or keytab, when it has expired.
// ctx bounds the wait: when it ends first, the error wraps both
// gss.ErrKDCUnreachable and ctx.Err().
func (c *Client) ServiceTicket(ctx context.Context, spn string) (messages.Ticket, types.EncryptionKey, error) {
	cr, err := c.serviceCred(ctx, spn)
	if err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, err
	}
	return cr.ticket, cr.key, nil
}

// serviceCred is ServiceTicket returning the cached credential itself.
func (c *Client) serviceCred(ctx context.Context, spn string) (*cred, error) {
	if c.initErr != nil {
		return nil, c.initErr
	}
	c.mu.Lock()
	t, ok := c.spns[spn]
	c.mu.Unlock()
	if !ok {
		sname, realm, err := c.parseSPN(spn)
		if err != nil {
			return nil, err
		}
		t = spnTarget{sname: sname, realm: realm, key: ticketKey(sname, realm)}
		c.mu.Lock()
		if len(c.spns) >= maxSPNs {
			clear(c.spns)
		}
		c.spns[spn] = t
		c.mu.Unlock()
	}
	key := t.key
	if cr := c.cached(key); cr != nil {
		return cr, nil
	}
	v, err := c.share(ctx, "tgs:"+key, func(fctx context.Context) (any, error) {
		if cr := c.cached(key); cr != nil {
			return cr, nil
		}
		cr, err := c.fetchServiceTicket(fctx, t.sname, t.realm)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.storeTicket(key, cr)
		c.mu.Unlock()
		return cr, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cred), nil
}

// maxSPNs bounds the memo of parsed SPNs.
const maxSPNs = 1024

// maxTickets bounds the service tickets a Client keeps: one per service it
// talks to, so a client that meets ever more hosts does not grow without
// limit.
const maxTickets = 512

// storeTicket caches cr under key, first dropping expired tickets, then
// any one ticket, when the cache is full. c.mu must be held.
func (c *Client) storeTicket(key string, cr *cred) {
	if _, ok := c.tickets[key]; !ok && len(c.tickets) >= maxTickets {
		now := c.now()
		for k, t := range c.tickets {
			if !t.validAt(now) {
				delete(c.tickets, k)
			}
		}
		for k := range c.tickets {
			if len(c.tickets) < maxTickets {
				break
			}
			delete(c.tickets, k)
		}
	}
	c.tickets[key] = cr
}

// Expired reports whether the client's TGT has expired and can no longer
// be renewed, so that the client holds nothing a ticket can be got with: a
// cache that nobody refreshed, or a password or keytab login that would
// have to start over anyway. A client without a TGT (a cache with service
// tickets only, or one that has not logged in yet) has not expired.
func (c *Client) Expired(now time.Time) bool {
	c.mu.Lock()
	tgt := c.tgt
	c.mu.Unlock()
	if tgt == nil || now.Before(tgt.end) {
		return false
	}
	return !(tgt.renewable && now.Before(tgt.renewTill))
}

// cached returns the valid cached ticket for key, if any.
func (c *Client) cached(key string) *cred {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr := c.tickets[key]; cr.validAt(c.now()) {
		return cr
	}
	return nil
}

// keptOrShared returns *kept (guarded by mu) while it is valid, else the
// credential fetch gets, which it keeps there; concurrent callers share one
// fetch (share).
func (c *Client) keptOrShared(ctx context.Context, key string, mu *sync.Mutex, kept **cred, fetch func(context.Context) (*cred, error)) (*cred, error) {
	current := func() *cred {
		mu.Lock()
		defer mu.Unlock()
		return *kept
	}
	if cr := current(); cr.validAt(c.now()) {
		return cr, nil
	}
	v, err := c.share(ctx, key, func(fctx context.Context) (any, error) {
		if cr := current(); cr.validAt(c.now()) {
			return cr, nil
		}
		cr, err := fetch(fctx)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		*kept = cr
		mu.Unlock()
		return cr, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cred), nil
}

// share runs f once for all concurrent callers with the same key. f gets
// a context detached from any one caller (see flightTimeout); each caller
// returns when f does or when its own ctx ends.
func (c *Client) share(ctx context.Context, key string, f func(context.Context) (any, error)) (any, error) {
	ch := c.flights.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flightTimeout)
		defer cancel()
		return f(fctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("negotiate: kerberos: waiting for the KDC: %w (%w)", gss.ErrKDCUnreachable, ctx.Err())
	}
}

// fetchServiceTicket gets a ticket for sname@realm with TGS exchanges,
// following cross-realm referrals.
func (c *Client) fetchServiceTicket(ctx context.Context, sname types.PrincipalName, realm string) (*cred, error) {
	if c.s4u != nil {
		return c.s4uServiceTicket(ctx, sname, realm)
	}
	tgt, err := c.getTGT(ctx)
	if err != nil {
		return nil, err
	}
	// The TGT's realm: the client's, or the one a UPN login was
	// referred to.
	kdcRealm := tgt.ticket.Realm
	for hop := 0; hop <= maxReferrals; hop++ {
		target := sname
		if realm != kdcRealm {
			// Ask our realm's KDC for a cross-realm TGT first
			// (RFC 4120 §1.2).
			target = types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}}
		}
		cr, err := c.tgsExchange(ctx, kdcRealm, tgt, target, false, false, ticketKey(sname, realm))
		if err != nil && hop == 0 && isTGTExpired(err) && c.reloadCache(true) {
			// The KDC says our TGT has expired, and the cache
			// holds a newer one: use it (refresh.go).
			c.mu.Lock()
			tgt = c.tgt
			c.mu.Unlock()
			cr, err = c.tgsExchange(ctx, kdcRealm, tgt, target, false, false, ticketKey(sname, realm))
		}
		if err != nil {
			var ke *Error
			if realm != kdcRealm && errors.As(err, &ke) && ke.Code == errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN {
				// No krbtgt/REALM@KDCREALM: the realms do not trust
				// each other, directly or by a [capaths] path.
				return nil, fmt.Errorf("%w from %s to %s: %w", ErrNoRealmPath, kdcRealm, realm, err)
			}
			return nil, err
		}
		sn := cr.ticket.SName
		if len(sn.NameString) == 2 && sn.NameString[0] == "krbtgt" && !sn.Equal(sname) {
			// A TGT for another realm: continue there. Asked for the
			// service itself, it is a KDC referral (RFC 6806 §8): the
			// service is in that realm.
			if target.Equal(sname) {
				realm = sn.NameString[1]
			}
			tgt, kdcRealm = cr, sn.NameString[1]
			continue
		}
		return cr, nil
	}
	return nil, fmt.Errorf("negotiate: kerberos: too many referrals getting a ticket for %s: %w", ticketKey(sname, realm), gss.ErrRejected)
}

// getTGT returns a TGT for the client's realm: the cached one while valid,
// else a renewed one, else a new one from an AS exchange.
func (c *Client) getTGT(ctx context.Context) (*cred, error) {
	if c.s4u != nil {
		return nil, fmt.Errorf("negotiate: kerberos: %s is impersonated (S4U) and has no TGT to delegate: %w", c.Principal(), gss.ErrNoCredentials)
	}
	c.mu.Lock()
	tgt := c.tgt
	c.mu.Unlock()
	if c.src != nil && tgt != nil && c.now().Add(cacheRefreshWindow).After(tgt.end) && c.reloadCache(false) {
		// A TGT near its end: whoever keeps the cache may have put a
		// newer one there (refresh.go).
		c.mu.Lock()
		tgt = c.tgt
		c.mu.Unlock()
	}
	if tgt.validAt(c.now()) {
		return tgt, nil
	}
	v, err := c.share(ctx, "tgt", func(fctx context.Context) (any, error) {
		c.mu.Lock()
		tgt := c.tgt
		c.mu.Unlock()
		now := c.now()
		if tgt.validAt(now) {
			return tgt, nil
		}
		if c.src != nil && c.reloadCache(true) {
			c.mu.Lock()
			tgt = c.tgt
			c.mu.Unlock()
			if tgt.validAt(now) {
				return tgt, nil
			}
		}
		var renewErr error
		if tgt != nil && tgt.renewable && now.Before(tgt.end) && now.Before(tgt.renewTill) {
			// RFC 4120 §3.3.3: renew the TGT before it expires.
			krbtgt := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", tgt.ticket.Realm}}
			cr, err := c.tgsExchange(fctx, tgt.ticket.Realm, tgt, krbtgt, true, false, c.Principal())
			if err == nil {
				c.setTGT(cr)
				return cr, nil
			}
			renewErr = err
		}
		if !c.hasPass && c.kt == nil {
			if tgt != nil && now.Add(lastResortMargin).Before(tgt.end) {
				// A cache's TGT in its last seconds, with nothing
				// newer: still valid, and all there is (refresh.go).
				return tgt, nil
			}
			if renewErr != nil {
				return nil, renewErr
			}
			if tgt == nil {
				return nil, fmt.Errorf("negotiate: kerberos: no TGT for %s in the ticket cache: %w", c.Principal(), gss.ErrNoCredentials)
			}
			return nil, c.tgtExpiredError(tgt.end)
		}
		cr, err := c.asExchange(fctx)
		if err != nil {
			return nil, err
		}
		c.setTGT(cr)
		return cr, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cred), nil
}

func (c *Client) setTGT(cr *cred) {
	c.mu.Lock()
	c.tgt = cr
	c.mu.Unlock()
}

// nonce returns a random KDC-REQ nonce (RFC 4120 §5.4.1: UInt32; kept
// within int32 as many KDCs, and gokrb5, treat it as signed).
func nonce() (int, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt32))
	if err != nil {
		return 0, err
	}
	return int(n.Int64()), nil
}

// send is sendToKDC through c.roundTrip when it is set.
func (c *Client) send(ctx context.Context, realm string, req []byte) ([]byte, error) {
	if c.roundTrip == nil {
		return sendToKDC(ctx, c.cfg, realm, req)
	}
	rep, err := c.roundTrip(ctx, realm, req)
	if err != nil {
		return nil, err
	}
	return checkKRBError(rep)
}

// exchange sends req to realm's KDC and maps a KRB-ERROR to *Error.
func (c *Client) exchange(ctx context.Context, realm string, req []byte, principal string) ([]byte, error) {
	rb, err := c.send(ctx, realm, req)
	if err != nil {
		var ke messages.KRBError
		if errors.As(err, &ke) {
			return nil, newError(ke, principal, c.now())
		}
		return nil, err
	}
	return rb, nil
}

// tgsExchange makes one TGS exchange (RFC 4120 §3.3) with tgt for sname.
// forward asks for a forwarded ticket (the FORWARDED and FORWARDABLE
// options, no addresses). about names the principal errors concern.
func (c *Client) tgsExchange(ctx context.Context, kdcRealm string, tgt *cred, sname types.PrincipalName, renew, forward bool, about string) (*cred, error) {
	// The authenticator names the TGT's client: for a UPN login, the
	// canonical name the KDC gave.
	cname := c.cname
	if tgt.crealm != "" {
		cname = tgt.cname
	}
	req, err := messages.NewTGSReq(cname, kdcRealm, c.cfg, tgt.ticket, tgt.key, sname, renew)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: building TGS-REQ: %v", err)
	}
	if forward {
		if err := forwardReq(&req, tgt); err != nil {
			return nil, err
		}
	} else {
		if !renew && (len(sname.NameString) == 0 || sname.NameString[0] != "krbtgt") {
			// Ask for a service with name-canonicalize, so that a KDC
			// that does not hold it may refer us to the realm that
			// does (RFC 6806 §8), as MIT krb5 and Windows clients do.
			types.SetFlag(&req.ReqBody.KDCOptions, flags.Canonicalize)
		}
		// gokrb5 names the TGT's realm as the authenticator's crealm;
		// past the first cross-realm hop that is not the client's
		// (RFC 4120 §5.5.1), and the KDC answers KRB_AP_ERR_BADMATCH.
		crealm := c.realm
		if tgt.crealm != "" {
			crealm = tgt.crealm
		}
		if err := signTGSReq(&req, tgt, crealm); err != nil {
			return nil, err
		}
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: encoding TGS-REQ: %v", err)
	}
	c.tgsCount.Add(1)
	rb, err := c.exchange(ctx, kdcRealm, b, about)
	if err != nil {
		return nil, err
	}
	rep, err := parseTGSRep(rb)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: bad TGS-REP from KDC: %w", gss.ErrMalformedToken)
	}
	// RFC 4120 §5.4.2: the enc-part is in the TGT's session key, key
	// usage 8 (no subkey is sent).
	plain, err := decryptEncPart(rep.EncPart, tgt.key, keyusage.TGS_REP_ENCPART_SESSION_KEY)
	if errors.Is(err, errDecrypt) {
		return nil, fmt.Errorf("negotiate: kerberos: cannot decrypt the KDC's TGS-REP (wrong key): %w", gss.ErrRejected)
	}
	if err != nil {
		return nil, err
	}
	part, err := parseEncKDCRepPart(plain)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: bad TGS-REP encrypted part: %w", gss.ErrMalformedToken)
	}
	if part.Nonce != req.ReqBody.Nonce {
		return nil, fmt.Errorf("negotiate: kerberos: TGS-REP nonce does not match the request: %w", gss.ErrRejected)
	}
	cr := credFromRep(rep.Ticket, part)
	if c.enterprise {
		cr.cname, cr.crealm = rep.CName, rep.CRealm
	}
	return cr, nil
}

func credFromRep(t messages.Ticket, p messages.EncKDCRepPart) *cred {
	cr := &cred{
		ticket:    t,
		key:       p.Key,
		start:     p.StartTime,
		end:       p.EndTime,
		renewTill: p.RenewTill,
		renewable: types.IsFlagSet(&p.Flags, flags.Renewable),
		flags:     p.Flags,
		authTime:  p.AuthTime,
	}
	if cr.start.IsZero() {
		cr.start = p.AuthTime
	}
	return cr
}

// asExchange logs in (RFC 4120 §3.1): an AS-REQ without pre-authentication
// first, then, on KDC_ERR_PREAUTH_REQUIRED, one with PA-ENC-TIMESTAMP
// encrypted in the key the KDC's ETYPE-INFO2 names (salt and s2kparams).
func (c *Client) asExchange(ctx context.Context) (*cred, error) {
	realm := c.realm
	for hop := 0; ; hop++ {
		cr, referral, err := c.asExchangeAt(ctx, realm)
		if referral == "" {
			return cr, err
		}
		// RFC 6806 §7: the KDC says the client's realm is another one.
		if hop >= maxReferrals {
			return nil, fmt.Errorf("negotiate: kerberos: too many client referrals logging in %s (last to %s): %w", c.Principal(), referral, gss.ErrRejected)
		}
		realm = referral
	}
}

// asExchangeAt is asExchange at realm's KDC. For an enterprise name, a
// client referral (KDC_ERR_WRONG_REALM naming another crealm) is returned
// as referral instead of an error.
func (c *Client) asExchangeAt(ctx context.Context, realm string) (_ *cred, referral string, _ error) {
	c.asCount.Add(1)
	req, err := messages.NewASReqForTGT(realm, c.cfg, c.cname)
	if err != nil {
		return nil, "", fmt.Errorf("negotiate: kerberos: building AS-REQ: %v", err)
	}
	// A forwardable TGT, whatever krb5.conf says, so that the
	// credentials can be delegated when asked (Windows clients ask for
	// forwardable TGTs too). It costs nothing when not delegating.
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwardable)
	if c.enterprise {
		types.SetFlag(&req.ReqBody.KDCOptions, flags.Canonicalize)
	}
	if req.ReqBody.Nonce, err = nonce(); err != nil {
		return nil, "", err
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, "", fmt.Errorf("negotiate: kerberos: encoding AS-REQ: %v", err)
	}
	var hints types.PADataSequence
	rb, err := c.send(ctx, realm, b)
	var ke messages.KRBError
	if errors.As(err, &ke) && ke.ErrorCode == errorcode.KDC_ERR_PREAUTH_REQUIRED {
		// RFC 4120 §5.2.7: the e-data lists the acceptable PA-DATA
		// with ETYPE-INFO2 (enctype, salt, s2kparams).
		if len(ke.EData) > 0 {
			if hints, err = parsePAData(ke.EData); err != nil {
				return nil, "", fmt.Errorf("negotiate: kerberos: bad PREAUTH_REQUIRED e-data from KDC: %w", gss.ErrMalformedToken)
			}
		}
		pa, perr := c.encTimestamp(hints)
		if perr != nil {
			return nil, "", perr
		}
		req.PAData = append(req.PAData, pa)
		if b, err = req.Marshal(); err != nil {
			return nil, "", fmt.Errorf("negotiate: kerberos: encoding AS-REQ: %v", err)
		}
		rb, err = c.send(ctx, realm, b)
	}
	if errors.As(err, &ke) {
		if c.enterprise && ke.ErrorCode == errorcode.KDC_ERR_WRONG_REALM && ke.CRealm != "" && ke.CRealm != realm {
			return nil, ke.CRealm, nil
		}
		e := newError(ke, c.Principal(), c.now())
		e.Login, e.Keytab = true, !c.hasPass
		return nil, "", e
	}
	if err != nil {
		return nil, "", err
	}
	rep, err := parseASRep(rb)
	if err != nil {
		return nil, "", fmt.Errorf("negotiate: kerberos: bad AS-REP from KDC: %w", gss.ErrMalformedToken)
	}
	// The reply's own PA-DATA (ETYPE-INFO2) take precedence for the salt.
	key, err := c.clientKey(rep.EncPart.EType, append(append(types.PADataSequence{}, rep.PAData...), hints...))
	if err != nil {
		return nil, "", err
	}
	plain, err := decryptEncPart(rep.EncPart, key, keyusage.AS_REP_ENCPART)
	if err != nil && !errors.Is(err, errDecrypt) {
		return nil, "", err
	}
	if err != nil {
		// RFC 4120 §3.1.5: a reply we cannot decrypt means a wrong
		// password (or keytab) when the KDC did not check pre-auth.
		return nil, "", &Error{Code: errorcode.KRB_AP_ERR_BAD_INTEGRITY, Name: "KRB_AP_ERR_BAD_INTEGRITY", Principal: c.Principal(), Text: "cannot decrypt the AS-REP", Err: gss.ErrRejected, Login: true, Keytab: !c.hasPass}
	}
	part, err := parseEncKDCRepPart(plain)
	if err != nil {
		return nil, "", fmt.Errorf("negotiate: kerberos: bad AS-REP encrypted part: %w", gss.ErrMalformedToken)
	}
	if part.Nonce != req.ReqBody.Nonce {
		return nil, "", fmt.Errorf("negotiate: kerberos: AS-REP nonce does not match the request: %w", gss.ErrRejected)
	}
	if !rep.CName.Equal(c.cname) && !c.cfg.LibDefaults.Canonicalize && !c.enterprise {
		return nil, "", fmt.Errorf("negotiate: kerberos: AS-REP is for another client: %w", gss.ErrRejected)
	}
	// RFC 4120 §3.1.5: the KDC's time must be within the allowed skew.
	if skew := part.AuthTime.Sub(c.now()); skew > c.clockSkew() || -skew > c.clockSkew() {
		return nil, "", &Error{Code: errorcode.KRB_AP_ERR_SKEW, Name: "KRB_AP_ERR_SKEW", Principal: c.Principal(), Skew: skew, Err: gss.ErrClockSkew}
	}
	cr := credFromRep(rep.Ticket, part)
	if c.enterprise {
		// The canonical name and realm (RFC 6806 §5), for the
		// authenticators and for Principal.
		cr.cname, cr.crealm = rep.CName, rep.CRealm
	}
	return cr, "", nil
}

func (c *Client) clockSkew() time.Duration {
	if s := c.cfg.LibDefaults.Clockskew; s > 0 {
		return s
	}
	return 5 * time.Minute
}

// encTimestamp builds PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2): our time,
// encrypted with key usage 1 in the client key of the first enctype the
// KDC lists in ETYPE-INFO2 (its preference order) that we can use.
func (c *Client) encTimestamp(hints types.PADataSequence) (types.PAData, error) {
	var candidates []int32
	for _, pa := range hints {
		switch pa.PADataType {
		case patype.PA_ETYPE_INFO2:
			info, err := parseETypeInfo2(pa.PADataValue)
			if err != nil {
				return types.PAData{}, fmt.Errorf("negotiate: kerberos: bad ETYPE-INFO2 from KDC: %w", gss.ErrMalformedToken)
			}
			for _, e := range info {
				candidates = append(candidates, e.EType)
			}
		case patype.PA_ETYPE_INFO:
			info, err := parseETypeInfo(pa.PADataValue)
			if err != nil {
				return types.PAData{}, fmt.Errorf("negotiate: kerberos: bad ETYPE-INFO from KDC: %w", gss.ErrMalformedToken)
			}
			for _, e := range info {
				candidates = append(candidates, e.EType)
			}
		}
	}
	if len(candidates) == 0 {
		candidates = c.cfg.LibDefaults.DefaultTktEnctypeIDs
	}
	var key types.EncryptionKey
	var kerr error
	for _, et := range candidates {
		if _, err := crypto.GetEtype(et); err != nil {
			continue
		}
		if key, kerr = c.clientKey(et, hints); kerr == nil {
			break
		}
	}
	if len(key.KeyValue) == 0 {
		if kerr != nil {
			return types.PAData{}, kerr
		}
		return types.PAData{}, fmt.Errorf("negotiate: kerberos: no enctype in common with the KDC for pre-authentication: %w", gss.ErrNoCredentials)
	}
	t := c.now().UTC()
	ts, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: t.Truncate(time.Second), PAUSec: t.Nanosecond() / 1000})
	if err != nil {
		return types.PAData{}, fmt.Errorf("negotiate: kerberos: encoding PA-ENC-TS-ENC: %v", err)
	}
	ed, err := crypto.GetEncryptedData(ts, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP, 0)
	if err != nil {
		return types.PAData{}, fmt.Errorf("negotiate: kerberos: encrypting PA-ENC-TIMESTAMP: %v", err)
	}
	eb, err := ed.Marshal()
	if err != nil {
		return types.PAData{}, fmt.Errorf("negotiate: kerberos: encoding PA-ENC-TIMESTAMP: %v", err)
	}
	return types.PAData{PADataType: patype.PA_ENC_TIMESTAMP, PADataValue: eb}, nil
}

// clientKey returns the client's long-term key for etype: from the keytab,
// or derived from the password with the salt and s2kparams the KDC gave
// for that etype (RFC 4120 §5.2.7.5; the default salt is REALM + name
// components, RFC 4120 §4).
func (c *Client) clientKey(etype int32, hints types.PADataSequence) (types.EncryptionKey, error) {
	if c.kt != nil {
		key, _, err := c.kt.GetEncryptionKey(c.cname, c.realm, 0, etype)
		if err != nil {
			return types.EncryptionKey{}, fmt.Errorf("negotiate: kerberos: keytab has no key of enctype %d for %s: %w", etype, c.Principal(), gss.ErrNoCredentials)
		}
		return key, nil
	}
	if !c.hasPass {
		return types.EncryptionKey{}, fmt.Errorf("negotiate: kerberos: no password or keytab for %s: %w", c.Principal(), gss.ErrNoCredentials)
	}
	et, err := crypto.GetEtype(etype)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("negotiate: kerberos: unsupported enctype %d: %w", etype, gss.ErrRejected)
	}
	salt, params, found := "", "", false
	for _, pa := range hints {
		switch pa.PADataType {
		case patype.PA_ETYPE_INFO2:
			info, err := parseETypeInfo2(pa.PADataValue)
			if err != nil {
				continue
			}
			for _, e := range info {
				if e.EType == etype && !found {
					salt, found = e.Salt, true
					if len(e.S2KParams) > 0 {
						if err := checkS2KParams(etype, e.S2KParams); err != nil {
							return types.EncryptionKey{}, err
						}
						params = hex.EncodeToString(e.S2KParams)
					}
				}
			}
		case patype.PA_ETYPE_INFO:
			info, err := parseETypeInfo(pa.PADataValue)
			if err != nil {
				continue
			}
			for _, e := range info {
				if e.EType == etype && !found && len(e.Salt) > 0 {
					salt, found = string(e.Salt), true
				}
			}
		case patype.PA_PW_SALT:
			if !found {
				salt = string(pa.PADataValue)
			}
		}
	}
	if salt == "" {
		salt = c.cname.GetSalt(c.realm)
	}
	if params == "" {
		params = et.GetDefaultStringToKeyParams()
	}
	kv, err := et.StringToKey(c.password, salt, params)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("negotiate: kerberos: deriving the key of enctype %d: %w", etype, gss.ErrRejected)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: kv}, nil
}
