# mr_instance.sh - shared helpers for the master/mailroom integration tests.
#
# Sourced by the test scripts. Gives each test a private instance in a temp
# directory (main.cf, master.cf, queue, log) run as the current user, on
# 127.0.0.1 with free ports, inside a private network namespace when the
# system allows one (plain loopback otherwise).
#
#   mr_enter_netns "$@"   re-executes the script inside `unshare --net`
#   mr_setup              creates $T (temp dir), $CONF (config dir), $Q (queue)
#   mr_free_port          prints a free TCP port on 127.0.0.1
#   mr_client PORT CMD..  sends lines to an echo service, prints the replies
#   mr_wait_for DESC CMD  polls CMD (up to $MR_WAIT seconds) until it succeeds
#   mr_fail MESSAGE       prints the log and exits 1
#   mr_skip REASON        the test cannot run here: prints the reason and
#                         exits 77, which ctest reports as SKIP
#   mr_require_programs P..  fails (never skips) unless each mailroom
#                         program P is built in $MAILROOM_BIN
#   mr_require_commands C..  fails (never skips) unless each system command
#                         C is installed (scripts/install-deps installs them)
#   mr_need_address ADDR  skips unless this host can bind ADDR (127.0.0.2)
#   mr_reload [PROG...]   mailroom reload, then waits for master's reload
#                         line and for the processes of each PROG that ran
#                         before (they drain and exit), so that what comes
#                         next is served with the new configuration
#   mr_queue_idle         true when no message waits in or moves through the
#                         queue (held mail aside): nothing more can happen
#                         without new input, so a check that something did
#                         NOT happen may follow `mr_wait_for ... mr_queue_idle`

set -u
: "${MAILROOM_BIN:?MAILROOM_BIN must name the bin directory of a build}"
# Generous: a loaded 2-core machine running four tests at once can be slow,
# and a wait only lasts this long when the test is failing anyway.
MR_WAIT=${MR_WAIT:-60}
MR="$MAILROOM_BIN/mailroom"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mr_enter_netns() {
    if [ -n "${MR_IN_NETNS:-}" ]; then
        return 0
    fi
    export MR_IN_NETNS=1
    local self
    self=$(readlink -f "$0")
    if [ "$(id -u)" -eq 0 ]; then
        if unshare --net true 2>/dev/null; then
            exec unshare --net -- sh -c 'ip link set lo up 2>/dev/null; exec "$0" "$@"' "$self" "$@"
        fi
    elif unshare --user --map-root-user --net sh -c 'ip link set lo up' 2>/dev/null; then
        # Bringing lo up needs a namespace root; a nested user namespace then
        # maps the caller's own uid back, so the instance stays unprivileged.
        exec unshare --user --map-root-user --net -- sh -c \
            'ip link set lo up && exec unshare --user --map-user="$0" --map-group="$1" -- "$2" "$@"' \
            "$(id -u)" "$(id -g)" "$self" "$@"
    fi
    echo "note: no private network namespace; using the host loopback" >&2
}

mr_fail() {
    echo "FAIL: $*" >&2
    if [ -n "${T:-}" ] && [ -f "$T/maillog" ]; then
        echo "---- maillog ----" >&2
        tail -n 60 "$T/maillog" >&2
    fi
    exit 1
}

mr_skip() {
    echo "SKIP: $*"
    exit 77
}

mr_require_programs() {
    local p
    for p in "$@"; do
        [ -x "$MAILROOM_BIN/$p" ] || mr_fail "$p is not built ($MAILROOM_BIN/$p)"
    done
}

mr_require_commands() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || mr_fail "$c is not installed (scripts/install-deps installs it)"
    done
}

mr_need_address() {
    python3 -c 'import socket, sys; socket.socket().bind((sys.argv[1], 0))' "$1" 2>/dev/null ||
        mr_skip "$1 is not a local address here"
}

mr_cleanup() {
    rm -f "$MR_PORTS_GIVEN"
    if [ -n "${CONF:-}" ] && [ -f "$CONF/main.cf" ]; then
        "$MR" -c "$CONF" stop >/dev/null 2>&1 || true
    fi
    if [ -n "${T:-}" ]; then
        # Anything still running from this instance is a test failure, but
        # never leave it behind.
        pkill -KILL -f -- "-c $CONF" 2>/dev/null || true
        rm -rf "$T"
    fi
}

mr_setup() {
    T=$(mktemp -d /tmp/mr-it-XXXXXX)
    chmod 755 "$T"
    CONF="$T/etc"
    Q="$T/queue"
    mkdir -p "$CONF"
    trap mr_cleanup EXIT
    {
        echo "queue_directory = $Q"
        echo "data_directory = $T/data"
        echo "daemon_directory = $MAILROOM_BIN"
        echo "command_directory = $MAILROOM_BIN"
        echo "maillog_file = $T/maillog"
        echo "service_throttle_time = 1s"
        echo "inet_interfaces = loopback-only"
        echo "inet_protocols = ipv4"
        # Tests never ask the host's resolver; smtpd_dns.sh turns this on
        # with its own DNS server.
        echo "smtpd_peername_lookup = no"
        if [ "$(id -u)" -eq 0 ]; then
            # Accounts every Debian system has; set-permissions tests create their own.
            echo "mail_owner = nobody"
            echo "setgid_group = nogroup"
        fi
    } >"$CONF/main.cf"
    : >"$CONF/master.cf"
}

# The ports handed out so far, so that one test never gets the same port
# twice (the kernel may offer a port again once its socket is closed). The
# file is made by the first mr_free_port (a test that asks for no port
# leaves nothing behind) and removed by mr_cleanup.
MR_PORTS_GIVEN=${MR_PORTS_GIVEN:-$(mktemp -u "${TMPDIR:-/tmp}/mr-ports-XXXXXXXX")}
export MR_PORTS_GIVEN

mr_free_port() {
    python3 - "$MR_PORTS_GIVEN" <<'PY'
import os, socket, sys
path = sys.argv[1]
try:
    with open(path) as f:
        given = {line.strip() for line in f}
except FileNotFoundError:
    given = set()
for _ in range(1000):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
    s.close()
    if port not in given:
        break
else:
    sys.exit("no free port found")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
os.write(fd, (port + "\n").encode())
os.close(fd)
print(port)
PY
}

mr_client() {
    python3 "$HERE/mr_client.py" "$@"
}

mr_wait_for() {
    local desc=$1
    shift
    local i=0
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt $((MR_WAIT * 10)) ]; then
            mr_fail "timed out waiting for: $desc"
        fi
        sleep 0.1
    done
}

# Live (non-zombie) processes whose command line names this instance.
mr_instance_pids() {
    local pid
    for pid in $(pgrep -f -- "-c $CONF" 2>/dev/null); do
        if [ -r "/proc/$pid/stat" ] && ! awk '{exit ($3=="Z")?0:1}' "/proc/$pid/stat"; then
            echo "$pid"
        fi
    done
}

mr_no_instance_pids() {
    [ -z "$(mr_instance_pids)" ]
}

# mailroom reload only signals master: master re-reads the configuration
# later, and an idle child that has not yet seen its drain signal may still
# take one more session with the old one.
mr_reload() {
    local n old="" pid
    n=$(grep -c "reload -- version" "$T/maillog" 2>/dev/null)
    for pid in $( [ $# -eq 0 ] || mr_instance_pids); do
        if printf '%s\n' "$@" | grep -qxF -- "$(cat "/proc/$pid/comm" 2>/dev/null)"; then
            old="$old $pid"
        fi
    done
    "$MR" -c "$CONF" reload || mr_fail "reload failed"
    mr_wait_for "master's reload line" sh -c "[ \$(grep -c 'reload -- version' '$T/maillog') -gt ${n:-0} ]"
    for pid in $old; do
        mr_wait_for "pid $pid of the old configuration exits" \
            sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status"
    done
}

mr_queue_idle() {
    [ -z "$(find "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/bounce" "$Q/defer" "$Q/trace" \
        -type f 2>/dev/null | head -n 1)" ]
}

mr_log_count() {
    grep -c -- "$1" "$T/maillog" 2>/dev/null || true
}
