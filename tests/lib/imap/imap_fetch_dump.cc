// imap_fetch_dump.cc - prints what lib/imap answers for message files, for
// tests/integration/imap_dovecot_compare.sh.
//
//   imap_fetch_dump FILE...
//       FETCH (ENVELOPE BODYSTRUCTURE BODY) of each file, one response body
//       per file ending in CRLF
//   imap_fetch_dump --sections FILE SPEC...
//       for each section spec ("1.MIME", "HEADER.FIELDS (FROM)", or
//       "BINARY 1" for BINARY[1]), "{n}\r\n" and the n bytes, then CRLF;
//       "NO" and CRLF when the section is refused or the encoding unknown
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "lib/imap/fetch_structure.h"
#include "lib/imap/section.h"

namespace {

bool read_file(const char* path, std::string* out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        std::cerr << "imap_fetch_dump: cannot read " << path << "\n";
        return false;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    *out = ss.str();
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace mailroom::imap;
    std::string m;
    if (argc >= 3 && std::string(argv[1]) == "--sections") {
        if (!read_file(argv[2], &m)) return 1;
        ParsedMessage msg = parse_message(m);
        for (int i = 3; i < argc; ++i) {
            std::string spec = argv[i];
            bool binary = spec.rfind("BINARY ", 0) == 0;
            auto s = parse_section(binary ? spec.substr(7) : spec);
            if (!s) {
                std::cout << "NO\r\n";
                continue;
            }
            std::string data;
            if (binary) {
                BinaryResult r = extract_binary_of(msg, *s);
                if (r.status != BinaryStatus::kOk) {
                    std::cout << "NO\r\n";
                    continue;
                }
                data = r.data;
            } else {
                data = extract_section_of(msg, *s);
            }
            std::cout << "{" << data.size() << "}\r\n" << data << "\r\n";
        }
        return 0;
    }
    for (int i = 1; i < argc; ++i) {
        if (!read_file(argv[i], &m)) return 1;
        std::cout << "(ENVELOPE " << imap_envelope(m) << " BODYSTRUCTURE " << imap_bodystructure(m) << " BODY "
                  << imap_bodystructure(m, false) << ")\r\n";
    }
    return 0;
}
