// imap_fetch_dump.cc - prints what FETCH (ENVELOPE BODYSTRUCTURE BODY) answers
// for each message file named on the command line, one response body per
// file ending in CRLF, for tests/integration/imap_dovecot_compare.sh.
#include <fstream>
#include <iostream>
#include <sstream>

#include "lib/imap/fetch_structure.h"

int main(int argc, char** argv) {
    using namespace mailroom::imap;
    for (int i = 1; i < argc; ++i) {
        std::ifstream f(argv[i], std::ios::binary);
        if (!f) {
            std::cerr << "imap_fetch_dump: cannot read " << argv[i] << "\n";
            return 1;
        }
        std::stringstream ss;
        ss << f.rdbuf();
        const std::string m = ss.str();
        std::cout << "(ENVELOPE " << imap_envelope(m) << " BODYSTRUCTURE " << imap_bodystructure(m) << " BODY "
                  << imap_bodystructure(m, false) << ")\r\n";
    }
    return 0;
}
