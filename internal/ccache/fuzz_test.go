package ccache

import (
	"encoding/binary"
	"testing"
)

// seedCache is a small valid FILE cache.
func seedCache(f *testing.F) []byte {
	b, _ := kdcCache(f, testKDC(f), "alice", "alice-pw")
	return b
}

func FuzzParseFile(f *testing.F) {
	good := seedCache(f)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{5})
	f.Add([]byte{5, 4, 0, 0})
	f.Add([]byte{5, 3, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		cc, err := ParseFile(in)
		if err != nil {
			return
		}
		// What parses re-encodes (as version 4) to what parses the same.
		again, err := ParseFile(MarshalFile(cc))
		if err != nil || len(again.Credentials) != len(cc.Credentials) {
			t.Errorf("ParseFile(MarshalFile(ParseFile(%x))) = %v, %v", in, again, err)
		}
		if _, _, err := parseFilePrincipal(in); err != nil {
			t.Errorf("parseFilePrincipal(%x) = %v although ParseFile succeeded", in, err)
		}
	})
}

// FuzzParseCredential covers keyring credential payloads and KCM
// GET_CRED_BY_UUID replies.
func FuzzParseCredential(f *testing.F) {
	cc, err := ParseFile(seedCache(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(MarshalCredential(cc.Credentials[0]))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseCredential(in)
		if err != nil {
			return
		}
		if _, err := ParseCredential(MarshalCredential(c)); err != nil {
			t.Errorf("ParseCredential(MarshalCredential(ParseCredential(%x))) = %v", in, err)
		}
	})
}

// FuzzParsePrincipal covers keyring __krb5_princ__ payloads and KCM
// GET_PRINCIPAL replies.
func FuzzParsePrincipal(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 'R', 0, 0, 0, 1, 'u'})
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		realm, pn, err := ParsePrincipal(in)
		if err != nil {
			return
		}
		r2, pn2, err := ParsePrincipal(MarshalPrincipal(realm, pn))
		if err != nil || r2 != realm || principalString(r2, pn2) != principalString(realm, pn) {
			t.Errorf("ParsePrincipal round trip of %x = %q %v, %v", in, r2, pn2, err)
		}
	})
}

// FuzzKCMReply covers every reply a KCM daemon sends a reader: the status
// word, names, UUID lists and GET_CRED_LIST.
func FuzzKCMReply(f *testing.F) {
	cc, err := ParseFile(seedCache(f))
	if err != nil {
		f.Fatal(err)
	}
	list := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, uint32(len(cc.Credentials)))
	for _, c := range cc.Credentials {
		b := MarshalCredential(c)
		list = binary.BigEndian.AppendUint32(list, uint32(len(b)))
		list = append(list, b...)
	}
	f.Add(list)
	f.Add([]byte{0, 0, 0, 0, '0', 0})
	f.Add(append([]byte{0, 0, 0, 0}, make([]byte, 32)...))
	f.Add([]byte{0x96, 0xc7, 0x3a, 0xc3})
	f.Add([]byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		body, err := parseKCMReply(in)
		if err != nil {
			return
		}
		if n, err := parseKCMName(body); err == nil && len(n) >= len(body) {
			t.Errorf("parseKCMName(%x) = %q, longer than its input", body, n)
		}
		if u, err := parseUUIDs(body); err == nil && len(u)*kcmUUIDLen != len(body) {
			t.Errorf("parseUUIDs(%x) = %d UUIDs", body, len(u))
		}
		if creds, err := ParseKCMCredList(body); err == nil && len(creds) > len(body)/4 {
			t.Errorf("ParseKCMCredList(%x) = %d credentials from %d bytes", body, len(creds), len(body))
		}
	})
}

// FuzzParsePrimary covers the keyring collection's primary key payload.
func FuzzParsePrimary(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 3, 't', 'k', 't'})
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		if n, err := ParsePrimary(in); err == nil && (n == "" || len(n) > len(in)) {
			t.Errorf("ParsePrimary(%x) = %q", in, n)
		}
	})
}
