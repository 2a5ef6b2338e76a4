#!/usr/bin/env python3
"""smtp_send.py - one message from alice@example.org to bob@remote.test,
for the content filter tests (smtpd_clamav, content_filter, smtpd_proxy).

    smtp_send.py PORT [--subject S] [--line TEXT] [--lines N] [--tail TEXT]
                 [--bdat] [--rcpt-reply]

The body is "hello", then TEXT (--line), then N numbered filler lines
(--lines: a message larger than one INSTREAM chunk), then the --tail
line. It goes as DATA, or with --bdat as one "BDAT n LAST" chunk. Prints
the final reply as "CODE TEXT"; with --rcpt-reply the reply to RCPT first
(and no DATA when it is not 250).
"""
import argparse
import smtplib
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--subject", default="test")
    ap.add_argument("--line", default="")
    ap.add_argument("--lines", type=int, default=0)
    ap.add_argument("--tail", default="")
    ap.add_argument("--bdat", action="store_true")
    ap.add_argument("--rcpt-reply", action="store_true")
    a = ap.parse_args()
    body = "Subject: %s\r\n\r\nhello\r\n" % a.subject
    if a.line:
        body += a.line + "\r\n"
    body += "".join("line %06d of a message larger than one INSTREAM chunk\r\n" % i for i in range(a.lines))
    if a.tail:
        body += a.tail + "\r\n"
    s = smtplib.SMTP("127.0.0.1", a.port, timeout=30)
    s.ehlo("client.example")
    s.mail("alice@example.org")
    code, text = s.rcpt("bob@remote.test")
    if a.rcpt_reply:
        print(code, text.decode())
    if code == 250 and a.bdat:
        data = body.encode()
        s.putcmd("BDAT %d LAST" % len(data))
        s.send(data)
        code, text = s.getreply()
        print(code, text.decode())
    elif code == 250:
        code, text = s.data(body)
        print(code, text.decode())
    s.quit()


if __name__ == "__main__":
    sys.exit(main())
