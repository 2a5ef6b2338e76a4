// sendmail_opts.cc - see sendmail_opts.h.
#include "sendmail/sendmail_opts.h"

#include "lib/util/strings.h"

namespace mailroom::sendmail {

Result<std::string> normalize_dsn_notify(std::string_view value) {
    std::vector<std::string> out;
    for (const auto& word : util::split(value, ",")) {
        std::string w = util::lowercase(util::trim(word));
        std::string up;
        if (w == "never") up = "NEVER";
        else if (w == "success") up = "SUCCESS";
        else if (w == "failure") up = "FAILURE";
        else if (w == "delay") up = "DELAY";
        else return make_error("bad -N option value: " + std::string(value));
        for (const auto& o : out)
            if (o == up) return make_error("bad -N option value: " + std::string(value));
        out.push_back(up);
    }
    if (out.empty()) return make_error("bad -N option value: (empty)");
    if (out.size() > 1)
        for (const auto& o : out)
            if (o == "NEVER") return make_error("bad -N option value: " + std::string(value));
    return util::join(out, ",");
}

Result<SendmailOptions> parse_sendmail_args(const std::vector<std::string>& argv) {
    SendmailOptions o;
    if (!argv.empty()) {
        std::string prog = argv[0];
        auto slash = prog.rfind('/');
        if (slash != std::string::npos) prog = prog.substr(slash + 1);
        if (prog == "mailq") o.mode = Mode::kMailq;
    }
    std::size_t i = 1;
    // The value of an option: the rest of the word, or the next word.
    auto value_of = [&](const std::string& arg, std::size_t at, std::string* out) -> Status {
        if (arg.size() > at) {
            *out = arg.substr(at);
            return ok_status();
        }
        if (i + 1 >= argv.size()) return make_error("option requires an argument -- " + arg.substr(1, 1));
        *out = argv[++i];
        return ok_status();
    };
    for (; i < argv.size(); ++i) {
        const std::string& arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg.size() < 2 || arg[0] != '-') break;
        char c = arg[1];
        std::string v;
        switch (c) {
            case 't': o.extract_recipients = true; break;
            case 'i': o.ignore_dots = true; break;
            case 'v': ++o.verbose; break;
            case 'f':
            case 'r':
                if (auto st = value_of(arg, 2, &v); !st) return st.error();
                if (v == "<>") v.clear();
                if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
                o.sender = v;
                o.sender_given = true;
                break;
            case 'F':
                if (auto st = value_of(arg, 2, &o.full_name); !st) return st.error();
                break;
            case 'N': {
                if (auto st = value_of(arg, 2, &v); !st) return st.error();
                auto n = normalize_dsn_notify(v);
                if (!n) return n.error();
                o.dsn_notify = *n;
                break;
            }
            case 'V':
                if (auto st = value_of(arg, 2, &o.envid); !st) return st.error();
                if (o.envid.empty() || o.envid.size() > 100) return make_error("bad -V option value: envid length");
                for (char ch : o.envid)
                    if (ch < 0x21 || ch > 0x7e || ch == '+' || ch == '=')
                        return make_error("bad -V option value: envid must be printable xtext");
                break;
            case 'R': {
                if (auto st = value_of(arg, 2, &v); !st) return st.error();
                std::string ret = util::lowercase(v);
                if (ret == "full") o.dsn_ret = "FULL";
                else if (ret == "hdrs") o.dsn_ret = "HDRS";
                else return make_error("bad -R option value: " + v);
                break;
            }
            case 'C':
            case 'c':
                if (auto st = value_of(arg, 2, &o.config_dir); !st) return st.error();
                break;
            case 'B':
            case 'h':
            case 'L':
                if (auto st = value_of(arg, 2, &v); !st) return st.error();
                break;  // body type, hop count, log label: ignored
            case 'U': break;  // initial user submission: ignored
            case 'o':
                if (arg == "-oi" || arg == "-oitrue") o.ignore_dots = true;
                // -oX: other Sendmail options are ignored, as Postfix does.
                break;
            case 'b':
                if (arg == "-bp") o.mode = Mode::kMailq;
                else if (arg == "-bi") o.mode = Mode::kNewaliases;
                else if (arg == "-bm") o.mode = Mode::kDeliver;
                else if (arg == "-bs") o.mode = Mode::kSmtp;
                else return make_error("unsupported option: " + arg + " (this sendmail implements -bm, -bs, -bp and -bi)");
                break;
            case 'q':
                if (arg != "-q" && (arg.size() < 3 || !std::isdigit(static_cast<unsigned char>(arg[2]))))
                    return make_error("unsupported option: " + arg + " (only -q, flush the queue, is implemented)");
                o.mode = Mode::kFlush;
                break;
            default:
                return make_error("unsupported option: " + arg);
        }
    }
    for (; i < argv.size(); ++i) o.recipients.push_back(argv[i]);
    return o;
}

}  // namespace mailroom::sendmail
