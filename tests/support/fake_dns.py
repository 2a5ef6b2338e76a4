#!/usr/bin/env python3
"""fake_dns.py - a tiny authoritative DNS server for tests (UDP and TCP).

Usage: fake_dns.py [--port N] [--port-file F] [--query-log F] [--zone FILE] [RECORD ...]

Each record (a zone file line or a command-line argument) is
    NAME TYPE VALUE
with TYPE one of A, AAAA, PTR, MX ("PREF HOST", "0 ." is a null MX), TXT,
or the special forms
    NAME SERVFAIL        answer SERVFAIL for every question about NAME
    NAME DROP            never answer questions about NAME (a timeout)
A name absent from the zone gets NXDOMAIN; a known name asked for a type
it lacks gets an empty NOERROR answer (NODATA). Listens on 127.0.0.1 (port
0 = any free port) and prints the port on stdout, or writes it to the port
file, once both sockets are bound. Lines starting with '#' are comments.
With --query-log, each question is appended to that file as "NAME TYPE"
(the type's number) when it arrives, so a test can wait for a lookup to
be under way.
"""
import argparse
import ipaddress
import socket
import struct
import sys
import threading

TYPES = {"A": 1, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, pos):
    labels = []
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            ptr = struct.unpack("!H", msg[pos:pos + 2])[0] & 0x3FFF
            rest, _ = read_name(msg, ptr)
            labels.append(rest)
            return ".".join(x for x in labels if x), pos + 2
        pos += 1
        if n == 0:
            return ".".join(labels), pos
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n


def rdata(rtype, value):
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype == "PTR":
        return encode_name(value)
    if rtype == "MX":
        pref, host = value.split(None, 1)
        return struct.pack("!H", int(pref)) + (b"\0" if host.strip() == "." else encode_name(host.strip()))
    if rtype == "TXT":
        data = value.encode()
        out = b""
        for i in range(0, max(len(data), 1), 255):
            chunk = data[i:i + 255]
            out += bytes([len(chunk)]) + chunk
        return out
    raise ValueError(rtype)


class Zone:
    def __init__(self):
        self.query_log = None
        self.log_lock = threading.Lock()
        self.records = {}  # name -> list of (type, value)

    def add(self, line):
        line = line.strip()
        if not line or line.startswith("#"):
            return
        parts = line.split(None, 2)
        name = parts[0].rstrip(".").lower()
        rtype = parts[1].upper()
        value = parts[2] if len(parts) > 2 else ""
        self.records.setdefault(name, []).append((rtype, value))

    def answer(self, query):
        if len(query) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", query[:6])
        if qd < 1:
            return None
        qname, pos = read_name(query, 12)
        qtype, qclass = struct.unpack("!HH", query[pos:pos + 4])
        question = query[12:pos + 4]
        if self.query_log:
            with self.log_lock, open(self.query_log, "a") as f:
                f.write("%s %d\n" % (qname.lower(), qtype))
        recs = self.records.get(qname.lower())
        rcode = 0
        answers = []
        if recs is None:
            rcode = 3
        elif any(t == "DROP" for t, _ in recs):
            return None
        elif any(t == "SERVFAIL" for t, _ in recs):
            rcode = 2
        else:
            for t, v in recs:
                if TYPES.get(t) == qtype:
                    answers.append(encode_name(qname) + struct.pack("!HHIH", qtype, 1, 60, len(rdata(t, v)))
                                   + rdata(t, v))
        rflags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode
        header = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0)
        return header + question + b"".join(answers)


def serve_udp(sock, zone):
    while True:
        data, addr = sock.recvfrom(4096)
        try:
            reply = zone.answer(data)
        except Exception:  # malformed question: no answer
            reply = None
        if reply is not None:
            sock.sendto(reply, addr)


def serve_tcp_client(conn, zone):
    with conn:
        while True:
            head = conn.recv(2)
            if len(head) < 2:
                return
            n = struct.unpack("!H", head)[0]
            data = b""
            while len(data) < n:
                more = conn.recv(n - len(data))
                if not more:
                    return
                data += more
            reply = zone.answer(data)
            if reply is not None:
                conn.sendall(struct.pack("!H", len(reply)) + reply)


def serve_tcp(sock, zone):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_client, args=(conn, zone), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--zone")
    ap.add_argument("--query-log")
    ap.add_argument("records", nargs="*")
    args = ap.parse_args()
    zone = Zone()
    zone.query_log = args.query_log
    if args.zone:
        with open(args.zone) as f:
            for line in f:
                zone.add(line)
    for r in args.records:
        zone.add(r)
    # Bind UDP and TCP on the same free port.
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", args.port))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(("127.0.0.1", port))
            break
        except OSError:
            udp.close()
            tcp.close()
            if args.port:
                raise
    tcp.listen(16)
    threading.Thread(target=serve_tcp, args=(tcp, zone), daemon=True).start()
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(args.port_file + ".tmp", args.port_file)
    else:
        print(port, flush=True)
    serve_udp(udp, zone)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
