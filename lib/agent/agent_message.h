// agent_message.h - one message as a delivery agent sees it.
//
// Summary
//   MessageCopy opens a queue file and reads its envelope (strictly,
//   through lib/queue, jumping over the content); the content, each line
//   ended by "\n", is read from the open file when a delivery needs it,
//   record by record from the content offset: to a mailbox writer
//   (for_each_chunk()), or as a command's standard input (render(), which
//   applies the pipe transformations and returns a new descriptor
//   positioned at the start), or piece by piece at a reader's pace
//   (read_next(), the smtp agent). head() reads only the primary header block
//   (bounded), for the Delivered-To loop check.
//
// Description
//   Memory: content is copied in bounded chunks; nothing holds the whole
//   message in a string, except a small one (up to one 64 KiB chunk),
//   kept after its first read for the other recipients. A queue file of
//   at most 64 KiB is read whole with one call when it is opened
//   (queue::QueueFile::read_envelope(image)): the envelope and the content
//   come from that copy and the file is closed at once (open, fstat, one
//   read, close); a larger one stays open and its content is read as it
//   is delivered. The queue file is opened as root before a
//   delivery takes the recipient's identity; reading the open descriptor
//   needs no permission afterwards.
//   Checks: every content record is decoded as strictly as a whole-file
//   read does (only line records, each well formed, ending where the
//   size record says, adding up to its message size). A read of the
//   content that fails (damage or I/O) returns the error and is kept:
//   damage() reports it, so that the agent defers the request ("cannot
//   read queue file") rather than judging the recipient by it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "lib/queue/queue_file.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::agent {

// How render() writes the content (pipe(8)'s flags and eol=).
struct RenderOptions {
    bool dot_stuff = false;        // '.': a line starting with "." gets another "."
    bool from_quote = false;       // '>': a line starting with "From " gets ">"
    bool blank_line_end = false;   // 'B': make the copy end in an empty line
    std::string eol = "\n";        // line end of every output line
    // Lines longer than this many bytes (0: no limit) are broken as
    // Postfix's smtp_line_length_limit does: the first L bytes, then eol
    // and a SPACE, then the next L - 1 bytes, and so on (a header line
    // becomes a folded header). A line of exactly L bytes stays whole; a
    // "." or ">" added by dot_stuff or from_quote does not count toward
    // L; a limit of 1 is taken as 2.
    std::size_t line_length_limit = 0;
};

class MessageCopy {
public:
    MessageCopy() = default;
    MessageCopy(MessageCopy&&) noexcept = default;
    MessageCopy& operator=(MessageCopy&&) noexcept = default;

    // Opens queue file `path` and reads its envelope. Corruption is a
    // permanent error, I/O trouble temporary (lib/queue).
    static Result<MessageCopy> from_queue_file(const std::string& path);
    // Builds a copy from an envelope and ready content (tests).
    static Result<MessageCopy> from_text(queue::QueueEnvelope envelope, std::string_view content);

    const queue::QueueEnvelope& envelope() const { return envelope_; }
    // Content bytes (lines with "\n").
    std::uint64_t size() const { return size_; }

    // Calls sink with consecutive chunks of the content from the start.
    Status for_each_chunk(const std::function<Status(std::string_view)>& sink) const;
    // The primary header block plus its empty line (at most max_bytes).
    Result<std::string> head(std::size_t max_bytes = 256 * 1024) const;
    // `prefix` (lines ending in "\n") followed by the content, transformed
    // as `options` say, in a new anonymous file positioned at offset 0.
    Result<util::UniqueFd> render(std::string_view prefix, const RenderOptions& options) const;
    // The whole rendered text (tests and small messages).
    Result<std::string> render_to_string(std::string_view prefix, const RenderOptions& options) const;

    // Where a streaming reader stands in the content (start: a default
    // Cursor). Internal state; only read_next() uses it.
    struct Cursor {
        bool started = false;
        bool done = false;
        std::string in;             // undecoded bytes read from the queue file
        std::size_t start = 0;      // first undecoded byte of `in`
        std::uint64_t at = 0;       // its file offset
        std::uint64_t next = 0;     // the next byte to read
        std::uint64_t emitted = 0;  // content bytes handed out
    };
    // Streaming: appends the next piece of the content (at most about 64
    // KiB) to *out, for a writer that goes at its peer's pace without a
    // copy of the whole message; false once the content is used up. The
    // same strict checks as a whole read; a failure is kept in damage().
    Result<bool> read_next(Cursor* cursor, std::string* out) const;

    // The file system of the queue file (for mailbox::DeliveryOptions);
    // nullopt for a copy made from text.
    std::optional<dev_t> queue_device() const;

    // The first failure to read the queue file's content, if any.
    const std::optional<Error>& damage() const { return damage_; }

private:
    // Calls sink with the content from the start until it clears *more.
    using ChunkSink = std::function<Status(std::string_view, bool* more)>;
    Status chunks(const ChunkSink& sink) const;
    Status records(const ChunkSink& sink) const;
    Status decode_some(Cursor* cursor, std::string* out) const;
    Status plain(const ChunkSink& sink) const;

    queue::QueueEnvelope envelope_;
    util::UniqueFd fd_;             // the queue file (records_) or a memory file; none with image_
    std::string image_;             // a small queue file, read whole (records_)
    dev_t device_ = 0;              // the queue file's device (records_)
    bool records_ = false;
    std::string path_;              // the queue file, for error texts
    std::uint64_t content_offset_ = 0;  // first content record
    std::uint64_t content_end_ = 0;     // the extracted segment's start
    std::uint64_t size_ = 0;
    mutable std::optional<Error> damage_;
    mutable std::string small_;  // the whole content, once read, when it is small
    mutable bool small_valid_ = false;
};

// Appends `prefix` (delivery headers) and then the message's content to a
// mailbox writer (mailbox::MboxWriter, mailbox::MaildirWriter).
template <class Writer>
Status append_message(Writer& writer, std::string_view prefix, const MessageCopy& message) {
    if (Status st = writer.append(prefix); !st) return st;
    return message.for_each_chunk([&](std::string_view chunk) { return writer.append(chunk); });
}

// Transforms whole lines for render() and for the smtp agent's DATA
// (dot_stuff, eol "\r\n", line_length_limit): stateful across calls,
// input may be split anywhere, so that a message of any size streams in
// bounded pieces.
class LineTransformer {
public:
    explicit LineTransformer(const RenderOptions& options = {})
        : options_(options),
          limit_(options.line_length_limit == 1 ? 2 : options.line_length_limit),
          space_(limit_) {}
    void feed(std::string_view in, std::string* out);
    // Ends the copy: completes a last line and adds the 'B' blank line.
    void finish(std::string* out);

private:
    void emit_line_start(std::string_view line_head, std::string* out);
    // Appends content bytes of the current line, breaking it at the limit.
    void put(std::string_view bytes, std::string* out);
    void end_line(std::string* out);

    RenderOptions options_;
    std::size_t limit_;     // line_length_limit as applied (0: none)
    std::size_t space_;     // bytes the current output line may still take
    std::string pending_;   // start of the current line, until decided
    bool decided_ = false;  // quoting decision made for the current line
};

}  // namespace mailroom::agent
