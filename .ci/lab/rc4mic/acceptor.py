#!/usr/bin/python3
"""An MIT krb5 GSS-API acceptor (via python3-gssapi) driven over stdin/stdout,
for cross-checking our RC4-HMAC (RFC 4757) MIC tokens against MIT's.

Test-only: internal/krb's TestMITRC4MIC runs it. The environment names the
keytab (KRB5_KTNAME), the configuration (KRB5_CONFIG) and turns the replay
cache off (KRB5RCACHETYPE=none). One JSON object per line in each direction:

  {"op": "accept", "token": HEX}        -> {"token": HEX or "", "complete": bool}
  {"op": "verify", "msg": HEX, "mic": HEX} -> {"ok": bool, "error": STR}
  {"op": "getmic", "msg": HEX}            -> {"mic": HEX}

Errors are reported in the reply ("error"); the script never prints a key.
"""
import json
import sys

import gssapi


def main():
    creds = gssapi.Credentials(usage="accept")
    ctx = gssapi.SecurityContext(creds=creds, usage="accept")
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "accept":
                out = ctx.step(bytes.fromhex(req["token"]))
                rep = {"token": (out or b"").hex(), "complete": ctx.complete}
            elif op == "verify":
                try:
                    ctx.verify_signature(bytes.fromhex(req["msg"]), bytes.fromhex(req["mic"]))
                    rep = {"ok": True}
                except gssapi.exceptions.GSSError as e:
                    rep = {"ok": False, "error": str(e)}
            elif op == "getmic":
                rep = {"mic": ctx.get_signature(bytes.fromhex(req["msg"])).hex()}
            else:
                rep = {"error": "unknown op " + op}
        except Exception as e:  # reported to the test, which fails
            rep = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(rep) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
