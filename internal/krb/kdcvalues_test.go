// This file turns what the test KDC hands out (a krb5.conf path, keytab
// files) into the gokrb5 values this package's functions take.

package krb

import (
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// kdcConfig returns k's krb5.conf parsed by gokrb5.
func kdcConfig(k *kdc.KDC) *config.Config {
	c, err := config.Load(k.Krb5ConfPath())
	if err != nil {
		panic("test KDC's krb5.conf does not parse: " + err.Error())
	}
	return c
}

// kdcKeytab parses a keytab file the test KDC made.
func kdcKeytab(b []byte) *keytab.Keytab {
	kt, err := ParseKeytab(b)
	if err != nil {
		panic("test KDC's keytab does not parse: " + err.Error())
	}
	return kt
}
