// milter_codec.cc - see milter_codec.h.
#include "lib/milter/milter_codec.h"

#include <cstdio>

namespace mailroom::milter {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>((v >> 24) & 0xff));
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
}

std::uint32_t get_u32(std::string_view in) {
    auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])); };
    return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

void put_str(std::string& out, std::string_view s) {
    // A NUL inside would end the string early on the milter's side.
    for (char c : s) out.push_back(c == '\0' ? ' ' : c);
    out.push_back('\0');
}

// Reads strings and integers from a packet's data, bounded.
class Fields {
public:
    explicit Fields(std::string_view data) : rest_(data) {}
    Result<std::string> str(const char* what) {
        auto nul = rest_.find('\0');
        if (nul == std::string_view::npos) return make_error(std::string("unterminated ") + what);
        std::string s(rest_.substr(0, nul));
        rest_.remove_prefix(nul + 1);
        return s;
    }
    Result<std::uint32_t> u32(const char* what) {
        if (rest_.size() < 4) return make_error(std::string("short ") + what);
        std::uint32_t v = get_u32(rest_);
        rest_.remove_prefix(4);
        return v;
    }
    bool empty() const { return rest_.empty(); }
    std::string_view rest() const { return rest_; }

private:
    std::string_view rest_;
};

std::string packet_name(char c) {
    if (c >= 0x21 && c < 0x7f) return std::string("'") + c + "'";
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%02x", static_cast<unsigned char>(c));
    return buf;
}

}  // namespace

std::string encode_packet(char command, std::string_view data) {
    std::string out;
    out.reserve(5 + data.size());
    put_u32(out, static_cast<std::uint32_t>(data.size() + 1));
    out.push_back(command);
    out.append(data);
    return out;
}

std::string encode_optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t protocol) {
    std::string d;
    put_u32(d, version);
    put_u32(d, actions);
    put_u32(d, protocol);
    return encode_packet(kCmdOptneg, d);
}

std::string encode_connect(std::string_view hostname, char family, std::uint16_t port, std::string_view address) {
    std::string d;
    put_str(d, hostname);
    d.push_back(family);
    if (family != 'U') {
        d.push_back(static_cast<char>((port >> 8) & 0xff));
        d.push_back(static_cast<char>(port & 0xff));
        put_str(d, address);
    } else {
        d.append(2, '\0');
        put_str(d, address);
    }
    return encode_packet(kCmdConnect, d);
}

std::string encode_helo(std::string_view name) {
    std::string d;
    put_str(d, name);
    return encode_packet(kCmdHelo, d);
}

std::string encode_args(char command, const std::vector<std::string>& args) {
    std::string d;
    for (const auto& a : args) put_str(d, a);
    return encode_packet(command, d);
}

std::string encode_header(std::string_view name, std::string_view value) {
    std::string d;
    put_str(d, name);
    put_str(d, value);
    return encode_packet(kCmdHeader, d);
}

std::string encode_macros(char command, const std::vector<std::pair<std::string, std::string>>& macros) {
    std::string d(1, command);
    for (const auto& [name, value] : macros) {
        put_str(d, name);
        put_str(d, value);
    }
    return encode_packet(kCmdMacro, d);
}

std::string encode_unknown(std::string_view line) {
    std::string d;
    put_str(d, line);
    return encode_packet(kCmdUnknown, d);
}

Result<std::optional<Packet>> PacketReader::next() {
    std::string_view avail(buffer_);
    avail.remove_prefix(pos_);
    if (avail.size() < 4) return std::optional<Packet>();
    std::uint32_t len = get_u32(avail);
    if (len == 0) return make_error("milter packet of length 0");
    if (len > kMaxPacket) return make_error("milter packet too long: " + std::to_string(len) + " bytes");
    if (avail.size() < 4 + static_cast<std::size_t>(len)) return std::optional<Packet>();
    Packet p;
    p.command = avail[4];
    p.data.assign(avail.substr(5, len - 1));
    pos_ += 4 + len;
    // Compact once the consumed part dominates.
    if (pos_ > 4096 && pos_ * 2 > buffer_.size()) {
        buffer_.erase(0, pos_);
        pos_ = 0;
    }
    return std::optional<Packet>(std::move(p));
}

bool final_reply(char type) {
    switch (type) {
        case kRepAccept: case kRepContinue: case kRepDiscard: case kRepReject: case kRepTempfail:
        case kRepReplyCode: case kRepSkip: case kRepConnFail: case kRepShutdown:
            return true;
        default:
            return false;
    }
}

bool valid_reply_code(std::string_view text) {
    if (text.size() < 3) return false;
    if (text[0] != '4' && text[0] != '5') return false;
    if (text[1] < '0' || text[1] > '9' || text[2] < '0' || text[2] > '9') return false;
    if (text.size() > 3 && text[3] != ' ' && text[3] != '-') return false;
    for (char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\r' && c != '\n' && c != '\t') return false;
    }
    return true;
}

Result<Reply> parse_reply(const Packet& packet) {
    Reply r;
    r.type = packet.command;
    Fields f(packet.data);
    auto need_empty = [&]() -> Result<Reply> {
        if (!f.empty()) return make_error("milter reply " + packet_name(r.type) + " with unexpected data");
        return r;
    };
    switch (packet.command) {
        case kRepAccept: case kRepContinue: case kRepDiscard: case kRepReject: case kRepTempfail:
        case kRepSkip: case kRepProgress: case kRepConnFail: case kRepShutdown:
            return need_empty();
        case kRepReplyCode: {
            auto t = f.str("reply code");
            if (!t) return t.error();
            r.text = std::move(*t);
            if (!valid_reply_code(r.text)) return make_error("malformed milter reply code: " + r.text.substr(0, 100));
            return need_empty();
        }
        case kRepQuarantine: {
            auto t = f.str("quarantine reason");
            if (!t) return t.error();
            r.text = std::move(*t);
            return need_empty();
        }
        case kRepAddRcpt: case kRepDelRcpt: {
            auto a = f.str("recipient");
            if (!a) return a.error();
            r.name = std::move(*a);
            return need_empty();
        }
        case kRepAddRcptPar: case kRepChgFrom: {
            auto a = f.str("address");
            if (!a) return a.error();
            r.name = std::move(*a);
            if (!f.empty()) {
                auto v = f.str("ESMTP arguments");
                if (!v) return v.error();
                r.value = std::move(*v);
            }
            return need_empty();
        }
        case kRepAddHeader: {
            auto n = f.str("header name");
            if (!n) return n.error();
            auto v = f.str("header value");
            if (!v) return v.error();
            r.name = std::move(*n);
            r.value = std::move(*v);
            if (r.name.empty()) return make_error("milter header with an empty name");
            return need_empty();
        }
        case kRepInsHeader: case kRepChgHeader: {
            auto i = f.u32("header index");
            if (!i) return i.error();
            auto n = f.str("header name");
            if (!n) return n.error();
            auto v = f.str("header value");
            if (!v) return v.error();
            r.index = *i;
            r.name = std::move(*n);
            r.value = std::move(*v);
            if (r.name.empty()) return make_error("milter header with an empty name");
            return need_empty();
        }
        case kRepReplBody:
            r.body = packet.data;
            return r;
        default:
            return make_error("unknown milter reply " + packet_name(packet.command));
    }
}

std::uint32_t offered_protocol(std::uint32_t version) {
    std::uint32_t v2 = kProtoNoConnect | kProtoNoHelo | kProtoNoMail | kProtoNoRcpt | kProtoNoBody |
                       kProtoNoHeaders | kProtoNoEoh;
    if (version <= 2) return v2;
    if (version == 3) return v2 | kProtoNoUnknown;
    if (version <= 5) return v2 | kProtoNoUnknown | kProtoNoData | kProtoNrHeader;
    return v2 | kProtoNrHeader | kProtoNoUnknown | kProtoNoData | kProtoSkip | kProtoNrConnect | kProtoNrHelo |
           kProtoNrMail | kProtoNrRcpt | kProtoNrData | kProtoNrUnknown | kProtoNrEoh | kProtoNrBody |
           kProtoHeaderLeadingSpace;
}

Result<Negotiated> parse_optneg(const Packet& packet, std::uint32_t offered_version, std::uint32_t offered_actions,
                                std::uint32_t offered_proto) {
    if (packet.command != kRepOptneg)
        return make_error("expected an option negotiation reply, got " + packet_name(packet.command));
    Fields f(packet.data);
    Negotiated n;
    auto v = f.u32("protocol version");
    if (!v) return v.error();
    auto a = f.u32("action flags");
    if (!a) return a.error();
    auto p = f.u32("protocol flags");
    if (!p) return p.error();
    n.version = *v;
    n.actions = *a;
    // Buffer size requests are honoured anyway (replies are read up to kMaxPacket).
    n.protocol = *p & ~(kProtoMds256k | kProtoMds1m);
    if (n.version < 2 || n.version > offered_version)
        return make_error("protocol version " + std::to_string(n.version) + " not supported (ours is " +
                          std::to_string(offered_version) + ")");
    if (n.actions & ~offered_actions) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "requested action flags 0x%x not supported", n.actions & ~offered_actions);
        return make_error(buf);
    }
    if (n.protocol & ~offered_proto) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "requested protocol flags 0x%x not supported", n.protocol & ~offered_proto);
        return make_error(buf);
    }
    while (!f.empty()) {
        auto where = f.u32("macro stage");
        if (!where) return where.error();
        auto list = f.str("macro list");
        if (!list) return list.error();
        if (*where > static_cast<std::uint32_t>(Stage::kEoh))
            return make_error("macro list for unknown stage " + std::to_string(*where));
        n.macros[static_cast<Stage>(*where)] = std::move(*list);
    }
    return n;
}

}  // namespace mailroom::milter
