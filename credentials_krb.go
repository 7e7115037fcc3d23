// This file holds the constructors of Kerberos credentials: a keytab, a
// ticket cache, the environment's. The Kerberos clients made from them live
// in internal/mech.

package negotiate

import "github.com/negotiate-go/negotiate/internal/mech"

// Keytab returns Kerberos credentials for principal (user@REALM, or a bare
// user in the configuration's default realm) whose keys are in the keytab
// file at path. Tickets are got with the keys, and got again when they
// expire.
func Keytab(principal, path string) *Credentials {
	return &Credentials{m: mech.Keytab(principal, path)}
}

// CCache returns Kerberos credentials from the credential cache name, as
// kinit fills it: a FILE path (with or without "FILE:"), or any name
// KRB5CCNAME takes on Linux: "DIR:dir" (the collection's primary cache),
// "DIR::path", "KEYRING:session:name", "KEYRING:persistent:uid", "KCM:",
// "KCM:name", "MEMORY:name". A cache holding only a service ticket still
// works for that service. The cache is read on first use and read again
// when its TGT nears its end, when it changed and a TGT is needed, and when
// the KDC says the TGT expired; once its TGT has expired and no one put a
// newer one there (kinit, kinit -R, k5start, sssd), requests fail with an
// error wrapping ErrCredentialsExpired.
func CCache(name string) *Credentials {
	return &Credentials{m: mech.CCache(name, "")}
}

// CCachePrincipal returns Kerberos credentials from the cache of principal
// (name@REALM) in the collection name belongs to ("" means the default
// cache's collection), as krb5_cc_cache_match picks it: with a DIR,
// KEYRING or KCM collection holding caches of several principals (kinit
// of each, kswitch between them), the one of principal whatever the
// primary is. Otherwise as [CCache].
func CCachePrincipal(name, principal string) *Credentials {
	return &Credentials{m: mech.CCache(name, principal)}
}

// DefaultCredentials returns the credentials of the environment, what
// `curl --negotiate -u :` uses, found as MIT krb5 finds them: the ticket
// cache KRB5CCNAME names, else krb5.conf's default_ccache_name (with its
// %{uid}-style expansions; KCM: and KEYRING:persistent:%{uid} on RHEL and
// Fedora), else FILE:/tmp/krb5cc_<uid>; of a collection, its primary
// cache. Every type [CCache] takes works. When that cache does not exist
// or holds nothing, the client keytab named by KRB5_CLIENT_KTNAME (or
// default_client_keytab_name). They are looked up on first use, and the
// cache is re-read as [CCache] says; when none exist, requests fail with
// ErrNoCredentials. On Windows the Transport uses SSPI instead.
func DefaultCredentials() *Credentials {
	return &Credentials{m: mech.Default()}
}

// DefaultMaxIdentities is the MaxIdentities of a Transport that sets none.
const DefaultMaxIdentities = 1024
