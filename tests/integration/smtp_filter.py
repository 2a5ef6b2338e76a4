#!/usr/bin/python3
"""smtp_filter.py - an SMTP content filter (aiosmtpd) for the content_filter
and smtpd_proxy_filter integration tests, as FILTER_README and
SMTPD_PROXY_README describe one.

    smtp_filter.py --port N --ready FILE --next PORT [--header "Name: value"]
                   [--reject TEXT] [--log FILE] [--xforward] [--size-limit N]
                   [--refuse-data TEXT]

Each message it receives goes on, with the same envelope, to the SMTP
server on 127.0.0.1:PORT (the re-injection smtpd), with --header put before
its first line. A message whose content contains TEXT (--reject) is refused
with "554 5.7.1 Rejected by the filter: TEXT" and goes nowhere. The reply to
the end of data is the re-injection server's own (so a before-queue proxy
hands the client the queue ID of the second smtpd), or 451 when it cannot be
reached. One line per message goes to --log: "pass QUEUEID" or "reject".
With --xforward it announces XFORWARD NAME ADDR PROTO HELO and logs each
XFORWARD it gets ("xforward ARGS"), and logs MAIL FROM with its parameters
("mail <ADDR> PARAMS"); --size-limit announces SIZE; --refuse-data refuses
DATA ("554 5.7.1 DATA refused by the filter") when a recipient contains TEXT.
Runs until killed; FILE is written once the server listens.
"""
import argparse
import asyncio
import os
import smtplib
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class FilterSMTP(SMTP):
    """Takes XFORWARD and refuses DATA for some recipients (--xforward, --refuse-data)."""

    filter_args = None

    def _log(self, line):
        if self.filter_args.log:
            with open(self.filter_args.log, "a") as f:
                f.write(line + "\n")

    async def smtp_XFORWARD(self, arg):
        if not self.filter_args.xforward:
            return await self.push("502 5.5.2 Error: command not recognized")
        self._log("xforward %s" % arg)
        await self.push("250 2.0.0 Ok")

    async def smtp_DATA(self, arg):
        refuse = self.filter_args.refuse_data
        if refuse and any(refuse in r for r in self.envelope.rcpt_tos):
            self._log("refuse-data")
            return await self.push("554 5.7.1 DATA refused by the filter")
        return await super().smtp_DATA(arg)


class Handler:
    def __init__(self, args):
        self.args = args

    def log(self, line):
        if self.args.log:
            with open(self.args.log, "a") as f:
                f.write(line + "\n")

    def relay(self, envelope, content):
        s = smtplib.SMTP("127.0.0.1", self.args.next, timeout=30)
        try:
            s.ehlo("filter.example")
            code, text = s.mail(envelope.mail_from)
            if code != 250:
                return "%d %s" % (code, text.decode())
            for r in envelope.rcpt_tos:
                code, text = s.rcpt(r)
                if code != 250:
                    return "%d %s" % (code, text.decode())
            code, text = s.data(content)
            return "%d %s" % (code, text.decode())
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                pass

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.args.xforward:
            responses.insert(-1, "250-XFORWARD NAME ADDR PROTO HELO")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.args.xforward:
            self.log("mail <%s> %s" % (address, " ".join(mail_options)))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if self.args.reject and self.args.reject.encode() in content:
            self.log("reject")
            return "554 5.7.1 Rejected by the filter: %s" % self.args.reject
        if self.args.header:
            content = self.args.header.encode() + b"\r\n" + content
        try:
            reply = await asyncio.get_running_loop().run_in_executor(None, self.relay, envelope, content)
        except (OSError, smtplib.SMTPException) as e:
            self.log("error %s" % e)
            return "451 4.3.0 Error: re-injection failed"
        self.log("pass %s" % reply)
        return reply


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--next", type=int, required=True)
    ap.add_argument("--header", default="")
    ap.add_argument("--reject", default="")
    ap.add_argument("--log", default="")
    ap.add_argument("--xforward", action="store_true")
    ap.add_argument("--size-limit", type=int, default=0)
    ap.add_argument("--refuse-data", default="")
    args = ap.parse_args()
    FilterSMTP.filter_args = args

    handler = Handler(args)

    def factory():
        return FilterSMTP(handler, hostname="filter.example", decode_data=False, enable_SMTPUTF8=False,
                          data_size_limit=args.size_limit)

    ctl = Controller(handler, hostname="127.0.0.1", port=args.port)
    ctl.factory = factory
    ctl.start()
    with open(args.ready + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(args.ready + ".tmp", args.ready)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    ctl.stop()


if __name__ == "__main__":
    sys.exit(main())
