// This file gives negcurl's authentication flags curl's meanings, and
// splits combined short flags (-sSL) as curl does.
//
// curl's rules (its tool_getparam.c and tool_operate.c): --negotiate,
// --ntlm and --basic each add a scheme to the set allowed with the server,
// --anyauth allows all, and libcurl uses the best one the server offers
// (Negotiate, then NTLM, then Basic). With a proxy, one flag wins whatever
// the order they are given in: --proxy-anyauth, else --proxy-negotiate,
// else --proxy-ntlm.
//
// Where negcurl differs from curl, it is for this tool's job: with none of
// the server flags, curl sends Basic; negcurl allows Negotiate and NTLM
// (Windows authentication is what it is for) and sends no password in
// Basic unless told to. The library never sends Basic to a proxy, so
// --proxy-anyauth means Negotiate or NTLM, as does no proxy flag (curl's
// default there is Basic too).

package main

import (
	"flag"
	"strings"

	"github.com/negotiate-go/negotiate"
)

// preference returns the schemes allowed with the server, best first, as
// Transport.Preference takes them.
func (o *options) preference() []negotiate.Scheme {
	if o.anyauth {
		return []negotiate.Scheme{negotiate.SchemeNegotiate, negotiate.SchemeNTLM, negotiate.SchemeBasic}
	}
	if !o.negotiate && !o.ntlm && !o.basic {
		return []negotiate.Scheme{negotiate.SchemeNegotiate, negotiate.SchemeNTLM}
	}
	var p []negotiate.Scheme
	if o.negotiate {
		p = append(p, negotiate.SchemeNegotiate)
	}
	if o.ntlm {
		p = append(p, negotiate.SchemeNTLM)
	}
	if o.basic {
		p = append(p, negotiate.SchemeBasic)
	}
	return p
}

// proxyPreference returns the schemes allowed with the proxy. It is never
// nil: a nil Transport.ProxyPreference would mean the server's.
func (o *options) proxyPreference() []negotiate.Scheme {
	switch {
	case o.proxyAnyauth:
	case o.proxyNegotiate:
		return []negotiate.Scheme{negotiate.SchemeNegotiate}
	case o.proxyNTLM:
		return []negotiate.Scheme{negotiate.SchemeNTLM}
	}
	return []negotiate.Scheme{negotiate.SchemeNegotiate, negotiate.SchemeNTLM}
}

// schemeFlags says, for a failure message, which flags allowed the schemes
// used with the server or the proxy, or "" when the default applied.
func (o *options) schemeFlags(proxy bool) string {
	if proxy {
		switch {
		case o.proxyAnyauth:
			return "--proxy-anyauth"
		case o.proxyNegotiate:
			return "--proxy-negotiate"
		case o.proxyNTLM:
			return "--proxy-ntlm"
		}
		return ""
	}
	if o.anyauth {
		return "--anyauth"
	}
	var f []string
	for _, x := range []struct {
		set  bool
		name string
	}{{o.negotiate, "--negotiate"}, {o.ntlm, "--ntlm"}, {o.basic, "--basic"}} {
		if x.set {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, " ")
}

// flagFor names the flag that allows scheme with the server or the proxy,
// "" if none does (Basic with a proxy).
func flagFor(scheme string, proxy bool) string {
	prefix := "--"
	if proxy {
		prefix = "--proxy-"
	}
	switch strings.ToLower(scheme) {
	case "negotiate":
		return prefix + "negotiate"
	case "ntlm":
		return prefix + "ntlm"
	case "basic":
		if !proxy {
			return "--basic"
		}
	}
	return ""
}

// ntlmOnly reports whether NTLM is the only scheme allowed with the server
// or the proxy: the user asked for NTLM, so a failure needs no word about
// Kerberos.
func (o *options) ntlmOnly(proxy bool) bool {
	p := o.preference()
	if proxy {
		p = o.proxyPreference()
	}
	for _, s := range p {
		if s == negotiate.SchemeNegotiate {
			return false
		}
	}
	return true
}

// splitShortFlags rewrites combined short flags as curl reads them: -sSL
// is -s -S -L, and in -sSo FILE or -XPOST the first flag that takes a
// value takes the rest of the argument, or the next argument. An argument
// that is a flag of its own (-v, -verbose, --noproxy=x), or that contains
// an unknown letter, is left for the flag package; so are flag values and
// everything after "--".
func splitShortFlags(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 2 || a[0] != '-' || a == "-" {
			out = append(out, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil {
			out = append(out, a)
			if !hasValue && !isBool(f) && i+1 < len(args) {
				i++ // the flag's value, whatever it looks like
				out = append(out, args[i])
			}
			continue
		}
		split, valueNext, ok := splitGroup(fs, a)
		if !ok {
			out = append(out, a)
			continue
		}
		out = append(out, split...)
		if valueNext && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// splitGroup splits one group of short flags, "-sSL" or "-sSoFILE".
// valueNext reports that its last flag takes the next argument as value.
func splitGroup(fs *flag.FlagSet, a string) (split []string, valueNext, ok bool) {
	if strings.HasPrefix(a, "--") {
		return nil, false, false
	}
	letters := a[1:]
	for j := 0; j < len(letters); j++ {
		f := fs.Lookup(letters[j : j+1])
		if f == nil {
			return nil, false, false
		}
		split = append(split, "-"+f.Name)
		if !isBool(f) {
			if rest := letters[j+1:]; rest != "" {
				return append(split, rest), false, true
			}
			return split, true, true
		}
	}
	return split, false, true
}

// isBool reports whether f takes no value.
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// allowed describes, for -v, the schemes allowed with the server or the
// proxy and the flags that chose them.
func (c *client) allowed(proxy bool) string {
	p := c.transport.Preference
	if proxy {
		p = c.transport.ProxyPreference
	}
	var names []string
	for _, s := range p {
		if s == negotiate.SchemeBasic && c.url.Scheme != "https" {
			continue // the Transport sends Basic only over TLS
		}
		names = append(names, s.String())
	}
	by := c.opts.schemeFlags(proxy)
	if by == "" {
		by = "the default"
	}
	return strings.Join(names, ", ") + " (" + by + ")"
}
