// This file holds lru, the bounded map behind every per-identity and
// per-origin memory of a Transport, so that none of them grows with the
// number of users or hosts a long-running service meets.

package negotiate

import (
	"container/list"
	"sync"
)

// lru is a map of at most max entries that forgets the least recently used
// one when full. The zero value is not usable; make one with newLRU. It is
// safe for concurrent use by multiple goroutines.
type lru[K comparable, V any] struct {
	mu  sync.Mutex
	max int
	ll  *list.List // of *lruEntry[K, V], most recently used at the front
	m   map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	if max < 1 {
		max = 1
	}
	return &lru[K, V]{max: max, ll: list.New(), m: make(map[K]*list.Element)}
}

// get returns the value for key and marks it used.
func (c *lru[K, V]) get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// put sets the value for key, forgetting the least recently used entry if
// the map is full.
func (c *lru[K, V]) put(key K, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, val)
}

func (c *lru[K, V]) putLocked(key K, val V) {
	if e, ok := c.m[key]; ok {
		e.Value.(*lruEntry[K, V]).val = val
		c.ll.MoveToFront(e)
		return
	}
	c.m[key] = c.ll.PushFront(&lruEntry[K, V]{key: key, val: val})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*lruEntry[K, V]).key)
	}
}

// add stores val for key unless key already holds a value that keep
// accepts, and returns what key holds then: so that of two goroutines that
// made a value for the same key at once, both use the first one stored.
func (c *lru[K, V]) add(key K, val V, keep func(V) bool) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		if v := e.Value.(*lruEntry[K, V]).val; keep(v) {
			c.ll.MoveToFront(e)
			return v
		}
	}
	c.putLocked(key, val)
	return val
}

// remove forgets key.
func (c *lru[K, V]) remove(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.ll.Remove(e)
		delete(c.m, key)
	}
}

// len returns the number of entries.
func (c *lru[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
