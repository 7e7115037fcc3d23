// Package lru holds Cache, the bounded map behind every per-identity and
// per-origin memory of a negotiate.Transport (its origin memory, and the
// Kerberos clients, failures and CNAME answers of internal/mech), so that
// none of them grows with the number of users or hosts a long-running
// service meets.
package lru

import (
	"container/list"
	"sync"
)

// Cache is a map of at most max entries that forgets the least recently
// used one when full. The zero value is not usable; make one with New. It
// is safe for concurrent use by multiple goroutines.
type Cache[K comparable, V any] struct {
	mu  sync.Mutex
	max int
	ll  *list.List // of *entry[K, V], most recently used at the front
	m   map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key K
	val V
}

// New returns an empty Cache of at most max entries (at least one).
func New[K comparable, V any](max int) *Cache[K, V] {
	if max < 1 {
		max = 1
	}
	return &Cache[K, V]{max: max, ll: list.New(), m: make(map[K]*list.Element)}
}

// Get returns the value for key and marks it used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*entry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// Put sets the value for key, forgetting the least recently used entry if
// the map is full.
func (c *Cache[K, V]) Put(key K, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, val)
}

func (c *Cache[K, V]) putLocked(key K, val V) {
	if e, ok := c.m[key]; ok {
		e.Value.(*entry[K, V]).val = val
		c.ll.MoveToFront(e)
		return
	}
	c.m[key] = c.ll.PushFront(&entry[K, V]{key: key, val: val})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*entry[K, V]).key)
	}
}

// Add stores val for key unless key already holds a value that keep
// accepts, and returns what key holds then: so that of two goroutines that
// made a value for the same key at once, both use the first one stored.
func (c *Cache[K, V]) Add(key K, val V, keep func(V) bool) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		if v := e.Value.(*entry[K, V]).val; keep(v) {
			c.ll.MoveToFront(e)
			return v
		}
	}
	c.putLocked(key, val)
	return val
}

// Remove forgets key.
func (c *Cache[K, V]) Remove(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.ll.Remove(e)
		delete(c.m, key)
	}
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
