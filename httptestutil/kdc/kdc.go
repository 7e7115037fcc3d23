// This file holds the KDC type, its options, its lifecycle and its
// principal database.

// Package kdc runs a small Kerberos 5 Key Distribution Center inside a test
// process, in the spirit of Hadoop's MiniKdc: an authentication service (AS,
// with PA-ENC-TIMESTAMP pre-authentication) and a ticket-granting service
// (TGS) for one realm, answering on 127.0.0.1 over UDP and TCP (RFC 4120
// §7.2.1, §7.2.2), with helpers that write a krb5.conf, keytabs and MIT
// credential caches for the principals it knows.
//
// A program (a demo, say) starts one with Start and stops it with Close; a
// test may use New, which closes it when the test ends. What it hands out
// are paths (Krb5ConfPath, WriteKeytab, WriteCCache) and keytab files as
// bytes (AddService, Keytab), so its users need no Kerberos library of
// their own.
//
// It is meant for tests only: keys live in memory, there is no PAC, no FAST,
// no cross-realm trust, no S4U, and the KDC keeps no replay cache of its own.
package kdc

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/krb/wire"
)

// Encryption type numbers (RFC 3961 §8, RFC 8009, RFC 4757) accepted in
// Options.Enctypes and AddService.
const (
	AES128SHA1   int32 = etypeID.AES128_CTS_HMAC_SHA1_96    // 17
	AES256SHA1   int32 = etypeID.AES256_CTS_HMAC_SHA1_96    // 18
	AES128SHA256 int32 = etypeID.AES128_CTS_HMAC_SHA256_128 // 19
	AES256SHA384 int32 = etypeID.AES256_CTS_HMAC_SHA384_192 // 20
	RC4HMAC      int32 = etypeID.RC4_HMAC                   // 23
)

// DefaultEnctypes are the encryption types a KDC supports when
// Options.Enctypes is empty, strongest first. The order is the KDC's
// preference when it picks the key that encrypts a ticket.
var DefaultEnctypes = []int32{AES256SHA1, AES128SHA1, AES256SHA384, AES128SHA256, RC4HMAC}

// Options configure a KDC. The zero value (or a nil *Options) gives the
// defaults documented on each field.
type Options struct {
	// TicketLifetime is the longest lifetime of any ticket; default 10h.
	TicketLifetime time.Duration
	// RenewLifetime is the longest renewable lifetime; 0 means tickets are
	// never renewable.
	RenewLifetime time.Duration
	// ClockOffset shifts the KDC's clock: it believes the time is
	// time.Now().Add(ClockOffset). Use it to provoke clock skew.
	ClockOffset time.Duration
	// MaxSkew is the largest accepted difference between a client's
	// timestamp and the KDC's clock; default 5m. Requests outside it get
	// KRB_AP_ERR_SKEW with the KDC's time in stime/susec.
	MaxSkew time.Duration
	// Enctypes are the encryption types the KDC supports, in order of
	// preference; default DefaultEnctypes.
	Enctypes []int32
	// UDPPreferenceLimit is written as udp_preference_limit in Krb5ConfPath's file.
	// 0 means 1: clients use TCP first (real AD replies outgrow UDP). Set
	// it to, say, 1465 to make clients try UDP first.
	UDPPreferenceLimit int
	// MaxUDPReply is the largest reply sent over UDP; bigger replies become
	// KRB_ERR_RESPONSE_TOO_BIG so that the client retries over TCP (RFC 4120
	// §7.2.1). Default 1465, Active Directory's MaxDatagramReplySize.
	MaxUDPReply int
	// TicketPadding, if positive, adds that many bytes of (ignorable,
	// AD-IF-RELEVANT) authorization data to every ticket, to imitate the
	// large tickets a PAC makes.
	TicketPadding int
}

// Stats count what a KDC has answered. It is a snapshot: a copy.
type Stats struct {
	ASRequests  int            // AS-REQ messages received
	TGSRequests int            // TGS-REQ messages received
	TGSBySPN    map[string]int // TGS-REQ messages per requested service name (without realm)
	Errors      map[int32]int  // KRB-ERROR replies sent, by error code
	Dropped     int            // requests ignored while SetDown(true)
	S4U2Self    int            // TGS-REQ messages with PA-FOR-USER
	S4U2Proxy   int            // TGS-REQ messages with cname-in-addl-tkt (and no PA-FOR-USER)
	UDP, TCP    int            // requests by transport
}

// principal is one entry of the database. Keys are indexed by enctype.
type principal struct {
	name    string // components joined by "/", without the realm
	keys    map[int32]types.EncryptionKey
	kvno    int
	salt    string
	service bool
	expired bool
	// okAsDelegate sets the OK-AS-DELEGATE flag in tickets for this
	// service (RFC 4120 §2.8; Active Directory's "trusted for
	// delegation").
	okAsDelegate bool
	// noForward denies the FORWARDABLE flag to tickets of (or for) this
	// principal, like MIT's DISALLOW_FORWARDABLE attribute.
	noForward bool
	// Constrained delegation (s4u.go): trustedToAuth makes S4U2Self
	// tickets forwardable; allowedToDelegateTo lists the S4U2Proxy
	// targets; notDelegated marks a sensitive user.
	trustedToAuth       bool
	allowedToDelegateTo []string
	notDelegated        bool
}

// A KDC is a running key distribution center for one realm. Its methods are
// safe for concurrent use.
type KDC struct {
	realm string
	opts  Options

	udp  *net.UDPConn
	tcp  *net.TCPListener
	addr string
	dir  string

	wg   sync.WaitGroup
	mu   sync.Mutex // guards everything below
	db   map[string]*principal
	upns map[string]string // lower-cased user principal name -> principal name (SetUPN)
	// referrals maps a lower-cased UPN suffix to the realm of its users
	// (SetClientReferral).
	referrals map[string]string
	// serviceReferrals maps a service name to the realm the KDC refers
	// its requests to (SetServiceReferral).
	serviceReferrals map[string]string
	// inbound holds the cross-realm TGT keys of the realms that trust
	// this one (krbtgt/THIS@OTHER), by the other realm (Trust).
	inbound map[string]*principal
	offset  time.Duration
	down    bool
	closed  bool
	conns   map[net.Conn]struct{}
	stats   Stats
}

// New starts a KDC for realm on 127.0.0.1 and registers tb.Cleanup to stop
// it. It calls tb.Fatal if the KDC cannot start.
func New(tb testing.TB, realm string, opts *Options) *KDC {
	tb.Helper()
	k, err := Start(realm, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

// Start starts a KDC for realm on 127.0.0.1, UDP and TCP on the same random
// port. The caller must Close it.
func Start(realm string, opts *Options) (*KDC, error) {
	if realm == "" || strings.ContainsAny(realm, " \t\r\n[]{}=") {
		return nil, errors.New("negotiate: kdc: invalid realm name")
	}
	k := &KDC{
		realm: realm,
		db:    make(map[string]*principal),
		conns: make(map[net.Conn]struct{}),
	}
	if opts != nil {
		k.opts = *opts
		k.opts.Enctypes = append([]int32(nil), opts.Enctypes...)
	}
	if k.opts.TicketLifetime <= 0 {
		k.opts.TicketLifetime = 10 * time.Hour
	}
	if k.opts.MaxSkew <= 0 {
		k.opts.MaxSkew = 5 * time.Minute
	}
	if len(k.opts.Enctypes) == 0 {
		k.opts.Enctypes = append([]int32(nil), DefaultEnctypes...)
	}
	for _, e := range k.opts.Enctypes {
		if _, err := crypto.GetEtype(e); err != nil {
			return nil, fmt.Errorf("negotiate: kdc: unsupported enctype %d", e)
		}
	}
	if k.opts.UDPPreferenceLimit <= 0 {
		k.opts.UDPPreferenceLimit = 1
	}
	if k.opts.MaxUDPReply <= 0 {
		k.opts.MaxUDPReply = 1465
	}
	k.offset = k.opts.ClockOffset

	// The ticket-granting service's own principal, krbtgt/REALM, with a
	// random key for every enctype (RFC 4120 §7.3).
	if _, err := k.addRandom("krbtgt/"+realm, k.opts.Enctypes); err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "negotiate-kdc-")
	if err != nil {
		return nil, fmt.Errorf("negotiate: kdc: %w", err)
	}
	k.dir = dir
	if err := k.listen(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if _, err := k.writeConf(); err != nil {
		k.Close()
		return nil, err
	}
	return k, nil
}

// listen binds UDP and TCP on one port. The TCP port is chosen first; if
// the same UDP port is taken, it tries again a few times.
func (k *KDC) listen() error {
	var lastErr error
	for range 20 {
		tl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return fmt.Errorf("negotiate: kdc: %w", err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			tl.Close()
			lastErr = err
			continue
		}
		k.tcp, k.udp = tl, ul
		k.addr = tl.Addr().String()
		k.wg.Add(2)
		go k.serveUDP()
		go k.serveTCP()
		return nil
	}
	return fmt.Errorf("negotiate: kdc: no port free for both UDP and TCP: %w", lastErr)
}

// Close stops the KDC: it closes its sockets and every open TCP connection,
// waits for all its goroutines to end and removes its temporary directory
// (Krb5ConfPath's file, and nothing else: files written with WriteKeytab
// or WriteCCache belong to the caller). Close is idempotent.
func (k *KDC) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	for c := range k.conns {
		c.Close()
	}
	k.mu.Unlock()
	var errs []error
	if k.tcp != nil {
		errs = append(errs, k.tcp.Close())
	}
	if k.udp != nil {
		errs = append(errs, k.udp.Close())
	}
	k.wg.Wait()
	errs = append(errs, os.RemoveAll(k.dir))
	return errors.Join(errs...)
}

// Realm returns the KDC's realm.
func (k *KDC) Realm() string { return k.realm }

// Addr returns the host:port the KDC answers on, for UDP and TCP alike.
func (k *KDC) Addr() string { return k.addr }

// now returns the KDC's clock.
func (k *KDC) now() time.Time {
	k.mu.Lock()
	off := k.offset
	k.mu.Unlock()
	return time.Now().Add(off).UTC()
}

// SetClockOffset changes the KDC's clock offset (see Options.ClockOffset).
func (k *KDC) SetClockOffset(d time.Duration) {
	k.mu.Lock()
	k.offset = d
	k.mu.Unlock()
}

// SetDown(true) makes the KDC stop answering, as an unreachable KDC would:
// its ports stay open (no port can be stolen meanwhile) but UDP requests are
// dropped and TCP connections are held open without a reply until
// SetDown(false), Close, or the client gives up. Clients therefore see
// timeouts, not refused connections. Requests ignored are counted in
// Stats.Dropped.
func (k *KDC) SetDown(down bool) {
	k.mu.Lock()
	k.down = down
	k.mu.Unlock()
}

func (k *KDC) isDown() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.down
}

// Stats returns a copy of the KDC's counters.
func (k *KDC) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.stats
	s.TGSBySPN = make(map[string]int, len(k.stats.TGSBySPN))
	for n, c := range k.stats.TGSBySPN {
		s.TGSBySPN[n] = c
	}
	s.Errors = make(map[int32]int, len(k.stats.Errors))
	for n, c := range k.stats.Errors {
		s.Errors[n] = c
	}
	return s
}

// ResetStats sets every counter back to zero.
func (k *KDC) ResetStats() {
	k.mu.Lock()
	k.stats = Stats{}
	k.mu.Unlock()
}

func (k *KDC) count(f func(s *Stats)) {
	k.mu.Lock()
	f(&k.stats)
	k.mu.Unlock()
}

// salt returns the default salt of a principal: the realm followed by the
// name components, with no separators (RFC 4120 §4).
func (k *KDC) salt(name string) string {
	return k.realm + strings.ReplaceAll(name, "/", "")
}

// AddUser adds (or replaces) a client principal such as "alice" with keys
// derived from password for every enctype of the KDC. It panics if the name
// is empty or a key cannot be derived (a programming error in a test).
func (k *KDC) AddUser(name, password string) {
	if name == "" || strings.Contains(name, "@") {
		panic("negotiate: kdc: invalid user name")
	}
	p := &principal{name: name, keys: make(map[int32]types.EncryptionKey), kvno: 1, salt: k.salt(name)}
	for _, e := range k.opts.Enctypes {
		et, _ := crypto.GetEtype(e)
		kb, err := et.StringToKey(password, p.salt, et.GetDefaultStringToKeyParams())
		if err != nil {
			panic("negotiate: kdc: cannot derive key")
		}
		p.keys[e] = types.EncryptionKey{KeyType: e, KeyValue: kb}
	}
	k.mu.Lock()
	if old, ok := k.db[name]; ok {
		p.kvno = old.kvno + 1
		p.noForward = old.noForward
		p.trustedToAuth, p.allowedToDelegateTo, p.notDelegated = old.trustedToAuth, old.allowedToDelegateTo, old.notDelegated
	}
	k.db[name] = p
	k.mu.Unlock()
}

// ExpireUser marks the password of a user as expired: its AS requests
// (after successful pre-authentication) get KDC_ERR_KEY_EXPIRED, like a
// real KDC whose principal's password has passed its expiry. Unknown names
// are ignored.
func (k *KDC) ExpireUser(name string) {
	k.mu.Lock()
	if p, ok := k.db[name]; ok && !p.service {
		p.expired = true
	}
	k.mu.Unlock()
}

// SetOKAsDelegate sets (or clears) the OK-AS-DELEGATE flag of the tickets
// the KDC issues for the service spn from now on (RFC 4120 §2.8): the
// realm's policy says the service may be trusted with delegated
// credentials, as Active Directory's "Trust this computer for delegation"
// does. Clients that delegate only by policy look at that flag. Unknown
// names are ignored; re-keying with AddService keeps the setting.
func (k *KDC) SetOKAsDelegate(spn string, ok bool) {
	k.mu.Lock()
	if p, found := k.db[spn]; found && p.service {
		p.okAsDelegate = ok
	}
	k.mu.Unlock()
}

// SetForwardable allows (the default) or denies forwardable tickets for a
// user or service, like MIT's DISALLOW_FORWARDABLE principal attribute:
// when denied, no ticket naming the principal as client or server gets the
// FORWARDABLE flag, whatever the request asks, so its TGTs cannot be
// forwarded (delegated). WriteCCache honours it too. Unknown names are
// ignored.
func (k *KDC) SetForwardable(name string, ok bool) {
	k.mu.Lock()
	if p, found := k.db[name]; found {
		p.noForward = !ok
	}
	k.mu.Unlock()
}

// RemovePrincipal deletes a user or service; later requests naming it get
// KDC_ERR_C_PRINCIPAL_UNKNOWN or KDC_ERR_S_PRINCIPAL_UNKNOWN.
func (k *KDC) RemovePrincipal(name string) {
	k.mu.Lock()
	if name != "krbtgt/"+k.realm {
		delete(k.db, name)
	}
	k.mu.Unlock()
}

// AddService adds (or re-keys, with the next kvno) a service principal such
// as "HTTP/www.example.test" with a random key for each of enctypes (default:
// all of the KDC's), and returns a keytab holding those keys, in the MIT
// keytab file format (what a server reads from /etc/krb5.keytab, and what
// httptestutil.KerberosConfig.Keytab takes). Restricting enctypes imitates,
// say, an RC4-only service account: its tickets and session keys are then
// RC4. It panics on an empty name or an enctype the KDC does not support (a
// programming error in a test).
func (k *KDC) AddService(spn string, enctypes ...int32) []byte {
	if spn == "" || strings.Contains(spn, "@") {
		panic("negotiate: kdc: invalid service name")
	}
	if len(enctypes) == 0 {
		enctypes = k.opts.Enctypes
	}
	for _, e := range enctypes {
		if !k.supports(e) {
			panic(fmt.Sprintf("negotiate: kdc: enctype %d not enabled in this KDC", e))
		}
	}
	p, err := k.addRandom(spn, enctypes)
	if err != nil {
		panic(err)
	}
	return k.keytabFor(p)
}

func (k *KDC) supports(e int32) bool {
	for _, s := range k.opts.Enctypes {
		if s == e {
			return true
		}
	}
	return false
}

// addRandom adds a principal with random keys.
func (k *KDC) addRandom(name string, enctypes []int32) (*principal, error) {
	p := &principal{name: name, keys: make(map[int32]types.EncryptionKey), kvno: 1, salt: k.salt(name), service: true}
	for _, e := range enctypes {
		et, err := crypto.GetEtype(e)
		if err != nil {
			return nil, fmt.Errorf("negotiate: kdc: unsupported enctype %d", e)
		}
		kb := make([]byte, wire.KeyLength(e, et))
		if _, err := rand.Read(kb); err != nil {
			return nil, fmt.Errorf("negotiate: kdc: %w", err)
		}
		p.keys[e] = types.EncryptionKey{KeyType: e, KeyValue: kb}
	}
	k.mu.Lock()
	if old, ok := k.db[name]; ok {
		p.kvno = old.kvno + 1
		p.okAsDelegate, p.noForward = old.okAsDelegate, old.noForward
	}
	k.db[name] = p
	k.mu.Unlock()
	return p, nil
}

// keytabFor returns a keytab file (MIT format, version 0x502) with the
// principal's current keys. gokrb5 has no way to add a raw key, so each
// entry is made with AddEntry and its key then replaced.
func (k *KDC) keytabFor(p *principal) []byte {
	kt := keytab.New()
	ts := time.Now().UTC().Truncate(time.Second)
	ets := make([]int32, 0, len(p.keys))
	for e := range p.keys {
		ets = append(ets, e)
	}
	sort.Slice(ets, func(i, j int) bool { return ets[i] < ets[j] })
	for _, e := range ets {
		if err := kt.AddEntry(p.name, k.realm, "x", ts, uint8(p.kvno), e); err != nil {
			panic("negotiate: kdc: cannot build keytab entry")
		}
		ent := &kt.Entries[len(kt.Entries)-1]
		ent.Key.KeyValue = append([]byte(nil), p.keys[e].KeyValue...)
		ent.KVNO = uint32(p.kvno)
		ent.Principal.NameType = nametype.KRB_NT_PRINCIPAL
		if strings.Contains(p.name, "/") {
			ent.Principal.NameType = nametype.KRB_NT_SRV_INST
		}
	}
	b, err := kt.Marshal()
	if err != nil {
		panic("negotiate: kdc: cannot encode keytab")
	}
	return b
}

// Keytab returns a keytab file (MIT format) with the current keys of a
// user or service, nil if the KDC does not know the name. With a user's
// keytab a client logs in without a password (negotiate.Keytab, kinit -k).
func (k *KDC) Keytab(name string) []byte {
	k.mu.Lock()
	p, ok := k.db[name]
	k.mu.Unlock()
	if !ok {
		return nil
	}
	return k.keytabFor(p)
}

// WriteKeytab writes the keytab of a user or service (see Keytab) to path,
// mode 0600. The caller owns the file.
func (k *KDC) WriteKeytab(path, name string) error {
	b := k.Keytab(name)
	if b == nil {
		return fmt.Errorf("negotiate: kdc: unknown principal")
	}
	return os.WriteFile(path, b, 0o600)
}

// lookup returns a copy-safe pointer to a principal (principals are
// replaced, never mutated, except for the expired flag read under mu).
func (k *KDC) lookup(name string) (*principal, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.db[name]
	if !ok {
		return nil, false
	}
	cp := *p
	return &cp, true
}

// Krb5ConfPath writes (or rewrites, to add the hosts of services added
// since) a krb5.conf for this KDC in its temporary directory and returns the
// file's path, for negotiate.Transport.Krb5Config or KRB5_CONFIG. Close
// removes the file. It sets default_realm, the realm's kdc = Addr(),
// dns_lookup_kdc and dns_lookup_realm false, udp_preference_limit
// (Options.UDPPreferenceLimit; by default 1, so clients use TCP), ticket and
// renew lifetimes, the KDC's enctypes as permitted enctypes, and
// [domain_realm] entries mapping the host of every service and the domain
// named like the realm to it. It panics if the file cannot be written.
func (k *KDC) Krb5ConfPath() string {
	p, err := k.writeConf()
	if err != nil {
		panic(err)
	}
	return p
}

func (k *KDC) writeConf() (string, error) {
	p := filepath.Join(k.dir, "krb5.conf")
	if err := os.WriteFile(p, []byte(k.confText()), 0o644); err != nil {
		return "", fmt.Errorf("negotiate: kdc: %w", err)
	}
	return p, nil
}

func etypeNames(ets []int32) string {
	names := map[int32]string{
		AES128SHA1:   "aes128-cts-hmac-sha1-96",
		AES256SHA1:   "aes256-cts-hmac-sha1-96",
		AES128SHA256: "aes128-cts-hmac-sha256-128",
		AES256SHA384: "aes256-cts-hmac-sha384-192",
		RC4HMAC:      "arcfour-hmac",
	}
	var s []string
	for _, e := range ets {
		if n, ok := names[e]; ok {
			s = append(s, n)
		}
	}
	return strings.Join(s, " ")
}

func (k *KDC) confText() string {
	k.mu.Lock()
	var hosts []string
	for n, p := range k.db {
		if !p.service {
			continue
		}
		if i := strings.IndexByte(n, '/'); i >= 0 && n[:i] != "krbtgt" {
			h := n[i+1:]
			if j := strings.IndexByte(h, ':'); j >= 0 {
				h = h[:j]
			}
			hosts = append(hosts, strings.ToLower(h))
		}
	}
	k.mu.Unlock()
	sort.Strings(hosts)
	var b strings.Builder
	ets := etypeNames(k.opts.Enctypes)
	fmt.Fprintf(&b, "# krb5.conf for the test KDC of realm %s (written by httptestutil/kdc)\n", k.realm)
	fmt.Fprintf(&b, "[libdefaults]\n")
	fmt.Fprintf(&b, "  default_realm = %s\n", k.realm)
	fmt.Fprintf(&b, "  dns_lookup_kdc = false\n  dns_lookup_realm = false\n")
	fmt.Fprintf(&b, "  udp_preference_limit = %d\n", k.opts.UDPPreferenceLimit)
	fmt.Fprintf(&b, "  ticket_lifetime = %ds\n", int64(k.opts.TicketLifetime/time.Second))
	if k.opts.RenewLifetime > 0 {
		fmt.Fprintf(&b, "  renew_lifetime = %ds\n", int64(k.opts.RenewLifetime/time.Second))
	}
	fmt.Fprintf(&b, "  clockskew = %d\n", int64(k.opts.MaxSkew/time.Second))
	fmt.Fprintf(&b, "  default_tkt_enctypes = %s\n  default_tgs_enctypes = %s\n  permitted_enctypes = %s\n", ets, ets, ets)
	fmt.Fprintf(&b, "  allow_weak_crypto = true\n  forwardable = true\n  rdns = false\n  dns_canonicalize_hostname = false\n")
	fmt.Fprintf(&b, "[realms]\n  %s = {\n    kdc = %s\n  }\n", k.realm, k.addr)
	fmt.Fprintf(&b, "[domain_realm]\n")
	lr := strings.ToLower(k.realm)
	fmt.Fprintf(&b, "  .%s = %s\n  %s = %s\n", lr, k.realm, lr, k.realm)
	seen := map[string]bool{lr: true}
	for _, h := range hosts {
		if !seen[h] {
			seen[h] = true
			fmt.Fprintf(&b, "  %s = %s\n", h, k.realm)
		}
	}
	return b.String()
}
