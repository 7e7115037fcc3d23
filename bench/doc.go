// Package bench holds the benchmarks of negotiate.Transport side by side
// with an unauthenticated baseline and with the Go peers (go-ntlmssp's
// Negotiator and gokrb5's SPNEGO client),
// all against servers on loopback in the same process. It has no API: the
// benchmarks and the round-trip tests are in its _test files, and
// BENCHMARKS.md at the repository root shows how to run them and what one
// run measured.
package bench
