// showq_protocol.cc - see showq_protocol.h.
#include "lib/showq/showq_protocol.h"

#include <unistd.h>


#include "lib/ipc/protocol.h"
#include "lib/showq/queue_listing.h"

namespace mailroom::showq {

std::string render_listing(const queue::QueueLayout& layout, ListFormat format) {
    auto entries = collect_queue(layout);
    if (format == ListFormat::kMailq) return format_mailq(entries);
    std::string out;
    for (const auto& e : entries) out += format_json_line(e);
    return out;
}

bool queue_readable(const queue::QueueLayout& layout) {
    for (auto q : kListedQueues) {
        std::string dir = layout.queue_directory + "/" + std::string(q);
        if (::access(dir.c_str(), R_OK | X_OK) != 0) return false;
    }
    return true;
}

Status serve_showq(ipc::IpcStream& stream, const queue::QueueLayout& layout) {
    if (auto st = stream.announce(ipc::kShowqProtocol, ipc::kProtocolVersion); !st) return st;
    auto request = stream.receive();
    if (!request) return request.error();
    auto format = ipc::get_string(*request, "format");
    if (!format) return format.error();
    if (*format != "mailq" && *format != "json") return make_error("showq: unknown format: " + *format);
    std::string text = render_listing(layout, *format == "json" ? ListFormat::kJson : ListFormat::kMailq);
    for (std::size_t at = 0; at < text.size(); at += kShowqChunk) {
        ipc::AttrList chunk;
        chunk.add("data", text.substr(at, kShowqChunk));
        if (auto st = stream.send(chunk); !st) return st;
    }
    ipc::AttrList end;
    end.add_int("status", 0);
    return stream.send(end);
}

Result<std::string> ask_showq(ipc::IpcStream& stream, ListFormat format) {
    if (auto st = stream.expect_announcement(ipc::kShowqProtocol, ipc::kProtocolVersion); !st) return st.error();
    ipc::AttrList request;
    request.add("format", format == ListFormat::kJson ? "json" : "mailq");
    if (auto st = stream.send(request); !st) return st.error();
    std::string out;
    while (true) {
        auto record = stream.receive();
        if (!record) return record.error();
        if (record->find("status") != nullptr) {
            auto status = ipc::get_int(*record, "status");
            if (!status) return status.error();
            if (*status != 0) return make_error("showq: listing failed");
            return out;
        }
        auto data = ipc::get_string(*record, "data");
        if (!data) return data.error();
        out += *data;
    }
}

Result<std::string> ask_showq(std::string_view queue_directory, ListFormat format, int timeout_ms) {
    auto fd = ipc::connect_service(queue_directory, ipc::ServiceClass::kPublic, "showq", timeout_ms);
    if (!fd) return fd.error();
    ipc::IpcStream stream(std::move(*fd), timeout_ms);
    return ask_showq(stream, format);
}

}  // namespace mailroom::showq
