// milter_edit.h - a message held for the milters, and their edits applied
// to it on the way to the queue file.
//
// Summary
//   MilterMessage takes the cleanup record stream of one message
//   (docs/cleanup-protocol.md): the envelope and the extracted segment are
//   kept in memory (they are small), the primary header is parsed into
//   Header entries, and the body goes to an unlinked spool file, so a
//   large message never sits in memory. The milters read the header and
//   the body from it (body_chunk()), then their modification replies are
//   applied (apply()) and replay() writes the edited record stream.
//
// Description
//   Header values are what follows the colon, continuation lines joined
//   with "\n" and their leading white space kept; a milter sees the value
//   without the one space after the colon unless it negotiated
//   SMFIP_HDR_LEADSPC. Header edits follow libmilter's rules:
//   SMFIR_CHGHEADER's index counts the headers of that name from 1 and an
//   empty value deletes; SMFIR_INSHEADER's index counts all headers from
//   0; SMFIR_ADDHEADER appends. The header is bounded (kMaxHeaderBytes):
//   lines beyond it are body. SMFIR_REPLBODY chunks (CR LF text) replace
//   the body as they come, spooled as well. Envelope edits: CHGFROM
//   replaces the sender, DELRCPT removes every recipient with that
//   address (angle brackets and case ignored) with its DSN and original
//   recipient records, ADDRCPT and ADDRCPT_PAR add one. The ESMTP
//   arguments are read by smtpd's parser (lib/smtp): CHGFROM's BODY=,
//   RET= and ENVID= replace the envelope's encoding attribute, RET and
//   ENVID records (SIZE=, SMTPUTF8 and AUTH= are taken and leave nothing:
//   the size is measured); ADDRCPT_PAR's NOTIFY= and ORCPT= become the
//   new recipient's DSN records. Any other argument, or one that does not
//   parse, is ignored with a warning, as Postfix does. QUARANTINE becomes
//   the `hold` attribute (the file goes to hold/ with the reason).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/milter/milter_codec.h"
#include "lib/queue/record_format.h"
#include "lib/util/result.h"

namespace mailroom::milter {

inline constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;
// Body lines longer than this are written as several records.
inline constexpr std::size_t kReplayPiece = 4096;

struct Header {
    std::string name;
    std::string value;  // after the colon; continuation lines joined with "\n"
};

// An unlinked temporary file (O_TMPFILE) in `dir` (the working directory
// when empty), else in ./incoming (a daemon chrooted to the queue), else
// tmpfile(), holding body lines, each ending in "\n".
class Spool {
public:
    static Result<std::unique_ptr<Spool>> create(const std::string& dir);
    ~Spool();
    Status write(std::string_view bytes);
    // Up to max bytes from offset (fewer at the end).
    Status read_at(std::uint64_t offset, std::size_t max, std::string* out);
    // Reads every line (without its "\n") from the start.
    Status each_line(const std::function<Status(std::string_view line)>& fn);
    bool empty() const { return size_ == 0; }

private:
    explicit Spool(std::FILE* f) : f_(f) {}
    std::FILE* f_;
    std::size_t size_ = 0;
    bool reading_ = false;  // the position is not at the end
};

class MilterMessage {
public:
    using Record = std::pair<queue::RecordType, std::string>;
    using Out = std::function<Status(queue::RecordType, std::string_view)>;

    explicit MilterMessage(std::string spool_dir) : spool_dir_(std::move(spool_dir)) {}

    // Takes the next record of the stream (T S A R ... M content X ... E).
    Status add(queue::RecordType type, std::string_view payload);
    bool complete() const { return ended_; }

    const std::vector<Header>& headers() const { return headers_; }
    // The next piece of the body as the milters get it (CR LF line ends,
    // at most kBodyChunk bytes) from *offset on, which it advances; false
    // at the end.
    Result<bool> body_chunk(std::uint64_t* offset, std::string* out);

    // One modification reply; an error for a type that is none. An ESMTP
    // argument it cannot take adds a line to *warnings (when given).
    Status apply(const Reply& r, std::vector<std::string>* warnings = nullptr);
    // Puts the header `name: value` right before where the header edit `r`
    // (ADDHEADER, INSHEADER or CHGHEADER) applies, and adjusts `r`'s index
    // so that it still names its own header (milter_header_checks PREPEND).
    void insert_before(Reply* r, std::string name, std::string value);
    // After the last REPLBODY chunk of one milter.
    Status end_body_replacement();
    void quarantine(std::string reason) { hold_reason_ = std::move(reason); }
    // milter_header_checks REDIRECT and FILTER: the envelope attributes
    // cleanup takes from its client.
    void set_redirect(std::string address) { set_envelope(queue::RecordType::kAttribute, queue::kAttrRedirect, std::move(address)); }
    void set_filter(std::string filter) { set_envelope(queue::RecordType::kAttribute, queue::kAttrFilter, std::move(filter)); }
    bool held() const { return !hold_reason_.empty(); }
    const std::string& hold_reason() const { return hold_reason_; }

    // The envelope as it stands.
    std::string sender() const;
    std::vector<std::string> recipients() const;

    // Writes the edited stream, up to and including the end record.
    Status replay(const Out& out);

private:
    Status add_content(std::string_view text, bool continued);
    Status end_header_line();
    Status body_line(std::string_view line);
    void del_rcpt(std::vector<Record>& records, std::string_view address);
    void add_rcpt(std::string_view address, std::string_view args, std::vector<std::string>* warnings);
    Status change_sender_args(std::string_view args, std::vector<std::string>* warnings);
    // Replaces the envelope record of `type` (the attribute `attr` when
    // given), else adds it after the sender.
    void set_envelope(queue::RecordType type, std::string_view attr, std::string value);

    std::string spool_dir_;
    enum class Segment { kEnvelope, kContent, kExtracted, kDone } segment_ = Segment::kEnvelope;
    std::vector<Record> envelope_;
    std::vector<Record> extracted_;
    std::vector<Header> headers_;
    bool in_header_ = true;
    bool separator_ = false;  // an empty line ended the header
    std::size_t header_bytes_ = 0;
    std::string line_;        // the header line being assembled
    bool line_continued_ = false;
    std::unique_ptr<Spool> body_;
    std::unique_ptr<Spool> new_body_;  // REPLBODY in progress
    std::string new_body_partial_;
    bool ended_ = false;
    std::string hold_reason_;
};

}  // namespace mailroom::milter
