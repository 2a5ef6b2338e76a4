"""smtp_telnet.py - a line-at-a-time SMTP client for the integration tests.

Telnet(port) connects to 127.0.0.1:port (30 s timeout). reply() reads one
complete reply as a list of lines ("<closed>" when the server closed),
say(line) sends a line with CRLF and returns its reply, expect(line, want)
asserts the reply, timed(line) returns the reply and the seconds it took.
Imported by the scripts' inline Python (PYTHONPATH=$HERE).
"""
import socket
import time


class Telnet:
    """The seed's telnet session: one line, then its reply."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rb")

    def reply(self):
        out = []
        while True:
            line = self.f.readline()
            if not line:
                out.append("<closed>")
                return out
            out.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return out

    def say(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def expect(self, line, want):
        got = self.say(line)
        assert got == want, (line, got, want)
        return got

    def timed(self, line):
        start = time.monotonic()
        got = self.say(line)
        return got, time.monotonic() - start
