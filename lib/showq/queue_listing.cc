// queue_listing.cc - see queue_listing.h.
#include "lib/showq/queue_listing.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <map>

#include "lib/bounce/bounce_log.h"
#include "lib/queue/queue_file.h"
#include "lib/util/strings.h"

namespace mailroom::showq {

std::vector<QueueEntry> collect_queue(const queue::QueueLayout& layout) {
    std::vector<QueueEntry> out;
    for (auto q : kListedQueues) {
        auto ids = queue::list_queue(layout, q);
        if (!ids) continue;
        for (const auto& id : *ids) {
            auto file = queue::QueueFile::open(layout.file_path(q, id), false);
            if (!file) continue;  // gone meanwhile, or not ours to read
            auto env = file->read();
            if (!env) continue;
            QueueEntry e;
            e.queue = std::string(q);
            e.id = id;
            e.size = env->size.message_size;
            e.arrival = static_cast<std::time_t>(env->arrival_seconds);
            e.sender = env->sender;
            // Deferred mail: the reasons of the latest attempt, by recipient.
            std::map<std::string, std::string> reasons;
            if (q == queue::kQueueDeferred) {
                if (auto log = bounce::read_log(layout, queue::kQueueDefer, id); log)
                    for (const auto& b : log->recipients) reasons[b.recipient] = b.reason;
            }
            for (const auto* r : env->pending_recipients()) {
                auto it = reasons.find(r->address);
                e.recipients.push_back({r->address, it == reasons.end() ? std::string() : it->second});
            }
            if (q == queue::kQueueMaildrop) {
                struct stat st {};
                if (::fstat(file->fd(), &st) == 0) e.uid = static_cast<long>(st.st_uid);
            }
            out.push_back(std::move(e));
        }
    }
    return out;
}

std::string format_mailq(const std::vector<QueueEntry>& entries) {
    if (entries.empty()) return "Mail queue is empty\n";
    std::string out = util::format("%-11s %7s %-20s %s\n", "-Queue ID-", "--Size--", "----Arrival Time----",
                                   "-Sender/Recipient-------");
    std::uint64_t total = 0;
    for (const auto& e : entries) {
        total += e.size;
        char when[64] = "";
        struct tm tm {};
        ::localtime_r(&e.arrival, &tm);
        std::strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);  // ctime() without the newline
        if (e.queue == queue::kQueueMaildrop) {
            out += util::format("%-10s%c %7llu %20.20s (maildrop queue, sender UID %ld)\n", e.id.c_str(), ' ',
                                static_cast<unsigned long long>(e.size), when, e.uid);
        } else {
            char status = e.queue == queue::kQueueActive ? '*' : e.queue == queue::kQueueHold ? '!' : ' ';
            std::string id_field = e.id + status;
            out += util::format("%-11s %7llu %20.20s %s\n", id_field.c_str(), static_cast<unsigned long long>(e.size),
                                when, e.sender.empty() ? "MAILER-DAEMON" : e.sender.c_str());
            // A reason line whenever the reason changes from the previous recipient's.
            std::string shown;
            for (const auto& r : e.recipients) {
                if (r.reason != shown) {
                    shown = r.reason;
                    std::string text = shown.empty() ? std::string("reason unavailable") : shown;
                    int padding = std::max(0, 76 - static_cast<int>(text.size()));
                    out += util::format("%*s(%s)\n", padding, "", text.c_str());
                }
                out += util::format("%41s%s\n", "", r.address.c_str());
            }
        }
        out += "\n";
    }
    std::size_t n = entries.size();
    out += util::format("-- %llu Kbytes in %zu Request%s.\n", static_cast<unsigned long long>((total + 1023) / 1024),
                        n, n == 1 ? "" : "s");
    return out;
}

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) out += util::format("\\u%04x", c);
                else out.push_back(static_cast<char>(c));
        }
    }
    out += "\"";
    return out;
}

std::string format_json_line(const QueueEntry& e) {
    std::string out = "{\"queue_name\": " + json_quote(e.queue) + ", \"queue_id\": " + json_quote(e.id) +
                      ", \"arrival_time\": " + std::to_string(static_cast<long long>(e.arrival)) +
                      ", \"message_size\": " + std::to_string(e.size) + ", \"forced_expire\": false" +
                      ", \"sender\": " + json_quote(e.sender) + ", \"recipients\": [";
    for (std::size_t i = 0; i < e.recipients.size(); ++i) {
        if (i) out += ", ";
        out += "{\"address\": " + json_quote(e.recipients[i].address);
        if (!e.recipients[i].reason.empty()) out += ", \"delay_reason\": " + json_quote(e.recipients[i].reason);
        out += "}";
    }
    out += "]}\n";
    return out;
}

}  // namespace mailroom::showq
