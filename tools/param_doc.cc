// param_doc.cc - writes docs/parameters.md from the parameter table.
//
// The build runs it (tools/CMakeLists.txt) so that the list of supported
// parameters is generated from lib/config/param_table.inc and cannot drift
// from what postconf -d prints. Usage: param_doc OUTPUT.md
#include <cstdio>
#include <string>

#include "lib/config/params.h"

namespace {

using mailroom::config::ParamSpec;
using mailroom::config::ParamType;

const char* type_name(ParamType t) {
    switch (t) {
        case ParamType::kString: return "string";
        case ParamType::kInt: return "integer";
        case ParamType::kBool: return "yes/no";
        case ParamType::kTime: return "time";
        case ParamType::kSize: return "size";
        case ParamType::kList: return "list";
        case ParamType::kEnum: return "one of";
        case ParamType::kEnumList: return "list of";
        case ParamType::kMaps: return "tables";
        case ParamType::kRestrictions: return "restrictions";
    }
    return "string";
}

// Markdown table cell: no line breaks, pipes escaped.
std::string cell(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out;
}

std::string code(const std::string& s) {
    if (s.empty()) return "(empty)";
    return "`" + cell(s) + "`";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: param_doc OUTPUT.md\n");
        return 2;
    }
    std::string tmp = std::string(argv[1]) + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) {
        std::perror(tmp.c_str());
        return 1;
    }
    const auto& table = mailroom::config::param_table();
    std::fprintf(f,
                 "# Supported parameters\n\n"
                 "Generated at build time from `lib/config/param_table.inc` by `tools/param_doc`;\n"
                 "do not edit. %zu parameters, sorted by name. `postconf -d` prints the same\n"
                 "names and defaults; a default marked *computed* depends on the host or the\n"
                 "installation (`postconf -d NAME` shows its value here). Per-transport\n"
                 "parameters (`TRANSPORT_destination_concurrency_limit` and the like) exist\n"
                 "for every transport master.cf defines.\n\n"
                 "| parameter | type | default | meaning |\n"
                 "| --- | --- | --- | --- |\n",
                 table.size());
    for (const ParamSpec& p : table) {
        std::string type = type_name(p.type);
        if (p.choices) type += std::string(" ") + p.choices;
        if (p.type == ParamType::kTime) type += std::string(" (unit ") + p.time_unit + ")";
        std::string def = p.default_value ? code(p.default_value) : "*computed*";
        std::fprintf(f, "| `%s` | %s | %s | %s |\n", p.name, cell(type).c_str(), def.c_str(),
                     cell(p.description ? p.description : "").c_str());
    }
    if (std::fclose(f) != 0 || std::rename(tmp.c_str(), argv[1]) != 0) {
        std::perror(argv[1]);
        return 1;
    }
    return 0;
}
