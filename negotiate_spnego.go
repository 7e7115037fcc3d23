package negotiate

import (
	"context"
	"net/url"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// TEMP until SPNEGO lands: Negotiate is answered only through raw NTLM.
func (t *Transport) negotiateUsable(c *Credentials) bool { return false }

func (t *Transport) newNegotiate(ctx context.Context, c *Credentials, u *url.URL, cb *gss.ChannelBindings, offered []Challenge) (gss.Context, Scheme, error) {
	sec, err := t.newNTLM(c, u, cb)
	return sec, SchemeNTLM, err
}

func (t *Transport) finalTokenMissing(sec gss.Context) error { return nil }

func negotiatedNTLM(sec gss.Context) bool { return false }
