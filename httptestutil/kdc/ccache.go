// This file writes MIT credential caches (the FILE ccache format, version
// 4: https://web.mit.edu/kerberos/krb5-devel/doc/formats/ccache_file_format.html)
// holding tickets the KDC mints directly, without a network exchange.

package kdc

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// WriteCCache writes to path (mode 0600) an MIT FILE ccache, format
// version 4, whose default principal is user@REALM and which holds a TGT
// for it. The KDC checks password as the AS exchange would (a wrong
// password or unknown user is an error, an expired one too) and then mints
// the TGT directly: no request goes over the network, so Stats does not
// count it. The cache is readable by gokrb5's credentials.LoadCCache and by
// MIT klist.
func (k *KDC) WriteCCache(path, user, password string) error {
	p, ok := k.lookup(user)
	if !ok || p.service {
		return fmt.Errorf("negotiate: kdc: unknown user")
	}
	et := k.opts.Enctypes[0]
	e, _ := crypto.GetEtype(et)
	kb, err := e.StringToKey(password, p.salt, e.GetDefaultStringToKeyParams())
	if err != nil || subtle.ConstantTimeCompare(kb, p.keys[et].KeyValue) != 1 {
		return fmt.Errorf("negotiate: kdc: wrong password")
	}
	if p.expired {
		return fmt.Errorf("negotiate: kdc: password expired")
	}
	tgs, _ := k.lookup("krbtgt/" + k.realm)
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", k.realm}}
	return k.writeMinted(path, p, tgs, sname, true)
}

// WriteCCacheServiceOnly writes to path an MIT FILE ccache (version 4)
// whose default principal is user@REALM and which holds only a service
// ticket for spn, minted directly (no TGT, so a client reading it cannot
// get tickets for any other service). The user and the service must exist.
func (k *KDC) WriteCCacheServiceOnly(path, user, spn string) error {
	p, ok := k.lookup(user)
	if !ok || p.service {
		return fmt.Errorf("negotiate: kdc: unknown user")
	}
	srv, ok := k.lookup(spn)
	if !ok {
		return fmt.Errorf("negotiate: kdc: unknown service")
	}
	return k.writeMinted(path, p, srv, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, spn), false)
}

func (k *KDC) writeMinted(path string, p *principal, srv *principal, sname types.PrincipalName, initial bool) error {
	var sess int32
	for _, e := range k.opts.Enctypes {
		if _, ok := srv.keys[e]; ok {
			sess = e
			break
		}
	}
	if sess == 0 {
		return errors.New("negotiate: kdc: service has no usable key")
	}
	opts := types.NewKrbFlags()
	types.SetFlag(&opts, flags.Forwardable) // unless SetForwardable(user, false)
	if k.opts.RenewLifetime > 0 {
		types.SetFlag(&opts, flags.Renewable)
	}
	cname := types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{p.name}}
	tkt, key, etp, kerr := k.mint(grant{
		cname:     cname,
		server:    srv,
		sname:     sname,
		sessEtype: sess,
		authtime:  k.now(),
		opts:      opts,
		initial:   initial,
		preauth:   true,
		noForward: p.noForward,
	})
	if kerr != nil {
		return fmt.Errorf("negotiate: kdc: cannot mint ticket: %s", kerr.text)
	}
	tb, err := tkt.Marshal()
	if err != nil {
		return fmt.Errorf("negotiate: kdc: cannot encode ticket")
	}
	c := ccache{realm: k.realm, client: cname}
	c.creds = append(c.creds, ccred{
		server: sname, key: key,
		authtime: etp.AuthTime, start: etp.StartTime, end: etp.EndTime, renewTill: etp.RenewTill,
		flags: etp.Flags, ticket: tb,
	})
	return os.WriteFile(path, c.marshal(), 0o600)
}

// ccache is the content of a version-4 FILE ccache, all credentials for
// one client in one realm.
type ccache struct {
	realm  string
	client types.PrincipalName
	creds  []ccred
}

type ccred struct {
	server                          types.PrincipalName
	key                             types.EncryptionKey
	authtime, start, end, renewTill time.Time
	flags                           asn1.BitString
	ticket                          []byte
}

func (c *ccache) marshal() []byte {
	var b []byte
	u16 := func(v uint16) { b = binary.BigEndian.AppendUint16(b, v) }
	u32 := func(v uint32) { b = binary.BigEndian.AppendUint32(b, v) }
	data := func(d []byte) { u32(uint32(len(d))); b = append(b, d...) }
	princ := func(p types.PrincipalName) {
		u32(uint32(p.NameType))
		u32(uint32(len(p.NameString)))
		data([]byte(c.realm))
		for _, s := range p.NameString {
			data([]byte(s))
		}
	}
	ts := func(t time.Time) {
		if t.IsZero() {
			u32(0)
			return
		}
		u32(uint32(t.Unix()))
	}
	u16(0x0504)
	u16(0) // no header tags (the KDC time offset is optional)
	princ(c.client)
	for _, cr := range c.creds {
		princ(c.client)
		princ(cr.server)
		u16(uint16(cr.key.KeyType))
		data(cr.key.KeyValue)
		ts(cr.authtime)
		ts(cr.start)
		ts(cr.end)
		ts(cr.renewTill)
		b = append(b, 0) // is_skey
		// Ticket flags: the KerberosFlags bit string read as a big-endian
		// 32-bit integer (bit 0, "reserved", is the most significant).
		var fl [4]byte
		copy(fl[:], cr.flags.Bytes)
		b = append(b, fl[:]...)
		u32(0) // addresses
		u32(0) // authdata
		data(cr.ticket)
		data(nil) // second ticket
	}
	return b
}
