#!/usr/bin/python3
"""smtp_script_peer.py - an SMTP server whose misbehaviour the smtp client's
integration tests choose (smtp_failover.sh).

    smtp_script_peer.py --spool DIR --ready FILE --listen ADDR:PORT [options]

Options:
  --greeting TEXT       the greeting reply (default "220 peer.test ESMTP")
  --mail-reply TEXT     the reply to every MAIL FROM (default "250 2.1.0 Ok")
  --rcpt-defer PREFIX   RCPT TO of a local part starting with PREFIX gets
                        "450 4.2.0 <addr>: try again"
  --drop-after-mail     the connection is closed when MAIL FROM arrives
  --close-second-mail   on the second MAIL FROM of one connection, close it
                        without a reply (a cached session the server ended)
  --no-8bitmime         EHLO does not announce 8BITMIME
  --auth-reply TEXT     announce AUTH PLAIN LOGIN and answer AUTH with TEXT

EHLO announces PIPELINING, SIZE and 8BITMIME. Every message accepted goes
to DIR/msg.N: "MAIL FROM:<...> PARAMS" and "RCPT TO:<...>" lines as they
came, "CONN: port" (the client's port), an empty line, then the content as
received (CRLF, dots as sent). A connection that ends with QUIT leaves an
empty DIR/quit.PORT. FILE is written once the server listens.
"""
import argparse
import asyncio
import os
import sys


class Peer:
    def __init__(self, a):
        self.a = a
        self.count = 0

    async def session(self, reader, writer):
        a = self.a
        port = writer.get_extra_info("peername")[1]
        mails = 0
        env = []

        def send(text):
            writer.write((text + "\r\n").encode())

        send(a.greeting)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                cmd = line.decode("latin-1").rstrip("\r\n")
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "LHLO"):
                    keys = ["peer.test", "PIPELINING", "SIZE 10240000"]
                    if not a.no_8bitmime:
                        keys.append("8BITMIME")
                    if a.auth_reply:
                        keys.append("AUTH PLAIN LOGIN")
                    for k in keys[:-1]:
                        send("250-" + k)
                    send("250 " + keys[-1])
                elif verb == "HELO":
                    send("250 peer.test")
                elif verb == "AUTH":
                    send(a.auth_reply)
                elif verb == "MAIL":
                    mails += 1
                    if a.drop_after_mail or (a.close_second_mail and mails == 2):
                        return
                    env = [cmd]
                    send(a.mail_reply)
                elif verb == "RCPT":
                    addr = cmd.split(":", 1)[1].strip().split(" ")[0].strip("<>")
                    if not a.mail_reply.startswith("2"):
                        send("503 5.5.1 Error: need MAIL command")
                    elif a.rcpt_defer and addr.split("@")[0].startswith(a.rcpt_defer):
                        send("450 4.2.0 <%s>: try again" % addr)
                    else:
                        env.append(cmd)
                        send("250 2.1.5 Ok")
                elif verb == "DATA":
                    if len(env) < 2:
                        send("554 5.5.1 Error: no valid recipients")
                        continue
                    send("354 End data with <CR><LF>.<CR><LF>")
                    await writer.drain()
                    body = b""
                    while True:
                        l = await reader.readline()
                        if not l:
                            return
                        if l == b".\r\n":
                            break
                        body += l
                    n = self.count
                    self.count += 1
                    tmp = os.path.join(a.spool, ".tmp.%d" % n)
                    with open(tmp, "wb") as f:
                        for e in env:
                            f.write(e.encode("latin-1") + b"\n")
                        f.write(b"CONN: %d\n\n" % port)
                        f.write(body)
                    os.rename(tmp, os.path.join(a.spool, "msg.%d" % n))
                    env = []
                    send("250 2.0.0 Ok: queued as SCRIPT%d" % n)
                elif verb == "RSET":
                    env = []
                    send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    send("221 2.0.0 Bye")
                    await writer.drain()
                    with open(os.path.join(a.spool, "quit.%d" % port), "wb"):
                        pass
                    return
                else:
                    send("502 5.5.2 Error: command not recognized")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spool", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--greeting", default="220 peer.test ESMTP")
    ap.add_argument("--mail-reply", default="250 2.1.0 Ok")
    ap.add_argument("--rcpt-defer")
    ap.add_argument("--drop-after-mail", action="store_true")
    ap.add_argument("--close-second-mail", action="store_true")
    ap.add_argument("--no-8bitmime", action="store_true")
    ap.add_argument("--auth-reply")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    server = await asyncio.start_server(Peer(a).session, host, int(port), reuse_address=True, limit=1 << 20)
    with open(a.ready, "w") as f:
        f.write("ready\n")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
