// pop3_mailbox.h - the POP3 view of one user's INBOX (a Maildir).
//
// Summary
//   Pop3Mailbox::open() locks the Maildir for this session (a second
//   session of the same mailbox gets kInUse) and takes its messages from
//   the folder's index, the one imapd keeps (lib/access/folder_sync.h):
//   when new/ and cur/ did not change since it was written, that is one
//   file read and no directory scan; else the index is brought up to date
//   (a scan, UIDs for new files from the per-folder UID list, uidlist.h)
//   and written back. Each message has its UID and its size as POP3
//   counts it (CRLF line ends): from the file name's ",W=" when there, else
//   read once and kept in the index. The list is fixed until the session
//   ends (RFC 1939). read() gives a message's bytes;
//   mark_deleted()/reset() only mark; commit() is the UPDATE state: it
//   unlinks the deleted files, subtracts them from maildirsize and moves
//   the remaining messages of new/ to cur/ (seen by a POP3 client).
//
// Description
//   The session lock is an flock() on <maildir>/mailroom-pop3.lock, held
//   while the Pop3Mailbox lives: mail delivered meanwhile lands in new/ and
//   shows up in the next session. A message that vanished under the
//   session (another client expunged it) reads as an error, and its
//   deletion counts as done.
//   A message is a 32-byte record; the file names are in one string of
//   the mailbox, and UIDLs are formatted when asked for.
//   mbox (pop3_mbox.cc): read under the delivery agents' locks (dotlock,
//   then fcntl, as `local`); at commit, under the same locks, the kept
//   messages and whatever was appended since the session began are
//   written back in place (the same inode, truncated): a delivery agent
//   waiting on the locks then appends to the file that is the mbox.
//
// Thread safety
//   One thread at a time (pop3d opens and commits a mailbox on a worker
//   thread, and reads it on the loop in between).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/mailbox/mbox.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::pop3d {

struct Pop3Message {
    std::uint64_t size = 0;       // with CRLF line ends
    std::uint64_t file_size = 0;  // on disk (maildirsize counts this)
    std::uint32_t uid = 0;
    std::uint32_t name = 0;       // where its name (Maildir: file name; mbox: UID list key) is in names_
    std::uint16_t name_len = 0;
    bool in_new = false;          // Maildir: in new/, else cur/
    bool deleted = false;
};

struct UpdateStats {
    std::uint32_t deleted = 0;
    std::uint64_t deleted_size = 0;
};

class Pop3Mailbox {
public:
    enum class OpenError { kNone, kInUse, kTemporary, kPermanent };

    // uidl_format: pop3_uidl_format. now: UIDVALIDITY for a new UID list.
    static std::unique_ptr<Pop3Mailbox> open(const std::string& maildir, const std::string& uidl_format,
                                             std::uint32_t now, OpenError* why, std::string* reason);

    // An mbox INBOX (the session lock is an flock() on the mbox itself,
    // which the delivery locks, fcntl and dotlock, do not conflict with);
    // the UID list lives in <index_dir>/dovecot-uidlist, each message known
    // by a digest of its From line and header.
    static std::unique_ptr<Pop3Mailbox> open_mbox(const std::string& inbox, const std::string& index_dir,
                                                  const std::string& uidl_format, std::uint32_t now,
                                                  OpenError* why, std::string* reason);

    std::size_t count() const { return messages_.size(); }
    const Pop3Message& message(std::size_t index) const { return messages_[index]; }
    std::size_t live_count() const;
    std::uint64_t live_size() const;
    // Maildir: the file name in new/ or cur/; mbox: its UID list key.
    std::string_view name(std::size_t index) const {
        return std::string_view(names_).substr(messages_[index].name, messages_[index].name_len);
    }
    // pop3_uidl_format for the message.
    std::string uidl(std::size_t index) const;
    // The same, appended to *out (UIDL of every message, without a string
    // each).
    void append_uidl(std::size_t index, std::string* out) const;
    void mark_deleted(std::size_t index) { messages_[index].deleted = true; }
    void reset();
    // The message file's bytes as stored.
    Result<std::string> read(std::size_t index) const;
    // The same, piece by piece (RETR and TOP never hold a message whole).
    class Reader {
    public:
        // Up to about `max` more bytes into *out (appended); false once the
        // message is all read.
        Result<bool> next(std::size_t max, std::string* out);

    private:
        friend class Pop3Mailbox;
        std::string path_;
        util::UniqueFd fd_;
        std::uint64_t pos_ = 0, end_ = 0;
        bool maildir_ = true;  // else an mbox slice, From-unquoted
        std::unique_ptr<mailbox::FromFilter> unquote_;
    };
    Result<Reader> open_message(std::size_t index) const;
    // UPDATE: applies deletions and the new/ to cur/ moves.
    Result<UpdateStats> commit();

private:
    Result<UpdateStats> commit_mbox();
    void add(Pop3Message m, std::string_view name);
    std::string path_of(const Pop3Message& m) const;

    bool mbox_ = false;
    std::string mbox_path_;
    std::uint64_t mbox_snapshot_ = 0;  // the size indexed at open
    struct MboxSpan {
        std::uint64_t from_offset = 0, body_offset = 0, end_offset = 0;
    };
    std::vector<MboxSpan> spans_;  // mbox: where each message is
    std::string maildir_;
    std::string uidl_format_;
    std::uint32_t uid_validity_ = 0;
    util::UniqueFd lock_;
    std::vector<Pop3Message> messages_;
    std::string names_;
};

// pop3_encode_message() on a message that comes in pieces: feed() may
// split the text anywhere; done() once TOP's body lines are all out (the
// rest need not be read); finish() after the last piece.
class Pop3Encoder {
public:
    explicit Pop3Encoder(long body_lines = -1) : body_lines_(body_lines) {}
    void feed(std::string_view text, std::string* out);
    void finish(std::string* out);
    bool done() const { return done_; }

private:
    void end_line(std::string* out);

    long body_lines_;
    long body_seen_ = 0;
    bool in_body_ = false;
    bool at_line_start_ = true;
    bool pending_cr_ = false;  // a CR that is dropped if LF follows
    bool done_ = false;
};

// The POP3 form of `text` for RETR and TOP: CRLF line ends, lines that
// start with "." doubled, and at most `body_lines` lines after the header's
// empty line (all when body_lines < 0). Ends with CRLF; the ".\r\n"
// terminator is the caller's.
std::string pop3_encode_message(std::string_view text, long body_lines = -1);

// How many octets `text` is as POP3 sends it: every bare LF counted as CRLF.
std::uint64_t pop3_size(std::string_view text);

// The lower-case hex digest of `data` with OpenSSL's digest `name` ("md5",
// "sha256"): APOP's digest, the mbox messages' UID list keys.
std::string digest_hex(const char* name, std::string_view data);

}  // namespace mailroom::pop3d
