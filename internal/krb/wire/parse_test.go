package wire

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

func encTicketParts(tb testing.TB) [][]byte {
	tb.Helper()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	min := messages.EncTicketPart{
		Flags:     asn1.BitString{Bytes: []byte{0x40, 0xe1, 0, 0}, BitLength: 32},
		Key:       types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{3}, 32)},
		CRealm:    "EXAMPLE.TEST",
		CName:     types.NewPrincipalName(1, "alice"),
		Transited: messages.TransitedEncoding{TRType: 1, Contents: []byte{}},
		AuthTime:  t0,
		EndTime:   t0.Add(10 * time.Hour),
	}
	full := min
	full.StartTime = t0.Add(time.Minute)
	full.RenewTill = t0.Add(24 * time.Hour)
	full.CAddr = types.HostAddresses{{AddrType: 2, Address: []byte{127, 0, 0, 1}}}
	full.AuthorizationData = types.AuthorizationData{{ADType: 1, ADData: bytes.Repeat([]byte{9}, 300)}, {ADType: 128, ADData: []byte{1}}}
	full.CName = types.NewPrincipalName(1, "bob/admin")
	var out [][]byte
	for _, p := range []messages.EncTicketPart{min, full} {
		b, err := asn1.Marshal(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart))
	}
	return out
}

func encAPRepParts(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, p := range []EncAPRepPart{
		{CTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Cusec: 7},
		{CTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Cusec: 999999, Subkey: types.EncryptionKey{KeyType: 17, KeyValue: make([]byte, 16)}, SeqNumber: -5},
	} {
		out = append(out, p.Marshal())
	}
	return out
}

// TestParseAgainstGokrb5 decodes the same messages with these decoders
// and with gokrb5's and wants identical values.
func TestParseAgainstGokrb5(t *testing.T) {
	for i, a := range authenticators() {
		b := Authenticator(&a)
		var want, got types.Authenticator
		if err := want.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if !ParseAuthenticator(b, &got) || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseAuthenticator(#%d) = %+v; want %+v", i, got, want)
		}
		// Trailing padding is ignored, as gokrb5 ignores it.
		var pad types.Authenticator
		if !ParseAuthenticator(append(b, 0, 0, 0), &pad) || !reflect.DeepEqual(pad, want) {
			t.Errorf("ParseAuthenticator(#%d with padding) = %+v; want %+v", i, pad, want)
		}
	}
	for i, b := range encTicketParts(t) {
		var want, got messages.EncTicketPart
		if err := want.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if !ParseEncTicketPart(b, &got) || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseEncTicketPart(#%d) = %+v; want %+v", i, got, want)
		}
	}
	for i, b := range encAPRepParts(t) {
		var want, got messages.EncAPRepPart
		if err := want.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if !ParseEncAPRepPart(b, &got) || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseEncAPRepPart(#%d) = %+v; want %+v", i, got, want)
		}
	}
}

// TestParseRejects wants every truncation and a wrong application tag
// refused.
func TestParseRejects(t *testing.T) {
	a := authenticators()[1]
	auth := Authenticator(&a)
	tkt := encTicketParts(t)[1]
	rep := encAPRepParts(t)[1]
	parsers := []struct {
		name string
		b    []byte
		f    func([]byte) bool
	}{
		{"Authenticator", auth, func(b []byte) bool { var v types.Authenticator; return ParseAuthenticator(b, &v) }},
		{"EncTicketPart", tkt, func(b []byte) bool { var v messages.EncTicketPart; return ParseEncTicketPart(b, &v) }},
		{"EncAPRepPart", rep, func(b []byte) bool { var v messages.EncAPRepPart; return ParseEncAPRepPart(b, &v) }},
	}
	for _, p := range parsers {
		for n := 0; n < len(p.b); n++ {
			if p.f(p.b[:n]) {
				t.Errorf("Parse%s(first %d of %d bytes) = true; want false", p.name, n, len(p.b))
			}
		}
		bad := append([]byte(nil), p.b...)
		bad[0] ^= 0x01
		if p.f(bad) {
			t.Errorf("Parse%s(wrong application tag) = true; want false", p.name)
		}
	}
}

// FuzzParseAuthenticator checks that whatever the decoder accepts,
// gokrb5 accepts too, with the same value.
func FuzzParseAuthenticator(f *testing.F) {
	for _, a := range authenticators() {
		f.Add(Authenticator(&a))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got types.Authenticator
		if !ParseAuthenticator(b, &got) {
			return
		}
		var want types.Authenticator
		if err := want.Unmarshal(b); err != nil {
			t.Fatalf("ParseAuthenticator accepted %x, gokrb5 refused it: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseAuthenticator(%x) = %+v; gokrb5 %+v", b, got, want)
		}
	})
}

// FuzzParseEncTicketPart is FuzzParseAuthenticator for EncTicketPart.
func FuzzParseEncTicketPart(f *testing.F) {
	for _, b := range encTicketParts(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got messages.EncTicketPart
		if !ParseEncTicketPart(b, &got) {
			return
		}
		var want messages.EncTicketPart
		if err := want.Unmarshal(b); err != nil {
			t.Fatalf("ParseEncTicketPart accepted %x, gokrb5 refused it: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseEncTicketPart(%x) = %+v; gokrb5 %+v", b, got, want)
		}
	})
}

func apReqs(tb testing.TB) [][]byte {
	tb.Helper()
	tkt := messages.Ticket{
		TktVNO: 5, Realm: "EXAMPLE.TEST", SName: types.NewPrincipalName(2, "HTTP/www.example.test"),
		EncPart: types.EncryptedData{EType: 18, KVNO: 2, Cipher: bytes.Repeat([]byte{0x5a}, 180)},
	}
	tder, err := tkt.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, opts := range []uint32{0, 0x20000000} {
		for _, kvno := range []int{0, 3} {
			out = append(out, APReq(opts, tder, types.EncryptedData{EType: 18, KVNO: kvno, Cipher: bytes.Repeat([]byte{1}, 130)}))
		}
	}
	return out
}

func TestParseAPReqAPRepAgainstGokrb5(t *testing.T) {
	for i, b := range apReqs(t) {
		var want, got messages.APReq
		if err := want.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if !ParseAPReq(b, &got) || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseAPReq(#%d) = %+v; want %+v", i, got, want)
		}
		for n := 0; n < len(b); n++ {
			var v messages.APReq
			if ParseAPReq(b[:n], &v) {
				t.Errorf("ParseAPReq(first %d of %d bytes of #%d) = true; want false", n, len(b), i)
			}
		}
	}
	ed := types.EncryptedData{EType: 18, Cipher: bytes.Repeat([]byte{1}, 140)}
	b := APRep(ed)
	var want, got messages.APRep
	if err := want.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if !ParseAPRep(b, &got) || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseAPRep = %+v; want %+v", got, want)
	}
	var v messages.APRep
	if ParseAPRep(apReqs(t)[0], &v) {
		t.Errorf("ParseAPRep(an AP-REQ) = true; want false")
	}
}

// FuzzParseAPReq checks that whatever ParseAPReq accepts, gokrb5 accepts
// too, with the same value.
func FuzzParseAPReq(f *testing.F) {
	for _, b := range apReqs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got messages.APReq
		if !ParseAPReq(b, &got) {
			return
		}
		var want messages.APReq
		if err := want.Unmarshal(b); err != nil {
			t.Fatalf("ParseAPReq accepted %x, gokrb5 refused it: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseAPReq(%x) = %+v; gokrb5 %+v", b, got, want)
		}
	})
}

func TestKerberosTime(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"20261123223005Z", true},
		{"20240229000000Z", true},
		{"19700101000000Z", true},
		{"20250229000000Z", false}, // no such day
		{"20261123240000Z", false},
		{"20261323000000Z", false},
		{"20261123223060Z", false},
		{"20261123223005", false},
		{"2026112322300Z", false},
		{"20261123223005+0100", false},
		{"2026112322300aZ", false},
		{"20261123223005.5Z", false},
	}
	for _, tt := range tests {
		got, ok := kerberosTime([]byte(tt.in))
		want, err := time.Parse("20060102150405Z0700", tt.in)
		if ok != tt.ok || ok && !reflect.DeepEqual(got, want) || ok && err != nil {
			t.Errorf("kerberosTime(%q) = %v, %v; want %v, %v (time.Parse: %v)", tt.in, got, ok, want, tt.ok, err)
		}
	}
}
