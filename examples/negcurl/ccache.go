// This file handles --ccache and --principal (which Kerberos ticket cache
// -u : reads) and tells, with -v, which cache was used or why none could
// be.

package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/negotiate-go/negotiate"
)

// checkCCache refuses --ccache and --principal with credentials that do
// not come from a cache.
func (o *options) checkCCache() error {
	if o.ccache == "" && o.principal == "" {
		return nil
	}
	if o.userSet && o.user != ":" {
		return errors.New("--ccache and --principal go with -u : (or no -u): the credentials come from the ticket cache")
	}
	if o.basic {
		return errors.New("--ccache and --principal are for Kerberos; --basic needs -u user:password")
	}
	if o.principal != "" && !strings.Contains(o.principal, "@") {
		return fmt.Errorf("--principal %q: give NAME@REALM", o.principal)
	}
	return nil
}

// cacheCredentials are the credentials -u : stands for: the environment's
// (DefaultCredentials), or the cache --ccache and --principal name.
func (o *options) cacheCredentials() *negotiate.Credentials {
	switch {
	case o.principal != "":
		return negotiate.CCachePrincipal(o.ccache, o.principal)
	case o.ccache != "":
		return negotiate.CCache(o.ccache)
	}
	return negotiate.DefaultCredentials()
}

// usesCache reports whether the server credentials come from a cache.
func (o *options) usesCache() bool {
	return o.ccache != "" || o.principal != "" || (o.userSet && o.user == ":")
}

// describeCache prints, for -v, the ticket cache the credentials read: its
// name, how it was found, its principal and its TGT's end; or why it
// cannot be used.
func describeCache(w io.Writer, o *options, c *client) {
	if !o.verbose || !o.usesCache() || c.creds == nil {
		return
	}
	info, err := negotiate.DescribeCache(c.creds, o.krb5conf)
	if info.Name != "" {
		fmt.Fprintf(w, "* Kerberos ticket cache %s (from %s)", info.Name, info.Why)
		if info.Principal != "" {
			fmt.Fprintf(w, ", principal %s", info.Principal)
		}
		if !info.TGTEnd.IsZero() {
			fmt.Fprintf(w, ", TGT ends %s (in %s)", info.TGTEnd.Local().Format(time.DateTime), time.Until(info.TGTEnd).Round(time.Second))
		} else if err == nil {
			fmt.Fprint(w, ", no TGT (service tickets only)")
		}
		fmt.Fprintln(w)
	}
	if err != nil {
		fmt.Fprintf(w, "* Kerberos ticket cache not usable: %v\n", err)
		if o.ccache == "" && o.principal == "" {
			fmt.Fprintln(w, "* when the cache is missing or empty, the client keytab (KRB5_CLIENT_KTNAME) is tried next")
		}
	}
}
