// This file tells which ticket cache Kerberos credentials read, for
// diagnostics such as negcurl -v.

package negotiate

import (
	"time"

	"github.com/negotiate-go/negotiate/internal/mech"
)

// CacheInfo describes the ticket cache that [CCache], [CCachePrincipal] or
// [DefaultCredentials] read.
type CacheInfo struct {
	// Name is the cache's full name as klist shows it ("KCM:0",
	// "FILE:/tmp/krb5cc_1000", "DIR::/run/user/1000/krb5cc/tktAbc").
	Name string
	// Why says how the cache was found: "KRB5CCNAME",
	// "default_ccache_name in krb5.conf", "the default" (FILE:/tmp/krb5cc_%{uid})
	// or "given" (named by CCache).
	Why string
	// Principal is the cache's principal, name@REALM.
	Principal string
	// TGTEnd is when its TGT for the principal's realm ends; zero when it
	// holds none (a cache of service tickets only).
	TGTEnd time.Time
}

// DescribeCache reads the ticket cache c would use, with the krb5.conf at
// krb5Config ("" as for Transport.Krb5Config), and describes it. When the
// cache cannot be used, the error says which cache and why (it does not
// exist, it is empty, its type cannot be read here); for
// DefaultCredentials a client keytab may still stand in. Credentials of
// other kinds give an error wrapping ErrNoCredentials.
func DescribeCache(c *Credentials, krb5Config string) (CacheInfo, error) {
	info, err := mech.DescribeCache(c.mc(), krb5Config)
	return CacheInfo{Name: info.Name, Why: info.Why, Principal: info.Principal, TGTEnd: info.TGTEnd}, err
}
