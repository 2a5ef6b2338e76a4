// cleanup_stream.h - cleanup streams for tests of the hand-off to cleanup:
// building one, and sending it through a CleanupClient.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lib/queue/record_format.h"
#include "lib/submit/cleanup_proto.h"

namespace mailroom::testing {

using Records = std::vector<std::pair<queue::RecordType, std::string>>;

// T, S, one R per recipient, M, the content lines, X (no E).
inline Records cleanup_stream(const std::string& sender, const std::vector<std::string>& recipients,
                              const std::vector<std::string>& lines) {
    using queue::RecordType;
    Records r = {{RecordType::kArrivalTime, "1795500000.000001"}, {RecordType::kSender, sender}};
    for (const auto& a : recipients) r.emplace_back(RecordType::kRecipient, "P" + a);
    r.emplace_back(RecordType::kContentStart, "");
    for (const auto& l : lines) r.emplace_back(RecordType::kNormal, l);
    r.emplace_back(RecordType::kExtractedStart, "");
    return r;
}

inline Status send_records(submit::CleanupClient& client, const Records& records) {
    for (const auto& [type, payload] : records) {
        if (auto st = client.send(type, payload); !st) return st;
    }
    return ok_status();
}

// Sends the records and the end marker, then reads cleanup's reply.
inline Result<submit::CleanupResult> submit_records(submit::CleanupClient& client, const Records& records) {
    if (auto st = send_records(client, records); !st) return st.error();
    if (auto st = client.send(queue::RecordType::kEnd, ""); !st) return st.error();
    return client.finish();
}

}  // namespace mailroom::testing
