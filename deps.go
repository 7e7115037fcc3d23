package negotiate

import (
	_ "github.com/Azure/go-ntlmssp"
	_ "github.com/jcmturner/gokrb5/v8/client"
	_ "golang.org/x/crypto/md4"
	_ "golang.org/x/net/http/httpguts"
	_ "golang.org/x/sync/singleflight"
)
