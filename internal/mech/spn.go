// This file resolves the service principal name (SPN) of a target, as
// SPNPolicy says.

package mech

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// spnFor returns the SPN for a request to u, or an error wrapping
// gss.ErrNoSPN when u's host is an IP literal and no SPN is configured for
// it.
func (f *Factory) spnFor(ctx context.Context, u *url.URL) (string, error) {
	p := &f.cfg.SPN
	host := lowerASCII(u.Hostname())
	if spn, ok := p.Hosts[host]; ok {
		return spn, nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "", fmt.Errorf("%w: %s is an IP address; use the host name or set SPNPolicy.Hosts", gss.ErrNoSPN, host)
	}
	if p.Canonicalize {
		host = f.canonicalHost(ctx, host)
	}
	service := p.Service
	if service == "" {
		service = "HTTP"
	}
	spn := service + "/" + host
	if port := u.Port(); p.IncludePort && port != "" && port != defaultPort(u.Scheme) {
		spn += ":" + port
	}
	return spn, nil
}

// canonicalHost follows host's CNAME records, once per host.
func (f *Factory) canonicalHost(ctx context.Context, host string) string {
	if name, ok := f.cnames.Get(host); ok {
		return name
	}
	resolver := f.cfg.SPN.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	name, err := resolver.LookupCNAME(ctx, host)
	if err != nil || name == "" {
		name = host
	}
	name = lowerASCII(strings.TrimSuffix(name, "."))
	f.cnames.Put(host, name)
	return name
}

func defaultPort(scheme string) string {
	if strings.EqualFold(scheme, "https") {
		return "443"
	}
	return "80"
}

// lowerASCII lower-cases s's ASCII letters (host names, RFC 4343).
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
