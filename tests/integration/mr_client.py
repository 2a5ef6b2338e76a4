#!/usr/bin/env python3
"""mr_client.py PORT CMD... - talk to the mr-testd echo service.

Connects to 127.0.0.1:PORT, sends each CMD as a line and prints each reply
line. "QUIT" ends the session without waiting for a reply. Exit status 1
when the connection fails or a reply does not arrive within 30 seconds.
"""
import socket
import sys


def main() -> int:
    port = int(sys.argv[1])
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        f = s.makefile("rw")
        for cmd in sys.argv[2:]:
            f.write(cmd + "\n")
            f.flush()
            if cmd == "QUIT":
                break
            line = f.readline()
            if not line:
                print("connection closed", file=sys.stderr)
                return 1
            print(line.strip())
        s.close()
    except OSError as e:
        print(f"mr_client: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
