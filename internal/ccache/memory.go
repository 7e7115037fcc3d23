// This file holds MEMORY caches: caches that live inside this process,
// which is all MIT's MEMORY type is. Nothing outside the process can fill
// one, so they serve programs (and tests) that put tickets there
// themselves with PutMemory.

package ccache

import (
	"fmt"
	"sync"

	"github.com/jcmturner/gokrb5/v8/credentials"
)

var memory struct {
	sync.Mutex
	caches map[string]memEntry
	gen    int
}

type memEntry struct {
	data []byte // the FILE encoding
	gen  int
}

// PutMemory stores cc as the MEMORY cache name (replacing it), or removes
// it when cc is nil.
func PutMemory(name string, cc *credentials.CCache) {
	memory.Lock()
	defer memory.Unlock()
	if memory.caches == nil {
		memory.caches = map[string]memEntry{}
	}
	if cc == nil {
		delete(memory.caches, name)
		return
	}
	memory.gen++
	memory.caches[name] = memEntry{data: MarshalFile(cc), gen: memory.gen}
}

type memCache struct{ name string }

func (c *memCache) Name() string { return "MEMORY:" + c.name }

func (c *memCache) get() (memEntry, error) {
	memory.Lock()
	defer memory.Unlock()
	e, ok := memory.caches[c.name]
	if !ok {
		return e, fmt.Errorf("no MEMORY cache %q in this process", c.name)
	}
	return e, nil
}

func (c *memCache) Principal() (string, error) {
	e, err := c.get()
	if err != nil {
		return "", err
	}
	realm, pn, err := parseFilePrincipal(e.data)
	if err != nil {
		return "", err
	}
	return principalString(realm, pn), nil
}

func (c *memCache) Load() (*credentials.CCache, error) {
	e, err := c.get()
	if err != nil {
		return nil, err
	}
	return ParseFile(e.data)
}

func (c *memCache) Stamp() (string, error) {
	e, err := c.get()
	if err != nil {
		return "", err
	}
	return fmt.Sprint(e.gen), nil
}
