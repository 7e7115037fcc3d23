// This file is logging in with a user principal name (UPN) whose suffix is
// not a Kerberos realm, as Active Directory users do ("alice@corp.com" in
// realm AD.CORP.COM): the AS-REQ carries an enterprise name (NT-ENTERPRISE,
// RFC 6806 §5) with the canonicalize option, and the KDC answers with the
// canonical name, or refers the client to its realm (RFC 6806 §7).

package krb

import (
	"fmt"
	"strings"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// NewEnterpriseClient returns a Client that logs in as the user principal
// name upn ("user@suffix") with password, sending it as an enterprise name
// to the KDC of realm (cfg's mapping of suffix, else its default realm
// when realm is empty) and following client referrals. Tickets, traces and
// Principal show the canonical name the KDC gives.
func NewEnterpriseClient(upn, realm, password string, cfg *config.Config) *Client {
	c := newClient("", "", cfg)
	c.initErr = nil
	c.password, c.hasPass = password, true
	user, suffix, _ := strings.Cut(upn, "@")
	if realm == "" {
		realm = c.cfg.ResolveRealm(strings.ToLower(suffix))
	}
	if realm == "" {
		realm = c.cfg.LibDefaults.DefaultRealm
	}
	c.setEnterprise(user, suffix, realm)
	if c.realm == "" || user == "" || suffix == "" {
		c.initErr = fmt.Errorf("negotiate: kerberos: %q is not a user principal name user@suffix with a realm to ask: %w", upn, gss.ErrNoCredentials)
	}
	return c
}

// enterpriseIfUnknownRealm makes a password Client for user@REALM whose
// REALM has no KDC configured (and is not looked up in DNS) log in with
// the enterprise name user@realm at the KDC of the realm cfg maps the
// suffix to, else of the default realm, as Windows does with a UPN. With
// a configured realm nothing changes.
func (c *Client) enterpriseIfUnknownRealm(user string) {
	if c.initErr != nil || c.cfg.LibDefaults.DNSLookupKDC || realmConfigured(c.cfg, c.realm) {
		return
	}
	if i := strings.LastIndex(user, "@"); i >= 0 {
		user = user[:i]
	}
	suffix := strings.ToLower(c.realm)
	home := c.cfg.ResolveRealm(suffix)
	if !realmConfigured(c.cfg, home) {
		home = c.cfg.LibDefaults.DefaultRealm
	}
	if home == "" || !realmConfigured(c.cfg, home) {
		return
	}
	c.setEnterprise(user, suffix, home)
}

func (c *Client) setEnterprise(user, suffix, realm string) {
	c.cname = types.PrincipalName{NameType: nametype.KRB_NT_ENTERPRISE, NameString: []string{user + "@" + suffix}}
	c.realm = realm
	c.enterprise = true
}

// realmConfigured reports whether cfg names KDCs for realm.
func realmConfigured(cfg *config.Config, realm string) bool {
	for _, r := range cfg.Realms {
		if r.Realm == realm && len(r.KDC) > 0 {
			return true
		}
	}
	return false
}
