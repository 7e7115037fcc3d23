// This file exports the cross-realm Kerberos failure of internal/krb.

package negotiate

import "github.com/negotiate-go/negotiate/internal/mech"

// ErrNoRealmPath: the server's Kerberos realm is not reachable from the
// client's: no realm on the way trusts the next (no krbtgt/REALM entry,
// directly or through [capaths]). It also matches ErrUnknownPrincipal, so
// NTLM may stand in as for an unknown SPN.
var ErrNoRealmPath = mech.ErrNoRealmPath
