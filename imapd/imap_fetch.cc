// imap_fetch.cc - see imap_fetch.h: FETCH and UID FETCH.
#include "imapd/imap_fetch.h"

#include <unistd.h>

#include <algorithm>

#include "lib/imap/fetch_structure.h"
#include "lib/imap/imap_string.h"
#include "lib/imap/message_part.h"
#include "lib/imap/sequence_set.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::imapd {
namespace {

constexpr std::size_t kFetchChunk = 256 * 1024;

bool one_item(const std::string& raw, FetchParse* out) {
    const std::string u = upper(raw);
    FetchItem it;
    using K = FetchItem::Kind;
    auto simple = [&](K k, const char* name) {
        it.kind = k;
        it.reply_name = name;
        out->items.push_back(it);
        return true;
    };
    if (u == "ALL" || u == "FAST" || u == "FULL") {
        simple(K::kFlags, "FLAGS");
        simple(K::kInternalDate, "INTERNALDATE");
        simple(K::kSize, "RFC822.SIZE");
        if (u != "FAST") simple(K::kEnvelope, "ENVELOPE");
        if (u == "FULL") simple(K::kBody, "BODY");
        return true;
    }
    if (u == "FLAGS") return simple(K::kFlags, "FLAGS");
    if (u == "UID") return simple(K::kUid, "UID");
    if (u == "INTERNALDATE") return simple(K::kInternalDate, "INTERNALDATE");
    if (u == "RFC822.SIZE") return simple(K::kSize, "RFC822.SIZE");
    if (u == "ENVELOPE") return simple(K::kEnvelope, "ENVELOPE");
    if (u == "BODY") return simple(K::kBody, "BODY");
    if (u == "BODYSTRUCTURE") return simple(K::kBodyStructure, "BODYSTRUCTURE");
    if (u == "MODSEQ") return simple(K::kModseq, "MODSEQ");
    if (u == "RFC822" || u == "RFC822.TEXT" || u == "RFC822.HEADER") {
        it.kind = K::kSection;
        it.reply_name = u;
        it.section.text = u == "RFC822.TEXT"     ? imap::Section::Text::kText
                          : u == "RFC822.HEADER" ? imap::Section::Text::kHeader
                                                 : imap::Section::Text::kNone;
        it.sets_seen = u != "RFC822.HEADER";
        out->items.push_back(it);
        return true;
    }
    const std::size_t open = raw.find('[');
    const std::size_t close = raw.rfind(']');
    if (open == std::string::npos || close == std::string::npos || close < open) return false;
    const std::string head = u.substr(0, open);
    bool peek = false;
    if (head == "BODY" || head == "BODY.PEEK") {
        it.kind = K::kSection;
        peek = head == "BODY.PEEK";
    } else if (head == "BINARY" || head == "BINARY.PEEK") {
        it.kind = K::kBinary;
        peek = head == "BINARY.PEEK";
    } else if (head == "BINARY.SIZE") {
        it.kind = K::kBinarySize;
        peek = true;
    } else {
        return false;
    }
    auto sec = imap::parse_section(raw.substr(open + 1, close - open - 1));
    if (!sec) return false;
    if (it.kind != K::kSection && sec->text != imap::Section::Text::kNone) return false;
    it.section = *sec;
    const std::string rest = raw.substr(close + 1);
    if (!rest.empty()) {
        if (it.kind == K::kBinarySize) return false;
        it.partial = imap::parse_partial(rest);
        if (!it.partial) return false;
    }
    it.sets_seen = !peek;
    const std::string base = it.kind == K::kSection ? "BODY" : it.kind == K::kBinary ? "BINARY" : "BINARY.SIZE";
    it.reply_name = base + "[" + it.section.to_string() + "]";
    if (it.partial) it.reply_name += "<" + std::to_string(it.partial->origin) + ">";
    out->items.push_back(std::move(it));
    return true;
}

}  // namespace

FetchParse parse_fetch_items(const ImapArg& arg) {
    FetchParse p;
    if (arg.type == ImapArg::Type::kList) {
        if (arg.list.empty()) p.error = "Invalid arguments.";
        for (const auto& a : arg.list) {
            if (a.type != ImapArg::Type::kAtom || !one_item(a.value, &p)) {
                p.error = "Unknown parameter " + log::log_printable(a.value);
                break;
            }
        }
    } else if (arg.type != ImapArg::Type::kAtom || !one_item(arg.value, &p)) {
        p.error = "Unknown parameter " + log::log_printable(arg.value);
    }
    return p;
}

std::string format_internal_date(std::int64_t when) {
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t t = static_cast<std::time_t>(when);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return util::format("\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void ImapSession::cmd_fetch(ImapCommand& cmd, bool uid) {
    // FETCH set items [(CHANGEDSINCE n [VANISHED])]
    if (cmd.args.size() < 2 || cmd.args.size() > 3)
        return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": Invalid arguments.");
    auto parsed = parse_fetch_items(cmd.args[1]);
    if (!parsed.error.empty()) return bad(cmd.tag, "Error in IMAP command " + cmd.name + ": " + parsed.error);
    std::optional<std::uint64_t> changed_since;
    bool vanished = false;
    if (cmd.args.size() == 3) {
        const auto& m = cmd.args[2];
        if (m.type != ImapArg::Type::kList) return bad(cmd.tag, "Error in IMAP command FETCH: Invalid modifiers.");
        for (std::size_t i = 0; i < m.list.size(); ++i) {
            const std::string v = upper(m.list[i].value);
            if (v == "CHANGEDSINCE" && i + 1 < m.list.size()) {
                changed_since = std::strtoull(m.list[++i].value.c_str(), nullptr, 10);
            } else if (v == "VANISHED" && uid && qresync_) {
                vanished = true;
            } else {
                return bad(cmd.tag, "Error in IMAP command FETCH: Invalid modifier " + log::log_printable(v));
            }
        }
        if (vanished && !changed_since) return bad(cmd.tag, "Error in IMAP command FETCH: VANISHED without CHANGEDSINCE.");
    }
    auto job = std::make_unique<FetchJob>();
    job->tag = cmd.tag;
    job->uid = uid;
    job->items = std::move(parsed.items);
    if (!resolve_set(cmd.tag, cmd.args[0], uid, &job->indexes)) return;
    for (const auto& it : job->items) {
        if (it.kind == FetchItem::Kind::kModseq) job->with_modseq = true;
        if (it.kind != FetchItem::Kind::kFlags && it.kind != FetchItem::Kind::kUid &&
            it.kind != FetchItem::Kind::kInternalDate && it.kind != FetchItem::Kind::kSize &&
            it.kind != FetchItem::Kind::kModseq)
            job->needs_text = true;
    }
    if (changed_since) {
        condstore_ = true;
        job->with_modseq = true;
        if (vanished) {
            bool complete = true;
            std::vector<std::uint32_t> gone;
            auto set = imap::SequenceSet::parse(cmd.args[0].value);
            const std::uint32_t star = folder_->count() ? folder_->messages().back().uid : 0;
            for (auto u : folder_->vanished_since(*changed_since, &complete))
                if (set && set->contains(u, star)) gone.push_back(u);
            if (!gone.empty()) send("* VANISHED (EARLIER) " + imap::format_numbers(gone));
        }
        std::erase_if(job->indexes, [&](std::size_t i) { return folder_->message(i).modseq <= *changed_since; });
    }
    if (job->with_modseq) condstore_ = true;
    // The \Seen side effect is stored first, so the replies show it.
    bool seen = false;
    for (const auto& it : job->items) seen |= it.sets_seen;
    if (seen && !folder_->read_only()) {
        std::vector<std::uint32_t> uids;
        for (auto i : job->indexes)
            if (!(folder_->message(i).flags & access::kFlagSeen)) uids.push_back(folder_->message(i).uid);
        if (!uids.empty()) {
            auto r = folder_->store(uids, access::StoreMode::kAdd, access::kFlagSeen, {});
            if (!r) log::warn("imap(%s): setting \\Seen: %s", log::log_printable(mail_user_).c_str(),
                              r.error().message.c_str());
            // FLAGS goes out with every message whose \Seen was set.
            bool has_flags = false;
            for (const auto& it : job->items) has_flags |= it.kind == FetchItem::Kind::kFlags;
            if (!has_flags) {
                FetchItem f;
                f.kind = FetchItem::Kind::kFlags;
                f.reply_name = "FLAGS";
                job->items.push_back(f);
            }
        }
    }
    fetch_job_ = std::move(job);
    wait_ = Wait::kOutput;
    channel_->pause_reading();
    run_fetch();
}

void ImapSession::run_fetch() {
    if (!fetch_job_ || done_ || closing_) return;
    FetchJob& job = *fetch_job_;
    for (;;) {
        if (channel_->output_size() > kFetchChunk) {
            channel_->on_drained([this] {
                channel_->on_drained(nullptr);
                run_fetch();
            });
            return;
        }
        if (!job.pending.empty()) {
            if (!write_segment(job)) job.pending.pop_front();
            continue;
        }
        if (job.next >= job.indexes.size()) break;
        // Small replies (FLAGS, UID, ...) are written in batches, not one
        // channel write per message.
        std::string batch;
        while (job.next < job.indexes.size() && batch.size() < kFetchChunk / 4) {
            fetch_one(job, job.indexes[job.next++]);
            if (job.pending.size() != 1 || job.pending.front().fd.valid()) break;
            batch += job.pending.front().text;
            job.pending.pop_front();
        }
        if (!batch.empty()) send_raw(batch);
    }
    const std::string tag = job.tag;
    const bool uid = job.uid;
    const bool failed = job.any_failed;
    const bool unknown_cte = job.unknown_cte;
    fetch_job_.reset();
    wait_ = Wait::kNone;
    if (uid && !report_changes()) return;
    tagged(tag, unknown_cte ? "NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding."
                : failed    ? "NO [EXPUNGEISSUED] Some of the requested messages no longer exist."
                            : "OK Fetch completed.");
    channel_->resume_reading();
}

bool ImapSession::write_segment(FetchJob& job) {
    FetchSegment& seg = job.pending.front();
    if (!seg.fd.valid()) {
        send_raw(seg.text);
        return false;
    }
    if (seg.left == 0) return false;
    char buf[64 * 1024];
    const ssize_t n = ::read(seg.fd.get(), buf, sizeof(buf) / 2);
    std::string out;
    if (n <= 0) {
        out.assign(static_cast<std::size_t>(std::min<std::uint64_t>(seg.left, sizeof(buf))), ' ');  // the file shrank
    } else {
        for (ssize_t i = 0; i < n; ++i) {
            if (buf[i] == '\n' && seg.prev != '\r') out.push_back('\r');
            out.push_back(buf[i]);
            seg.prev = buf[i];
        }
        if (out.size() > seg.left) out.resize(static_cast<std::size_t>(seg.left));
    }
    seg.left -= out.size();
    send_raw(out);
    return seg.left > 0;
}

namespace {

FetchSegment text_segment(std::string text) {
    FetchSegment s;
    s.text = std::move(text);
    return s;
}

// The size of a message file with CRLF line ends; the file is left at 0.
std::optional<std::uint64_t> file_crlf_size(int fd) {
    char buf[64 * 1024];
    std::uint64_t n = 0;
    char prev = 0;
    for (;;) {
        const ssize_t got = ::read(fd, buf, sizeof(buf));
        if (got < 0) return std::nullopt;
        if (got == 0) break;
        for (ssize_t i = 0; i < got; ++i) {
            if (buf[i] == '\n' && prev != '\r') ++n;
            prev = buf[i];
        }
        n += static_cast<std::uint64_t>(got);
    }
    if (::lseek(fd, 0, SEEK_SET) != 0) return std::nullopt;
    return n;
}

}  // namespace

void ImapSession::fetch_one(FetchJob& job, std::size_t index) {
    const access::Message& m = folder_->message(index);
    std::vector<std::string> parts;
    std::optional<std::size_t> stream_at;  // the part after which the file goes
    FetchSegment file;
    std::optional<std::string> text;  // the message, read once when needed
    std::optional<imap::ParsedMessage> parsed;
    bool gone = false;
    auto message = [&]() -> const std::string& {
        if (!text) {
            auto t = folder_->read_message(m.uid);
            if (!t) gone = true;
            text = t ? std::move(*t) : std::string();
        }
        return *text;
    };
    auto tree = [&]() -> const imap::ParsedMessage& {
        if (!parsed) parsed = imap::parse_message(message());
        return *parsed;
    };
    auto cached = [&](access::CacheField field, auto compute) {
        if (auto c = folder_->cached(m.uid, field)) return *c;
        std::string v = compute();
        if (!gone) folder_->set_cached(m.uid, field, v);
        return v;
    };
    auto literal = [](std::string_view data) { return "{" + std::to_string(data.size()) + "}\r\n" + std::string(data); };
    if (job.uid) parts.push_back("UID " + std::to_string(m.uid));
    for (const auto& it : job.items) {
        using K = FetchItem::Kind;
        switch (it.kind) {
        case K::kUid:
            if (!job.uid) parts.push_back("UID " + std::to_string(m.uid));
            break;
        case K::kFlags: parts.push_back("FLAGS " + flags_text(m)); break;
        case K::kModseq: break;  // added once below
        case K::kInternalDate: parts.push_back("INTERNALDATE " + format_internal_date(m.internal_date)); break;
        case K::kSize: {
            std::uint64_t size = m.rfc822_size;
            if (!size) {
                auto s = folder_->rfc822_size(m.uid);
                if (!s) gone = true;
                size = s ? *s : 0;
            }
            parts.push_back("RFC822.SIZE " + std::to_string(size));
            break;
        }
        case K::kEnvelope:
            parts.push_back("ENVELOPE " + cached(access::CacheField::kEnvelope, [&] {
                                return imap::imap_envelope_of_header(
                                    std::string_view(message()).substr(0, tree().root->body_begin));
                            }));
            break;
        case K::kBody:
            parts.push_back("BODY " + cached(access::CacheField::kBody,
                                             [&] { return imap::imap_bodystructure_of(tree(), false); }));
            break;
        case K::kBodyStructure:
            parts.push_back("BODYSTRUCTURE " + cached(access::CacheField::kBodyStructure,
                                                      [&] { return imap::imap_bodystructure_of(tree(), true); }));
            break;
        case K::kSection: {
            const bool whole = it.section.part.empty() && it.section.text == imap::Section::Text::kNone;
            if (whole && !it.partial && !stream_at && !text && m.size > kStreamFrom) {
                auto fd = folder_->open_message(m.uid);
                auto size = fd ? file_crlf_size(fd->get()) : std::nullopt;
                if (size) {
                    parts.push_back(it.reply_name + " {" + std::to_string(*size) + "}\r\n");
                    stream_at = parts.size() - 1;
                    file.fd = std::move(*fd);
                    file.left = *size;
                    break;
                }
                gone = true;
            }
            std::string data = imap::extract_section_of(tree(), it.section);
            if (it.partial) data = imap::apply_partial(data, *it.partial);
            parts.push_back(it.reply_name + " " + literal(data));
            break;
        }
        case K::kBinary:
        case K::kBinarySize: {
            auto b = imap::extract_binary_of(tree(), it.section);
            if (b.status == imap::BinaryStatus::kUnknownCte) {
                job.unknown_cte = true;  // the tagged reply is NO [UNKNOWN-CTE] (RFC 3516)
                parts.push_back(it.reply_name + " NIL");
                break;
            }
            if (it.kind == K::kBinarySize) {
                parts.push_back(it.reply_name + " " + std::to_string(b.data.size()));
                break;
            }
            if (it.partial) b.data = imap::apply_partial(b.data, *it.partial);
            const bool has_nul = b.data.find('\0') != std::string::npos;
            parts.push_back(it.reply_name + " " + (has_nul ? "~" : "") + literal(b.data));
            break;
        }
        }
    }
    if (job.with_modseq) parts.push_back("MODSEQ (" + std::to_string(m.modseq) + ")");
    if (gone) job.any_failed = true;
    const std::string head = "* " + std::to_string(index + 1) + " FETCH (";
    if (!stream_at) {
        job.pending.push_back(text_segment(head + util::join(parts, " ") + ")\r\n"));
        return;
    }
    std::vector<std::string> before(parts.begin(), parts.begin() + static_cast<long>(*stream_at) + 1);
    std::vector<std::string> after(parts.begin() + static_cast<long>(*stream_at) + 1, parts.end());
    job.pending.push_back(text_segment(head + util::join(before, " ")));
    job.pending.push_back(std::move(file));
    job.pending.push_back(text_segment((after.empty() ? "" : " " + util::join(after, " ")) + ")\r\n"));
}

}  // namespace mailroom::imapd
