#!/usr/bin/python3
"""A one-shot MIT krb5 GSS-API acceptor (via python3-gssapi) reporting what a
client delegated, for cross-checking our credential delegation
(RFC 4121 §4.1.1.1) against MIT's.

Test-only: internal/krb's TestMITDelegation runs it. The environment names
the keytab (KRB5_KTNAME), the configuration (KRB5_CONFIG) and turns the
replay cache off (KRB5RCACHETYPE=none). It reads one line, the hex initial
context token, and writes one JSON object:

  {"complete": bool, "deleg_flag": bool, "delegated": NAME or "",
   "lifetime": SECONDS, "error": STR}

It never prints a key or a ticket.
"""
import json
import sys

import gssapi


def main():
    tok = bytes.fromhex(sys.stdin.readline().strip())
    rep = {}
    try:
        creds = gssapi.Credentials(usage="accept")
        ctx = gssapi.SecurityContext(creds=creds, usage="accept")
        ctx.step(tok)
        rep["complete"] = ctx.complete
        rep["deleg_flag"] = bool(ctx.actual_flags & gssapi.RequirementFlag.delegate_to_peer)
        d = ctx.delegated_creds
        rep["delegated"] = str(d.name) if d is not None else ""
        rep["lifetime"] = d.lifetime if d is not None else 0
    except Exception as e:  # reported to the test, which fails
        rep["error"] = "%s: %s" % (type(e).__name__, e)
    sys.stdout.write(json.dumps(rep) + "\n")


if __name__ == "__main__":
    main()
