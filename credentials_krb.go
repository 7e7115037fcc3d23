package negotiate

// krbKind says where Kerberos credentials come from.
type krbKind int

const (
	krbNone    krbKind = iota // explicit user and password (or none)
	krbKeytab                 // a client keytab
	krbCCache                 // a credential cache
	krbDefault                // whatever the environment provides
)

// krbSource describes a Kerberos credential source.
type krbSource struct {
	kind      krbKind
	principal string // for a keytab
	path      string // keytab or ccache path
	config    string // krb5.conf path; "" means KRB5_CONFIG or /etc/krb5.conf
}

func (s krbSource) String() string {
	switch s.kind {
	case krbKeytab:
		return "keytab " + s.path + " (" + s.principal + ")"
	case krbCCache:
		return "ccache " + s.path
	case krbDefault:
		return "default credentials"
	}
	return "<none>"
}

// krbState is the Kerberos client made from a Credentials on first use.
type krbState struct{}
