// milter_list.cc - see milter_list.h.
#include "lib/milter/milter_list.h"

#include <array>

#include "lib/log/log.h"
#include "lib/milter/milter_header_checks.h"
#include "lib/util/strings.h"

namespace mailroom::milter {

struct MilterList::Entry {
    MilterSpec spec;
    MilterClient::Ptr client;
    bool disabled = false;       // failed with default_action accept, or accepted the connection
    bool failed = false;         // failed: every event gets the default action
    bool msg_accepted = false;   // accepted the current message
    bool in_msg = false;         // got MAIL and no end of message yet: ABORT ends it
    bool connected = false;
    // The macro lists the milter asked for in its negotiation, split once
    // when it connected (nullopt: the stage's milter_*_macros).
    std::array<std::optional<std::vector<std::string>>, kStages> own_macros;
};

// One event on its way through the milters.
struct MilterList::Run {
    Stage stage = Stage::kConnect;
    char cmd = 0;
    std::uint32_t no_flag = 0;
    std::uint32_t nr_flag = 0;
    std::string packet;
    bool in_message = false;
    Done done;
    std::size_t index = 0;
    char sent = 0;  // the command whose reply is awaited (names it in warnings)
    // The message stage.
    MilterMessage* msg = nullptr;
    enum class Phase { kHeaders, kEoh, kBody, kEom } phase = Phase::kHeaders;
    std::size_t header = 0;
    std::uint64_t offset = 0;
    std::string chunk;
};

namespace {

const char* stage_name(char cmd) {
    switch (cmd) {
        case kCmdConnect: return "SMFIC_CONNECT";
        case kCmdHelo: return "SMFIC_HELO";
        case kCmdMail: return "SMFIC_MAIL";
        case kCmdRcpt: return "SMFIC_RCPT";
        case kCmdData: return "SMFIC_DATA";
        case kCmdUnknown: return "SMFIC_UNKNOWN";
        case kCmdHeader: return "SMFIC_HEADER";
        case kCmdEoh: return "SMFIC_EOH";
        case kCmdBody: return "SMFIC_BODY";
        case kCmdBodyEob: return "SMFIC_BODYEOB";
        default: return "command";
    }
}

std::uint32_t action_of(char type) {
    switch (type) {
        case kRepAddHeader: return kActAddHeaders;
        case kRepInsHeader: return kActAddHeaders;
        case kRepChgHeader: return kActChangeHeaders;
        case kRepReplBody: return kActChangeBody;
        case kRepAddRcpt: return kActAddRcpt;
        case kRepAddRcptPar: return kActAddRcptPar;
        case kRepDelRcpt: return kActDelRcpt;
        case kRepChgFrom: return kActChangeFrom;
        case kRepQuarantine: return kActQuarantine;
        default: return 0;
    }
}

}  // namespace

MilterList::MilterList(event::Loop& loop, std::shared_ptr<const MilterConfig> config, MacroLookup macros)
    : loop_(loop), config_(std::move(config)), lookup_(std::move(macros)) {
    for (const auto& spec : config_->milters) {
        auto e = std::make_unique<Entry>();
        e->spec = spec;
        entries_.push_back(std::move(e));
    }
}

MilterList::~MilterList() = default;

Verdict MilterList::default_verdict(Entry& e) {
    Verdict v;
    v.milter = e.spec.name;
    switch (e.spec.default_action) {
        case DefaultAction::kAccept: break;
        case DefaultAction::kReject:
            v.kind = Verdict::Kind::kReject;
            v.reply = kRejectReply;
            break;
        case DefaultAction::kTempfail:
            v.kind = Verdict::Kind::kTempfail;
            v.reply = kTempfailReply;
            break;
        case DefaultAction::kQuarantine: break;  // the caller's message goes on hold (see message())
    }
    return v;
}

// default_action = quarantine: the message of a failed milter goes on hold.
void MilterList::hold_for(Entry& e, Run& run) {
    if (run.msg && e.spec.default_action == DefaultAction::kQuarantine && !run.msg->held())
        run.msg->quarantine("milter " + e.spec.name + " is unavailable");
}

Verdict MilterList::failure(Entry& e, const std::string& why) {
    if (!e.failed) log::warn("milter %s: %s", e.spec.name.c_str(), why.c_str());
    e.failed = true;
    e.client.reset();
    if (e.spec.default_action == DefaultAction::kAccept) e.disabled = true;
    return default_verdict(e);
}

std::string MilterList::macros(Entry& e, Stage stage, char cmd) {
    const auto& own = e.own_macros[static_cast<std::size_t>(stage)];
    const std::vector<std::string>& names = own ? *own : config_->macros[static_cast<std::size_t>(stage)];
    std::vector<std::pair<std::string, std::string>> values;
    for (const auto& name : names) {
        if (auto v = lookup_(name)) values.emplace_back(name, *v);
    }
    if (values.empty()) return "";
    return encode_macros(cmd, values);
}

void MilterList::connect(const ConnectInfo& info, Done done) {
    std::string host = info.client_name;
    if (host.empty() || host == "unknown") host = info.client_addr.empty() ? "localhost" : "[" + info.client_addr + "]";
    char family = info.client_addr.empty() ? 'U' : info.client_addr.find(':') != std::string::npos ? '6' : '4';
    std::string packet = family == 'U' ? encode_connect(host, 'U', 0, "")
                                       : encode_connect(host, family, info.client_port, info.client_addr);
    event(Stage::kConnect, kCmdConnect, kProtoNoConnect, kProtoNrConnect, std::move(packet), false, std::move(done));
}

void MilterList::helo(const std::string& name, Done done) {
    event(Stage::kHelo, kCmdHelo, kProtoNoHelo, kProtoNrHelo, encode_helo(name), false, std::move(done));
}

void MilterList::mail(std::vector<std::string> args, Done done) {
    in_message_ = true;
    for (auto& e : entries_) {
        e->msg_accepted = false;
        e->in_msg = true;
    }
    event(Stage::kMail, kCmdMail, kProtoNoMail, kProtoNrMail, encode_args(kCmdMail, args), true, std::move(done));
}

void MilterList::rcpt(std::vector<std::string> args, Done done) {
    event(Stage::kRcpt, kCmdRcpt, kProtoNoRcpt, kProtoNrRcpt, encode_args(kCmdRcpt, args), true, std::move(done));
}

void MilterList::data(Done done) {
    event(Stage::kData, kCmdData, kProtoNoData, kProtoNrData, encode_packet(kCmdData, ""), true, std::move(done));
}

void MilterList::unknown(const std::string& line, Done done) {
    event(Stage::kUnknown, kCmdUnknown, kProtoNoUnknown, kProtoNrUnknown, encode_unknown(line), false,
          std::move(done));
}

void MilterList::message(MilterMessage& msg, Done done) {
    auto run = std::make_shared<Run>();
    run->stage = Stage::kEom;
    run->cmd = kCmdBodyEob;
    run->in_message = true;
    run->msg = &msg;
    run->done = std::move(done);
    next(run);
}

void MilterList::event(Stage stage, char cmd, std::uint32_t no_flag, std::uint32_t nr_flag, std::string packet,
                       bool in_message, Done done) {
    auto run = std::make_shared<Run>();
    run->stage = stage;
    run->cmd = cmd;
    run->no_flag = no_flag;
    run->nr_flag = nr_flag;
    run->packet = std::move(packet);
    run->in_message = in_message;
    run->done = std::move(done);
    next(run);
}

void MilterList::abort() {
    if (!in_message_) return;
    in_message_ = false;
    for (auto& e : entries_) {
        e->msg_accepted = false;
        if (e->in_msg && e->client && !e->disabled && !e->failed) e->client->send(encode_packet(kCmdAbort, ""));
        e->in_msg = false;
    }
}

void MilterList::quit() {
    for (auto& e : entries_) {
        if (e->client && !e->failed) e->client->send(encode_packet(kCmdQuit, ""));
    }
}

// Sends the run's event to the milter at run->index, or finishes.
void MilterList::next(std::shared_ptr<Run> run) {
    std::weak_ptr<int> alive = alive_;
    while (run->index < entries_.size()) {
        Entry& e = *entries_[run->index];
        if (e.disabled || (run->in_message && e.msg_accepted)) {
            ++run->index;
            continue;
        }
        if (e.failed) {
            Verdict v = default_verdict(e);
            if (!v.ok()) return run->done(v);
            hold_for(e, *run);
            ++run->index;
            continue;
        }
        if (!e.client) {
            // First event of the session for this milter: connect first.
            e.client = MilterClient::create(loop_, e.spec);
            e.client->connect(kActAll, [this, alive, run](Status st) {
                if (alive.expired()) return;
                Entry& en = *entries_[run->index];
                if (!st) {
                    Verdict v = failure(en, "connect to " + en.spec.name + ": " + st.error().message);
                    if (!v.ok()) return run->done(v);
                    ++run->index;
                } else {
                    en.connected = true;
                    for (const auto& [stage, list] : en.client->negotiated().macros)
                        en.own_macros[static_cast<std::size_t>(stage)] = util::split_list(list);
                }
                next(run);
            });
            return;
        }
        if (!e.connected) return;  // still connecting (another event waits for it)
        std::uint32_t proto = e.client->negotiated().protocol;
        std::string packets;
        bool want_reply = true;
        int timeout = e.spec.command_timeout_s;
        if (!run->msg) {
            if (proto & run->no_flag) {
                ++run->index;
                continue;
            }
            packets = macros(e, run->stage, run->cmd) + run->packet;
            want_reply = !(proto & run->nr_flag);
            run->sent = run->cmd;
        } else {
            // The message: header by header, end of header, the body, end of message.
            timeout = e.spec.content_timeout_s;
            using Phase = Run::Phase;
            if (run->phase == Phase::kHeaders && (proto & kProtoNoHeaders)) run->phase = Phase::kEoh;
            if (run->phase == Phase::kHeaders) {
                const auto& hs = run->msg->headers();
                if (run->header >= hs.size()) {
                    run->phase = Phase::kEoh;
                } else {
                    const Header& h = hs[run->header++];
                    std::string_view value = h.value;
                    if (!(proto & kProtoHeaderLeadingSpace) && !value.empty() && value.front() == ' ')
                        value.remove_prefix(1);
                    packets = encode_header(h.name, value);
                    want_reply = !(proto & kProtoNrHeader);
                    run->sent = kCmdHeader;
                }
            }
            if (packets.empty() && run->phase == Phase::kEoh) {
                run->phase = Phase::kBody;
                if (!(proto & kProtoNoEoh)) {
                    packets = macros(e, Stage::kEoh, kCmdEoh) + encode_packet(kCmdEoh, "");
                    want_reply = !(proto & kProtoNrEoh);
                    run->sent = kCmdEoh;
                }
            }
            if (packets.empty() && run->phase == Phase::kBody) {
                bool more = false;
                if (!(proto & kProtoNoBody)) {
                    auto got = run->msg->body_chunk(&run->offset, &run->chunk);
                    if (!got) {
                        log::warn("milter %s: %s", e.spec.name.c_str(), got.error().message.c_str());
                        Verdict v;
                        v.kind = Verdict::Kind::kTempfail;
                        v.reply = "451 4.3.0 Error: queue file write error";
                        return run->done(v);
                    }
                    more = *got;
                }
                if (more) {
                    packets = encode_packet(kCmdBody, run->chunk);
                    want_reply = !(proto & kProtoNrBody);
                    run->sent = kCmdBody;
                } else {
                    run->phase = Phase::kEom;
                }
            }
            if (packets.empty() && run->phase == Phase::kEom) {
                packets = macros(e, Stage::kEom, kCmdBodyEob) + encode_packet(kCmdBodyEob, "");
                want_reply = true;
                run->sent = kCmdBodyEob;
            }
        }
        e.client->request(std::move(packets), want_reply, timeout,
                          [this, alive, run](Result<MilterClient::Replies> r) {
                              if (alive.expired()) return;
                              finish_entry(run, std::move(r));
                          });
        return;
    }
    // Every milter has seen the event.
    if (run->msg) {
        in_message_ = false;
        for (auto& e : entries_) e->msg_accepted = false;
    }
    run->done(Verdict{});
}

void MilterList::finish_entry(std::shared_ptr<Run> run, Result<MilterClient::Replies> replies) {
    Entry& e = *entries_[run->index];
    bool eom = run->msg && run->phase == Run::Phase::kEom;
    char cmd = run->sent;
    auto advance = [&] {
        ++run->index;
        run->phase = Run::Phase::kHeaders;
        run->header = 0;
        run->offset = 0;
        next(run);
    };
    auto fail = [&](const std::string& why) {
        Verdict v = failure(e, why);
        if (!v.ok()) return run->done(v);
        hold_for(e, *run);
        advance();
    };
    if (!replies) return fail(std::string("can't read ") + stage_name(cmd) + " reply: " + replies.error().message);
    if (replies->empty()) {  // no reply wanted: on to the next step
        if (run->msg && !eom) return next(run);
        return advance();
    }
    const Reply& last = replies->back();
    std::uint32_t allowed = e.client->negotiated().actions;
    for (std::size_t i = 0; i + 1 < replies->size(); ++i) {
        char t = (*replies)[i].type;
        if (!eom) return fail(std::string("unexpected modification reply '") + t + "' to " + stage_name(cmd));
        if (!(allowed & action_of(t)))
            return fail(std::string("modification reply '") + t + "' that was not negotiated");
    }
    // End of message ends the milter's transaction, whatever it answered.
    if (eom) e.in_msg = false;
    Verdict v;
    v.milter = e.spec.name;
    switch (last.type) {
        case kRepContinue:
            if (run->msg && !eom) return next(run);
            break;
        case kRepSkip:
            if (run->msg && run->phase == Run::Phase::kBody) {
                run->phase = Run::Phase::kEom;
                return next(run);
            }
            if (run->msg && !eom) return next(run);
            break;
        case kRepAccept:
            if (run->stage == Stage::kConnect || run->stage == Stage::kHelo) e.disabled = true;
            else e.msg_accepted = true;
            break;
        case kRepReject:
            v.kind = Verdict::Kind::kReject;
            v.reply = kRejectReply;
            return run->done(v);
        case kRepTempfail:
            v.kind = Verdict::Kind::kTempfail;
            v.reply = kTempfailReply;
            return run->done(v);
        case kRepReplyCode:
            v.kind = last.text[0] == '4' ? Verdict::Kind::kTempfail : Verdict::Kind::kReject;
            v.reply = last.text;
            return run->done(v);
        case kRepDiscard:
            v.kind = Verdict::Kind::kDiscard;
            return run->done(v);
        case kRepConnFail: case kRepShutdown:
            return fail("milter closed the connection");
        default:
            return fail(std::string("unexpected reply '") + last.type + "' to " + stage_name(cmd));
    }
    if (eom) {
        // The edits of an accepted or continued message, in the order sent.
        for (std::size_t i = 0; i + 1 < replies->size(); ++i) {
            Reply m = (*replies)[i];
            bool header_edit = m.type == kRepAddHeader || m.type == kRepInsHeader ||
                               (m.type == kRepChgHeader && !m.value.empty());
            if (header_edit && config_->header_checks) {
                auto o = check_milter_header(*config_->header_checks, e.spec.name, &m, run->msg);
                using K = HeaderCheckOutcome::Kind;
                if (o.kind == K::kDrop) continue;
                if (!o.prepend_name.empty()) run->msg->insert_before(&m, std::move(o.prepend_name), std::move(o.prepend_value));
                if (o.kind != K::kApply) {
                    v.kind = o.kind == K::kDiscard   ? Verdict::Kind::kDiscard
                             : o.kind == K::kReject ? Verdict::Kind::kReject
                                                    : Verdict::Kind::kTempfail;
                    v.reply = o.reply;
                    return run->done(v);
                }
            }
            if (m.type == kRepChgFrom || m.type == kRepAddRcptPar) {
                log::info("milter %s: %s <%s> %s", e.spec.name.c_str(),
                          m.type == kRepChgFrom ? "change sender" : "add recipient", m.name.c_str(),
                          log::log_printable(m.value).c_str());
            }
            std::vector<std::string> warnings;
            if (auto st = run->msg->apply(m, &warnings); !st) return fail(st.error().message);
            for (const auto& w : warnings) log::warn("milter %s: %s", e.spec.name.c_str(), log::log_printable(w).c_str());
        }
        if (auto st = run->msg->end_body_replacement(); !st) {
            log::warn("milter %s: %s", e.spec.name.c_str(), st.error().message.c_str());
            v.kind = Verdict::Kind::kTempfail;
            v.reply = "451 4.3.0 Error: queue file write error";
            return run->done(v);
        }
        e.msg_accepted = false;
    }
    advance();
}

}  // namespace mailroom::milter
