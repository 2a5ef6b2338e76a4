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
//   imap_fetch_dump --mailbox DIR COMMANDS
//       the files of DIR (name order: sequence number and UID; flags from
//       the Maildir name; internal date = mtime, UTC) as a mailbox, and for
//       each line of COMMANDS ("SEARCH keys", "SORT (criteria) keys",
//       "THREAD algorithm keys") one line: the matches as a compact set,
//       the sorted sequence numbers, or the THREAD answer
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "lib/imap/fetch_structure.h"
#include "lib/imap/message_part.h"
#include "lib/imap/search.h"
#include "lib/imap/section.h"
#include "lib/imap/sort_thread.h"

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

using namespace mailroom::imap;

// Atoms, "quoted strings" and (lists), as imapd's parser would give them.
bool tokenize(std::string_view s, std::size_t* i, std::vector<SearchArg>* out, int depth) {
    while (*i < s.size()) {
        char c = s[*i];
        if (c == ' ') {
            ++*i;
        } else if (c == ')') {
            if (depth == 0) return false;
            ++*i;
            return true;
        } else if (c == '(') {
            ++*i;
            std::vector<SearchArg> list;
            if (!tokenize(s, i, &list, depth + 1)) return false;
            out->push_back(SearchArg::list_of(std::move(list)));
        } else if (c == '"') {
            std::string v;
            for (++*i; *i < s.size() && s[*i] != '"'; ++*i) {
                if (s[*i] == '\\') ++*i;
                v += s[*i];
            }
            ++*i;
            out->push_back(SearchArg::string(std::move(v)));
        } else {
            std::size_t start = *i;
            while (*i < s.size() && s[*i] != ' ' && s[*i] != '(' && s[*i] != ')') ++*i;
            out->push_back(SearchArg::atom(std::string(s.substr(start, *i - start))));
        }
    }
    return depth == 0;
}

int mailbox(const char* dir, const char* commands) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> bodies(files.size());
    std::vector<SortItem> items(files.size());
    std::vector<MessageMeta> metas(files.size());
    for (std::size_t k = 0; k < files.size(); ++k) {
        if (!read_file(files[k].c_str(), &bodies[k])) return 1;
        MessageMeta& m = metas[k];
        m.seq = m.uid = static_cast<std::uint32_t>(k + 1);
        std::string name = files[k].filename().string();
        std::size_t info = name.find(":2,");
        for (char f : info == std::string::npos ? std::string() : name.substr(info + 3)) {
            static const std::string kLetters = "SRFTD";  // Maildir flag letters, in kFlag* bit order
            std::size_t bit = kLetters.find(f);
            static const unsigned kBits[] = {kFlagSeen, kFlagAnswered, kFlagFlagged, kFlagDeleted, kFlagDraft};
            if (bit != std::string::npos) m.flags |= kBits[bit];
        }
        struct stat st {};
        if (stat(files[k].c_str(), &st) != 0) return 1;
        m.internal_date = st.st_mtime;
        m.size = crlf_size(bodies[k]);
        items[k].meta = m;
        items[k].keys = sort_keys_of(bodies[k], m);
    }
    std::ifstream in(commands);
    std::string line;
    auto bytes = [&](std::size_t k) { return std::string_view(bodies[k]); };
    while (std::getline(in, line)) {
        std::vector<SearchArg> args;
        std::size_t i = 0;
        if (!tokenize(line, &i, &args, 0) || args.empty()) return 1;
        std::string verb = args[0].text;
        std::size_t pos = 1;
        std::optional<std::vector<SortCriterion>> criteria;
        std::optional<ThreadAlgorithm> algorithm;
        if (verb == "SORT") criteria = parse_sort_criteria(args[pos++]);
        if (verb == "THREAD") algorithm = parse_thread_algorithm(args[pos++].text);
        SearchBuild b = build_search_from(args, pos);
        if (!b.key || (verb == "SORT" && !criteria) || (verb == "THREAD" && !algorithm)) {
            std::cout << "BAD " << b.error << "\n";
            continue;
        }
        SearchContext ctx{static_cast<std::uint32_t>(files.size()), static_cast<std::uint32_t>(files.size()), {}};
        std::vector<std::size_t> hits = search_messages(*b.key, ctx, metas, bytes);
        if (verb == "SEARCH") {
            std::vector<std::uint32_t> seqs;
            for (std::size_t k : hits) seqs.push_back(metas[k].seq);
            std::cout << format_numbers(seqs) << "\n";
            continue;
        }
        std::vector<SortItem> chosen;
        for (std::size_t k : hits) chosen.push_back(items[k]);
        if (verb == "THREAD") {
            std::cout << thread_messages(*algorithm, chosen, false) << "\n";
            continue;
        }
        std::string out;
        for (std::size_t k : sort_messages(*criteria, chosen)) out += (out.empty() ? "" : " ") + std::to_string(chosen[k].meta.seq);
        std::cout << out << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string m;
    if (argc == 4 && std::string(argv[1]) == "--mailbox") return mailbox(argv[2], argv[3]);
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
