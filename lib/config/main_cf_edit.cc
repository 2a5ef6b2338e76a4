// main_cf_edit.cc - see main_cf_edit.h.
#include "lib/config/main_cf_edit.h"

#include <map>
#include <set>

#include "lib/util/strings.h"

namespace mailroom::config {

namespace {

enum class Action { kKeep, kSet, kRemove, kComment };

// The parameter name a physical line starts, or "" when it does not start a
// logical line (continuation, comment, blank).
std::string line_param_name(std::string_view line) {
    if (line.empty() || util::is_space(line.front()) || line.front() == '#') return std::string();
    size_t eq = line.find('=');
    std::string_view name = util::trim(line.substr(0, eq == std::string_view::npos ? line.size() : eq));
    return std::string(name);
}

}  // namespace

std::string edit_main_cf(std::string_view text, const MainCfEdit& edit, std::string_view filename,
                         std::vector<std::string>* warnings) {
    std::map<std::string, std::pair<Action, std::string>> actions;
    for (const auto& n : edit.comment_out) actions[n] = {Action::kComment, ""};
    for (const auto& n : edit.remove) actions[n] = {Action::kRemove, ""};
    for (const auto& [n, v] : edit.set) actions[n] = {Action::kSet, v};

    std::map<std::string, int> found;
    std::string out;
    out.reserve(text.size() + 256);
    Action current = Action::kKeep;  // action applying to the logical line being copied
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
        std::string_view physical = text.substr(pos, end - pos);
        std::string_view line = physical;
        if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
        pos = end;

        std::string_view body = util::trim(line);
        bool ignorable = body.empty() || body.front() == '#';
        bool continuation = !ignorable && util::is_space(line.front());
        if (!ignorable && !continuation) {
            std::string name = line_param_name(line);
            auto it = actions.find(name);
            current = it == actions.end() ? Action::kKeep : it->second.first;
            if (it != actions.end()) {
                if (found[name]++ == 1 && warnings) {
                    warnings->push_back(util::format("%.*s: multiple entries for \"%s\"",
                                                     static_cast<int>(filename.size()), filename.data(),
                                                     name.c_str()));
                }
                if (current == Action::kSet) {
                    const std::string& v = it->second.second;
                    out += name + " =" + (v.empty() ? "" : " ") + v + "\n";
                    continue;
                }
            }
        } else if (ignorable) {
            // Comments and blank lines inside a logical line are kept as they are.
            out.append(physical);
            continue;
        }
        switch (current) {
            case Action::kKeep:
                out.append(physical);
                break;
            case Action::kSet:
            case Action::kRemove:
                break;  // continuation lines of a replaced or removed entry go away
            case Action::kComment:
                out += "#";
                out.append(physical);
                break;
        }
    }
    bool appended_any = false;
    for (const auto& [n, v] : edit.set) {
        if (found.count(n)) continue;
        if (!appended_any && !out.empty() && out.back() != '\n') out += "\n";
        appended_any = true;
        out += n + " =" + (v.empty() ? "" : " ") + v + "\n";
        found[n] = 1;
    }
    return out;
}

}  // namespace mailroom::config
