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

// Copies `text`, applying `actions` to every logical entry whose key (from
// `key_of`, applied to the entry's first physical line) has one; `render`
// produces the replacement line for a set. Appends the unmatched sets.
template <class KeyFn, class RenderFn>
std::string edit_entries(std::string_view text, const std::map<std::string, std::pair<Action, std::string>>& actions,
                         const std::vector<std::string>& append_order, KeyFn key_of, RenderFn render,
                         std::string_view filename, std::vector<std::string>* warnings) {
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
        if (body.empty() || body.front() == '#') {
            // Comments and blank lines, even inside a logical line, are kept.
            out.append(physical);
            continue;
        }
        if (!util::is_space(line.front())) {
            std::string key = key_of(line);
            auto it = actions.find(key);
            current = it == actions.end() ? Action::kKeep : it->second.first;
            if (it != actions.end()) {
                if (found[key]++ == 1 && warnings) {
                    warnings->push_back(util::format("%.*s: multiple entries for \"%s\"",
                                                     static_cast<int>(filename.size()), filename.data(),
                                                     key.c_str()));
                }
                if (current == Action::kSet) {
                    out += render(key, it->second.second) + "\n";
                    continue;
                }
            }
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
    for (const std::string& key : append_order) {
        auto it = actions.find(key);
        if (found.count(key) || it == actions.end() || it->second.first != Action::kSet) continue;
        if (!appended_any && !out.empty() && out.back() != '\n') out += "\n";
        appended_any = true;
        out += render(key, it->second.second) + "\n";
        found[key] = 1;
    }
    return out;
}

std::string master_entry_key(std::string_view line) {
    std::vector<std::string> f = util::split(line, " \t\r");
    if (f.size() < 2) return std::string();
    return f[0] + "/" + f[1];
}

}  // namespace

std::string edit_main_cf(std::string_view text, const MainCfEdit& edit, std::string_view filename,
                         std::vector<std::string>* warnings) {
    std::map<std::string, std::pair<Action, std::string>> actions;
    std::vector<std::string> order;
    for (const auto& n : edit.comment_out) actions[n] = {Action::kComment, ""};
    for (const auto& n : edit.remove) actions[n] = {Action::kRemove, ""};
    for (const auto& [n, v] : edit.set) {
        actions[n] = {Action::kSet, v};
        order.push_back(n);
    }
    auto render = [](const std::string& name, const std::string& v) {
        return name + " =" + (v.empty() ? "" : " ") + v;
    };
    return edit_entries(text, actions, order, line_param_name, render, filename, warnings);
}

std::string edit_master_cf(std::string_view text, const MasterCfEdit& edit, std::string_view filename,
                           std::vector<std::string>* warnings) {
    std::map<std::string, std::pair<Action, std::string>> actions;
    std::vector<std::string> order;
    for (const auto& k : edit.comment_out) actions[k] = {Action::kComment, ""};
    for (const auto& k : edit.remove) actions[k] = {Action::kRemove, ""};
    for (const auto& [k, v] : edit.set) {
        actions[k] = {Action::kSet, v};
        order.push_back(k);
    }
    auto render = [](const std::string&, const std::string& v) { return v; };
    return edit_entries(text, actions, order, master_entry_key, render, filename, warnings);
}

}  // namespace mailroom::config
