package ccache

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// kdcCache returns a FILE cache of a TGT for user that the test KDC
// wrote, as bytes and as gokrb5 parses it (an independent reader).
func kdcCache(tb testing.TB, k *kdc.KDC, user, password string) ([]byte, *credentials.CCache) {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "cc")
	if err := k.WriteCCache(p, user, password); err != nil {
		tb.Fatal(err)
	}
	cc, err := credentials.LoadCCache(p)
	if err != nil {
		tb.Fatalf("gokrb5 LoadCCache: %v", err)
	}
	b, err := (&fileCache{path: p}).read()
	if err != nil {
		tb.Fatal(err)
	}
	return b, cc
}

func testKDC(tb testing.TB) *kdc.KDC {
	tb.Helper()
	k := kdc.New(tb, "TEST.REALM", nil)
	k.AddUser("alice", "alice-pw")
	k.AddUser("bob", "bob-pw")
	return k
}

func TestParseFileAgreesWithGokrb5(t *testing.T) {
	b, want := kdcCache(t, testKDC(t), "alice", "alice-pw")
	got, err := ParseFile(b)
	if err != nil {
		t.Fatalf("ParseFile = %v", err)
	}
	if got.DefaultPrincipal.Realm != "TEST.REALM" || got.DefaultPrincipal.PrincipalName.PrincipalNameString() != "alice" {
		t.Errorf("ParseFile principal = %v; want alice@TEST.REALM", got.DefaultPrincipal)
	}
	if len(got.Credentials) != len(want.Credentials) || len(got.Credentials) == 0 {
		t.Fatalf("ParseFile has %d credentials; gokrb5 %d", len(got.Credentials), len(want.Credentials))
	}
	for i, g := range got.Credentials {
		w := want.Credentials[i]
		if !g.EndTime.Equal(w.EndTime) || !g.AuthTime.Equal(w.AuthTime) || !bytes.Equal(g.Ticket, w.Ticket) ||
			!reflect.DeepEqual(g.Key, w.Key) || !bytes.Equal(g.TicketFlags.Bytes, w.TicketFlags.Bytes) ||
			g.Server.PrincipalName.PrincipalNameString() != w.Server.PrincipalName.PrincipalNameString() {
			t.Errorf("credential %d = %+v; gokrb5 read %+v", i, g, w)
		}
	}
	// And what we write, we (and gokrb5) read back the same.
	again, err := ParseFile(MarshalFile(got))
	if err != nil || !reflect.DeepEqual(again.Credentials, got.Credentials) {
		t.Errorf("ParseFile(MarshalFile(c)) = %v, %v; want c", again, err)
	}
	var g credentials.CCache
	if err := g.Unmarshal(MarshalFile(got)); err != nil || len(g.Credentials) != len(got.Credentials) {
		t.Errorf("gokrb5 reading MarshalFile = %v with %d credentials", err, len(g.Credentials))
	}
}

// TestParseFileBad: empty, one-byte, header-only and every truncation of a
// real cache are errors, never panics (gokrb5's reader panics on the
// first three).
func TestParseFileBad(t *testing.T) {
	good, _ := kdcCache(t, testKDC(t), "alice", "alice-pw")
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"one byte", []byte{5}},
		{"version only", []byte{5, 4}},
		{"header only", []byte{5, 4, 0, 0}},
		{"header longer than the file", []byte{5, 4, 0, 12, 0, 1}},
		{"not a cache", []byte("hello world")},
		{"version 9", []byte{5, 9, 0, 0}},
		{"version 1 (native byte order)", []byte{5, 1, 0, 0}},
		{"huge component count", []byte{5, 4, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}},
		{"huge realm", []byte{5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff}},
	}
	for n := 0; n < len(good); n++ {
		tests = append(tests, struct {
			name string
			in   []byte
		}{"truncated", good[:n]})
	}
	for _, tt := range tests {
		cc, err := ParseFile(tt.in)
		if tt.name == "truncated" && err == nil {
			// A cut between two credentials is a valid shorter cache.
			continue
		}
		if !errors.Is(err, errFormat) {
			t.Errorf("ParseFile(%s %x) = %v, %v; want an error wrapping %v", tt.name, tt.in, cc, err, errFormat)
		}
	}
}

func TestParseFileVersion3(t *testing.T) {
	// Version 3 repeats the key's enctype; otherwise as version 4
	// without a header.
	c := &credentials.Credential{Key: types.EncryptionKey{KeyType: 18, KeyValue: []byte("0123456789abcdef0123456789abcdef")},
		EndTime: time.Unix(2000000000, 0).UTC(), Ticket: []byte{1, 2, 3}}
	c.Client.Realm, c.Client.PrincipalName = "R", types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "u")
	c.Server.Realm, c.Server.PrincipalName = "R", types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/R")
	v4 := MarshalCredential(c)
	// Insert the second enctype after the two principals.
	p := len(MarshalPrincipal("R", c.Client.PrincipalName)) + len(MarshalPrincipal("R", c.Server.PrincipalName))
	v3cred := append(append(append([]byte{}, v4[:p+2]...), v4[p:p+2]...), v4[p+2:]...)
	in := append([]byte{5, 3}, MarshalPrincipal("R", c.Client.PrincipalName)...)
	in = append(in, v3cred...)
	cc, err := ParseFile(in)
	if err != nil || len(cc.Credentials) != 1 || cc.Credentials[0].Key.KeyType != 18 || !cc.Credentials[0].EndTime.Equal(c.EndTime) {
		t.Fatalf("ParseFile(v3) = %+v, %v", cc, err)
	}
}

func TestParsePrimary(t *testing.T) {
	tests := []struct {
		in      []byte
		want    string
		wantErr bool
	}{
		{[]byte{0, 0, 0, 1, 0, 0, 0, 3, 't', 'k', 't'}, "tkt", false},
		{[]byte{0, 0, 0, 2, 0, 0, 0, 3, 't', 'k', 't'}, "", true},
		{[]byte{0, 0, 0, 1, 0, 0, 0, 9, 't'}, "", true},
		{[]byte{0, 0, 0, 1, 0, 0, 0, 0}, "", true},
		{nil, "", true},
	}
	for _, tt := range tests {
		got, err := ParsePrimary(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParsePrimary(%x) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
