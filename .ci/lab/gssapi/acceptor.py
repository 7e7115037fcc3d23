#!/usr/bin/python3
"""An HTTPS server that accepts Negotiate and NTLM (RFC 4559) with MIT
krb5's GSS-API acceptor, through python3-gssapi, and hands it the
tls-server-end-point channel bindings of its own certificate (RFC 5929).

mod_auth_gssapi passes no channel bindings, so Apache cannot tell whether a
client's are right; MIT krb5 (and gss-ntlmssp for NTLM) check them when the
acceptor supplies them. This server is test infrastructure for the lab
(.ci/lab/README.md), an acceptor independent of the Go code under test.

Paths (each with any suffix, e.g. /cb/whoami):
  /nocb/     no bindings given to the acceptor (control)
  /cb/       the right bindings given: wrong ones from the client fail;
             absent ones pass unless the client announced bindings
             (Kerberos KERB_AP_OPTIONS_CBT, MS-KILE 3.2.5.8)
  /require/  as /cb/, and a context not channel-bound is refused (403),
             like IIS with Extended Protection "Required"
  /wrongcb/  bindings of another certificate given: a client that sends
             bindings must fail (proves the check is live)

A success answers 200 with a JSON object: user, mech, scheme,
bindings_given, channel_bound (the GSS_C_CHANNEL_BOUND_FLAG the
acceptor set: the bindings were verified). Authentication is kept per
TCP connection (a context per connection, as IIS and
GssapiConnectionBound do). Nothing secret is logged.

Environment: KRB5_CONFIG, KRB5_KTNAME (the HTTP/ service keytab),
NTLM_USER_FILE (gss-ntlmssp's users), KRB5RCACHEDIR. Arguments: see --help.
"""

import argparse
import base64
import hashlib
import http.server
import json
import socketserver
import ssl
import sys

import gssapi
import gssapi.raw

# Signature algorithm OIDs (DER contents) and the hash RFC 5929 sec. 4.1
# prescribes: the signature's own, except MD5 and SHA-1 become SHA-256.
SIG_HASH = {
    bytes.fromhex("2a864886f70d010104"): "sha256",  # md5WithRSAEncryption
    bytes.fromhex("2a864886f70d010105"): "sha256",  # sha1WithRSAEncryption
    bytes.fromhex("2a864886f70d01010b"): "sha256",  # sha256WithRSAEncryption
    bytes.fromhex("2a864886f70d01010c"): "sha384",  # sha384WithRSAEncryption
    bytes.fromhex("2a864886f70d01010d"): "sha512",  # sha512WithRSAEncryption
    bytes.fromhex("2a8648ce3d0401"): "sha256",  # ecdsa-with-SHA1
    bytes.fromhex("2a8648ce3d040302"): "sha256",  # ecdsa-with-SHA256
    bytes.fromhex("2a8648ce3d040303"): "sha384",  # ecdsa-with-SHA384
    bytes.fromhex("2a8648ce3d040304"): "sha512",  # ecdsa-with-SHA512
}


def der_item(b, i):
    """Returns (tag, content start, content end) of the DER item at i."""
    tag = b[i]
    n = b[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[j : j + k], "big")
        j += k
    return tag, j, j + n


def end_point_hash(der):
    """The tls-server-end-point hash name for the DER certificate."""
    _, s, _ = der_item(der, 0)  # Certificate SEQUENCE
    _, _, e = der_item(der, s)  # tbsCertificate: skip it
    tag, s2, _ = der_item(der, e)  # signatureAlgorithm SEQUENCE
    tag, os, oe = der_item(der, s2)  # its OID
    if tag != 0x06 or der[os:oe] not in SIG_HASH:
        sys.exit("acceptor: no tls-server-end-point hash for the certificate's signature algorithm")
    return SIG_HASH[der[os:oe]]


def bindings_for(der):
    h = hashlib.new(end_point_hash(der), der).digest()
    return gssapi.raw.ChannelBindings(application_data=b"tls-server-end-point:" + h)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one context per connection
    server_version = "gssapi-lab"
    timeout = 30  # seconds a kept-alive connection may stay silent

    def setup(self):
        super().setup()
        self.ctx = None  # context of the handshake on this connection
        self.done = None  # result once the connection is authenticated

    def log_message(self, fmt, *args):
        # Request lines and statuses only; never headers (tokens).
        sys.stderr.write("%s:%d %s\n" % (self.client_address[0], self.client_address[1], fmt % args))

    def reply(self, code, body, headers=()):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def challenge(self, why=None, token_hdr=None):
        hdrs = [token_hdr] if token_hdr else [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")]
        body = {"error": why} if why else {}
        self.reply(401, body, hdrs)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.do_GET()

    def do_GET(self):
        path = self.path
        mode = path.strip("/").split("/")[0]
        if mode not in ("nocb", "cb", "require", "wrongcb"):
            self.reply(404, {"error": "unknown path"})
            return
        if self.done is not None and self.done["mode"] == mode:
            self.reply(200, self.done)
            return
        auth = self.headers.get("Authorization", "")
        scheme, _, b64 = auth.strip().partition(" ")
        if scheme.lower() not in ("negotiate", "ntlm") or not b64:
            self.ctx = None
            self.challenge()
            return
        try:
            token = base64.b64decode(b64.strip(), validate=True)
        except ValueError:
            self.challenge("bad base64")
            return
        cb = {"nocb": None, "cb": self.server.cb, "require": self.server.cb, "wrongcb": self.server.wrong_cb}[mode]
        # A new handshake starts with a token that is not a continuation:
        # drop any unfinished context from an earlier one.
        if self.ctx is None or self.ctx.complete or token[:1] == b"\x60" or token.startswith(b"NTLMSSP\x00\x01"):
            self.ctx = gssapi.SecurityContext(usage="accept", creds=self.server.creds, channel_bindings=cb)
        out = None
        try:
            out = self.ctx.step(token)
            # python-gssapi returns the error token (a KRB-ERROR) from step
            # and raises the failure on the next use of the context.
            complete = self.ctx.complete
        except gssapi.exceptions.GSSError as e:
            self.ctx = None
            hdr = ("WWW-Authenticate", scheme + " " + base64.b64encode(out).decode()) if out else None
            # The major/minor status names the failure (GSS_S_BAD_BINDINGS
            # for a binding mismatch); it holds no secret.
            self.challenge("gss: " + str(e).replace("\n", " "), token_hdr=hdr)
            return
        hdr = None
        if out:
            hdr = ("WWW-Authenticate", scheme + " " + base64.b64encode(out).decode())
        if not complete:
            self.challenge(token_hdr=hdr)
            return
        bound = gssapi.RequirementFlag.channel_bound in self.ctx.actual_flags
        result = {
            "user": str(self.ctx.initiator_name).rstrip("\x00"),  # gss-ntlmssp ends it with a NUL
            "mech": self.ctx.mech.dotted_form,
            "scheme": scheme,
            "mode": mode,
            "bindings_given": cb is not None,
            "channel_bound": bound,
        }
        self.ctx = None
        if mode == "require" and not bound:
            self.reply(403, dict(result, error="channel bindings required but not verified"), [hdr] if hdr else [])
            return
        self.done = result
        self.reply(200, result, [hdr, ("Persistent-Auth", "true")] if hdr else [("Persistent-Auth", "true")])


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's thread, bounded, so a
        # slow client cannot hold up accept.
        request.settimeout(30)
        try:
            request = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write("%s:%d TLS handshake failed: %s\n" % (client_address[0], client_address[1], e))
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        sys.stderr.write("%s:%d connection error: %s\n" % (client_address[0], client_address[1], sys.exc_info()[1]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18444)
    p.add_argument("--cert", required=True, help="PEM certificate (chain) the server presents")
    p.add_argument("--key", required=True)
    p.add_argument("--wrong-cert", required=True, help="PEM certificate whose bindings /wrongcb/ expects")
    a = p.parse_args()
    if a.listen not in ("127.0.0.1", "::1"):
        sys.exit("acceptor: listens on loopback only")

    with open(a.cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    with open(a.wrong_cert) as f:
        wrong_der = ssl.PEM_cert_to_DER_cert(f.read())
    srv = Server((a.listen, a.port), Handler)
    srv.cb = bindings_for(der)
    srv.wrong_cb = bindings_for(wrong_der)
    srv.creds = gssapi.Credentials(usage="accept")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(a.cert, a.key)
    tls.set_alpn_protocols(["http/1.1"])
    srv.tls = tls
    sys.stderr.write(
        "acceptor: https://%s:%d, tls-server-end-point with %s\n" % (a.listen, a.port, end_point_hash(der))
    )
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
