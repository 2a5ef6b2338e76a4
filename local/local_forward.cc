// local_forward.cc - see local_forward.h.
#include "local/local_forward.h"

#include "lib/queue/record_format.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/util/strings.h"

namespace mailroom::local {

namespace {

using queue::RecordType;

Status send_content(submit::CleanupClient& client, const agent::MessageCopy& message) {
    std::string line;
    auto st = message.for_each_chunk([&](std::string_view chunk) -> Status {
        for (char c : chunk) {
            if (c == '\n') {
                if (auto s = client.send(RecordType::kNormal, line); !s) return s;
                line.clear();
                continue;
            }
            line.push_back(c);
            if (line.size() >= queue::kDefaultContentChunk) {
                if (auto s = client.send(RecordType::kContinued, line); !s) return s;
                line.clear();
            }
        }
        return ok_status();
    });
    if (!st) return st;
    if (!line.empty()) return client.send(RecordType::kNormal, line);
    return ok_status();
}

}  // namespace

agent::Outcome forward_via_cleanup(const std::string& queue_directory, int timeout_ms, const agent::Job& job,
                                   const agent::MessageCopy& message, const std::string& sender,
                                   const std::string& delivered_to, const std::vector<std::string>& addresses) {
    auto client = submit::CleanupClient::open(queue_directory, ipc::ServiceClass::kPublic, "cleanup",
                                              submit::kCleanupFlagNoHeaderBodyChecks, timeout_ms);
    if (!client) return agent::deferred("cannot forward: " + client.error().message, "4.3.0");
    const auto& env = message.envelope();
    auto send_all = [&]() -> Status {
        std::string t = util::format("%lld.%06d", static_cast<long long>(env.arrival_seconds),
                                     static_cast<int>(env.arrival_microseconds));
        if (auto s = client->send(RecordType::kArrivalTime, t); !s) return s;
        if (auto s = client->send(RecordType::kSender, sender); !s) return s;
        for (const auto& [name, value] : env.attributes)
            if (auto s = client->send(RecordType::kAttribute, name + "=" + value); !s) return s;
        for (const auto& a : addresses)
            if (auto s = client->send(RecordType::kRecipient, std::string(1, queue::kRcptPending) + a); !s) return s;
        if (auto s = client->send(RecordType::kContentStart, ""); !s) return s;
        if (auto s = client->send(RecordType::kNormal, "Delivered-To: " + delivered_to); !s) return s;
        if (auto s = send_content(*client, message); !s) return s;
        if (auto s = client->send(RecordType::kExtractedStart, ""); !s) return s;
        return client->send(RecordType::kEnd, "");
    };
    if (auto s = send_all(); !s) return agent::deferred("cannot forward: " + s.error().message, "4.3.0");
    auto result = client->finish();
    if (!result) return agent::deferred("cannot forward: " + result.error().message, "4.3.0");
    if (!result->ok()) {
        std::string text = "cannot forward: " + result->reason;
        return result->temporary() ? agent::deferred(text, result->dsn) : agent::bounced(text, result->dsn);
    }
    (void)job;
    return agent::sent("forwarded as " + result->queue_id);
}

}  // namespace mailroom::local
