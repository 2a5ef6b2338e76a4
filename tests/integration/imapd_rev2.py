"""imapd_rev2.py - imapd.sh's second client (after imapd_client.py main):
IMAP4rev2 (RFC 9051) after ENABLE, LITERAL- on the imap_literal_minus port,
IDLE woken by inotify, and on the limits port (mail_max_userip_connections
= 2, imap_idle_timeout = 5s, imap_idle_notify_interval = 1s) the user+IP
limit, the autologout and "* OK Still here". Argument: imapd.sh's JSON.

Every check that fails raises; the exit status is the verdict.
"""
import os
import re
import socket

from imapd_client import A, Raw, deliver, log_text, login, ok, wait_for

UTF8_NAME = "Entw\u00fcrfe"       # "Entwürfe"
MUTF7_NAME = "Entw&APw-rfe"       # the same in modified UTF-7, as on disk


def untagged_with(lines, word):
    return [x for x in lines if word in x]


def rev2():
    r = login()
    u, t = ok(r.cmd("CAPABILITY"))
    caps = u[0].split()
    assert "IMAP4rev1" in caps and "IMAP4rev2" in caps, caps
    assert "LITERAL+" in caps and "LITERAL-" not in caps, caps  # RFC 7888: one of them
    u, _ = ok(r.cmd("ENABLE IMAP4rev2"))
    assert u == ["* ENABLED IMAP4rev2"], u
    u, _ = ok(r.cmd("ENABLE IMAP4rev2"))  # only once
    assert u == ["* ENABLED"], u

    # Mailbox names are UTF-8 on the wire, modified UTF-7 on disk (Dovecot's layout).
    ok(r.cmd('CREATE "%s"' % UTF8_NAME), "create utf-8")
    assert os.path.isdir(os.path.join(A["maildir"], "." + MUTF7_NAME)), os.listdir(A["maildir"])
    u, _ = ok(r.cmd('LIST "" "Entw*"'))
    assert len(u) == 1 and u[0].endswith(UTF8_NAME) and "&" not in u[0], u
    u, _ = ok(r.cmd('STATUS "%s" (MESSAGES)' % UTF8_NAME))
    assert u and UTF8_NAME in u[0] and "MESSAGES 0" in u[0], u
    r1 = login()  # an IMAP4rev1 session sees the modified UTF-7 name
    u, _ = ok(r1.cmd('LIST "" "Entw*"'))
    assert u == ['* LIST (\\HasNoChildren) "." "%s"' % MUTF7_NAME], u
    # A name with '&' in UTF-8 is "&-" in modified UTF-7.
    ok(r.cmd('CREATE "R&D"'))
    u, _ = ok(r1.cmd('LIST "" "R*"'))
    assert u == ['* LIST (\\HasNoChildren) "." "R&-D"'], u

    # Messages for the folder: one appended by the rev1 session (\Recent there).
    ok(r1.cmd("SELECT INBOX"))
    r1.n += 1
    msg = "Subject: rev2\r\n\r\nfor the IMAP4rev2 session\r\n"
    r1.send("A%d APPEND INBOX {%d+}\r\n%s\r\n" % (r1.n, len(msg), msg))
    ok(r1.until("A%d" % r1.n), "append")

    # SELECT: FLAGS, EXISTS and LIST are required; no RECENT, no [UNSEEN n].
    u, t = ok(r.cmd("SELECT INBOX"))
    assert any(re.fullmatch(r"\* \d+ EXISTS", x) for x in u), u
    assert '* LIST () "." "INBOX"' in u, u
    assert not untagged_with(u, "RECENT") and not untagged_with(u, "[UNSEEN"), u
    n = int(untagged_with(u, " EXISTS")[0].split()[1])
    # Selecting again closes the previous mailbox with [CLOSED] (RFC 9051 7.1).
    u, _ = ok(r.cmd("EXAMINE INBOX"))
    assert u[0] == "* OK [CLOSED] Previous mailbox closed.", u
    ok(r.cmd("SELECT INBOX"))
    # No \Recent in FLAGS.
    u, _ = ok(r.cmd("FETCH 1:* (FLAGS)"))
    assert len(u) == n and not untagged_with(u, "\\Recent"), u
    # SEARCH answers in ESEARCH form (RETURN (ALL) by default).
    tag = "s1"
    u, _ = ok(r.cmd("SEARCH ALL", tag=tag))
    assert u == ['* ESEARCH (TAG "%s") ALL %s' % (tag, "1" if n == 1 else "1:%d" % n)], u
    u, _ = ok(r.cmd('UID SEARCH SUBJECT "no such subject anywhere"', tag="s2"))
    assert u == ['* ESEARCH (TAG "s2") UID'], u
    u, _ = ok(r.cmd("SEARCH RETURN (COUNT) ALL", tag="s3"))
    assert u == ['* ESEARCH (TAG "s3") COUNT %d' % n], u
    # STATUS DELETED counts \Deleted messages.
    ok(r.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    u, _ = ok(r.cmd("STATUS INBOX (DELETED MESSAGES)"))
    assert u == ['* STATUS "INBOX" (DELETED 1 MESSAGES %d)' % n], u
    ok(r.cmd("STORE 1 -FLAGS.SILENT (\\Deleted)"))
    u, _ = ok(r.cmd("LIST \"\" \"INBOX\" RETURN (STATUS (DELETED))"))
    assert '* STATUS "INBOX" (DELETED 0)' in u, u
    # BINARY (part of IMAP4rev2).
    u, _ = ok(r.cmd("FETCH %d (BINARY.SIZE[1] BINARY.PEEK[1])" % n))
    assert "BINARY.SIZE[1] 27" in u[0] and "for the IMAP4rev2 session" in u[0], u
    # LIST: a subscribed mailbox that is gone is \NonExistent.
    ok(r.cmd("CREATE Gone"))
    ok(r.cmd("SUBSCRIBE Gone"))
    os.rename(os.path.join(A["maildir"], ".Gone"), os.path.join(A["dir"], "gone-folder"))
    u, _ = ok(r.cmd('LIST (SUBSCRIBED) "" "Gone"'))
    assert u == ['* LIST (\\NonExistent \\Subscribed) "." "Gone"'], u
    ok(r.cmd("UNSUBSCRIBE Gone"))

    # The IMAP4rev1 session still gets RECENT and the SEARCH response.
    u, _ = ok(r1.cmd("NOOP"))
    u, _ = ok(r1.cmd("SEARCH ALL"))
    assert u and u[0].startswith("* SEARCH"), u
    u, _ = ok(r1.cmd("EXAMINE INBOX"))
    assert untagged_with(u, " RECENT") and not untagged_with(u, "* LIST"), u
    r.close()
    r1.close()


def literal_minus():
    r = Raw(A["imap_minus"])
    caps = r.greeting
    assert " LITERAL-" in caps and "LITERAL+" not in caps, caps
    ok(r.cmd('LOGIN "%s" "%s"' % (A["user"], A["password"])))
    # Up to 4096 bytes a non-synchronising literal is taken.
    small = "Subject: small\r\n\r\n" + "x" * 3000 + "\r\n"
    r.send('M1 APPEND Work {%d+}\r\n%s\r\n' % (len(small), small))
    ok(r.until("M1"), "small non-synchronising literal")
    # Over 4096: BAD [TOOBIG]; the literal is read and thrown away, the session goes on.
    big = "Subject: big\r\n\r\n" + "y" * 5000 + "\r\n"
    r.send('M2 APPEND Work {%d+}\r\n%s\r\n' % (len(big), big))
    u, t = r.until("M2")
    assert t.startswith("M2 BAD [TOOBIG]"), (u, t)
    ok(r.cmd("NOOP"), "after TOOBIG")
    # A synchronising literal of that size is fine.
    r.send('M3 APPEND Work {%d}\r\n' % len(big))
    assert r.line().startswith("+ ")
    r.send(big + "\r\n")
    ok(r.until("M3"), "synchronising literal")
    r.close()


def idle_inotify():
    a, b = login(), login()
    ok(a.cmd("SELECT INBOX"))
    ok(b.cmd("SELECT INBOX"))
    a.send("I1 IDLE\r\n")
    assert a.line().startswith("+ ")
    # A delivery is reported while idling (the fallback poll is 30 s: only
    # the inotify wake-up gets it within the socket's 20 s timeout).
    deliver("during idle", "woken by inotify")
    line = a.line()
    assert re.fullmatch(r"\* \d+ EXISTS", line), line
    n = int(line.split()[1])
    line = a.line()
    assert re.fullmatch(r"\* \d+ RECENT", line), line
    # Another session's flag change (a rename in cur/) too.
    ok(b.cmd("NOOP"))
    ok(b.cmd("STORE %d +FLAGS.SILENT (\\Flagged)" % n))
    line = a.line()
    assert line.startswith("* %d FETCH (" % n) and "\\Flagged" in line, line
    a.send("DONE\r\n")
    u, t = a.until("I1")
    assert t == "I1 OK Idle completed.", (u, t)
    a.close()
    b.close()


def limits():
    port = A["imap_limits"]
    # The first session idles at once: IDLE is exempt from the autologout
    # (5 s on this port), so nothing below races with it.
    first = login(port)
    ok(first.cmd("SELECT INBOX"))
    first.send("I2 IDLE\r\n")
    assert first.line().startswith("+ ")
    second = login(port)
    third = Raw(port)
    u, t = third.cmd('LOGIN "%s" "%s"' % (A["user"], A["password"]))
    assert t.endswith("NO [UNAVAILABLE] Maximum number of connections from user+IP exceeded "
                      "(mail_max_userip_connections=2)"), (u, t)
    wait_for("the limit's log line", lambda: re.search(
        r"imap-login: Maximum number of connections from user\+IP exceeded \(mail_max_userip_connections=2\): "
        r"user=<%s>" % re.escape(A["user"]), log_text()))
    third.close()
    # "* OK Still here" every imap_idle_notify_interval (1 s here).
    assert first.line() == "* OK Still here"
    assert first.line() == "* OK Still here"
    # The other session sends nothing: the autologout ends it.
    second.sock.settimeout(60)
    assert second.line() == "* BYE Disconnected for inactivity."
    try:
        rest = second.sock.recv(100)
    except (ConnectionResetError, socket.timeout) as e:
        raise AssertionError("no EOF after the BYE: %r" % e)
    assert rest == b"", rest
    wait_for("the inactivity log line", lambda: re.search(
        r"imap\(%s\): Disconnected: Inactivity in=\d+ out=\d+" % re.escape(A["user"]), log_text()))
    first.send("DONE\r\n")
    u, t = first.until("I2")
    assert t == "I2 OK Idle completed." and all(x == "* OK Still here" for x in u), (u, t)
    ok(first.cmd("LOGOUT"))
    first.close()


rev2()
literal_minus()
idle_inotify()
limits()
print("ok rev2")
