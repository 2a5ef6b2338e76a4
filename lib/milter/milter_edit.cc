// milter_edit.cc - see milter_edit.h.
#include "lib/milter/milter_edit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "lib/smtp/smtp_command.h"
#include "lib/util/strings.h"

namespace mailroom::milter {

using queue::RecordType;

// ---------------------------------------------------------------------------
// Spool

Result<std::unique_ptr<Spool>> Spool::create(const std::string& dir) {
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    // A chrooted daemon sits in the queue directory: its incoming/ is here.
    if (fd < 0) fd = ::open("incoming", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        // No O_TMPFILE there: the C library's temporary directory.
        std::FILE* f = std::tmpfile();
        if (f == nullptr) return make_temp_error("cannot create a spool file: " + std::string(std::strerror(errno)));
        return std::unique_ptr<Spool>(new Spool(f));
    }
    std::FILE* f = ::fdopen(fd, "w+");
    if (f == nullptr) {
        ::close(fd);
        return make_temp_error(std::string("fdopen: ") + std::strerror(errno));
    }
    return std::unique_ptr<Spool>(new Spool(f));
}

Spool::~Spool() { std::fclose(f_); }

Status Spool::write(std::string_view bytes) {
    if (bytes.empty()) return ok_status();
    // Back to the end only after a read moved the position.
    if (reading_ && std::fseek(f_, 0, SEEK_END) != 0)
        return make_temp_error(std::string("spool write: ") + std::strerror(errno));
    reading_ = false;
    if (std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size())
        return make_temp_error(std::string("spool write: ") + std::strerror(errno));
    size_ += bytes.size();
    return ok_status();
}

Status Spool::read_at(std::uint64_t offset, std::size_t max, std::string* out) {
    out->clear();
    if (offset >= size_) return ok_status();
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(max, size_ - offset));
    reading_ = true;
    if (std::fflush(f_) != 0 || std::fseek(f_, static_cast<long>(offset), SEEK_SET) != 0)
        return make_temp_error(std::string("spool read: ") + std::strerror(errno));
    out->resize(n);
    if (std::fread(out->data(), 1, n, f_) != n) return make_temp_error("spool read: short file");
    return ok_status();
}

Status Spool::each_line(const std::function<Status(std::string_view line)>& fn) {
    reading_ = true;
    if (std::fflush(f_) != 0 || std::fseek(f_, 0, SEEK_SET) != 0)
        return make_temp_error(std::string("spool read: ") + std::strerror(errno));
    std::string line;
    char buf[8192];
    std::size_t left = size_;
    while (left > 0) {
        std::size_t n = std::fread(buf, 1, std::min(sizeof(buf), left), f_);
        if (n == 0) return make_temp_error("spool read: short file");
        left -= n;
        std::string_view chunk(buf, n);
        while (!chunk.empty()) {
            auto nl = chunk.find('\n');
            if (nl == std::string_view::npos) {
                line.append(chunk);
                break;
            }
            line.append(chunk.substr(0, nl));
            chunk.remove_prefix(nl + 1);
            if (auto st = fn(line); !st) return st;
            line.clear();
        }
    }
    if (!line.empty()) return fn(line);
    return ok_status();
}

// ---------------------------------------------------------------------------
// MilterMessage: taking the stream

namespace {

bool header_name_ok(std::string_view line, std::size_t* colon) {
    auto c = line.find(':');
    if (c == std::string_view::npos || c == 0) return false;
    for (std::size_t i = 0; i < c; ++i) {
        unsigned char ch = static_cast<unsigned char>(line[i]);
        if (ch <= 0x20 || ch >= 0x7f) return false;
    }
    *colon = c;
    return true;
}

std::string strip_brackets(std::string_view a) {
    a = util::trim(a);
    if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
    return std::string(a);
}

}  // namespace

Status MilterMessage::add(RecordType type, std::string_view payload) {
    switch (segment_) {
        case Segment::kEnvelope:
            if (type == RecordType::kContentStart) {
                segment_ = Segment::kContent;
                return ok_status();
            }
            envelope_.emplace_back(type, std::string(payload));
            return ok_status();
        case Segment::kContent:
            if (type == RecordType::kExtractedStart) {
                segment_ = Segment::kExtracted;
                if (!line_.empty() || line_continued_) {
                    line_continued_ = false;
                    if (auto st = end_header_line(); !st) return st;
                }
                return ok_status();
            }
            if (type != RecordType::kNormal && type != RecordType::kContinued)
                return make_error("unexpected record in the message content");
            return add_content(payload, type == RecordType::kContinued);
        case Segment::kExtracted:
            if (type == RecordType::kEnd) {
                segment_ = Segment::kDone;
                ended_ = true;
                return ok_status();
            }
            extracted_.emplace_back(type, std::string(payload));
            return ok_status();
        case Segment::kDone:
            return make_error("record after the end of the message");
    }
    return ok_status();
}

Status MilterMessage::add_content(std::string_view text, bool continued) {
    if (!body_) {
        auto s = Spool::create(spool_dir_);
        if (!s) return s.error();
        body_ = std::move(*s);
    }
    if (!in_header_) {
        // Pieces of a long body line are joined in the spool.
        if (auto st = body_->write(text); !st) return st;
        return continued ? ok_status() : body_->write("\n");
    }
    line_.append(text);
    line_continued_ = continued;
    if (continued && line_.size() <= kMaxHeaderBytes) return ok_status();
    return end_header_line();
}

Status MilterMessage::end_header_line() {
    std::string line = std::move(line_);
    line_.clear();
    bool more = line_continued_;  // an oversized piece: the rest follows as body
    line_continued_ = false;
    header_bytes_ += line.size() + 1;
    if (header_bytes_ > kMaxHeaderBytes) in_header_ = false;
    std::size_t colon = 0;
    if (in_header_ && line.empty()) {
        in_header_ = false;
        separator_ = true;
        return ok_status();
    }
    if (in_header_ && (line[0] == ' ' || line[0] == '\t') && !headers_.empty()) {
        headers_.back().value += "\n" + line;
        return ok_status();
    }
    if (in_header_ && header_name_ok(line, &colon)) {
        headers_.push_back(Header{line.substr(0, colon), line.substr(colon + 1)});
        return ok_status();
    }
    in_header_ = false;
    if (auto st = body_->write(line); !st) return st;
    return more ? ok_status() : body_->write("\n");
}

// ---------------------------------------------------------------------------
// Reading and editing

Result<bool> MilterMessage::body_chunk(std::uint64_t* offset, std::string* out) {
    out->clear();
    if (!body_) return false;
    std::string raw;
    if (auto st = body_->read_at(*offset, kBodyChunk / 2, &raw); !st) return st.error();
    if (raw.empty()) return false;
    *offset += raw.size();
    out->reserve(raw.size() * 2);
    for (char c : raw) {
        if (c == '\n') out->push_back('\r');
        out->push_back(c);
    }
    return true;
}

void MilterMessage::del_rcpt(std::vector<Record>& records, std::string_view address) {
    std::string want = util::lowercase(strip_brackets(address));
    std::vector<Record> kept;
    std::size_t group = 0;  // start of the O/o/n records that belong to the next R
    for (auto& rec : records) {
        bool attr = rec.first == RecordType::kOrigRecipient || rec.first == RecordType::kDsnOrcpt ||
                    rec.first == RecordType::kDsnNotify;
        if (rec.first == RecordType::kRecipient) {
            std::string addr = rec.second.empty() ? "" : rec.second.substr(1);
            if (util::lowercase(addr) == want) {
                kept.resize(group);
                continue;
            }
        }
        kept.push_back(std::move(rec));
        if (!attr) group = kept.size();
    }
    records = std::move(kept);
}

namespace {

void warn(std::vector<std::string>* warnings, std::string text) {
    if (warnings) warnings->push_back(std::move(text));
}

// One ESMTP argument of a milter's MAIL or RCPT edit, read by smtpd's
// parser; nullopt when it does not parse there.
std::optional<smtp::Command> parse_arg(std::string_view verb, std::string_view word) {
    // A RCPT needs an address; MAIL takes the null sender.
    std::string path = verb == "MAIL FROM" ? "<>" : "<postmaster>";
    auto parsed = smtp::parse_command(std::string(verb) + ":" + path + " " + std::string(word));
    if (!parsed.ok()) return std::nullopt;
    return parsed.command();
}

}  // namespace

void MilterMessage::set_envelope(RecordType type, std::string_view attr, std::string value) {
    std::string prefix = attr.empty() ? "" : std::string(attr) + "=";
    if (!prefix.empty()) value = prefix + value;
    for (auto& rec : envelope_) {
        if (rec.first == type && rec.second.compare(0, prefix.size(), prefix) == 0) {
            rec.second = std::move(value);
            return;
        }
    }
    // A new one goes right after the sender, where smtpd writes it.
    auto at = envelope_.begin();
    while (at != envelope_.end() && at->first != RecordType::kSender) ++at;
    if (at != envelope_.end()) ++at;
    envelope_.emplace(at, type, std::move(value));
}

Status MilterMessage::change_sender_args(std::string_view args, std::vector<std::string>* warnings) {
    for (const auto& word : util::split(args, " \t")) {
        auto cmd = parse_arg("MAIL FROM", word);
        std::string name = util::lowercase(word.substr(0, word.find('=')));
        if (!cmd || !(name == "size" || name == "body" || name == "ret" || name == "envid" || name == "smtputf8" ||
                      name == "auth")) {
            warn(warnings, "ignoring ESMTP argument from MILTER: \"" + word.substr(0, 100) + "\"");
            continue;
        }
        const smtp::MailParams& p = cmd->mail;
        // SIZE, SMTPUTF8 and AUTH leave no trace in the queue file: the
        // size is measured, the others are the client's.
        if (p.body == smtp::BodyType::k7Bit)
            set_envelope(RecordType::kAttribute, queue::kAttrEncoding, std::string(queue::kEncoding7Bit));
        else if (p.body != smtp::BodyType::kDefault)
            set_envelope(RecordType::kAttribute, queue::kAttrEncoding, std::string(queue::kEncoding8Bit));
        if (p.ret != smtp::DsnRet::kDefault)
            set_envelope(RecordType::kDsnRet, "", p.ret == smtp::DsnRet::kFull ? "FULL" : "HDRS");
        if (!p.envid.empty()) {
            if (p.envid.size() > queue::kMaxEnvidLength) warn(warnings, "Bad ENVID parameter from MILTER: too long");
            else set_envelope(RecordType::kDsnEnvid, "", p.envid);
        }
    }
    return ok_status();
}

void MilterMessage::add_rcpt(std::string_view address, std::string_view args, std::vector<std::string>* warnings) {
    std::string notify, orcpt;
    for (const auto& word : util::split(args, " \t")) {
        std::string name = util::lowercase(word.substr(0, word.find('=')));
        auto cmd = parse_arg("RCPT TO", word);
        if (name == "notify") {
            if (!cmd || !notify.empty()) warn(warnings, "Bad NOTIFY parameter from MILTER: \"" + word.substr(0, 100) + "\"");
            else notify = smtp::dsn_notify_text(cmd->rcpt.notify);
        } else if (name == "orcpt") {
            if (!cmd || !orcpt.empty()) warn(warnings, "Bad ORCPT parameter from MILTER: \"" + word.substr(0, 100) + "\"");
            else orcpt = cmd->rcpt.orcpt_type + ";" + cmd->rcpt.orcpt_address;
        } else {
            warn(warnings, "ignoring ESMTP argument from MILTER: \"" + word.substr(0, 100) + "\"");
        }
    }
    // The records of one recipient, in smtpd's order: ORCPT, NOTIFY, the address.
    if (!orcpt.empty()) envelope_.emplace_back(RecordType::kDsnOrcpt, orcpt);
    if (!notify.empty()) envelope_.emplace_back(RecordType::kDsnNotify, notify);
    envelope_.emplace_back(RecordType::kRecipient, std::string(1, queue::kRcptPending) + strip_brackets(address));
}

Status MilterMessage::apply(const Reply& r, std::vector<std::string>* warnings) {
    switch (r.type) {
        case kRepAddHeader:
            headers_.push_back(Header{r.name, r.value});
            return ok_status();
        case kRepInsHeader: {
            std::size_t at = std::min<std::size_t>(r.index, headers_.size());
            headers_.insert(headers_.begin() + static_cast<std::ptrdiff_t>(at), Header{r.name, r.value});
            return ok_status();
        }
        case kRepChgHeader: {
            std::uint32_t seen = 0;
            for (auto it = headers_.begin(); it != headers_.end(); ++it) {
                if (!util::iequals(it->name, r.name)) continue;
                if (++seen != std::max<std::uint32_t>(r.index, 1)) continue;
                if (r.value.empty()) headers_.erase(it);
                else it->value = r.value;
                return ok_status();
            }
            // No such header: a change adds it, a delete does nothing.
            if (!r.value.empty()) headers_.push_back(Header{r.name, r.value});
            return ok_status();
        }
        case kRepChgFrom:
            for (auto& rec : envelope_) {
                if (rec.first == RecordType::kSender) rec.second = strip_brackets(r.name);
            }
            return change_sender_args(r.value, warnings);
        case kRepDelRcpt:
            del_rcpt(envelope_, r.name);
            del_rcpt(extracted_, r.name);
            return ok_status();
        case kRepAddRcpt: case kRepAddRcptPar:
            add_rcpt(r.name, r.type == kRepAddRcptPar ? std::string_view(r.value) : std::string_view(), warnings);
            return ok_status();
        case kRepReplBody: {
            if (!new_body_) {
                auto s = Spool::create(spool_dir_);
                if (!s) return s.error();
                new_body_ = std::move(*s);
                new_body_partial_.clear();
            }
            // CR LF to LF; a CR at the end of a chunk waits for the next.
            std::string text = new_body_partial_ + r.body;
            new_body_partial_.clear();
            if (!text.empty() && text.back() == '\r') {
                new_body_partial_ = "\r";
                text.pop_back();
            }
            std::string out;
            out.reserve(text.size());
            for (std::size_t i = 0; i < text.size(); ++i) {
                if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
                out.push_back(text[i]);
            }
            return new_body_->write(out);
        }
        case kRepQuarantine:
            hold_reason_ = r.text.empty() ? "milter triggers HOLD action" : r.text;
            for (char& c : hold_reason_) {
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
            }
            return ok_status();
        default:
            return make_error(std::string("not a modification reply: '") + r.type + "'");
    }
}

void MilterMessage::insert_before(Reply* r, std::string name, std::string value) {
    std::size_t at = headers_.size();  // ADDHEADER, and a CHGHEADER of no such header
    if (r->type == kRepInsHeader) {
        at = std::min<std::size_t>(r->index, headers_.size());
        ++r->index;
    } else if (r->type == kRepChgHeader) {
        std::uint32_t seen = 0;
        for (std::size_t i = 0; i < headers_.size(); ++i) {
            if (util::iequals(headers_[i].name, r->name) && ++seen == std::max<std::uint32_t>(r->index, 1)) {
                at = i;
                break;
            }
        }
        // A header of the same name before it: the edit's is one further.
        if (util::iequals(name, r->name) && at < headers_.size()) r->index = std::max<std::uint32_t>(r->index, 1) + 1;
    }
    headers_.insert(headers_.begin() + static_cast<std::ptrdiff_t>(at), Header{std::move(name), std::move(value)});
}

Status MilterMessage::end_body_replacement() {
    if (!new_body_) return ok_status();
    if (!new_body_partial_.empty()) {
        if (auto st = new_body_->write(new_body_partial_); !st) return st;
        new_body_partial_.clear();
    }
    // The spool's lines end in "\n": a last line without one is completed
    // by each_line(), so nothing more to do.
    body_ = std::move(new_body_);
    separator_ = true;
    return ok_status();
}

std::string MilterMessage::sender() const {
    for (const auto& rec : envelope_) {
        if (rec.first == RecordType::kSender) return rec.second;
    }
    return "";
}

std::vector<std::string> MilterMessage::recipients() const {
    std::vector<std::string> out;
    for (const auto* list : {&envelope_, &extracted_}) {
        for (const auto& rec : *list) {
            if (rec.first == RecordType::kRecipient && !rec.second.empty()) out.push_back(rec.second.substr(1));
        }
    }
    return out;
}

Status MilterMessage::replay(const Out& out) {
    for (const auto& [type, payload] : envelope_) {
        if (auto st = out(type, payload); !st) return st;
    }
    if (auto st = out(RecordType::kContentStart, ""); !st) return st;
    auto line = [&](std::string_view text) -> Status {
        while (text.size() > kReplayPiece) {
            if (auto st = out(RecordType::kContinued, text.substr(0, kReplayPiece)); !st) return st;
            text.remove_prefix(kReplayPiece);
        }
        return out(RecordType::kNormal, text);
    };
    for (const auto& h : headers_) {
        std::string_view value = h.value;
        std::string first = h.name + ":";
        auto nl = value.find('\n');
        std::string_view head = value.substr(0, nl);
        if (!head.empty() && head.back() == '\r') head.remove_suffix(1);
        if (!head.empty() && head.front() != ' ' && head.front() != '\t') first += " ";
        first += head;
        if (auto st = line(first); !st) return st;
        while (nl != std::string_view::npos) {
            value.remove_prefix(nl + 1);
            nl = value.find('\n');
            std::string_view cont = value.substr(0, nl);
            if (!cont.empty() && cont.back() == '\r') cont.remove_suffix(1);
            if (cont.empty()) continue;
            std::string folded;
            if (cont.front() != ' ' && cont.front() != '\t') folded = "\t";
            folded += cont;
            if (auto st = line(folded); !st) return st;
        }
    }
    bool body = body_ && !body_->empty();
    if (separator_ || body) {
        if (auto st = line(""); !st) return st;
    }
    if (body) {
        if (auto st = body_->each_line(line); !st) return st;
    }
    if (auto st = out(RecordType::kExtractedStart, ""); !st) return st;
    for (const auto& [type, payload] : extracted_) {
        if (auto st = out(type, payload); !st) return st;
    }
    if (!hold_reason_.empty()) {
        std::string a = std::string(queue::kAttrHold) + "=" + hold_reason_;
        if (a.size() > queue::kMaxAttributeLength) a.resize(queue::kMaxAttributeLength);
        if (auto st = out(RecordType::kAttribute, a); !st) return st;
    }
    return out(RecordType::kEnd, "");
}

}  // namespace mailroom::milter
