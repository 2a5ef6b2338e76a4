#!/usr/bin/python3
"""smtp_peer.py - a third-party SMTP/LMTP server (aiosmtpd) for the smtp
client's integration tests.

    smtp_peer.py --spool DIR --ready FILE (--port N | --unix PATH)
                 [--lmtp] [--cert PEM --key PEM [--require-tls]] [--auth USER:PASS]

Accepts every recipient except those whose local part starts with
"reject" (550 5.1.1) or "defer" (450 4.2.0). Each message goes to
DIR/msg.N with the envelope first: "MAIL FROM:<...>", one "RCPT TO:<...>"
line per recipient, the MAIL and RCPT parameters, whether TLS was on,
the client's address and port ("CONN:", the same for messages that came
over one connection), then an empty line and the content as received. With --lmtp the server
speaks LMTP and answers the end of data once per recipient (a recipient
whose local part starts with "lmtpfail" gets 452 4.2.2 there). Runs until
killed; FILE is written once the server listens. With --auth the server
demands AUTH (PLAIN or LOGIN, also without TLS) before MAIL and accepts
only USER:PASS; the file records "AUTH: USER".
"""
import argparse
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller, UnixSocketController
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, spool, lmtp):
        self.spool = spool
        self.lmtp = lmtp
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("defer"):
            return "450 4.2.0 <%s>: Recipient address rejected: try again" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        n = self.count
        self.count += 1
        tmp = os.path.join(self.spool, ".tmp.%d" % n)
        with open(tmp, "wb") as f:
            sender = "" if envelope.mail_from == "<>" else envelope.mail_from
            f.write(b"MAIL FROM:<%s>\n" % sender.encode())
            for r in envelope.rcpt_tos:
                f.write(b"RCPT TO:<%s>\n" % r.encode())
            f.write(b"MAIL OPTIONS: %s\n" % " ".join(envelope.mail_options).encode())
            for o in envelope.rcpt_options:
                f.write(b"RCPT OPTIONS: %s\n" % " ".join(o).encode())
            f.write(b"TLS: %s\n" % (b"yes" if session.ssl else b"no"))
            f.write(b"CONN: %s\n" % str(session.peer).encode())
            if session.authenticated:
                f.write(b"AUTH: %s\n" % str(session.auth_data.login, "utf-8").encode())
            f.write(b"\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.spool, "msg.%d" % n))
        if not self.lmtp:
            return "250 2.0.0 Ok: queued as PEER%d" % n
        lines = []
        for r in envelope.rcpt_tos:
            if r.split("@")[0].lower().startswith("lmtpfail"):
                lines.append("452 4.2.2 <%s> Mailbox full" % r)
            else:
                lines.append("250 2.0.0 <%s> delivered" % r)
        return "\r\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spool", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--port", type=int)
    ap.add_argument("--unix")
    ap.add_argument("--lmtp", action="store_true")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--auth")
    a = ap.parse_args()
    handler = Handler(a.spool, a.lmtp)
    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)
    proto = LMTP if a.lmtp else SMTP

    auth = {}
    if a.auth:
        user, password = a.auth.split(":", 1)

        def check(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
            return AuthResult(success=ok, handled=False, auth_data=data)

        auth = dict(authenticator=check, auth_required=True, auth_require_tls=False)

    def factory():
        return proto(handler, hostname="peer.test", tls_context=tls, require_starttls=a.require_tls,
                     decode_data=False, enable_SMTPUTF8=False, **auth)

    if a.unix:
        ctl = UnixSocketController(handler, unix_socket=a.unix)
    else:
        ctl = Controller(handler, hostname="127.0.0.1", port=a.port)
    ctl.factory = factory
    ctl.start()
    with open(a.ready, "w") as f:
        f.write("ready\n")
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


if __name__ == "__main__":
    sys.exit(main())
