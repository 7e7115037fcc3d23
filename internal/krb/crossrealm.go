// This file names the failure of cross-realm authentication when no trust
// path leads to the service's realm (RFC 4120 §1.2, §3.3.1).

package krb

import "errors"

// ErrNoRealmPath: the KDC of the client's realm (or of a realm on the way)
// has no cross-realm TGT for the service's realm: the realms do not trust
// each other, directly or through the [capaths] of the KDCs. The error
// also wraps the KDC's KDC_ERR_S_PRINCIPAL_UNKNOWN, so it matches
// gss.ErrUnknownPrincipal (and NTLM may stand in, as for an unknown SPN).
var ErrNoRealmPath = errors.New("negotiate: kerberos: no cross-realm trust path")
