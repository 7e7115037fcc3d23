package negotiate

import (
	"container/list"
	"crypto/tls"
	"net/http"
	"sync"
	"time"
)

// poolKey says which requests may share an authenticated connection: the
// same origin, reached the same way, for the same identity. A connection
// authenticated as one identity is never used for another (FIELD-NOTES:
// mod_auth_gssapi binds one context to a TCP connection for every location).
type poolKey struct {
	origin   string // scheme://host:port, lower-cased
	identity identity
	// proxy is the proxy URL (without user info), "" for none, and
	// proxyIdentity the identity authenticated to it.
	proxy         string
	proxyIdentity identity
}

// An authConn is a dedicated HTTP/1.1 connection that completed a handshake.
type authConn struct {
	cc  *http.ClientConn
	key poolKey
	// persistent reports that the server keeps the connection authenticated
	// (NTLM always; Negotiate when the server said "Persistent-Auth: true"
	// or SPNEGO chose NTLM), so later requests go without a token.
	persistent bool
	scheme     Scheme
	// tls is the state of the TLS connection, nil for plain HTTP.
	tls *tls.ConnectionState
	// viaProxy: requests on the connection go to a proxy in absolute form
	// (plain HTTP through a proxy), so a 407 may come.
	viaProxy bool
	// fresh: no request has been sent on the connection yet.
	fresh bool
	idle  *time.Timer
	elem  *list.Element // on the pool's recency list while idle, else nil
}

// connPool keeps idle authenticated connections. A connection is either in
// the pool (idle) or owned by exactly one request; it goes back when that
// request's response body has been read to the end or closed.
//
// The pool is bounded twice: per key (origin and identity) by the maxIdle
// given to put, and across all keys by maxTotal, closing the least recently
// used idle connection first; and an idle connection closes itself after
// the idle timeout. So a Transport serving any number of identities holds
// at most maxTotal idle connections, and none once they have timed out.
type connPool struct {
	mu       sync.Mutex
	idle     map[poolKey][]*authConn
	lru      list.List // every idle *authConn, most recently put at the front
	maxTotal int       // zero: no bound across keys
}

// get takes an idle connection for key, most recently used first, dropping
// any the server has closed meanwhile.
func (p *connPool) get(key poolKey) *authConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[key]
	for len(list) > 0 {
		ac := list[len(list)-1]
		list = list[:len(list)-1]
		p.unlink(ac)
		if ac.cc.Err() == nil {
			p.setList(key, list)
			return ac
		}
		ac.cc.Close()
	}
	p.setList(key, list)
	return nil
}

func (p *connPool) setList(key poolKey, list []*authConn) {
	if len(list) == 0 {
		delete(p.idle, key)
		return
	}
	p.idle[key] = list
}

// unlink takes ac off the recency list and stops its idle timer.
func (p *connPool) unlink(ac *authConn) {
	if ac.elem != nil {
		p.lru.Remove(ac.elem)
		ac.elem = nil
	}
	if ac.idle != nil {
		ac.idle.Stop()
	}
}

// put returns ac to the pool, or closes it when the pool for its key is full
// or the connection is unusable. When the pool as a whole is full, the least
// recently used idle connection is closed to make room. An idle connection
// closes itself after timeout.
func (p *connPool) put(ac *authConn, maxIdle int, timeout time.Duration) {
	if ac.cc.Err() != nil {
		ac.cc.Close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = make(map[poolKey][]*authConn)
	}
	if len(p.idle[ac.key]) >= maxIdle {
		ac.cc.Close()
		return
	}
	p.idle[ac.key] = append(p.idle[ac.key], ac)
	ac.elem = p.lru.PushFront(ac)
	for p.maxTotal > 0 && p.lru.Len() > p.maxTotal {
		p.removeLocked(p.lru.Back().Value.(*authConn))
	}
	if timeout > 0 && ac.elem != nil {
		// One timer per connection, re-armed each time it goes idle.
		if ac.idle == nil {
			ac.idle = time.AfterFunc(timeout, func() { p.remove(ac) })
		} else {
			ac.idle.Reset(timeout)
		}
	}
}

// remove closes ac if it is still idle in the pool.
func (p *connPool) remove(ac *authConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(ac)
}

func (p *connPool) removeLocked(ac *authConn) {
	list := p.idle[ac.key]
	for i, c := range list {
		if c == ac {
			p.setList(ac.key, append(list[:i:i], list[i+1:]...))
			p.unlink(ac)
			ac.cc.Close()
			return
		}
	}
}

// closeIdle closes every idle connection.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, list := range p.idle {
		for _, ac := range list {
			p.unlink(ac)
			ac.cc.Close()
		}
		delete(p.idle, key)
	}
}

// len returns the number of idle connections.
func (p *connPool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lru.Len()
}
