#!/usr/bin/env python3
"""fake_authd.py - a courier authdaemond stand-in with canned users.

Usage: fake_authd.py SOCKET USERS_FILE REQUEST_LOG

Listens on the UNIX socket SOCKET and answers one courier authdaemond
request per connection, as courier's authdaemond does: "AUTH len" with a
"login" or "cram-md5" body and "PRE . service user". USERS_FILE holds "user password"
lines. A listed user with the right password gets USERNAME/UID/GID/HOME/
ADDRESS lines and "."; others get "FAIL". A user whose password is
"!hang" is never answered (a stuck backend); one whose password is
"!tempfail" gets the connection closed without a reply (courier's
temporary failure: its database is down). Each request is appended to
REQUEST_LOG as one line of Python repr(). The socket appears once the
server listens.
"""
import base64
import hashlib
import hmac
import os
import socket
import sys
import threading


def read_request(conn):
    """The request bytes: NAME=VALUE lines, then the command (and AUTH body)."""
    data = b""
    start = 0  # where the current line begins
    while True:
        while b"\n" not in data[start:]:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
        end = data.index(b"\n", start)
        line = data[start:end]
        if b"=" in line.split(b" ", 1)[0]:
            start = end + 1
            continue
        if line.startswith(b"AUTH "):
            n = int(line[5:])
            while len(data) < end + 1 + n:
                chunk = conn.recv(4096)
                if not chunk:
                    return None
                data += chunk
            return data[: end + 1 + n]
        return data[: end + 1]


def command_of(req):
    """The request without its NAME=VALUE lines."""
    lines = req.split(b"\n")
    while lines and b"=" in lines[0].split(b" ", 1)[0]:
        lines.pop(0)
    return b"\n".join(lines)


def serve(conn, users, log):
    with conn:
        req = read_request(conn)
        if req is None:
            return
        with open(log, "a") as f:
            f.write(repr(req) + "\n")
        cmd = command_of(req)
        lines = cmd.split(b"\n")
        user = password = None
        if lines[0].startswith(b"AUTH "):
            body = cmd.split(b"\n", 1)[1].split(b"\n")
            if len(body) >= 4 and body[1] == b"login":
                user, password = body[2].decode(), body[3].decode()
            elif len(body) >= 4 and body[1] == b"cram-md5":
                # challenge and "user hexdigest", both base64
                challenge = base64.b64decode(body[2])
                user, digest = base64.b64decode(body[3]).decode().rsplit(" ", 1)
                stored = users.get(user, "")
                want = hmac.new(stored.encode(), challenge, hashlib.md5).hexdigest()
                password = stored if hmac.compare_digest(want, digest.lower()) else None
                if password is None:
                    conn.sendall(b"FAIL\n")
                    return
        elif lines[0].startswith(b"PRE "):
            user = lines[0].split(b" ", 3)[3].decode()
        stored = users.get(user)
        if stored == "!hang":
            conn.recv(1)  # until the client gives up
            return
        if stored == "!tempfail":
            return
        if stored is None or (password is not None and password != stored):
            conn.sendall(b"FAIL\n")
            return
        conn.sendall(("USERNAME=vmail\nUID=2000\nGID=2000\nHOME=/var/mailbox/%s\nADDRESS=%s\n.\n"
                      % (user, user)).encode())


def main():
    path, users_file, log = sys.argv[1:4]
    users = {}
    with open(users_file) as f:
        for line in f:
            if line.strip():
                u, p = line.split(None, 1)
                users[u] = p.strip()
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path + ".tmp")
    os.chmod(path + ".tmp", 0o666)  # smtpd runs as mail_owner
    s.listen(16)
    os.rename(path + ".tmp", path)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, users, log), daemon=True).start()


if __name__ == "__main__":
    main()
