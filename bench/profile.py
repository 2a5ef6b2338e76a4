#!/usr/bin/env python3
"""profile.py - where a mailroom instance spends its time, per daemon.

Usage (as root, inside a private network namespace, as bench/compare runs):
  unshare --net -- sh -c 'ip link set lo up && exec python3 bench/profile.py discard|maildir|pss [N]'

Starts one mailroom instance the way bench/compare.py does and sends N
messages (default 500) with smtp-source, 20 sessions, twice:
  1. under `perf record -e cpu-clock -g` (the software clock, which also
     works in a VM without hardware counters) attached to every process
     of the instance: prints the hottest symbols per daemon (perf report --sort comm,sym);
  2. under `strace -f` on every process: prints the system calls per
     message of each daemon (by process name), the most frequent first.
The pss case instead sends N messages to discard and N to a Maildir
(virtual), 20 sessions each, and then prints, per daemon, how many of its
processes are alive and their PSS and Private_Dirty (from
/proc/PID/smaps_rollup), with the instance's total: the memory an instance
holds at the end of a bench; and the peak of that total during the load,
sampled as bench/compare does. MAILROOM_BUILD picks the build measured.
Figures only; the temp directory goes away at the end.
"""
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


def comm_of(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def load(inst, rcpt, count):
    target = inst.count_removed() + count
    src = compare.smtp_source(inst, 20, 1024, rcpt, [], count)
    inst.wait_removed(target, compare.timeout_for(count, 1024) * 4)
    src.wait()


def attach_args(inst):
    args = []
    for pid in compare.tree_pids(inst.master_pid()):
        args += ["-p", str(pid)]
    return args


def perf_profile(inst, rcpt, count):
    data = os.path.join(inst.t, "perf.data")
    pids = ",".join(str(p) for p in compare.tree_pids(inst.master_pid()))
    rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-F", "999", "-o", data, "--inherit", "-p", pids],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    load(inst, rcpt, count)
    rec.send_signal(signal.SIGINT)
    rec.wait()
    for title, sort, limit in (("share of the samples per daemon", "comm", "0.5"),
                               ("user and kernel share per daemon", "comm,dso", "1"),
                               ("hottest symbols", "comm,sym", "0.7")):
        out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio", "-g", "none",
                              "--percent-limit", limit], capture_output=True, text=True).stdout
        print(f"== perf: {title}")
        for line in out.splitlines():
            if line.strip() and not line.startswith("#"):
                print(line)


def strace_profile(inst, rcpt, count):
    out = os.path.join(inst.t, "strace.out")
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", out] + attach_args(inst), stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    # Names are sampled during the load too: processes that reach max_use
    # exit before it ends and would otherwise count as "exited".
    names = {}
    procs = {}
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in compare.tree_pids(inst.master_pid()):
                # Read again each time: a child is "master" until its exec.
                name = comm_of(pid)
                if not name:
                    continue
                names[pid] = name
                procs[pid] = name
                # Threads (an accept thread, cleanup's fsync threads) count
                # for their process.
                try:
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        names[int(tid)] = name
                except OSError:
                    pass
            done.wait(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    load(inst, rcpt, count)
    done.set()
    sampler.join()
    tracer.send_signal(signal.SIGINT)
    tracer.wait()
    calls = collections.defaultdict(collections.Counter)
    call_re = re.compile(r"^(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]")
    with open(out, errors="replace") as f:
        for line in f:
            m = call_re.match(line)
            if not m or "resumed>" in line:
                continue
            pid = int(m.group(1))
            calls[names.get(pid) or "exited"][m.group(2)] += 1
    print(f"== strace: system calls per message, by daemon ({count} messages)")
    started = collections.Counter(n for n in procs.values() if n)
    print("processes seen: " + ", ".join(f"{n} {c}" for n, c in started.most_common()))
    every = collections.Counter()
    for counter in calls.values():
        every.update(counter)
    top = ", ".join(f"{name} {n / count:.1f}" for name, n in every.most_common(12))
    print(f"{'all':10} {sum(every.values()) / count:6.1f}: {top}")
    for comm, counter in sorted(calls.items(), key=lambda kv: -sum(kv[1].values())):
        total = sum(counter.values())
        top = ", ".join(f"{name} {n / count:.1f}" for name, n in counter.most_common(12))
        print(f"{comm:10} {total / count:6.1f}: {top}")


def rollup(pid):
    """PSS and Private_Dirty of one process in KB, or None when it is gone."""
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in ("Pss", "Private_Dirty"):
                    fields[name] = int(rest.split()[0])
    except OSError:
        return None
    return fields.get("Pss", 0), fields.get("Private_Dirty", 0)


def pss_profile(inst, count):
    sampler = compare.PssSampler(inst.master_pid())
    sampler.start()
    load(inst, compare.DISCARD_RCPT, count)
    load(inst, compare.VMAIL_RCPT, count)
    sampler.stop.set()
    sampler.join()
    per = collections.defaultdict(list)
    for pid in compare.tree_pids(inst.master_pid()):
        name, mem = comm_of(pid), rollup(pid)
        if name and mem:
            per[name].append(mem)
    print(f"== PSS per daemon after {count} discard and {count} Maildir messages (KB)")
    print(f"{'daemon':10} {'procs':>5} {'PSS total':>10} {'PSS each':>9} {'dirty each':>10}")
    total = 0
    for name, mems in sorted(per.items(), key=lambda kv: -sum(m[0] for m in kv[1])):
        pss = sum(m[0] for m in mems)
        dirty = sum(m[1] for m in mems)
        total += pss
        print(f"{name:10} {len(mems):5} {pss:10} {pss // len(mems):9} {dirty // len(mems):10}")
    print(f"{'all':10} {sum(len(m) for m in per.values()):5} {total:10}")
    print(f"peak PSS of the instance during the load: {sampler.peak} KB")


def main():
    case = sys.argv[1] if len(sys.argv) > 1 else "discard"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    rcpt = compare.VMAIL_RCPT if case == "maildir" else compare.DISCARD_RCPT
    top = tempfile.mkdtemp(prefix="mr-profile-")
    os.chmod(top, 0o755)
    inst = compare.Mailroom(os.path.join(top, "mailroom"))
    try:
        inst.start()
        if case == "pss":
            pss_profile(inst, count)
            return
        load(inst, rcpt, 50)  # every service started before anything counts
        perf_profile(inst, rcpt, count)
        strace_profile(inst, rcpt, count)
    finally:
        inst.stop()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
