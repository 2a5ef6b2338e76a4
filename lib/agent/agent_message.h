// agent_message.h - one message as a delivery agent sees it.
//
// Summary
//   MessageCopy reads a queue file once (envelope and content, strictly,
//   through lib/queue) and keeps the content, each line ended by "\n", in
//   an anonymous memory file. Every delivery of the message then copies
//   from there: to a mailbox writer (for_each_chunk()), or as a command's
//   standard input (render(), which applies the pipe transformations and
//   returns a new descriptor positioned at the start).
//
// Description
//   Memory: content is copied in bounded chunks; nothing holds the whole
//   message in a string. The memory file is private to the process and
//   its children, so the queue file can be read as root before each
//   delivery drops to the recipient's identity.
//   head() returns the first bytes (up to the first empty line, bounded),
//   for the Delivered-To loop check.
#pragma once

#include <cstdint>
#include <functional>
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
};

class MessageCopy {
public:
    MessageCopy() = default;
    MessageCopy(MessageCopy&&) noexcept = default;
    MessageCopy& operator=(MessageCopy&&) noexcept = default;

    // Reads queue file `path`. Corruption is a permanent error, I/O
    // trouble temporary (lib/queue).
    static Result<MessageCopy> from_queue_file(const std::string& path);
    // Builds a copy from an envelope and ready content (tests).
    static Result<MessageCopy> from_text(queue::QueueEnvelope envelope, std::string_view content);

    const queue::QueueEnvelope& envelope() const { return envelope_; }
    // Content bytes (lines with "\n").
    std::uint64_t size() const { return size_; }

    // Up to `max` content bytes from `offset` (0 at the end): for a
    // writer that streams the content at its peer's pace.
    Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t max) const;
    // Calls sink with consecutive chunks of the content from the start.
    Status for_each_chunk(const std::function<Status(std::string_view)>& sink) const;
    // The primary header block plus its empty line (at most max_bytes).
    Result<std::string> head(std::size_t max_bytes = 256 * 1024) const;
    // `prefix` (lines ending in "\n") followed by the content, transformed
    // as `options` say, in a new anonymous file positioned at offset 0.
    Result<util::UniqueFd> render(std::string_view prefix, const RenderOptions& options) const;
    // The whole rendered text (tests and small messages).
    Result<std::string> render_to_string(std::string_view prefix, const RenderOptions& options) const;

private:
    queue::QueueEnvelope envelope_;
    util::UniqueFd fd_;
    std::uint64_t size_ = 0;
};

// Transforms whole lines for render(): stateful across calls, input may be
// split anywhere. Exposed for tests.
class LineTransformer {
public:
    explicit LineTransformer(const RenderOptions& options) : options_(options) {}
    void feed(std::string_view in, std::string* out);
    // Ends the copy: completes a last line and adds the 'B' blank line.
    void finish(std::string* out);

private:
    void emit_line_start(std::string_view line_head, std::string* out);

    RenderOptions options_;
    std::string pending_;   // start of the current line, until decided
    bool decided_ = false;  // quoting decision made for the current line
};

}  // namespace mailroom::agent
