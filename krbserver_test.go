package negotiate_test

import (
	"testing"

	"github.com/negotiate-go/negotiate/httptestutil"
	"github.com/negotiate-go/negotiate/httptestutil/kdc"
)

// kerberosServer starts a Server that accepts Kerberos with keys k issues
// (for cfg.Kerberos.SPN, by default HTTP/localhost, unless cfg.Kerberos
// brings a keytab), closed when tb's test ends. Its URL names localhost.
func kerberosServer(tb testing.TB, k *kdc.KDC, cfg httptestutil.Config) *httptestutil.Server {
	tb.Helper()
	var kc httptestutil.KerberosConfig
	if cfg.Kerberos != nil {
		kc = *cfg.Kerberos
	}
	kc.KDC = k
	cfg.Kerberos = &kc
	s := httptestutil.NewServer(cfg)
	tb.Cleanup(s.Close)
	return s
}
