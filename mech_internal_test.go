package negotiate

import (
	"testing"

	"github.com/negotiate-go/negotiate/internal/mech"
)

// The root converts its Scheme, MutualAuth, Delegation and SSPIPolicy to
// the mech values of the same number (newMech, newContext): they must
// stay in step.
func TestMechValues(t *testing.T) {
	pairs := []struct {
		name       string
		root, mech int
	}{
		{"SchemeUnknown", int(SchemeUnknown), int(mech.Unknown)},
		{"SchemeBasic", int(SchemeBasic), int(mech.Basic)},
		{"SchemeNTLM", int(SchemeNTLM), int(mech.NTLM)},
		{"SchemeNegotiate", int(SchemeNegotiate), int(mech.Negotiate)},
		{"MutualRequired", int(MutualRequired), int(mech.MutualRequired)},
		{"MutualOptional", int(MutualOptional), int(mech.MutualOptional)},
		{"MutualDisabled", int(MutualDisabled), int(mech.MutualDisabled)},
		{"DelegateNone", int(DelegateNone), int(mech.DelegateNone)},
		{"DelegatePolicy", int(DelegatePolicy), int(mech.DelegatePolicy)},
		{"DelegateAlways", int(DelegateAlways), int(mech.DelegateAlways)},
		{"SSPIForDefaultCredentials", int(SSPIForDefaultCredentials), int(mech.SSPIForDefaultCredentials)},
		{"SSPIAlways", int(SSPIAlways), int(mech.SSPIAlways)},
		{"SSPINever", int(SSPINever), int(mech.SSPINever)},
	}
	for _, p := range pairs {
		if p.root != p.mech {
			t.Errorf("%s = %d; mech's = %d, want the same", p.name, p.root, p.mech)
		}
	}
}
