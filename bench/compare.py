#!/usr/bin/env python3
"""compare.py - mailroom against Debian's Postfix under the same smtp-source load.

Run by bench/compare (make bench-compare), which installs Postfix when missing
and enters a private network namespace first. Sets up one mailroom and one
Postfix instance in temp directories (each with its own config directory,
queue and log, ports on 127.0.0.1), then runs Postfix's smtp-source against
both, interleaved, and prints a Markdown table of medians:

  messages per second   counted from the start of smtp-source until the
                        log shows every message removed from the queue
  server CPU ms/msg     utime+stime of the instance's whole process tree
                        (master and every descendant, live or reaped: the
                        kernel adds reaped children into cutime/cstime)
  peak PSS MB           sum of Pss over the process tree, sampled from
                        /proc/PID/smaps_rollup while the load runs
  fsyncs per message    a separate run under strace -f -c on every process
                        of the instance (fsync, fdatasync, sync_file_range)

Environment: BENCH_QUICK=1 (fewer messages), BENCH_MESSAGES, BENCH_RUNS,
MAILROOM_BUILD (build directory), BENCH_KEEP=1 (keep the temp directories).
"""
import os
import pwd
import grp
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MAILROOM_BUILD", os.path.join(TOP, "build"))
BIN = os.path.join(BUILD, "bin")
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
N = int(os.environ.get("BENCH_MESSAGES", "300" if QUICK else "3000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
N_STRACE = max(50, N // 10)
TICK = os.sysconf("SC_CLK_TCK")
SENDER = "bench@client.test"
DISCARD_RCPT = "user@discard.test"
VMAIL_RCPT = "user@vmail.test"

# name, sessions, message bytes, recipient, extra smtp-source flags
CASES = [
    ("accept → discard, 1 session", 1, 1024, DISCARD_RCPT, []),
    ("accept → discard, 20 sessions", 20, 1024, DISCARD_RCPT, []),
    ("accept → discard, 20 sessions, 100 KiB", 20, 100 * 1024, DISCARD_RCPT, []),
    ("end to end → Maildir (virtual), 20 sessions", 20, 1024, VMAIL_RCPT, []),
    ("connection reuse (-d) → discard, 20 sessions", 20, 1024, DISCARD_RCPT, ["-d"]),
]
FSYNC_CASES = [("discard", DISCARD_RCPT), ("Maildir", VMAIL_RCPT)]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# ---- process tree figures ----

def proc_table():
    """pid -> (ppid, utime+stime+cutime+cstime in ticks)"""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        # fields[0] is state (field 3); utime is field 14.
        ppid = int(fields[1])
        ticks = sum(int(x) for x in fields[11:15])
        out[int(name)] = (ppid, ticks)
    return out


def tree_pids(root, table=None):
    table = table if table is not None else proc_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def tree_cpu_ticks(root):
    table = proc_table()
    return sum(table[p][1] for p in tree_pids(root, table))


def tree_pss_kb(root):
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


class PssSampler(threading.Thread):
    def __init__(self, root):
        super().__init__(daemon=True)
        self.root, self.peak, self.stop = root, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, tree_pss_kb(self.root))
            self.stop.wait(0.2)


# ---- instances ----

class Instance:
    name = ""

    def __init__(self, top):
        self.t = top
        os.makedirs(self.t, exist_ok=True)
        os.chmod(self.t, 0o755)
        self.conf = os.path.join(self.t, "etc")
        self.queue = os.path.join(self.t, "queue")
        self.maillog = os.path.join(self.t, "maillog")
        self.vmail = os.path.join(self.t, "vmail")
        self.port = free_port()
        self.log_pos = 0
        self.removed = 0
        os.makedirs(self.conf)
        self.vuid = pwd.getpwnam("nobody").pw_uid if os.getuid() == 0 else os.getuid()
        self.vgid = grp.getgrnam("nogroup").gr_gid if os.getuid() == 0 else os.getgid()
        os.makedirs(self.vmail)
        os.chown(self.vmail, self.vuid, self.vgid)
        write(os.path.join(self.t, "vmailbox"), f"{VMAIL_RCPT} {VMAIL_RCPT.split('@')[1]}/user/\n")

    def common_main_cf(self):
        return (f"queue_directory = {self.queue}\n"
                f"data_directory = {self.t}/data\n"
                f"maillog_file = {self.maillog}\n"
                "inet_protocols = ipv4\n"
                "myhostname = mx.bench.test\n"
                "mydomain = bench.test\n"
                "mydestination =\n"
                "mynetworks = 127.0.0.0/8\n"
                "default_transport = discard\n"
                "virtual_mailbox_domains = vmail.test\n"
                f"virtual_mailbox_base = {self.vmail}\n"
                f"virtual_mailbox_maps = texthash:{self.t}/vmailbox\n"
                f"virtual_uid_maps = static:{self.vuid}\n"
                f"virtual_gid_maps = static:{self.vgid}\n"
                # No size accounting in either: Postfix's limit is per file (a
                # stat of the file being written), mailroom's the Maildir's total
                # (VDA), which without maildirsize is a count of the Maildir.
                "virtual_mailbox_limit = 0\n")

    def master_pid(self):
        with open(os.path.join(self.queue, "pid", "master.pid")) as f:
            return int(f.read().split()[0])

    def count_removed(self):
        try:
            with open(self.maillog, "rb") as f:
                f.seek(self.log_pos)
                data = f.read()
        except FileNotFoundError:
            return self.removed
        end = data.rfind(b"\n") + 1
        self.removed += data[:end].count(b": removed\n")
        self.log_pos += end
        return self.removed

    def wait_removed(self, target, timeout):
        deadline = time.monotonic() + timeout
        while self.count_removed() < target:
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name}: timed out: {self.removed} of {target} messages removed "
                                 f"(log {self.maillog})")
            time.sleep(0.05)
        return time.monotonic()

    def wait_listening(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{self.name}: nothing listens on port {self.port}")


class Mailroom(Instance):
    name = "mailroom"

    def __init__(self, top):
        super().__init__(top)
        root = os.getuid() == 0
        write(os.path.join(self.conf, "main.cf"), self.common_main_cf() +
              f"daemon_directory = {BIN}\n"
              f"command_directory = {BIN}\n"
              "inet_interfaces = loopback-only\n" +
              ("mail_owner = nobody\nsetgid_group = nogroup\n" if root else ""))
        write(os.path.join(self.conf, "master.cf"),
              f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
              "cleanup   unix  n       -       n       -       0       cleanup\n"
              "qmgr      unix  n       -       n       300     1       qmgr\n"
              "bounce    unix  -       -       n       -       0       bounce\n"
              "defer     unix  -       -       n       -       0       bounce\n"
              "trace     unix  -       -       n       -       0       bounce\n"
              "anvil     unix  -       -       n       -       1       anvil\n"
              "showq     unix  n       -       n       -       -       showq\n"
              "error     unix  -       -       n       -       -       error\n"
              "discard   unix  -       -       n       -       -       discard\n"
              "virtual   unix  -       n       n       -       -       virtual\n")

    def start(self):
        subprocess.run([os.path.join(BIN, "mailroom"), "-c", self.conf, "start"], check=True,
                       stdout=subprocess.DEVNULL)
        self.wait_listening()

    def stop(self):
        subprocess.run([os.path.join(BIN, "mailroom"), "-c", self.conf, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


class Postfix(Instance):
    name = "Postfix"

    def __init__(self, top):
        super().__init__(top)
        write(os.path.join(self.conf, "main.cf"), self.common_main_cf() +
              "compatibility_level = 3.6\n"
              f"maillog_file_prefixes = {self.t}\n"
              "inet_interfaces = 127.0.0.1\n"
              "mail_owner = postfix\n"
              "setgid_group = postdrop\n"
              "alias_maps =\n"
              "alias_database =\n"
              "biff = no\n")
        write(os.path.join(self.conf, "master.cf"),
              f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
              "pickup    unix  n       -       n       60      1       pickup\n"
              "cleanup   unix  n       -       n       -       0       cleanup\n"
              "qmgr      unix  n       -       n       300     1       qmgr\n"
              "rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
              "bounce    unix  -       -       n       -       0       bounce\n"
              "defer     unix  -       -       n       -       0       bounce\n"
              "trace     unix  -       -       n       -       0       bounce\n"
              "flush     unix  n       -       n       1000?   0       flush\n"
              "proxymap  unix  -       -       n       -       -       proxymap\n"
              "showq     unix  n       -       n       -       -       showq\n"
              "error     unix  -       -       n       -       -       error\n"
              "retry     unix  -       -       n       -       -       error\n"
              "discard   unix  -       -       n       -       -       discard\n"
              "virtual   unix  -       n       n       -       -       virtual\n"
              "anvil     unix  -       -       n       -       1       anvil\n"
              "scache    unix  -       -       n       -       1       scache\n"
              "postlog   unix-dgram n  -       n       -       1       postlogd\n")

    def start(self):
        env = dict(os.environ, MAIL_CONFIG=self.conf)
        os.makedirs(self.queue, exist_ok=True)
        # Creates the queue's subdirectories with Postfix's own owners and modes.
        subprocess.run(["postfix", "-c", self.conf, "check"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["postfix", "-c", self.conf, "start"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_listening()

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---- runs ----

def smtp_source(inst, sessions, size, rcpt, flags, count):
    cmd = ["smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size), "-M", "client.test",
           "-f", SENDER, "-t", rcpt] + flags + [f"127.0.0.1:{inst.port}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL)


def timeout_for(count, size):
    return 120 + count * (size // 1024 + 10) / 100


def measure(inst, case, count):
    _, sessions, size, rcpt, flags = case
    master = inst.master_pid()
    target = inst.count_removed() + count
    sampler = PssSampler(master)
    cpu0 = tree_cpu_ticks(master)
    sampler.start()
    t0 = time.monotonic()
    src = smtp_source(inst, sessions, size, rcpt, flags, count)
    t1 = inst.wait_removed(target, timeout_for(count, size))
    if src.wait() != 0:
        raise SystemExit(f"{inst.name}: smtp-source failed")
    sampler.stop.set()
    sampler.join()
    cpu1 = tree_cpu_ticks(master)
    return {"rate": count / (t1 - t0), "cpu_ms": (cpu1 - cpu0) * 1000.0 / TICK / count,
            "pss_mb": sampler.peak / 1024.0}


def count_fsyncs(inst, rcpt):
    out = os.path.join(inst.t, "strace.out")
    master = inst.master_pid()
    cmd = ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync,sync_file_range", "-o", out]
    for pid in tree_pids(master):
        cmd += ["-p", str(pid)]
    tracer = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attaching to every process takes a moment
    target = inst.count_removed() + N_STRACE
    src = smtp_source(inst, 20, 1024, rcpt, [], N_STRACE)
    inst.wait_removed(target, timeout_for(N_STRACE, 1024) * 4)
    src.wait()
    tracer.send_signal(signal.SIGINT)
    tracer.wait()
    calls = 0
    with open(out) as f:
        for line in f:
            parts = line.split()
            if parts and parts[-1] in ("fsync", "fdatasync", "sync_file_range") and parts[3].isdigit():
                calls += int(parts[3])
    return calls / N_STRACE


def interrupted(signum, _frame):
    raise SystemExit(f"interrupted by signal {signum}")


def main():
    # Background shells start us with SIGINT ignored; stop the instances either way.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    for prog in ("smtp-source", "strace"):
        if not shutil.which(prog):
            raise SystemExit(f"{prog} is not installed")
    if not os.path.exists(os.path.join(BIN, "mailroom")):
        raise SystemExit(f"mailroom is not built in {BIN}")
    top = tempfile.mkdtemp(prefix="mr-compare-")
    os.chmod(top, 0o755)
    insts = [Mailroom(os.path.join(top, "mailroom")), Postfix(os.path.join(top, "postfix"))]
    results = {(c[0], i.name): [] for c in CASES for i in insts}
    fsyncs = {}
    try:
        for inst in insts:
            inst.start()
        for inst in insts:  # every service started once, before anything counts
            for case in CASES:
                measure(inst, case, 20)
        log(f"{N} messages per run, {RUNS} runs, interleaved")
        for run in range(RUNS):
            for case in CASES:
                order = insts if (run % 2 == 0) else list(reversed(insts))
                for inst in order:
                    r = measure(inst, case, N)
                    results[(case[0], inst.name)].append(r)
                    log(f"run {run + 1} {inst.name:8} {case[0]}: {r['rate']:.0f} msgs/s, "
                        f"{r['cpu_ms']:.2f} CPU ms/msg, {r['pss_mb']:.1f} MB PSS")
        for label, rcpt in FSYNC_CASES:
            for inst in insts:
                fsyncs[(label, inst.name)] = count_fsyncs(inst, rcpt)
                log(f"{inst.name} {label}: {fsyncs[(label, inst.name)]:.2f} fsyncs/msg")
    finally:
        for inst in insts:
            inst.stop()
        if os.environ.get("BENCH_KEEP"):
            log(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)
    print_table(insts, results, fsyncs)


def med(values, key):
    return statistics.median(v[key] for v in values)


def print_table(insts, results, fsyncs):
    mr, pf = insts[0].name, insts[1].name
    print(f"\n{N} messages per run, {RUNS} runs each, interleaved; medians\n")
    print(f"| case | {mr} | {pf} | ratio |")
    print("| --- | --- | --- | --- |")

    def row(label, a, b, fmt):
        ratio = f"{a / b:.2f}" if b else "-"
        print(f"| {label} | {fmt.format(a)} | {fmt.format(b)} | {ratio} |")

    for case in CASES:
        row(f"{case[0]}, msgs/s", med(results[(case[0], mr)], "rate"), med(results[(case[0], pf)], "rate"), "{:.0f}")
    for case in CASES:
        row(f"server CPU ms per message, {case[0]}", med(results[(case[0], mr)], "cpu_ms"),
            med(results[(case[0], pf)], "cpu_ms"), "{:.2f}")
    for case in CASES:
        row(f"peak PSS of all server processes, {case[0]}, MB", med(results[(case[0], mr)], "pss_mb"),
            med(results[(case[0], pf)], "pss_mb"), "{:.1f}")
    for label, _ in FSYNC_CASES:
        row(f"fsyncs per message, {label}, 20 sessions", fsyncs[(label, mr)], fsyncs[(label, pf)], "{:.2f}")


if __name__ == "__main__":
    main()
