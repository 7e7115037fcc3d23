// This file re-reads the ticket cache a Client was made from, so that a
// long-running program keeps working across kinit, kinit -R, k5start and
// sssd renewals: the cache is read again when the TGT nears its end, when
// a TGT is needed and the cache has changed, and when the KDC says the TGT
// has expired.

package krb

import (
	"fmt"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/negotiate-go/negotiate/internal/gss"
)

const (
	// cacheRefreshWindow: once the TGT is this close to its end, the
	// cache is looked at for a newer one (at most every cacheCheckEvery).
	cacheRefreshWindow = 5 * time.Minute
	// cacheCheckEvery bounds how often the cache's stamp is read when
	// nothing forces it.
	cacheCheckEvery = 2 * time.Second
	// lastResortMargin: a cache's TGT with less than refreshMargin left
	// is still used, when nothing newer can be had, until this close to
	// its end (a TGT from kinit -l 1m is never longer than refreshMargin
	// from its end, yet it works).
	lastResortMargin = 3 * time.Second
)

// cacheSource is where a cache Client's tickets come from.
type cacheSource struct {
	opts CacheOptions

	mu      sync.Mutex
	name    string // the cache last read
	stamp   string // its Stamp then
	checked time.Time
}

// CacheName returns the name of the ticket cache the Client's tickets
// were last read from, or "" when it was not made from a cache.
func (c *Client) CacheName() string {
	if c.src == nil {
		return ""
	}
	c.src.mu.Lock()
	defer c.src.mu.Unlock()
	return c.src.name
}

// TGTEnd returns the end time of the Client's TGT (zero without one).
func (c *Client) TGTEnd() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tgt == nil {
		return time.Time{}
	}
	return c.tgt.end
}

// reloadCache reads the cache again, when forced or when its stamp has
// changed (looked at no more than every cacheCheckEvery unless forced;
// forced only when a TGT is needed and ours will not do),
// and adopts its TGT and service tickets where they outlast ours and
// belong to our principal. It reports whether it adopted a TGT.
func (c *Client) reloadCache(force bool) bool {
	s := c.src
	if s == nil {
		return false
	}
	if force {
		s.mu.Lock()
	} else if !s.mu.TryLock() {
		return false // someone is reading the cache already
	}
	defer s.mu.Unlock()
	now := time.Now()
	if !force && now.Sub(s.checked) < cacheCheckEvery {
		return false
	}
	s.checked = now
	// Resolve the name again: kswitch or a new primary may point the
	// collection at another cache.
	ch, err := ChooseCache(s.opts)
	if err != nil {
		return false
	}
	// A forced read ignores the stamp: a file rewritten twice within the
	// kernel's timestamp granularity, at the same size, keeps its stamp.
	stamp, err := ch.Cache.Stamp()
	if err != nil || (!force && stamp == s.stamp && ch.Cache.Name() == s.name) {
		return false
	}
	cc, err := ch.Cache.Load()
	if err != nil {
		return false
	}
	fresh, err := NewCCacheClient(cc, c.cfg)
	if err != nil || fresh.Principal() != c.Principal() {
		return false // emptied, or another principal's now: keep ours
	}
	s.name, s.stamp = ch.Cache.Name(), stamp
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, t := range fresh.tickets {
		if old := c.tickets[k]; old == nil || t.end.After(old.end) {
			c.tickets[k] = t
		}
	}
	if fresh.tgt != nil && (c.tgt == nil || fresh.tgt.end.After(c.tgt.end) || fresh.tgt.authTime.After(c.tgt.authTime)) {
		c.tgt = fresh.tgt
		return true
	}
	return false
}

// tgtExpiredError is the error for a cache Client whose TGT has expired
// and which no one refreshed.
func (c *Client) tgtExpiredError(end time.Time) error {
	name := c.CacheName()
	if name == "" {
		return fmt.Errorf("negotiate: kerberos: TGT of %s has expired: %w", c.Principal(), gss.ErrCredentialsExpired)
	}
	return fmt.Errorf("negotiate: kerberos: the TGT of %s in ticket cache %s expired at %s and the cache holds no newer one; run kinit: %w",
		c.Principal(), name, end.Local().Format(time.DateTime), gss.ErrCredentialsExpired)
}

// isTGTExpired reports whether err is the KDC saying the TGT has expired.
func isTGTExpired(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == errorcode.KRB_AP_ERR_TKT_EXPIRED
}
