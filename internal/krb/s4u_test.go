// Tests of constrained delegation (MS-SFU S4U2Self and S4U2Proxy) against
// the in-process KDC, the AP-REQ checked by gokrb5's acceptor code, and
// the PA-FOR-USER checksum against gokrb5's independent RFC 4757 code.

package krb

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc4757"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/httptestutil/kdc"
	"github.com/negotiate-go/negotiate/internal/gss"
)

// newS4UKDC starts a KDC with users alice, carol (UPN carol@upn.example)
// and dave (sensitive), the test service, websvc (trusted for constrained
// delegation with protocol transition to the test service only) and
// plainsvc (trusted for nothing).
func newS4UKDC(t *testing.T) *kdc.KDC {
	t.Helper()
	k, _ := newKDC(t, nil)
	k.AddUser("carol", "c-pw")
	k.SetUPN("carol", "carol@upn.example")
	k.AddUser("dave", "d-pw")
	k.SetSensitive("dave", true)
	k.AddUser("websvc", "w-pw")
	k.SetConstrainedDelegation("websvc", true, testSPN)
	k.AddUser("plainsvc", "p-pw")
	k.AddService("HTTP/other.example.test")
	return k
}

func TestImpersonation(t *testing.T) {
	k := newS4UKDC(t)
	kt := kdcKeytab(k.Keytab(testSPN))
	svc := NewPasswordClient("websvc", testRealm, "w-pw", kdcConfig(k))
	for _, tt := range []struct{ user, wantCName string }{
		{"alice", "alice"},
		{"alice@" + testRealm, "alice"},
		{"alice@example.test", "alice"}, // the realm, case-insensitively
		{"carol@upn.example", "carol"},  // a UPN: an enterprise name the KDC resolves
	} {
		c := NewImpersonationClient(svc, tt.user)
		k.ResetStats()
		for range 2 {
			in := NewInitiator(c, testSPN, InitiatorOptions{Mutual: true})
			tok, _, err := in.Step(testCtx(t), nil)
			if err != nil {
				t.Fatalf("impersonating %q: Step = %v", tt.user, err)
			}
			req := acceptAPReq(t, tok, kt)
			if got := req.Ticket.DecryptedEncPart.CName.PrincipalNameString(); got != tt.wantCName {
				t.Fatalf("impersonating %q: ticket client = %q; want %q", tt.user, got, tt.wantCName)
			}
		}
		// One S4U2Self and one S4U2Proxy; the second context reuses the
		// ticket.
		if s := k.Stats(); s.S4U2Self != 1 || s.S4U2Proxy != 1 {
			t.Errorf("impersonating %q: S4U2Self %d, S4U2Proxy %d; want 1 and 1", tt.user, s.S4U2Self, s.S4U2Proxy)
		}
	}
	// The service's TGT serves every impersonated user: one AS exchange.
	if as, _ := svc.Stats(); as != 1 {
		t.Errorf("service AS exchanges = %d; want 1", as)
	}
}

func TestImpersonationKeytabService(t *testing.T) {
	k := newS4UKDC(t)
	svc := NewKeytabClient("websvc", testRealm, kdcKeytab(k.Keytab("websvc")), kdcConfig(k))
	in := NewInitiator(NewImpersonationClient(svc, "alice"), testSPN, InitiatorOptions{})
	tok, _, err := in.Step(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Step = %v", err)
	}
	if got := acceptAPReq(t, tok, kdcKeytab(k.Keytab(testSPN))).Ticket.DecryptedEncPart.CName.PrincipalNameString(); got != "alice" {
		t.Fatalf("ticket client = %q; want alice", got)
	}
}

func TestImpersonationRefused(t *testing.T) {
	k := newS4UKDC(t)
	web := NewPasswordClient("websvc", testRealm, "w-pw", kdcConfig(k))
	plain := NewPasswordClient("plainsvc", testRealm, "p-pw", kdcConfig(k))
	tests := []struct {
		name    string
		svc     *Client
		user    string
		spn     string
		want    error
		wantKDC int32
	}{
		{"not trusted for protocol transition", plain, "alice", testSPN, ErrNoProtocolTransition, errorcode.KDC_ERR_BADOPTION},
		{"sensitive user", web, "dave", testSPN, ErrUserNotDelegable, errorcode.KDC_ERR_BADOPTION},
		{"SPN not allowed", web, "alice", "HTTP/other.example.test", ErrDelegationNotAllowed, errorcode.KDC_ERR_BADOPTION},
		{"unknown user", web, "nobody", testSPN, gss.ErrUnknownPrincipal, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN},
		{"other realm", web, "alice", testSPN + "@OTHER.TEST", ErrImpersonationCrossRealm, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInitiator(NewImpersonationClient(tt.svc, tt.user), tt.spn, InitiatorOptions{})
			_, _, err := in.Step(testCtx(t), nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Step() = %v; want %v", err, tt.want)
			}
			for _, other := range []error{ErrNoProtocolTransition, ErrUserNotDelegable, ErrDelegationNotAllowed} {
				if other != tt.want && errors.Is(err, other) {
					t.Fatalf("Step() = %v; matches %v too", err, other)
				}
			}
			var ke *Error
			if tt.wantKDC != 0 && (!errors.As(err, &ke) || ke.Code != tt.wantKDC) {
				t.Fatalf("Step() = %v; want it to wrap the KDC's error %d", err, tt.wantKDC)
			}
		})
	}
}

// TestImpersonationNoDelegation: an impersonated user's TGT does not
// exist, so asking to delegate always fails with ErrNoCredentials rather
// than sending the service's TGT.
func TestImpersonationNoDelegation(t *testing.T) {
	k := newS4UKDC(t)
	web := NewPasswordClient("websvc", testRealm, "w-pw", kdcConfig(k))
	in := NewInitiator(NewImpersonationClient(web, "alice"), testSPN, InitiatorOptions{Delegation: DelegateAlways})
	if _, _, err := in.Step(testCtx(t), nil); !errors.Is(err, gss.ErrNoCredentials) {
		t.Fatalf("Step() with DelegateAlways = %v; want ErrNoCredentials", err)
	}
}

// TestForUserChecksum checks PA-FOR-USER's checksum against gokrb5's RFC
// 4757 code (an independent implementation) and a fixed vector, and the
// PA-DATA's encoding.
func TestForUserChecksum(t *testing.T) {
	key := bytes.Repeat([]byte{0x11}, 32) // an AES256 session key
	user := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice")
	got := ForUserChecksum(key, user, "AD.TEST", "Kerberos")
	data := append([]byte{1, 0, 0, 0}, "aliceAD.TESTKerberos"...)
	want, _ := rfc4757.Checksum(key, 17, data)
	if !bytes.Equal(got, want) {
		t.Fatalf("ForUserChecksum = %x; gokrb5's RFC 4757 checksum = %x", got, want)
	}
	// Known answers computed independently with Python's hmac and
	// hashlib from RFC 4757 §4 and MS-SFU §2.2.1 (MS-SFU gives no vector).
	for _, tt := range []struct {
		key  string
		user types.PrincipalName
		want string
	}{
		{hex.EncodeToString(key), user, "ba254ed808b0b7ec0778cea518e55729"},
		{"000102030405060708090a0b0c0d0e0f", types.PrincipalName{NameType: nametype.KRB_NT_ENTERPRISE, NameString: []string{"carol@upn.example"}}, "aab5ddaaa15227c03c9cc23df8b3d783"},
	} {
		k, _ := hex.DecodeString(tt.key)
		if got := hex.EncodeToString(ForUserChecksum(k, tt.user, "AD.TEST", "Kerberos")); got != tt.want {
			t.Errorf("ForUserChecksum(%s, %v) = %s; want %s", tt.key, tt.user.NameString, got, tt.want)
		}
	}
	pa, err := PAForUser(user, "AD.TEST", types.EncryptionKey{KeyType: 18, KeyValue: key})
	if err != nil || pa.PADataType != PaForUser {
		t.Fatalf("PAForUser = %d, %v; want type %d", pa.PADataType, err, PaForUser)
	}
	var dec paForUser
	if _, err := asn1.Unmarshal(pa.PADataValue, &dec); err != nil {
		t.Fatalf("decoding PA-FOR-USER: %v", err)
	}
	if dec.UserName.PrincipalNameString() != "alice" || dec.UserRealm != "AD.TEST" || dec.AuthPackage != "Kerberos" ||
		dec.Cksum.CksumType != ChecksumHMACMD5 || !bytes.Equal(dec.Cksum.Checksum, got) {
		t.Fatalf("PA-FOR-USER decodes to %+v", dec)
	}
}

// FuzzCheckS4UReply: the KDC's PA-S4U-X509-USER is outside input; no
// input may panic, and garbage never verifies.
func FuzzCheckS4UReply(f *testing.F) {
	key := types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)}
	user := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice")
	good, err := NewPAS4UX509User(user, "AD.TEST", 42, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.PADataValue)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkS4UReply(types.PADataSequence{{PADataType: PaS4UX509User, PADataValue: b}}, key, 42, user)
		if err == nil && !bytes.Equal(b, good.PADataValue) && len(b) > 0 {
			// Only a correctly checksummed echo may pass; the request
			// form signs with usage 26, which a reply may use too.
			var r PAS4UX509User
			if _, uerr := asn1.Unmarshal(b, &r); uerr != nil {
				t.Fatalf("checkS4UReply accepted undecodable %x", b)
			}
		}
	})
}

// TestS4U2SelfTampered: the test KDC checks PA-FOR-USER's checksum (with
// gokrb5's RFC 4757 code) like a real KDC: one keyed with another key is
// KRB_AP_ERR_MODIFIED, and no ticket for the user is issued.
func TestS4U2SelfTampered(t *testing.T) {
	k := newS4UKDC(t)
	svc := NewPasswordClient("websvc", testRealm, "w-pw", kdcConfig(k))
	tgt, err := svc.getTGT(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	user := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice")
	wrong := types.EncryptionKey{KeyType: tgt.key.KeyType, KeyValue: bytes.Repeat([]byte{1}, len(tgt.key.KeyValue))}
	pa, err := PAForUser(user, testRealm, wrong)
	if err != nil {
		t.Fatal(err)
	}
	req, err := svc.newTGSReq(tgt, svc.cname)
	if err != nil {
		t.Fatal(err)
	}
	if err := signTGSReq(&req, tgt, svc.realm, pa); err != nil {
		t.Fatal(err)
	}
	_, _, err = svc.sendTGSReq(testCtx(t), tgt, &req, "alice")
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != errorcode.KRB_AP_ERR_MODIFIED {
		t.Fatalf("S4U2Self with a checksum in another key: %v; want KRB_AP_ERR_MODIFIED", err)
	}
}
