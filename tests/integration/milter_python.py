# milter_python.py - a milter for milter_python.sh, on Debian's python3-milter
# (libmilter underneath). Run with /usr/bin/python3: milter_python.py PORT.
#
# What it does is chosen by the message:
#   MAIL FROM:<mail-reject@...>      550 5.7.1 sender refused by test milter
#   RCPT TO:<rcpt-reject@...>        550 5.1.1 recipient refused by test milter
#   RCPT TO:<rcpt-tempfail@...>      tempfail (451 4.7.1 default text)
#   Subject: edit                    every modification action, then accept
#   Subject: reject                  554 5.7.1 content refused by test milter
#   Subject: tempfail                451 4.7.0 try later, says the test milter
#   Subject: discard                 discard
#   Subject: quarantine              quarantine "held by test milter"
#   Subject: macros                  X-Test-Milter-Macros: the MAIL and RCPT
#                                    macros ({auth_author}, {mail_mailer},
#                                    {mail_host}, {cert_subject}, {cert_issuer},
#                                    {rcpt_mailer}, {rcpt_host})
#   Subject: esmtp                   CHGFROM and ADDRCPT_PAR with ESMTP
#                                    arguments (some unknown), then quarantine
# Every message gets X-Test-Milter-Seen with what the milter saw (macro i,
# the sender, the body's first line).
import sys

import Milter


class TestMilter(Milter.Base):
    def __init__(self):
        self.subject = ""
        self.text = b""
        self.sender = ""
        self.mail_macros = ""
        self.rcpt_macros = []

    def hello(self, name):
        # Defined so that the HELO event, with its macros ({cert_subject},
        # {cert_issuer}), is negotiated: python-milter skips the others.
        return Milter.CONTINUE

    def envfrom(self, f, *params):
        self.subject = ""
        self.text = b""
        self.sender = f
        self.mail_macros = " ".join("%s=%s" % (m, self.getsymval("{%s}" % m))
                                    for m in ("auth_author", "mail_mailer", "mail_host", "cert_subject", "cert_issuer"))
        self.rcpt_macros = []
        if "mail-reject@" in f:
            self.setreply("550", "5.7.1", "sender refused by test milter")
            return Milter.REJECT
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        self.rcpt_macros.append("%s:%s/%s" % (to, self.getsymval("{rcpt_mailer}"), self.getsymval("{rcpt_host}")))
        if "rcpt-reject@" in to:
            self.setreply("550", "5.1.1", "recipient refused by test milter")
            return Milter.REJECT
        if "rcpt-tempfail@" in to:
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def header(self, name, value):
        if name.lower() == "subject":
            self.subject = value.strip()
        return Milter.CONTINUE

    def body(self, chunk):
        if not self.text:
            self.text = chunk
        return Milter.CONTINUE

    def eom(self):
        first = self.text.split(b"\r\n", 1)[0].decode("ascii", "replace")
        self.addheader("X-Test-Milter-Seen", "id=%s from=%s body=%s" % (self.getsymval("i"), self.sender, first))
        s = self.subject
        if s == "edit":
            self.progress()
            self.addheader("X-Milter-Added", "added at the end")
            self.addheader("X-Milter-First", "inserted at the top", 0)
            self.chgheader("Subject", 1, "edited by milter")
            self.chgheader("X-Remove-Me", 1, "")
            self.chgfrom("<changed@vdom.test>")
            self.addrcpt("<added@vdom.test>")
            self.addrcpt("<addedpar@vdom.test>", "NOTIFY=NEVER")
            self.delrcpt("<deleted@vdom.test>")
            self.replacebody(b"body replaced by the milter\r\nsecond line\r\n")
            return Milter.ACCEPT
        if s == "macros":
            self.addheader("X-Test-Milter-Macros", "%s rcpt=%s" % (self.mail_macros, ",".join(self.rcpt_macros)))
            return Milter.ACCEPT
        if s == "esmtp":
            self.chgfrom("<esmtp@vdom.test>", "SIZE=99 BODY=8BITMIME RET=HDRS ENVID=env+2Bid XFOO=1")
            self.addrcpt("<addedpar@vdom.test>", "NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig+40vdom.test BOGUS=1")
            self.quarantine("esmtp edits")
            return Milter.ACCEPT
        if s == "reject":
            self.setreply("554", "5.7.1", "content refused by test milter")
            return Milter.REJECT
        if s == "tempfail":
            self.setreply("451", "4.7.0", "try later, says the test milter")
            return Milter.TEMPFAIL
        if s == "discard":
            return Milter.DISCARD
        if s == "quarantine":
            self.quarantine("held by test milter")
            return Milter.ACCEPT
        return Milter.CONTINUE


def main():
    port = sys.argv[1]
    Milter.factory = TestMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT | Milter.ADDRCPT_PAR |
                     Milter.DELRCPT | Milter.CHGFROM | Milter.QUARANTINE)
    sys.stdout.write("milter ready\n")
    sys.stdout.flush()
    Milter.runmilter("mailroom-test", "inet:%s@127.0.0.1" % port, 30)


if __name__ == "__main__":
    main()
