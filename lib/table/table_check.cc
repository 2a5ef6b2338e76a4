// table_check.cc - see table_check.h.
#include "lib/table/table_check.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "lib/table/table.h"
#include "lib/util/strings.h"

namespace mailroom::table {

namespace {

constexpr int kMaxNesting = 8;

Status readable(const std::string& path, const char* what) {
    if (::access(path.c_str(), R_OK) == 0) return ok_status();
    return make_error(util::format("open %s%s: %s", what, path.c_str(), std::strerror(errno)));
}

Status check(std::string_view text, int depth) {
    if (depth > kMaxNesting) return make_error(util::format("table \"%.*s\": nested too deeply", int(text.size()), text.data()));
    Result<TableSpec> spec = parse_table_spec(text);
    if (!spec) return spec.error();
    const std::string& type = spec->type;
    const std::string& name = spec->name;
    if (!is_table_type(type)) return make_error("unsupported dictionary type: " + type);
    if (type == "hash" || type == "btree") return readable(name + ".db", "database ");
    if (type == "texthash" || type == "regexp" || type == "pcre" || type == "cidr" || type == "mysql") {
        if (!name.empty() && name.front() == '{') return ok_status();
        return readable(name, "");
    }
    if (type == "proxy") return check(name, depth + 1);
    if (type == "unionmap" || type == "pipemap") {
        std::string_view inner = util::trim(name);
        if (inner.size() < 2 || inner.front() != '{' || inner.back() != '}')
            return make_error(util::format("%s: need {type:name, ...}: %s", type.c_str(), name.c_str()));
        for (const std::string& member : util::split_list(inner.substr(1, inner.size() - 2)))
            if (Status st = check(member, depth + 1); !st) return st;
    }
    return ok_status();
}

}  // namespace

bool is_table_type(std::string_view type) {
    std::vector<std::string> types = table_types();
    return std::find(types.begin(), types.end(), type) != types.end();
}

Status check_table_spec(std::string_view spec) { return check(spec, 0); }

config::TableChecker table_checker() {
    return config::TableChecker{[](std::string_view type) { return is_table_type(type); },
                                [](std::string_view spec) { return check_table_spec(spec); }};
}

std::vector<std::string> log_invalid_values(const config::Config& cfg, log::Level level) {
    config::TableChecker tables = table_checker();
    std::vector<std::string> problems = config::validate_config(cfg, &tables);
    for (const auto& p : problems) log::emit(level, p);
    return problems;
}

}  // namespace mailroom::table
