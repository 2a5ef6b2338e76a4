// smtp_wire.cc - see smtp_wire.h.
#include "lib/smtp/smtp_wire.h"

#include <algorithm>

namespace mailroom::smtp {

void WireEncoder::feed(std::string_view content, std::string* out) {
    std::size_t pos = 0;
    while (pos < content.size()) {
        std::size_t nl = content.find('\n', pos);
        std::size_t end = nl == std::string_view::npos ? content.size() : nl;
        if (line_start_ && pos < end) {
            if (content[pos] == '.') out->push_back('.');
            line_start_ = false;
        }
        while (pos < end) {
            if (break_pending_) {
                out->append("\r\n ");
                space_ = limit_ - 1;
                break_pending_ = false;
            }
            std::size_t take = limit_ == 0 ? end - pos : std::min(end - pos, space_);
            out->append(content.substr(pos, take));
            pos += take;
            if (limit_ > 0) {
                space_ -= take;
                if (space_ == 0) break_pending_ = true;
            }
        }
        if (nl == std::string_view::npos) break;
        out->append("\r\n");
        pos = nl + 1;
        space_ = limit_;
        break_pending_ = false;
        line_start_ = true;
    }
}

void WireEncoder::finish(std::string* out) {
    if (!line_start_ || break_pending_) out->append("\r\n");
    line_start_ = true;
    break_pending_ = false;
    space_ = limit_;
}

}  // namespace mailroom::smtp
