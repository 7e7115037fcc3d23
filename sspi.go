package negotiate

// SSPIPolicy says when the operating system's security packages (SSPI, on
// Windows) authenticate instead of the pure-Go mechanisms. On other
// systems SSPI does not exist and every setting means SSPINever.
type SSPIPolicy int

const (
	// SSPIForDefaultCredentials, the zero value: SSPI authenticates as the
	// logged-on user when the credentials are DefaultCredentials (what
	// browsers, curl and .NET's DefaultCredentials do); explicit
	// credentials use the pure-Go mechanisms.
	SSPIForDefaultCredentials SSPIPolicy = iota
	// SSPIAlways: SSPI for explicit credentials too.
	SSPIAlways
	// SSPINever: the pure-Go mechanisms only.
	SSPINever
)
