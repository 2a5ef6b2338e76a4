#!/usr/bin/env python3
"""smtpd_dialogue.py PORT < SCRIPT - replay an SMTP dialogue line by line.

Each script line is one step:
  > text        send text followed by CRLF (as telnet does)
  >> literal    send raw bytes, written as a Python bytes literal: b"a\\n.\\n"
  < regex       read one complete reply; its last line must match regex
                (re.fullmatch); earlier lines of a multi-line reply are kept
  << regex      as "<", but any line of the reply may match
  closed        the server must close the connection now
  # ...         comment; blank lines are ignored
Prints every reply line; exit status 1 on the first mismatch, a timeout
(30 s) or a connection failure.
"""
import ast
import re
import socket
import sys


def read_reply(f):
    lines = []
    while True:
        raw = f.readline()
        if not raw:
            return lines, True
        line = raw.decode("latin-1").rstrip("\r\n")
        print("S: " + line)
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            return lines, False


def main() -> int:
    port = int(sys.argv[1])
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError as e:
        print(f"connect: {e}", file=sys.stderr)
        return 1
    f = s.makefile("rb")
    for n, step in enumerate(sys.stdin.read().splitlines(), 1):
        if not step.strip() or step.startswith("#"):
            continue
        try:
            if step.startswith(">> "):
                data = ast.literal_eval(step[3:])
                print("C: " + repr(data))
                s.sendall(data)
            elif step.startswith("> ") or step == ">":
                text = step[2:]
                print("C: " + text)
                s.sendall(text.encode("latin-1") + b"\r\n")
            elif step.startswith("<< ") or step.startswith("< "):
                anyline = step.startswith("<< ")
                pattern = step[3:] if anyline else step[2:]
                lines, eof = read_reply(f)
                if not lines:
                    print(f"line {n}: connection closed, expected {pattern!r}", file=sys.stderr)
                    return 1
                candidates = lines if anyline else lines[-1:]
                if not any(re.fullmatch(pattern, l) for l in candidates):
                    print(f"line {n}: reply {lines!r} does not match {pattern!r}", file=sys.stderr)
                    return 1
            elif step == "closed":
                rest = f.read()
                if rest:
                    print(f"line {n}: expected close, got {rest!r}", file=sys.stderr)
                    return 1
            else:
                print(f"line {n}: bad script step {step!r}", file=sys.stderr)
                return 1
        except (OSError, socket.timeout) as e:
            print(f"line {n}: {e}", file=sys.stderr)
            return 1
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
