# delivery_common.sh - shared setup for the delivery agent integration tests.
#
# Sourced after mr_instance.sh. dl_setup writes an instance whose local
# domains are mx.example.test and example.test, with the queue services
# and the local, virtual and pipe agents in master.cf (unpriv = n, so they
# keep root when the test runs as root).
#   dl_setup [extra master.cf lines...]
#   dl_user NAME        as root: creates a temporary system user NAME with
#                       its home in $T/home/NAME (removed on exit)
#   dl_send ARGS...     sendmail with the instance's configuration
#   dl_wait_log REGEX   waits until the log has a line matching REGEX
#   dl_root             true when running as root
#   dl_vmail DOMAINS    virtual Maildir delivery for DOMAINS under $VBASE
#                       ($T/vmail), mailboxes from texthash:$T/vmailbox,
#                       owned by nobody as root, else by the caller

dl_root() { [ "$(id -u)" -eq 0 ]; }

DL_USERS=""
dl_cleanup() {
    mr_cleanup
    local u
    for u in $DL_USERS; do
        userdel "$u" >/dev/null 2>&1 || true
    done
}

dl_setup() {
    mr_setup
    trap dl_cleanup EXIT
    mkdir -p "$T/spool" "$T/home"
    chmod 1777 "$T/spool"
    chmod 755 "$T/home"
    {
        echo "myhostname = mx.example.test"
        echo "mydomain = example.test"
        echo "mydestination = \$myhostname, localhost, example.test"
        echo "default_transport = discard"
        echo "minimal_backoff_time = 1s"
        echo "maximal_backoff_time = 2s"
        echo "queue_run_delay = 1s"
        echo "mail_spool_directory = $T/spool"
        echo "deliver_lock_delay = 1s"
        echo "deliver_lock_attempts = 3"
    } >>"$CONF/main.cf"
    {
        echo "pickup    unix  n       -       n       60      1       pickup"
        echo "cleanup   unix  n       -       n       -       0       cleanup"
        echo "qmgr      unix  n       -       n       300     1       qmgr"
        echo "discard   unix  -       -       n       -       -       discard"
        echo "error     unix  -       -       n       -       -       error"
        echo "anvil     unix  -       -       n       -       1       anvil"
        echo "local     unix  -       n       n       -       -       local"
        echo "virtual   unix  -       n       n       -       -       virtual"
        for line in "$@"; do echo "$line"; done
    } >"$CONF/master.cf"
}

dl_user() {
    local name=$1
    useradd -M -d "$T/home/$name" -s /bin/sh "$name" || mr_fail "useradd $name"
    DL_USERS="$DL_USERS $name"
    mkdir -p "$T/home/$name"
    chown "$name:" "$T/home/$name"
    chmod 755 "$T/home/$name"
}

dl_send() {
    MAIL_CONFIG="$CONF" "$MAILROOM_BIN/sendmail" "$@"
}

dl_wait_log() {
    mr_wait_for "log line: $1" grep -Eq -- "$1" "$T/maillog"
}

dl_vmail() {
    if dl_root; then
        VUID=$(id -u nobody)
        VGID=$(id -g nobody)
    else
        VUID=$(id -u)
        VGID=$(id -g)
    fi
    VBASE="$T/vmail"
    mkdir -p "$VBASE"
    chown "$VUID:$VGID" "$VBASE"
    {
        echo "virtual_mailbox_base = $VBASE"
        echo "virtual_mailbox_maps = texthash:$T/vmailbox"
        echo "virtual_mailbox_domains = $1"
        echo "virtual_uid_maps = static:$VUID"
        echo "virtual_gid_maps = static:$VGID"
        echo "virtual_minimum_uid = 1"
    } >>"$CONF/main.cf"
}
