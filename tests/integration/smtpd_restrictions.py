#!/usr/bin/env python3
"""smtpd_restrictions.py - every smtpd restriction and access action, one
smtpd service per case, driven with smtplib (one command at a time) and,
for the cases that end at MAIL/RCPT, again with swaks --pipeline.

  smtpd_restrictions.py setup DIR DNSPORT   writes DIR/master.cf.add (one
                                            smtpd service per case on a free
                                            port), DIR/ports.json and the
                                            access tables the cases use
  smtpd_restrictions.py run DIR LOG         runs every case, then checks
                                            the log lines the cases expect
Exit status 1 with a list of the cases that failed.
"""
import json
import os
import re
import smtplib
import socket
import subprocess
import sys

INSIDE = "127.0.0.1"   # in mynetworks
OUTSIDE = "127.0.0.2"  # not in mynetworks, no PTR
NAMED = "127.0.0.3"    # not in mynetworks, PTR bad.client.test -> 127.0.0.3

TABLES = {
    "helo_access": "evil.test REJECT go away\nfriendly.test OK\n",
    "sender_access": "\n".join([
        "ok@s.test OK",
        "num@s.test 123",
        "rej@s.test REJECT go away",
        "def@s.test DEFER come back later",
        "c4@s.test 451 slow down",
        "c5@s.test 550 5.7.9 not here",
        "dunno@s.test DUNNO",
        "warn@s.test WARN looks odd",
        "info@s.test INFO noted",
        "discard@s.test DISCARD",
        "prepend@s.test PREPEND X-Tag: yes",
        "class@s.test strict",
    ]) + "\n",
    "recipient_access": "protected@mx.example.test strict\nclosed@mx.example.test REJECT\n",
    "local_users": "known known\npostmaster postmaster\n",
}


# Each case: name, the service's -o overrides, the client address, the
# dialogue (helo, mail, rcpt list; None = skip that step), the reply
# expected at the first step that is not 2xx (None: everything accepted),
# where it is expected ("helo", "mail", "rcpt", "data", "eod", "etrn").
CASES = []


def case(name, overrides, expect, stage="rcpt", client=OUTSIDE, helo="client.example.test",
         mail="sender@example.test", rcpt=("known@mx.example.test",), data=True, etrn=None, ehlo=True,
         pipeline=True):
    CASES.append(dict(name=name, overrides=overrides, expect=expect, stage=stage, client=client, helo=helo,
                      mail=mail, rcpt=list(rcpt), data=data, etrn=etrn, ehlo=ehlo, pipeline=pipeline))


case("permit", {"smtpd_recipient_restrictions": "permit,reject"}, None)
case("reject", {"smtpd_recipient_restrictions": "reject"},
     "554 5.7.1 <known@mx.example.test>: Recipient address rejected: Access denied")
case("defer", {"smtpd_recipient_restrictions": "defer"},
     "450 4.3.2 <known@mx.example.test>: Recipient address rejected: Try again later")
case("permit_mynetworks inside", {"smtpd_client_restrictions": "permit_mynetworks,reject"}, None, client=INSIDE)
case("permit_mynetworks outside", {"smtpd_client_restrictions": "permit_mynetworks,reject"},
     "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: Access denied")
case("relay denied by default", {}, "454 4.7.1 <x@far.test>: Relay access denied", rcpt=("x@far.test",))
case("relay allowed for mynetworks", {}, None, client=INSIDE, rcpt=("x@far.test",))
case("relay_domains", {}, None, rcpt=("x@relay.test",))
case("reject_unauth_destination", {"smtpd_relay_restrictions": "permit_mynetworks,reject_unauth_destination"},
     "554 5.7.1 <x@far.test>: Relay access denied", rcpt=("x@far.test",))
case("defer_unauth_destination", {"smtpd_relay_restrictions": "defer_unauth_destination"},
     "454 4.7.1 <x@far.test>: Relay access denied", rcpt=("x@far.test",))
case("permit_auth_destination", {"smtpd_relay_restrictions": "permit_auth_destination,reject"}, None)
case("permit_auth_destination remote", {"smtpd_relay_restrictions": "permit_auth_destination,reject"},
     "554 5.7.1 <x@far.test>: Recipient address rejected: Access denied", rcpt=("x@far.test",))
case("reject_unlisted_recipient",
     {"smtpd_reject_unlisted_recipient": "no", "smtpd_recipient_restrictions": "reject_unlisted_recipient",
      "local_recipient_maps": "texthash:${T}/local_users"},
     "550 5.1.1 <ghost@mx.example.test>: Recipient address rejected: User unknown in local recipient table",
     rcpt=("ghost@mx.example.test",))
case("smtpd_reject_unlisted_recipient", {"local_recipient_maps": "texthash:${T}/local_users"},
     "550 5.1.1 <ghost@mx.example.test>: Recipient address rejected: User unknown in local recipient table",
     rcpt=("ghost@mx.example.test",))
case("reject_unlisted_recipient listed",
     {"smtpd_recipient_restrictions": "reject_unlisted_recipient", "local_recipient_maps": "texthash:${T}/local_users"},
     None)
case("reject_unlisted_sender",
     {"smtpd_sender_restrictions": "reject_unlisted_sender", "local_recipient_maps": "texthash:${T}/local_users"},
     "550 5.1.0 <ghost@mx.example.test>: Sender address rejected: User unknown in local recipient table",
     mail="ghost@mx.example.test")
for old, new in (("reject_invalid_helo_hostname", "reject_invalid_hostname"),):
    for n in (old, new):
        case(n, {"smtpd_helo_restrictions": n},
             "501 5.5.2 <bad_name!>: Helo command rejected: Invalid name", helo="bad_name!")
for n in ("reject_non_fqdn_helo_hostname", "reject_non_fqdn_hostname"):
    case(n, {"smtpd_helo_restrictions": n},
         "504 5.5.2 <PXE1>: Helo command rejected: need fully-qualified hostname", helo="PXE1")
for n in ("reject_unknown_helo_hostname", "reject_unknown_hostname"):
    case(n, {"smtpd_helo_restrictions": n},
         "450 4.7.1 <nohost.test>: Helo command rejected: Host not found", helo="nohost.test")
case("reject_unknown_helo_hostname known", {"smtpd_helo_restrictions": "reject_unknown_helo_hostname"}, None,
     helo="mail.good.test")
case("smtpd_helo_required", {"smtpd_helo_required": "yes"}, "503 5.5.1 Error: send HELO/EHLO first",
     stage="mail", helo=None, pipeline=False)
case("reject_non_fqdn_sender", {"smtpd_sender_restrictions": "reject_non_fqdn_sender"},
     "504 5.5.2 <hadoop>: Sender address rejected: need fully-qualified address", mail="hadoop")
case("reject_non_fqdn_recipient", {"smtpd_recipient_restrictions": "reject_non_fqdn_recipient"},
     "504 5.5.2 <openstack>: Recipient address rejected: need fully-qualified address", client=INSIDE,
     rcpt=("openstack",))
case("reject_unknown_sender_domain", {"smtpd_sender_restrictions": "reject_unknown_sender_domain"},
     "450 4.1.8 <x@nodomain.test>: Sender address rejected: Domain not found", mail="x@nodomain.test")
case("reject_unknown_recipient_domain", {"smtpd_recipient_restrictions": "reject_unknown_recipient_domain"},
     "450 4.1.2 <x@nodomain.test>: Recipient address rejected: Domain not found", client=INSIDE,
     rcpt=("x@nodomain.test",))
case("reject_unknown_reverse_client_hostname",
     {"smtpd_peername_lookup": "yes", "smtpd_client_restrictions": "reject_unknown_reverse_client_hostname"},
     "450 4.7.1 Client host rejected: cannot find your reverse hostname, [127.0.0.2]")
case("reject_unknown_client_hostname",
     {"smtpd_peername_lookup": "yes", "smtpd_client_restrictions": "reject_unknown_client_hostname"},
     "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.2]")
case("reject_unknown_client_hostname named",
     {"smtpd_peername_lookup": "yes", "smtpd_client_restrictions": "reject_unknown_client_hostname"}, None,
     client=NAMED)
case("reject_rbl_client", {"smtpd_client_restrictions": "reject_rbl_client,rbl.test"},
     "554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using rbl.test")
case("reject_rbl_client clean", {"smtpd_client_restrictions": "reject_rbl_client,rbl.test"}, None, client=NAMED)
case("reject_rhsbl_sender", {"smtpd_sender_restrictions": "reject_rhsbl_sender,rhs.test"},
     "554 5.7.1 Service unavailable; Sender address [spam.test] blocked using rhs.test", mail="x@spam.test")
case("reject_rhsbl_client",
     {"smtpd_peername_lookup": "yes", "smtpd_client_restrictions": "reject_rhsbl_client,rhs.test"},
     "554 5.7.1 Service unavailable; Client host [bad.client.test] blocked using rhs.test", client=NAMED)
case("reject_rhsbl_helo", {"smtpd_helo_restrictions": "reject_rhsbl_helo,rhs.test"},
     "554 5.7.1 Service unavailable; Helo command [badhelo.test] blocked using rhs.test", helo="badhelo.test")
case("check_helo_access", {"smtpd_helo_restrictions": "check_helo_access,texthash:${T}/helo_access"},
     "554 5.7.1 <evil.test>: Helo command rejected: go away", helo="evil.test")
case("check_helo_access OK",
     {"smtpd_helo_restrictions": "check_helo_access,texthash:${T}/helo_access,reject"}, None, helo="friendly.test")
case("check_client_access", {"smtpd_client_restrictions": "check_client_access,inline:{127.0.0.2=REJECT}"},
     "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: Access denied")
case("check_recipient_access", {"smtpd_recipient_restrictions": "check_recipient_access,texthash:${T}/recipient_access"},
     "554 5.7.1 <closed@mx.example.test>: Recipient address rejected: Access denied", rcpt=("closed@mx.example.test",))
SA = {"smtpd_sender_restrictions": "check_sender_access,texthash:${T}/sender_access,reject",
      "smtpd_restriction_classes": "strict", "strict": "reject_non_fqdn_helo_hostname"}
case("access OK", SA, None, mail="ok@s.test")
case("access all-numeric", SA, None, mail="num@s.test")
case("access REJECT text", SA, "554 5.7.1 <rej@s.test>: Sender address rejected: go away", mail="rej@s.test")
case("access DEFER text", SA, "450 4.7.1 <def@s.test>: Sender address rejected: come back later", mail="def@s.test")
case("access 4NN text", SA, "451 4.7.1 <c4@s.test>: Sender address rejected: slow down", mail="c4@s.test")
case("access 5NN text", SA, "550 5.7.9 <c5@s.test>: Sender address rejected: not here", mail="c5@s.test")
case("access DUNNO", SA, "554 5.7.1 <dunno@s.test>: Sender address rejected: Access denied", mail="dunno@s.test")
case("access WARN", {**SA, "smtpd_sender_restrictions": "check_sender_access,texthash:${T}/sender_access"}, None,
     mail="warn@s.test")
case("access INFO", {**SA, "smtpd_sender_restrictions": "check_sender_access,texthash:${T}/sender_access"}, None,
     mail="info@s.test")
case("access DISCARD", SA, None, mail="discard@s.test")
case("access PREPEND", {**SA, "smtpd_sender_restrictions": "check_sender_access,texthash:${T}/sender_access"}, None,
     mail="prepend@s.test")
case("access restriction class", SA,
     "504 5.5.2 <PXE1>: Helo command rejected: need fully-qualified hostname", mail="class@s.test", helo="PXE1")
case("smtpd_restriction_classes from a recipient table",
     {"smtpd_recipient_restrictions": "check_recipient_access,texthash:${T}/recipient_access",
      "smtpd_restriction_classes": "strict", "strict": "reject_non_fqdn_sender"},
     "504 5.5.2 <hadoop>: Sender address rejected: need fully-qualified address", mail="hadoop",
     rcpt=("protected@mx.example.test",))
case("warn_if_reject", {"smtpd_recipient_restrictions": "warn_if_reject,reject_non_fqdn_recipient"}, None,
     client=INSIDE, rcpt=("openstack",))
case("smtpd_data_restrictions", {"smtpd_data_restrictions": "reject"},
     "554 5.7.1 <DATA>: Data command rejected: Access denied", stage="data", pipeline=False)
case("reject_unauth_pipelining",
     {"smtpd_data_restrictions": "reject_unauth_pipelining", "smtpd_forbid_unauth_pipelining": "no"},
     "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining", stage="data",
     ehlo=False, pipeline=False)
case("smtpd_end_of_data_restrictions", {"smtpd_end_of_data_restrictions": "reject"},
     "554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: Access denied", stage="eod", pipeline=False)
case("smtpd_etrn_restrictions", {"smtpd_etrn_restrictions": "reject"},
     "554 5.7.1 <far.test>: Etrn command rejected: Access denied", stage="etrn", etrn="far.test", pipeline=False)
case("smtpd_delay_reject no", {"smtpd_delay_reject": "no", "smtpd_client_restrictions": "reject"},
     "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: Access denied", stage="helo", pipeline=False)

# Log lines the cases above must leave (regexes).
LOG_EXPECT = [
    r"NOQUEUE: warn: RCPT from unknown\[127\.0\.0\.2\]: looks odd; from=<warn@s\.test> to=<known@mx\.example\.test> proto=ESMTP helo=<client\.example\.test>",
    r"NOQUEUE: info: RCPT from unknown\[127\.0\.0\.2\]: noted; from=<info@s\.test> to=<known@mx\.example\.test> proto=ESMTP helo=<client\.example\.test>",
    r"discard: RCPT from unknown\[127\.0\.0\.2\]: <discard@s\.test>: Sender address triggers DISCARD action",
    r"reject_warning: RCPT from unknown\[127\.0\.0\.1\]: 504 5\.5\.2 <openstack>: Recipient address rejected: need fully-qualified address",
    r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: 554 5\.7\.1 <rej@s\.test>: Sender address rejected: go away; from=<rej@s\.test> to=<known@mx\.example\.test> proto=ESMTP helo=<client\.example\.test>",
    r"improper command pipelining after MAIL from unknown\[127\.0\.0\.2\]",
]


def subst(v, tdir):
    return v.replace("${T}", tdir)


def setup(tdir, dnsport):
    for name, text in TABLES.items():
        with open(os.path.join(tdir, name), "w") as f:
            f.write(text)
    ports = {}
    lines = []
    held = []  # kept bound until every case has its own port
    for c in CASES:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        held.append(s)
        port = s.getsockname()[1]
        ports[c["name"]] = port
        opts = " ".join(f"-o {k}={subst(v, tdir)}" for k, v in c["overrides"].items())
        lines.append(f"127.0.0.1:{port} inet n - n - - smtpd -o dns_servers=127.0.0.1:{dnsport} {opts}")
    for s in held:
        s.close()
    with open(os.path.join(tdir, "master.cf.add"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(tdir, "ports.json"), "w") as f:
        json.dump(ports, f)


class Rejected(Exception):
    def __init__(self, stage, code, text):
        super().__init__(f"{stage}: {code} {text}")
        self.stage, self.reply = stage, f"{code} {text}"


def reply_text(resp):
    return resp.decode("latin-1") if isinstance(resp, bytes) else str(resp)


def run_smtplib(c, port):
    """Runs the case's dialogue one command at a time; returns (stage, reply) of the first non-2xx/3xx reply."""
    s = smtplib.SMTP(timeout=20, source_address=(c["client"], 0))
    try:
        code, msg = s.connect("127.0.0.1", port)
    except smtplib.SMTPConnectError as e:
        return "connect", f"{e.smtp_code} {reply_text(e.smtp_error)}"
    try:
        if c["stage"] == "data" and not c["ehlo"]:
            # HELO (no PIPELINING) and the transaction in one write.
            s.helo(c["helo"])
            s.send(f"MAIL FROM:<{c['mail']}>\r\nRCPT TO:<{c['rcpt'][0]}>\r\nDATA\r\n")
            for stage in ("mail", "rcpt", "data"):
                code, msg = s.getreply()
                if code >= 400:
                    return stage, f"{code} {reply_text(msg)}"
            return None, None
        if c["helo"] is not None:
            code, msg = s.ehlo(c["helo"]) if c["ehlo"] else s.helo(c["helo"])
            if code >= 400:
                return "helo", f"{code} {reply_text(msg)}"
        if c["etrn"]:
            code, msg = s.docmd("ETRN", c["etrn"])
            return ("etrn", f"{code} {reply_text(msg)}") if code >= 400 else (None, None)
        code, msg = s.docmd("MAIL", f"FROM:<{c['mail']}>")
        if code >= 400:
            return "mail", f"{code} {reply_text(msg)}"
        for r in c["rcpt"]:
            code, msg = s.docmd("RCPT", f"TO:<{r}>")
            if code >= 400:
                return "rcpt", f"{code} {reply_text(msg)}"
        if not c["data"]:
            return None, None
        code, msg = s.docmd("DATA")
        if code != 354:
            return "data", f"{code} {reply_text(msg)}"
        s.send(f"Subject: {c['name']}\r\n\r\nbody\r\n.\r\n")
        code, msg = s.getreply()
        if code >= 400:
            return "eod", f"{code} {reply_text(msg)}"
        return None, None
    finally:
        try:
            s.quit()
        except Exception:
            s.close()


def run_swaks(c, port):
    """The same MAIL/RCPT dialogue with swaks --pipeline; returns swaks's transcript."""
    args = ["swaks", "--server", "127.0.0.1", "--port", str(port), "--local-interface", c["client"],
            "--helo", c["helo"], "--from", c["mail"], "--to", ",".join(c["rcpt"]), "--pipeline",
            "--timeout", "20", "--body", "pipelined " + c["name"]]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return p.stdout + p.stderr


def run(tdir, log):
    with open(os.path.join(tdir, "ports.json")) as f:
        ports = json.load(f)
    failed = []
    for c in CASES:
        port = ports[c["name"]]
        try:
            stage, reply = run_smtplib(c, port)
        except Exception as e:  # a dropped connection or timeout is a failure of the case
            failed.append(f"{c['name']}: smtplib: {e!r}")
            continue
        if c["expect"] is None:
            if stage is not None:
                failed.append(f"{c['name']}: expected acceptance, got at {stage}: {reply}")
        elif (stage, reply) != (c["stage"], c["expect"]):
            failed.append(f"{c['name']}: expected at {c['stage']}: {c['expect']!r}, got at {stage}: {reply!r}")
        if c["pipeline"] and c["helo"] is not None:
            out = run_swaks(c, port)
            if "PIPELINING" not in out:
                failed.append(f"{c['name']}: swaks: no PIPELINING in EHLO:\n{out}")
            elif c["expect"] is None:
                if not re.search(r"<[-~] +250 2\.0\.0 Ok: queued as [0-9A-F]+", out):
                    failed.append(f"{c['name']}: swaks --pipeline: not queued:\n{out}")
            elif not re.search(r"<\*\* +" + re.escape(c["expect"]) + r"$", out, re.M):
                failed.append(f"{c['name']}: swaks --pipeline: no {c['expect']!r}:\n{out}")
        print(f"case ok: {c['name']}" if not failed or not failed[-1].startswith(c["name"] + ":") else
              f"case FAILED: {c['name']}")
    with open(log, encoding="latin-1") as f:
        text = f.read()
    for pat in LOG_EXPECT:
        if not re.search(pat, text):
            failed.append(f"log: no line matching {pat!r}")
    if failed:
        print("FAILED:\n" + "\n".join(failed), file=sys.stderr)
        return 1
    print(f"{len(CASES)} cases ok")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(run(sys.argv[2], sys.argv[3]))
