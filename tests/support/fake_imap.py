#!/usr/bin/env python3
"""fake_imap.py - a minimal IMAP server that answers LOGIN, for saslauthd -a rimap.

Usage: fake_imap.py PORT USERS_FILE [READY_FILE]

USERS_FILE holds "user password" lines. The server greets with "* OK",
answers "TAG LOGIN user password" (atoms or quoted strings) with OK when the
pair is listed and NO otherwise, and LOGOUT with BYE. A user whose password
is "!hang" never gets an answer (a stuck authentication server). It listens on
127.0.0.1 only and writes READY_FILE once it is listening.
"""
import socketserver
import sys
import time


def parse_args(text):
    """IMAP atoms and quoted strings (with \\" and \\\\ escapes)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
        elif text[i] == '"':
            i += 1
            buf = []
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                buf.append(text[i])
                i += 1
            out.append("".join(buf))
            i += 1
        else:
            j = text.find(" ", i)
            j = len(text) if j < 0 else j
            out.append(text[i:j])
            i = j
    return out


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"* OK fake IMAP ready\r\n")
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            parts = line.split(" ", 2)
            if len(parts) < 2:
                self.wfile.write(b"* BAD syntax\r\n")
                continue
            tag, cmd = parts[0], parts[1].upper()
            args = parse_args(parts[2]) if len(parts) > 2 else []
            if cmd == "LOGIN" and len(args) == 2:
                if USERS.get(args[0]) == "!hang":
                    time.sleep(3600)
                ok = USERS.get(args[0]) == args[1]
                self.wfile.write(("%s %s LOGIN\r\n" % (tag, "OK" if ok else "NO")).encode())
            elif cmd == "LOGOUT":
                self.wfile.write(("* BYE\r\n%s OK LOGOUT\r\n" % tag).encode())
                return
            else:
                self.wfile.write(("%s BAD unknown command\r\n" % tag).encode())


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    USERS = {}
    with open(sys.argv[2]) as f:
        for entry in f:
            if entry.strip():
                user, password = entry.split(None, 1)
                USERS[user] = password.rstrip("\n")
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    if len(sys.argv) > 3:
        open(sys.argv[3], "w").close()
    server.serve_forever()
