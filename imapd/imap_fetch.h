// imap_fetch.h - FETCH attributes (RFC 3501 6.4.5, RFC 3516 BINARY, RFC
// 7162 MODSEQ/CHANGEDSINCE) as imapd's session runs them.
//
// Summary
//   parse_fetch_items() reads the attribute argument of FETCH (a macro,
//   one attribute or a parenthesised list) into FetchItems, each knowing
//   what it needs (the message text, the \Seen side effect) and how the
//   reply names it. ImapSession::FetchJob is the state of one FETCH that
//   writes its replies a bounded amount at a time (imap_session.h).
//   format_internal_date() writes INTERNALDATE.
//
// Thread safety
//   Values only.
#pragma once

#include <cstdint>
#include <deque>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "imapd/imap_parser.h"
#include "lib/util/unique_fd.h"
#include "imapd/imap_session.h"
#include "lib/imap/section.h"

namespace mailroom::imapd {

struct FetchItem {
    enum class Kind {
        kFlags, kUid, kInternalDate, kSize, kEnvelope, kBody, kBodyStructure, kModseq,
        kSection,     // BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER, RFC822.TEXT
        kBinary,      // BINARY[...], BINARY.PEEK[...]
        kBinarySize,  // BINARY.SIZE[...]
    };
    Kind kind = Kind::kFlags;
    imap::Section section;
    std::optional<imap::Partial> partial;
    bool sets_seen = false;
    std::string reply_name;  // "BODY[HEADER]", "RFC822.HEADER", "BINARY[1]<0>" ...
};

struct FetchParse {
    std::vector<FetchItem> items;
    std::string error;  // for BAD
};
FetchParse parse_fetch_items(const ImapArg& arg);

std::string format_internal_date(std::int64_t when);

// Messages larger than this are sent from the file for BODY[] and RFC822,
// a chunk at a time, never whole in memory.
constexpr std::uint64_t kStreamFrom = 256 * 1024;

// A piece of FETCH output: text, or `left` bytes of a message file sent
// with CRLF line ends.
struct FetchSegment {
    std::string text;
    util::UniqueFd fd;
    std::uint64_t left = 0;
    char prev = 0;  // the last byte read from fd (a CR before a chunk's first LF)
};

struct ImapSession::FetchJob {
    std::deque<FetchSegment> pending;  // output of the message being written
    std::string tag;
    bool uid = false;
    std::vector<FetchItem> items;
    std::vector<std::size_t> indexes;
    std::size_t next = 0;
    bool with_modseq = false;
    bool needs_text = false;
    bool any_failed = false;   // a message expunged under us
    bool unknown_cte = false;  // BINARY of a part whose encoding is unknown
};

}  // namespace mailroom::imapd
