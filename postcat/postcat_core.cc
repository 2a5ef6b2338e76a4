// postcat_core.cc - see postcat_core.h.
#include "postcat/postcat_core.h"

#include <array>
#include <ctime>

#include "lib/queue/queue_file.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::postcat {

namespace {

void put(std::FILE* out, const std::string& s) { std::fwrite(s.data(), 1, s.size(), out); }

std::string time_text(std::int64_t seconds) {
    std::time_t t = static_cast<std::time_t>(seconds);
    struct tm tm {};
    ::localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm);
    return buf;
}

void put_recipient(std::FILE* out, const queue::QueueRecipient& r) {
    if (!r.orig_recipient.empty()) put(out, "original_recipient: " + r.orig_recipient + "\n");
    if (!r.dsn_orcpt.empty()) put(out, "dsn_orig_rcpt: " + r.dsn_orcpt + "\n");
    if (!r.dsn_notify.empty()) put(out, "notify_flags: " + r.dsn_notify + "\n");
    put(out, std::string(r.done ? "done_recipient: " : "recipient: ") + r.address + "\n");
}

}  // namespace

Result<std::string> find_queue_file(const queue::QueueLayout& layout, const std::string& id, std::string* label) {
    static constexpr std::array<std::string_view, 6> kQueues = {queue::kQueueIncoming, queue::kQueueActive,
                                                                queue::kQueueDeferred, queue::kQueueHold,
                                                                queue::kQueueMaildrop, queue::kQueueCorrupt};
    for (auto q : kQueues) {
        std::string path = layout.file_path(q, id);
        if (util::path_exists(path)) {
            *label = std::string(q) + "/" + id;
            return path;
        }
    }
    return make_error("open queue file " + id + ": No such file or directory");
}

Status postcat_file(const std::string& path, const std::string& label, PostcatParts parts, std::FILE* out) {
    if (!parts.any()) parts = {true, true, true};
    auto file = queue::QueueFile::open(path, false);
    if (!file) return file.error();
    auto env = file->read();
    if (!env) return env.error();
    if (parts.envelope) {
        put(out, "*** ENVELOPE RECORDS " + label + " ***\n");
        put(out, util::format("message_size: %15llu %15llu %15llu %15llu\n",
                              static_cast<unsigned long long>(env->size.message_size),
                              static_cast<unsigned long long>(env->size.content_offset),
                              static_cast<unsigned long long>(env->size.recipient_count),
                              static_cast<unsigned long long>(env->size.extracted_offset)));
        put(out, "message_arrival_time: " + time_text(env->arrival_seconds) + "\n");
        for (const auto& [n, v] : env->attributes) put(out, "named_attribute: " + n + "=" + v + "\n");
        if (!env->dsn_ret.empty()) put(out, "dsn_ret_flags: " + env->dsn_ret + "\n");
        if (!env->dsn_envid.empty()) put(out, "dsn_envelope_id: " + env->dsn_envid + "\n");
        put(out, "sender: " + env->sender + "\n");
        for (const auto& r : env->recipients)
            if (!r.extracted) put_recipient(out, r);
    }
    if (parts.header || parts.body) {
        if (parts.envelope || parts.header) put(out, "*** MESSAGE CONTENTS " + label + " ***\n");
        bool in_header = true;
        bool line_start = true;
        auto read = file->read([&](std::string_view piece, bool line_end) -> Status {
            if (in_header && line_start && piece.empty() && line_end) {
                in_header = false;
                // The empty line belongs to the header for -h, to nothing for -b.
                if (parts.header && parts.body) put(out, "\n");
                line_start = true;
                return ok_status();
            }
            if (in_header && line_start && !piece.empty() && piece[0] != ' ' && piece[0] != '\t' &&
                piece.find(':') == std::string_view::npos)
                in_header = false;  // body without the empty line
            line_start = line_end;
            if ((in_header && parts.header) || (!in_header && parts.body)) {
                std::fwrite(piece.data(), 1, piece.size(), out);
                if (line_end) std::fputc('\n', out);
            }
            return ok_status();
        });
        if (!read) return read.error();
    }
    if (parts.envelope) {
        put(out, "*** HEADER EXTRACTED " + label + " ***\n");
        for (const auto& r : env->recipients)
            if (r.extracted) put_recipient(out, r);
        put(out, "*** MESSAGE FILE END " + label + " ***\n");
    }
    return ok_status();
}

}  // namespace mailroom::postcat
