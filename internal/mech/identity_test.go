package mech

import "testing"

func TestStaticIdentity(t *testing.T) {
	same := []struct{ a, b Credentials }{
		{Password(`D\u`, "p"), Password(`D\u`, "p")},
		{NTHash(`D\u`, []byte{1, 2}), NTHash(`D\u`, []byte{1, 2})},
		{Keytab("u@R", "/k"), Keytab("u@R", "/k")},
	}
	for _, tt := range same {
		if tt.a.static != tt.b.static {
			t.Errorf("identity(%s) != identity(%s); want equal values to be one identity", tt.a.String(), tt.b.String())
		}
	}
	distinct := []Credentials{
		Password(`D\u`, "p"),
		Password(`D\u`, "q"),
		Password(`E\u`, "p"),
		Password(`D\v`, "p"),
		Password(`u@D`, "p"), // a UPN is typed differently from D\u
		Password("u", "p"),
		Password("", "p"),
		Password(`D\u`, ""),
		Password(`ab\c`, "p"), // length prefixes keep field boundaries apart
		Password(`a\bc`, "p"),
		NTHash(`D\u`, []byte("p")), // a hash is not the password
		NTHash(`D\u`, nil),
		Keytab("u@R", "/k"),
		Keytab("u@R", "/k2"),
		Keytab("v@R", "/k"),
	}
	seen := map[Identity]string{}
	for _, c := range distinct {
		id := c.static
		if prev, ok := seen[id]; ok {
			t.Errorf("identity(%s) == identity(%s); want distinct", c.String(), prev)
		}
		seen[id] = c.String()
	}
	if New(Config{MaxIdentities: 1}).Identity(nil) != (Identity{}) {
		t.Errorf("Identity(nil) is not the zero identity")
	}
}
