"""imapd_client.py - the client side of imapd.sh: Python's imaplib and a raw
IMAP connection (for exact replies, literals and bad input) against a real
instance. Arguments: JSON with the ports, the user, the password, the
instance directory and the name of a phase ("main", "restart").

Every check that fails raises; the script's exit status is the verdict.
"""
import imaplib
import json
import os
import re
import smtplib
import socket
import ssl
import sys
import time

A = json.loads(sys.argv[1])
PHASE = sys.argv[2] if len(sys.argv) > 2 else ""
USER, PASS = A["user"], A["password"]
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def log_text():
    with open(A["maillog"], errors="replace") as f:
        return f.read()


def wait_for(what, pred, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def deliver(subject, body, extra=""):
    """Through the instance's smtpd and virtual agent; waits for the delivery."""
    before = len(re.findall(r"relay=virtual, .*status=sent", log_text()))
    with smtplib.SMTP("127.0.0.1", A["smtp"]) as s:
        s.sendmail("bob@example.test", [USER],
                   "From: Bob <bob@example.test>\r\nTo: %s\r\nSubject: %s\r\n%s\r\n%s\r\n"
                   % (USER, subject, extra, body))
    wait_for("delivery of " + subject,
             lambda: len(re.findall(r"relay=virtual, .*status=sent", log_text())) > before)


class Raw:
    """A line-level IMAP client: cmd() returns (untagged lines, tagged line);
    literals in replies are joined into their line."""

    def __init__(self, port, tls=False, source=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20,
                                             source_address=(source, 0) if source else None)
        if tls:
            self.sock = CTX.wrap_socket(self.sock)
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def raw_line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; have %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def line(self):
        line = self.raw_line()
        while True:
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                return line.decode("utf-8", "replace")
            n = int(m.group(1))
            while len(self.buf) < n:
                data = self.sock.recv(65536)
                if not data:
                    raise EOFError("closed in literal")
                self.buf += data
            line += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]
            line += self.raw_line()

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, text, tag=None):
        self.n += 1
        tag = tag or "t%d" % self.n
        self.send(tag + " " + text + "\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return untagged, line
            untagged.append(line)

    def close(self):
        self.sock.close()


def ok(reply, what=""):
    untagged, tagged = reply
    assert " OK" in tagged, "%s: %r %r" % (what, tagged, untagged)
    return untagged, tagged


def login(port=None, tls=False):
    r = Raw(port or A["imap"], tls=tls)
    ok(r.cmd('LOGIN "%s" "%s"' % (USER, PASS)), "login")
    return r


def main_phase():
    # 1. Greeting and capabilities before login.
    r = Raw(A["imap"])
    assert r.greeting.startswith("* OK [CAPABILITY IMAP4rev1 ") and r.greeting.endswith("] Dovecot ready."), r.greeting
    caps = r.greeting
    for c in ("SASL-IR", "ID", "ENABLE", "IDLE", "LITERAL+", "STARTTLS", "AUTH=PLAIN", "AUTH=LOGIN"):
        assert " " + c in caps, (c, caps)
    u, t = r.cmd("CAPABILITY")
    assert u[0].startswith("* CAPABILITY IMAP4rev1"), u
    # Wrong password, then a parse error: both answered, the session goes on.
    u, t = r.cmd('LOGIN "%s" "wrong"' % USER)
    assert t.endswith("NO [AUTHENTICATIONFAILED] Authentication failed."), t
    u, t = r.cmd("FETCH (")
    assert " BAD " in t, t
    u, t = r.cmd("SELECT INBOX")
    assert " BAD " in t, t
    # Login with a synchronising literal for the password.
    r.n += 1
    r.send('L1 LOGIN "%s" {%d}\r\n' % (USER, len(PASS)))
    assert r.line().startswith("+ "), "no continuation"
    r.send(PASS + "\r\n")
    u, t = r.until("L1")
    assert t.startswith("L1 OK [CAPABILITY IMAP4rev1") and t.endswith("Logged in"), t
    for c in ("NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE", "CONDSTORE", "QRESYNC",
              "ESEARCH", "SEARCHRES", "LIST-EXTENDED", "LIST-STATUS", "QUOTA", "SORT", "THREAD=REFERENCES",
              "BINARY", "STATUS=SIZE", "APPENDLIMIT="):
        assert " " + c in t, (c, t)
    # 2. The special-use folders exist after the first login.
    u, t = ok(r.cmd('LIST "" "*"'))
    listing = "\n".join(u)
    for name, use in (("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"), ("Junk", "\\Junk")):
        assert re.search(r'\* LIST \([^)]*\%s[^)]*\) "\." "?%s"?' % (use, name), listing), listing
    assert re.search(r'\* LIST \([^)]*\) "\." "?INBOX"?', listing), listing
    u, t = ok(r.cmd('LIST "" ""'))
    assert u == ['* LIST (\\Noselect) "." ""'], u
    u, t = ok(r.cmd("NAMESPACE"))
    assert u == ['* NAMESPACE (("" ".")) NIL NIL'], u
    u, t = ok(r.cmd('ID ("name" "test")'))
    assert u[0].startswith("* ID ("), u
    # 3. Mail delivered by the instance's own virtual agent.
    deliver("first message", "hello world\r\nsecond line")
    deliver("second message", "the quick brown fox")
    deliver("Re: first message", "a reply", "In-Reply-To: <m1@example.test>\r\n")
    u, t = ok(r.cmd("SELECT INBOX"))
    assert "* 3 EXISTS" in u and "* 3 RECENT" in u, u
    assert any(x.startswith("* OK [UIDVALIDITY ") for x in u), u
    assert any(x.startswith("* OK [UIDNEXT 4]") for x in u), u
    assert any(x.startswith("* OK [PERMANENTFLAGS (") for x in u), u
    assert "[READ-WRITE]" in t, t
    uidvalidity = int(re.search(r"UIDVALIDITY (\d+)", "\n".join(u)).group(1))
    # 4. FETCH.
    u, t = ok(r.cmd("FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)"))
    assert len(u) == 3, u
    assert re.match(r'\* 1 FETCH \(UID 1 FLAGS \(\\Recent\) RFC822\.SIZE \d+ INTERNALDATE "\d\d-\w{3}-\d{4} ', u[0]), u
    u, t = ok(r.cmd("FETCH 1 (ENVELOPE BODYSTRUCTURE)"))
    assert '"first message"' in u[0] and '"bob" NIL "example.test"' in u[0].replace('"Bob"', '"bob"') or \
        '"example.test"' in u[0], u
    assert '("text" "plain"' in u[0].lower() or '("TEXT" "PLAIN"' in u[0], u
    u, t = ok(r.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    assert "Subject: first message" in u[0], u
    u, t = ok(r.cmd("FETCH 1 (FLAGS)"))
    assert "\\Seen" not in u[0], u
    u, t = ok(r.cmd("FETCH 1 (BODY[TEXT])"))
    assert "hello world" in u[0] and "\\Seen" in u[0], u
    u, t = ok(r.cmd("FETCH 2 (BODY.PEEK[]<0.5>)"))
    assert "BODY[]<0> {5}" in u[0], u
    u, t = ok(r.cmd("FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[1])"))
    assert "the quick brown fox" in u[0] and "BINARY.SIZE[1]" in u[0], u
    u, t = ok(r.cmd("UID FETCH 2:* (FLAGS)"))
    assert len(u) == 2 and "UID 2" in u[0] and "UID 3" in u[1], u
    u, t = r.cmd("FETCH 9 FLAGS")
    assert " BAD " in t, t
    # 5. STORE.
    u, t = ok(r.cmd("STORE 2 +FLAGS (\\Flagged $Label1)"))
    assert re.search(r"\* 2 FETCH \(FLAGS \([^)]*\\Flagged[^)]*\$Label1", u[0]), u
    u, t = ok(r.cmd("STORE 2 -FLAGS.SILENT (\\Flagged)"))
    assert u == [], u
    u, t = ok(r.cmd("UID STORE 3 FLAGS (\\Answered)"))
    assert "UID 3" in u[0] and "\\Answered" in u[0], u
    # 6. SEARCH, ESEARCH, SEARCHRES, SORT, THREAD.
    u, t = ok(r.cmd("SEARCH ALL"))
    assert u == ["* SEARCH 1 2 3"], u
    u, t = ok(r.cmd("SEARCH CHARSET UTF-8 BODY fox"))
    assert u == ["* SEARCH 2"], u
    u, t = ok(r.cmd('SEARCH SUBJECT "first"'))
    assert u == ["* SEARCH 1 3"], u
    u, t = ok(r.cmd("SEARCH OR SEEN ANSWERED"))
    assert u == ["* SEARCH 1 3"], u
    u, t = ok(r.cmd("UID SEARCH NOT SEEN"))
    assert u == ["* SEARCH 2 3"], u
    u, t = ok(r.cmd("SEARCH KEYWORD $Label1"))
    assert u == ["* SEARCH 2"], u
    u, t = r.cmd("SEARCH CHARSET KOI8-R ALL")
    assert "NO [BADCHARSET" in t, t
    u, t = ok(r.cmd("SEARCH RETURN (MIN MAX COUNT ALL) ALL"))
    assert re.match(r'\* ESEARCH \(TAG "t\d+"\) MIN 1 MAX 3 COUNT 3 ALL 1:3$', u[0]), u
    u, t = ok(r.cmd("SEARCH RETURN (SAVE) SUBJECT first"))
    assert u == [], u
    u, t = ok(r.cmd("FETCH $ (UID)"))
    assert len(u) == 2, u
    u, t = ok(r.cmd("SORT (REVERSE SUBJECT) UTF-8 ALL"))
    assert u[0].startswith("* SORT "), u
    u, t = ok(r.cmd("THREAD REFERENCES UTF-8 ALL"))
    assert u[0].startswith("* THREAD "), u
    # 7. Folders: CREATE, LIST with children, RENAME, STATUS, SUBSCRIBE, LSUB, DELETE.
    u, t = r.cmd("CREATE Archive (USE (\\Archive))")
    assert " OK" in t or "NO [USEATTR]" in t, t
    u, t = r.cmd("CREATE Stuff (USE (\\Drafts))")
    assert "NO [USEATTR]" in t, t
    ok(r.cmd("CREATE Work"))
    ok(r.cmd("CREATE Work.Projects"))
    u, t = r.cmd("CREATE Work")
    assert "NO [ALREADYEXISTS]" in t, t
    u, t = ok(r.cmd('LIST "" "Work*"'))
    assert any("\\HasChildren" in x and "Work" in x and "Projects" not in x for x in u), u
    assert os.path.isdir(os.path.join(A["maildir"], ".Work.Projects")), os.listdir(A["maildir"])
    ok(r.cmd("SUBSCRIBE Work"))
    u, t = ok(r.cmd('LSUB "" "*"'))
    assert any(x.endswith("Work") or x.endswith('"Work"') for x in u), u
    u, t = ok(r.cmd('LIST (SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES SIZE))'))
    assert any("\\Subscribed" in x and "Work" in x for x in u), u
    assert any(x.startswith("* STATUS") for x in u), u
    ok(r.cmd("UNSUBSCRIBE Work"))
    u, t = ok(r.cmd("STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE HIGHESTMODSEQ)"))
    assert re.match(r"\* STATUS \"?INBOX\"? \(MESSAGES 3 UNSEEN 2 UIDNEXT 4 UIDVALIDITY %d SIZE \d+ HIGHESTMODSEQ \d+\)"
                    % uidvalidity, u[0]), u
    ok(r.cmd("RENAME Work.Projects Work.Old"))
    u, t = ok(r.cmd('LIST "" "Work.%"'))
    assert len(u) == 1 and "Work.Old" in u[0], u
    # 8. COPY (UIDPLUS), MOVE, EXPUNGE, UID EXPUNGE.
    u, t = ok(r.cmd("COPY 1:2 Work"))
    assert re.search(r"\[COPYUID \d+ 1:2 1:2\]", t), t
    u, t = r.cmd("COPY 1 Nowhere")
    assert "NO [TRYCREATE]" in t, t
    u, t = ok(r.cmd("UID MOVE 3 Work.Old"))
    assert any(x.startswith("* OK [COPYUID ") for x in u) and "* 3 EXPUNGE" in u, u
    ok(r.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    u, t = ok(r.cmd("EXPUNGE"))
    assert u == ["* 1 EXPUNGE"], u
    u, t = ok(r.cmd("STATUS Work (MESSAGES)"))
    assert "MESSAGES 2" in u[0], u
    ok(r.cmd("DELETE Work.Old"))
    # 9. APPEND: synchronising, LITERAL+, flags and date; APPENDUID.
    msg = "From: a@example.test\r\nSubject: appended\r\n\r\nappended body\r\n"
    r.n += 1
    r.send('A1 APPEND Sent (\\Seen) "06-Dec-2026 10:00:00 +0100" {%d}\r\n' % len(msg))
    assert r.line().startswith("+ ")
    r.send(msg + "\r\n")
    u, t = r.until("A1")
    assert re.match(r"A1 OK \[APPENDUID \d+ 1\] Append completed\.", t), t
    r.send('A2 APPEND INBOX {%d+}\r\n%s\r\n' % (len(msg), msg))
    u, t = r.until("A2")
    assert "[APPENDUID %d " % uidvalidity in t, t
    assert any(x.endswith("EXISTS") for x in u), u  # the selected folder grew
    u, t = r.cmd("APPEND Nowhere {%d+}\r\n%s" % (len(msg), msg))
    assert "NO [TRYCREATE]" in t, t
    # 10. CONDSTORE / QRESYNC / ENABLE.
    u, t = ok(r.cmd("ENABLE CONDSTORE QRESYNC"))
    assert u == ["* ENABLED CONDSTORE QRESYNC"], u
    u, t = ok(r.cmd("FETCH 1:* (MODSEQ)"))
    modseq = max(int(re.search(r"MODSEQ \((\d+)\)", x).group(1)) for x in u)
    ok(r.cmd("STORE 1 +FLAGS (\\Flagged)"))
    u, t = ok(r.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % modseq))
    assert len(u) == 1 and "\\Flagged" in u[0] and "MODSEQ" in u[0], u
    u, t = r.cmd("STORE 1 (UNCHANGEDSINCE %d) -FLAGS (\\Flagged)" % modseq)
    assert "OK [MODIFIED 1]" in t, t
    # QRESYNC: reselecting with the known UIDVALIDITY and MODSEQ gives what
    # vanished and what changed since.
    ok(r.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(r.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)"))
    u, t = ok(r.cmd("UID EXPUNGE 1:*"))
    assert any(x.startswith("* VANISHED ") for x in u), u
    u, t = ok(r.cmd("SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, modseq)))
    assert "* OK [CLOSED] Previous mailbox closed." in u, u
    assert any(x.startswith("* VANISHED (EARLIER) ") for x in u), u
    assert any(" FETCH (UID " in x and "MODSEQ" in x for x in u), u
    u, t = ok(r.cmd("FETCH 1 (FLAGS)"))
    # 11. QUOTA.
    u, t = ok(r.cmd("GETQUOTAROOT INBOX"))
    assert u[0].startswith("* QUOTAROOT "), u
    # 12. EXAMINE, CHECK, UNSELECT, CLOSE.
    u, t = ok(r.cmd("EXAMINE INBOX"))
    assert "[READ-ONLY]" in t and "* OK [CLOSED] Previous mailbox closed." in u, (u, t)
    u, t = r.cmd("STORE 1 +FLAGS (\\Seen)")
    assert "NO" in t, t
    ok(r.cmd("CHECK"))
    ok(r.cmd("UNSELECT"))
    u, t = r.cmd("FETCH 1 FLAGS")
    assert " BAD " in t, t
    ok(r.cmd("SELECT INBOX"))
    ok(r.cmd("CLOSE"))
    u, t = ok(r.cmd("LOGOUT"))
    assert u[0].startswith("* BYE"), u
    r.close()
    wait_for("logout line", lambda: re.search(r"imap\(%s\): Disconnected: Logged out in=\d+ out=\d+" % re.escape(USER),
                                              log_text()))
    assert re.search(r"imap-login: Login: user=<%s>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+"
                     % re.escape(USER), log_text())

    # 13. AUTHENTICATE PLAIN with SASL-IR, and LOGIN.
    import base64
    r = Raw(A["imap"])
    ir = base64.b64encode(("\0%s\0%s" % (USER, PASS)).encode()).decode()
    u, t = r.cmd("AUTHENTICATE PLAIN " + ir)
    assert "OK" in t and "Logged in" in t, t
    r.close()
    r = Raw(A["imap"])
    r.send("L AUTHENTICATE LOGIN\r\n")
    assert r.line() == "+ VXNlcm5hbWU6"
    r.send(base64.b64encode(USER.encode()).decode() + "\r\n")
    assert r.line() == "+ UGFzc3dvcmQ6"
    r.send(base64.b64encode(PASS.encode()).decode() + "\r\n")
    u, t = r.until("L")
    assert "OK" in t, t
    r.close()

    # 14. Plaintext from another address is refused until STARTTLS.
    r = Raw(A["imap"], source="127.0.0.2")
    assert "LOGINDISABLED" in r.greeting, r.greeting
    u, t = r.cmd('LOGIN "%s" "%s"' % (USER, PASS))
    assert "NO [PRIVACYREQUIRED]" in t, t
    u, t = ok(r.cmd("STARTTLS"))
    r.sock = CTX.wrap_socket(r.sock)
    u, t = ok(r.cmd("CAPABILITY"))
    assert "AUTH=PLAIN" in u[0] and "STARTTLS" not in u[0], u
    ok(r.cmd('LOGIN "%s" "%s"' % (USER, PASS)))
    r.close()
    wait_for("TLS login line", lambda: re.search(r"imap-login: Login: user=<%s>, method=PLAIN, rip=127\.0\.0\.2, "
                                                 r"lip=127\.0\.0\.1, mpid=\d+, TLS" % re.escape(USER), log_text()))
    # imaps.
    r = Raw(A["imaps"], tls=True)
    assert r.greeting.startswith("* OK [CAPABILITY"), r.greeting
    ok(r.cmd('LOGIN "%s" "%s"' % (USER, PASS)))
    r.close()

    # 15. Bounds: an over-long line and too big literals get BAD / NO [TOOBIG]; the session goes on.
    r = Raw(A["imap_small"])
    u, t = r.cmd("NOOP " + "x" * 3000)
    assert " BAD " in t, t
    u, t = r.cmd("LOGIN {5000}")
    assert "[TOOBIG]" in t, t
    r.send("B1 LOGIN {5000+}\r\n" + "y" * 5000 + "\r\n")
    u, t = r.until("B1")
    assert "[TOOBIG]" in t, t
    u, t = ok(r.cmd("NOOP"))
    ok(r.cmd('LOGIN "%s" "%s"' % (USER, PASS)))
    r.send('B2 APPEND INBOX {999999999}\r\n')
    u, t = r.until("B2")
    assert t.startswith("B2 NO [TOOBIG]"), t
    ok(r.cmd("NOOP"))
    r.close()

    # 16. imaplib, a real client library: login, select, fetch, append, idle-free flow.
    m = imaplib.IMAP4("127.0.0.1", A["imap"])
    m.login(USER, PASS)
    typ, data = m.select("INBOX")
    assert typ == "OK", (typ, data)
    count = int(data[0])
    typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER])")
    assert typ == "OK" and len([d for d in data if isinstance(d, tuple)]) == count, data
    typ, data = m.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(time.time()),
                         b"Subject: via imaplib\r\n\r\nbody\r\n")
    assert typ == "OK" and b"APPENDUID" in data[0], data
    typ, data = m.search(None, "FLAGGED")
    assert typ == "OK" and data[0], data
    # A large message is sent from its file (in pieces), byte for byte.
    big = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of a big message\r\n" % i for i in range(30000))
    typ, data = m.append("Work", None, None, big)
    assert typ == "OK", data
    m.select("Work")
    typ, data = m.fetch("*", "(RFC822.SIZE BODY[])")
    assert typ == "OK" and data[0][1] == big, (len(data[0][1]), len(big))
    assert b"RFC822.SIZE %d " % len(big) in data[0][0], data[0][0]
    m.logout()

    # 17. Two sessions on one folder and a delivery: each sees every change once.
    a, b = login(), login()
    ua, _ = ok(a.cmd("SELECT INBOX"))
    ub, _ = ok(b.cmd("SELECT INBOX"))
    n = int([x for x in ua if x.endswith(" EXISTS")][0].split()[1])
    ok(b.cmd("STORE 1 +FLAGS (\\Deleted)"))
    ok(b.cmd("STORE 2 +FLAGS (\\Answered)"))
    u, _ = ok(b.cmd("EXPUNGE"))
    assert u == ["* 1 EXPUNGE"], u
    deliver("third message", "seen by both")
    u, _ = ok(a.cmd("NOOP"))
    assert u.count("* 1 EXPUNGE") == 1 and "* %d EXISTS" % n in u, u
    assert sum(1 for x in u if "FETCH" in x and "\\Answered" in x) == 1, u
    u, _ = ok(a.cmd("NOOP"))
    assert u == [], u
    u, _ = ok(b.cmd("NOOP"))
    assert "* %d EXISTS" % n in u and not any("EXPUNGE" in x for x in u), u
    # No EXPUNGE during FETCH: b expunges, a's FETCH does not report it, a's NOOP does.
    ok(b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(b.cmd("EXPUNGE"))
    u, _ = ok(a.cmd("FETCH 1:* (FLAGS)"))
    assert not any("EXPUNGE" in x for x in u), u
    u, _ = ok(a.cmd("NOOP"))
    assert u.count("* 1 EXPUNGE") == 1, u
    # IDLE: a delivery is pushed while idling.
    a.send("I1 IDLE\r\n")
    assert a.line().startswith("+ ")
    deliver("while idle", "pushed")
    line = a.line()
    assert line.endswith(" EXISTS"), line
    a.send("DONE\r\n")
    u, t = a.until("I1")
    assert t == "I1 OK Idle completed.", t
    a.close()
    b.close()

    with open(os.path.join(A["dir"], "uids.json"), "w") as f:
        m = imaplib.IMAP4("127.0.0.1", A["imap"])
        m.login(USER, PASS)
        m.select("INBOX")
        typ, data = m.uid("SEARCH", None, "ALL")
        json.dump({"uidvalidity": uidvalidity, "uids": data[0].decode()}, f)
        m.logout()


def restart_phase():
    with open(os.path.join(A["dir"], "uids.json")) as f:
        before = json.load(f)
    m = imaplib.IMAP4("127.0.0.1", A["imap"])
    m.login(USER, PASS)
    typ, data = m.select("INBOX")
    assert typ == "OK"
    typ, data = m.status("INBOX", "(UIDVALIDITY)")
    assert ("UIDVALIDITY %d" % before["uidvalidity"]).encode() in data[0], (data, before)
    typ, data = m.uid("SEARCH", None, "ALL")
    assert data[0].decode() == before["uids"], (data, before)
    m.logout()


if __name__ == "__main__":
    if PHASE == "main":
        main_phase()
    else:
        restart_phase()
    print("ok", PHASE)
