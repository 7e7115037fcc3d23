// This file turns what the KDC hands out (a krb5.conf path, keytab files)
// into gokrb5 values, for the tests that drive gokrb5's client against it.

package kdc

import (
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// testConfig returns the KDC's krb5.conf parsed by gokrb5.
func (k *KDC) testConfig() *config.Config {
	c, err := config.Load(k.Krb5ConfPath())
	if err != nil {
		panic("kdc: own krb5.conf does not parse: " + err.Error())
	}
	return c
}

// parsedKeytab parses a keytab file the KDC made.
func parsedKeytab(b []byte) *keytab.Keytab {
	kt := keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		panic("kdc: own keytab does not parse: " + err.Error())
	}
	return kt
}
