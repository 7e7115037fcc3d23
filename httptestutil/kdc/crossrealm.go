// This file is cross-realm trust between test KDCs (RFC 4120 §1.2): the
// shared key of krbtgt/OTHER@THIS, issued by one KDC and accepted by the
// other.

package kdc

import (
	"fmt"
	"slices"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/krb/wire"
)

// Trust lets the clients of k reach other's realm: k issues cross-realm
// TGTs krbtgt/OTHER.REALM@K.REALM with a new random key (of each enctype
// both KDCs support) that other accepts. It is one-way, like an MIT
// cross-realm principal. A path of several hops needs each hop's Trust
// and, on the first KDC, SetServiceReferral("krbtgt/FINAL.REALM",
// "NEXT.REALM") in the role of [capaths].
func (k *KDC) Trust(other *KDC) {
	name := "krbtgt/" + other.realm
	p := &principal{name: name, keys: make(map[int32]types.EncryptionKey), kvno: 1, service: true}
	for _, e := range k.opts.Enctypes {
		if !slices.Contains(other.opts.Enctypes, e) {
			continue
		}
		key, err := wire.RandomKey(e)
		if err != nil {
			panic(fmt.Sprintf("negotiate: kdc: %v", err))
		}
		p.keys[e] = key
	}
	if len(p.keys) == 0 {
		panic("negotiate: kdc: the two KDCs share no enctype")
	}
	k.mu.Lock()
	k.db[name] = p
	k.mu.Unlock()
	cp := *p
	other.mu.Lock()
	if other.inbound == nil {
		other.inbound = make(map[string]*principal)
	}
	other.inbound[k.realm] = &cp
	other.mu.Unlock()
}

// inboundTGS returns the cross-realm TGT key that realm shares with k.
func (k *KDC) inboundTGS(realm string) (*principal, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.inbound[realm]
	if !ok {
		return nil, false
	}
	cp := *p
	return &cp, true
}
