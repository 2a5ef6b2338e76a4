#!/bin/bash
# imapd_offlineimap.sh - Debian's offlineimap (offlineimap3) syncs alice's
# INBOX both ways with a local Maildir against imapd: new mail down; a flag
# change, a deletion and a new local message up; then the server's flag
# change and expunge down again. One-shot runs (-o), no IDLE.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs master imapd authd smtpd virtual mailroom sendmail
mr_require_commands openssl offlineimap

source "$(dirname "$0")/imapd_common.sh"

mkdir -p "$T/local" "$T/offlineimap-meta"
cat >"$T/offlineimaprc" <<EOF2
[general]
accounts = mr
metadata = $T/offlineimap-meta

[Account mr]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = $T/local

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = $P
remoteuser = alice@v.test
remotepass = wonderland
ssl = no
starttls = no
folderfilter = lambda name: name == 'INBOX'
EOF2
sync_run() {
    HOME=$T timeout 120 offlineimap -c "$T/offlineimaprc" -o -u basic >>"$T/offlineimap.out" 2>&1 ||
        mr_fail "offlineimap: $(tail -c 3000 "$T/offlineimap.out")"
    grep -q "ERROR" "$T/offlineimap.out" && mr_fail "offlineimap reported errors: $(grep -A3 ERROR "$T/offlineimap.out" | head -40)"
    return 0
}
check_two_way_sync offlineimap sync_run
# Nothing left to do: a further run changes neither side.
before=$(ls "$MD/cur" "$MD/new" "$T/local/INBOX/cur" "$T/local/INBOX/new" | sort)
sync_run
[ "$(ls "$MD/cur" "$MD/new" "$T/local/INBOX/cur" "$T/local/INBOX/new" | sort)" = "$before" ] ||
    mr_fail "a sync without changes changed files"
echo "imapd_offlineimap: ok"
