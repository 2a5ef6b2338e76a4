#!/usr/bin/env python3
"""postconf command-line behaviour, driven through the real binary."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

BIN = os.environ.get("MAILROOM_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
SRC = os.environ.get("MAILROOM_SRC", os.path.join(os.path.dirname(__file__), "../.."))
POSTCONF = os.path.join(BIN, "postconf")
SEED = os.path.join(SRC, "tests/data/seed")

COMMENTED_MAIN_CF = """# Global mailroom configuration file. This file lists only a subset
# of all parameters. For the syntax, and for a complete parameter
# list, see `postconf -d`.

# LOCAL PATHNAME INFORMATION
#
queue_directory = /var/spool/mailroom

#myhostname = host.domain.tld
#myhostname = virtual.domain.tld
myhostname = old.example.com

mydestination = $myhostname, localhost.$mydomain,
\tlocalhost, $mydomain
# trailing comment

\t# indented comment
mynetworks = 127.0.0.0/8
"""

MASTER_CF = """# service type  private unpriv  chroot  wakeup  maxproc command + args
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
#submission inet n       -       n       -       -       smtpd
#  -o smtpd_tls_security_level=encrypt
maildrop  unix  -       n       n       -       -       pipe
  flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
"""


def run(*args, env=None, check=True):
    e = dict(os.environ)
    e.pop("MAIL_CONFIG", None)
    if env:
        e.update(env)
    p = subprocess.run([POSTCONF, *args], capture_output=True, text=True, env=e)
    if check and p.returncode != 0:
        raise AssertionError(f"postconf {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


class PostconfTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mr-postconf-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def test_seed_fragments_show_with_dash_n(self):
        fragments = sorted(f for f in os.listdir(SEED) if f.endswith(".cf"))
        self.assertGreaterEqual(len(fragments), 10)
        for frag in fragments:
            with self.subTest(fragment=frag):
                with open(os.path.join(SEED, frag)) as f:
                    text = f.read()
                self.write("main.cf", text)
                p = run("-c", self.dir, "-n")
                self.assertNotIn("fatal", p.stderr)
                self.assertNotIn("error:", p.stderr)
                expect = {}
                for line in text.splitlines():
                    if not line or line.startswith("#"):
                        continue
                    name, value = line.split("=", 1)
                    expect[name.strip()] = value.strip()
                want = [f"{n} = {v}" if v else f"{n} =" for n, v in sorted(expect.items())]
                self.assertEqual(p.stdout.splitlines(), want)

    def test_unused_parameter_warning_names_file_and_line(self):
        self.write("main.cf", "myhostname = a.b.c\n\nno_such_thing = 1\n")
        p = run("-c", self.dir, "-n")
        self.assertIn(f"postconf: warning: {self.dir}/main.cf, line 3: unused parameter: no_such_thing=1",
                      p.stderr)
        self.assertIn("no_such_thing = 1", p.stdout)

    def test_service_defined_parameters_follow_master_cf(self):
        # The seed's pipe transport named maildrop has its own limits.
        self.write("main.cf", "maildrop_destination_recipient_limit = 1\n"
                              "maildrop_destination_concurrency_limit = 1\n"
                              "nosuch_destination_recipient_limit = 3\n")
        self.write("master.cf", MASTER_CF)
        p = run("-c", self.dir, "-n")
        self.assertNotIn("maildrop_destination", p.stderr)
        self.assertIn("unused parameter: nosuch_destination_recipient_limit=3", p.stderr)
        self.assertIn("maildrop_destination_recipient_limit = 1", p.stdout.splitlines())
        d = run("-c", self.dir, "-d").stdout.splitlines()
        self.assertIn("maildrop_destination_recipient_limit = $default_destination_recipient_limit", d)
        self.assertIn("maildrop_destination_concurrency_limit = $default_destination_concurrency_limit", d)
        self.assertIn("maildrop_time_limit = $command_time_limit", d)
        self.assertIn("maildrop_destination_rate_delay = $default_destination_rate_delay", d)
        self.assertIn("local_destination_recipient_limit = 1", d)
        # smtp is an smtpd service here, not a delivery agent.
        self.assertFalse([l for l in d if l.startswith("smtp_destination")])
        self.assertEqual(run("-c", self.dir, "-x", "maildrop_time_limit").stdout, "maildrop_time_limit = 1000s\n")
        self.assertEqual(run("-c", self.dir, "maildrop_destination_recipient_limit").stdout,
                         "maildrop_destination_recipient_limit = 1\n")
        e = run("-c", self.dir, "-e", "maildrop_time_limit=20s")
        self.assertNotIn("unknown parameter", e.stderr)
        e = run("-c", self.dir, "-e", "nosuch_time_limit=20s")
        self.assertIn("nosuch_time_limit: unknown parameter", e.stderr)

    def test_defaults_list_every_parameter(self):
        self.write("main.cf", "mail_owner = postfix\n")
        p = run("-c", self.dir, "-d")
        lines = p.stdout.splitlines()
        self.assertEqual(lines, sorted(lines))
        self.assertIn("mail_owner = mailroom", lines)
        self.assertIn("myorigin = $myhostname", lines)
        self.assertIn("mydestination = $myhostname, localhost.$mydomain, localhost", lines)
        self.assertIn("maillog_file =", lines)
        names = run("-c", self.dir, "-dH").stdout.splitlines()
        self.assertEqual(len(names), len(lines))
        # Without -d every one of them is shown too, with main.cf's value.
        actual = run("-c", self.dir).stdout.splitlines()
        self.assertIn("mail_owner = postfix", actual)
        self.assertEqual(len(actual), len(lines))

    def test_every_parameter_mailroom_reads_is_listed(self):
        # Postfix 3.7 lists relayhost with an empty default.
        self.write("main.cf", "")
        self.assertIn("relayhost =", run("-c", self.dir, "-d").stdout.splitlines())
        listed = set(run("-c", self.dir, "-dH").stdout.split())
        # Every name read from a config::Config in the sources: cfg.get*("x"),
        # read_param(cfg, "x", ...), list_or_empty(cfg, "x") and the
        # {"x", &field} tables of the readers.
        reads = re.compile(r'\b(?:cfg_?|config_?|c)(?:\.|->)get(?:_int|_bool|_time|_size|_list)?\("([a-z][a-z0-9_]*)"'
                           r'|\b(?:read_param|read_time_param|list_or_empty)\(\s*\w+\s*,\s*"([a-z][a-z0-9_]*)"'
                           r'|\{\s*"([a-z][a-z0-9_]*)"\s*,\s*&')
        missing = {}
        for root, dirs, files in os.walk(SRC):
            dirs[:] = [d for d in dirs if d not in ("build", "tests", ".git", "bench")]
            for f in files:
                # mysql_table.cc reads the keys of a mysql_table(5) file, not main.cf.
                if not f.endswith((".cc", ".h")) or f == "mysql_table.cc":
                    continue
                path = os.path.join(root, f)
                with open(path, errors="replace") as fh:
                    for m in reads.finditer(fh.read()):
                        name = next(g for g in m.groups() if g)
                        if name not in listed:
                            missing.setdefault(name, os.path.relpath(path, SRC))
        self.assertEqual(missing, {})
        # A Postfix parameter mailroom does not implement warns as such.
        self.write("main.cf", "in_flow_delay = 1s\n")
        p = run("-c", self.dir, "-n")
        self.assertIn("in_flow_delay=1s: not supported: mailroom does not throttle mail inflow; ignored", p.stderr)
        self.assertNotIn("unused parameter", p.stderr)

    def test_named_values_h_and_x(self):
        with open(os.path.join(SEED, "01-basic.cf")) as f:
            self.write("main.cf", f.read())
        self.assertEqual(run("-c", self.dir, "mydestination").stdout,
                         "mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain\n")
        self.assertEqual(run("-c", self.dir, "-x", "mydestination").stdout,
                         "mydestination = mail.magedu.com, localhost.magedu.com, localhost, magedu.com\n")
        self.assertEqual(run("-c", self.dir, "-h", "myorigin").stdout, "magedu.com\n")
        self.assertEqual(run("-c", self.dir, "-xh", "-o", "myorigin=$mydomain.x", "myorigin").stdout,
                         "magedu.com.x\n")
        p = run("-c", self.dir, "no_such_parameter")
        self.assertIn("postconf: warning: no_such_parameter: unknown parameter", p.stderr)
        # -n with a name that is not set prints nothing.
        self.assertEqual(run("-c", self.dir, "-n", "mail_owner").stdout, "")

    def test_mail_config_environment(self):
        self.write("main.cf", "myhostname = env.example.com\n")
        p = run("-h", "myhostname", env={"MAIL_CONFIG": self.dir})
        self.assertEqual(p.stdout, "env.example.com\n")

    def test_edit_round_trips_byte_for_byte(self):
        self.write("main.cf", COMMENTED_MAIN_CF)
        run("-c", self.dir, "-e", "myhostname=mail.magedu.com")
        after = self.read("main.cf")
        self.assertEqual(after, COMMENTED_MAIN_CF.replace("myhostname = old.example.com",
                                                          "myhostname = mail.magedu.com"))
        # The seed's bare form appends a new parameter at the end.
        run("-c", self.dir, "smtputf8_enable = no")
        self.assertEqual(self.read("main.cf"), after + "smtputf8_enable = no\n")
        # A multi-line entry becomes one line; comments around it stay.
        run("-c", self.dir, "-e", "mydestination = $myhostname, localhost")
        text = self.read("main.cf")
        self.assertIn("myhostname = mail.magedu.com\n\nmydestination = $myhostname, localhost\n# trailing comment\n",
                      text)
        self.assertNotIn("\tlocalhost, $mydomain", text)

    def test_remove_and_comment_out(self):
        self.write("main.cf", COMMENTED_MAIN_CF)
        run("-c", self.dir, "-X", "mynetworks")
        self.assertEqual(self.read("main.cf"), COMMENTED_MAIN_CF.replace("mynetworks = 127.0.0.0/8\n", ""))
        run("-c", self.dir, "-#", "mydestination")
        text = self.read("main.cf")
        self.assertIn("#mydestination = $myhostname, localhost.$mydomain,\n#\tlocalhost, $mydomain\n", text)
        self.assertEqual(run("-c", self.dir, "-n", "mydestination").stdout, "")

    def test_edit_errors(self):
        self.write("main.cf", "a = 1\n")
        p = run("-c", self.dir, "-e", "bad name=1", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('postconf: fatal: bad parameter name: "bad name"', p.stderr)
        self.assertEqual(self.read("main.cf"), "a = 1\n")
        p = run("-c", self.dir, "-e", "novalue", check=False)
        self.assertEqual(p.returncode, 1)
        p = run("-c", os.path.join(self.dir, "missing"), "-e", "a=1", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("missing/main.cf", p.stderr)

    def test_bad_main_cf_is_fatal_with_file_and_line(self):
        self.write("main.cf", "a = 1\nnot a parameter line\n")
        p = run("-c", self.dir, "-n", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"postconf: fatal: {self.dir}/main.cf, line 2: missing '=' after attribute name", p.stderr)

    def test_recursion_is_fatal_with_x(self):
        self.write("main.cf", "a = $b\nb = $a\n")
        p = run("-c", self.dir, "-x", "a", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("recursive parameter expansion: a -> b -> a", p.stderr)

    def test_table_and_sasl_types(self):
        types = run("-m").stdout.split()
        for t in ("btree", "cidr", "environ", "fail", "hash", "inline", "mysql", "pcre", "pipemap", "regexp",
                  "static", "texthash", "unionmap"):
            self.assertIn(t, types)
        self.assertEqual(types, sorted(types))
        self.assertEqual(run("-a").stdout, "cyrus\nauthd\n")
        self.assertEqual(run("-A").stdout, "cyrus\n")

    def test_master_cf_show(self):
        self.write("main.cf", "")
        self.write("master.cf", MASTER_CF)
        lines = run("-c", self.dir, "-M").stdout.splitlines()
        self.assertEqual(lines, [
            "smtp       inet  n       -       n       -       -       smtpd",
            "pickup     unix  n       -       n       60      1       pickup",
            "maildrop   unix  -       n       n       -       -       pipe flags=DRhu user=vmail "
            "argv=/usr/bin/maildrop -d ${recipient}",
        ])
        self.assertEqual(run("-c", self.dir, "-M", "pickup/unix").stdout.splitlines(), [lines[1]])
        self.assertEqual(run("-c", self.dir, "-M", "smtp").stdout.splitlines(), [lines[0]])

    def test_master_cf_edit(self):
        self.write("main.cf", "")
        self.write("master.cf", MASTER_CF)
        run("-c", self.dir, "-Me", "pickup/unix=pickup unix n - n 30 1 pickup")
        text = self.read("master.cf")
        self.assertEqual(text, MASTER_CF.replace(
            "pickup    unix  n       -       n       60      1       pickup", "pickup unix n - n 30 1 pickup"))
        run("-c", self.dir, "-Me", "127.0.0.1:2525/inet=127.0.0.1:2525 inet n - n - - smtpd")
        self.assertTrue(self.read("master.cf").endswith("127.0.0.1:2525 inet n - n - - smtpd\n"))
        run("-c", self.dir, "-MX", "maildrop/unix")
        self.assertNotIn("maildrop", self.read("master.cf"))
        run("-c", self.dir, "-M#", "smtp/inet")
        self.assertIn("#smtp      inet", self.read("master.cf"))
        before = self.read("master.cf")
        p = run("-c", self.dir, "-Me", "x/unix=y unix - - n - - z", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("mismatch", p.stderr)
        p = run("-c", self.dir, "-Me", "x/unix=x bogus - - n - - z", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bad transport type", p.stderr)
        self.assertEqual(self.read("master.cf"), before)

    def test_bad_option(self):
        p = run("-Z", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("usage:", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
