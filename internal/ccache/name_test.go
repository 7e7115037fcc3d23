package ccache

import (
	"errors"
	"strings"
	"testing"
)

func testEnv(vars map[string]string) Env {
	return Env{
		Getenv:   func(k string) string { return vars[k] },
		UID:      1000,
		EUID:     1001,
		Username: func() (string, error) { return "alice", nil },
	}
}

func TestDefaultName(t *testing.T) {
	tests := []struct {
		env        map[string]string
		configured string
		want, why  string
	}{
		{nil, "", "FILE:/tmp/krb5cc_1000", "the default"},
		{map[string]string{"KRB5CCNAME": "KCM:"}, "KEYRING:persistent:%{uid}", "KCM:", "KRB5CCNAME"},
		// KRB5CCNAME is taken as it is, tokens and all, as MIT does.
		{map[string]string{"KRB5CCNAME": "FILE:/x/%{uid}"}, "", "FILE:/x/%{uid}", "KRB5CCNAME"},
		{nil, "KEYRING:persistent:%{uid}", "KEYRING:persistent:1000", "default_ccache_name in krb5.conf"},
		{nil, "KCM:", "KCM:", "default_ccache_name in krb5.conf"},
		{nil, "DIR:/run/user/%{euid}/krb5cc", "DIR:/run/user/1001/krb5cc", "default_ccache_name in krb5.conf"},
		{map[string]string{"TMPDIR": "/var/tmp/"}, "FILE:%{TEMP}/krb5cc_%{USERID}", "FILE:/var/tmp/krb5cc_1000", "default_ccache_name in krb5.conf"},
		{nil, "FILE:%{TEMP}/cc_%{username}%{null}", "FILE:/tmp/cc_alice", "default_ccache_name in krb5.conf"},
	}
	for _, tt := range tests {
		got, why, err := DefaultName(testEnv(tt.env), tt.configured)
		if err != nil || got != tt.want || why != tt.why {
			t.Errorf("DefaultName(%v, %q) = %q, %q, %v; want %q, %q", tt.env, tt.configured, got, why, err, tt.want, tt.why)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	for _, in := range []string{"FILE:%{LIBDIR}/x", "FILE:%{uid", "%{}"} {
		if got, err := Expand(in, testEnv(nil)); err == nil {
			t.Errorf("Expand(%q) = %q, nil; want an error", in, got)
		}
	}
	env := testEnv(nil)
	env.Username = func() (string, error) { return "", errors.New("no such user") }
	if got, err := Expand("%{username}", env); err == nil {
		t.Errorf("Expand(%%{username}) without a user = %q, nil; want an error", got)
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct{ in, typ, res string }{
		{"/tmp/krb5cc_0", "FILE", "/tmp/krb5cc_0"},
		{"FILE:/tmp/x", "FILE", "/tmp/x"},
		{"file:/tmp/x", "FILE", "/tmp/x"},
		{"DIR::/d/tkt", "DIR", ":/d/tkt"},
		{"KEYRING:persistent:0:0", "KEYRING", "persistent:0:0"},
		{"KCM:", "KCM", ""},
		{`C:\Users\a\krb5cc`, "FILE", `C:\Users\a\krb5cc`},
		{"./rel:ative", "FILE", "./rel:ative"},
		{"API:foo", "API", "foo"},
	}
	for _, tt := range tests {
		typ, res := splitName(tt.in)
		if typ != tt.typ || res != tt.res {
			t.Errorf("splitName(%q) = %q, %q; want %q, %q", tt.in, typ, res, tt.typ, tt.res)
		}
	}
}

func TestUnsupportedTypes(t *testing.T) {
	for _, tt := range []struct{ name, mention string }{
		{"API:foo", "API:"},
		{"MSLSA:", "MSLSA:"},
		{"XYZ:abc", "XYZ:"},
	} {
		_, err := Open(tt.name, Options{})
		if !errors.Is(err, ErrUnsupportedType) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("Open(%q) = %v; want %v naming %q", tt.name, err, ErrUnsupportedType, tt.mention)
		}
	}
}

func TestParseSettings(t *testing.T) {
	text := `
[realms]
	A.TEST = {
		default_ccache_name = FILE:/wrong
	}
[libdefaults]
	default_realm = A.TEST
	default_ccache_name = KEYRING:persistent:%{uid}
	default_ccache_name = FILE:/second
	kcm_socket = "/run/kcm.sock"
[appdefaults]
	kcm_socket = /wrong
`
	got := ParseSettings(text)
	want := Settings{DefaultName: "KEYRING:persistent:%{uid}", KCMSocket: "/run/kcm.sock"}
	if got != want {
		t.Errorf("ParseSettings = %+v; want %+v", got, want)
	}
	if got := ParseSettings("[libdefaults]\n"); got != (Settings{}) {
		t.Errorf("ParseSettings(empty) = %+v; want none", got)
	}
}
