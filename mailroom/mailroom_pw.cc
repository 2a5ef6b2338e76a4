// mailroom_pw.cc - see mailroom_pw.h.
#include "mailroom/mailroom_pw.h"

#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

#include "lib/auth/password.h"

namespace mailroom::ctl {

namespace {

int usage() {
    std::fprintf(stderr, "usage: mailroom pw [-l] [-s scheme] [-p password] [-t hash] [-V] [-u user]\n");
    return 2;
}

// One line without its line end; nullopt at end of input or when too long.
std::optional<std::string> read_line(std::FILE* in) {
    std::string line;
    for (int c; (c = std::fgetc(in)) != EOF;) {
        if (c == '\n') return line;
        if (line.size() >= 4096) return std::nullopt;
        line.push_back(static_cast<char>(c));
    }
    if (line.empty()) return std::nullopt;
    return line;
}

// Reads a password from the terminal without echo.
std::optional<std::string> prompt(const char* text) {
    std::FILE* tty = std::fopen("/dev/tty", "r+");
    if (tty == nullptr) return std::nullopt;
    std::fputs(text, tty);
    std::fflush(tty);
    termios old{};
    bool restore = ::tcgetattr(fileno(tty), &old) == 0;
    if (restore) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    auto line = read_line(tty);
    if (restore) ::tcsetattr(fileno(tty), TCSAFLUSH, &old);
    std::fputs("\n", tty);
    std::fclose(tty);
    return line;
}

std::optional<std::string> read_password(std::FILE* in, bool twice) {
    if (in == stdin && ::isatty(STDIN_FILENO)) {
        auto first = prompt("Enter new password:");
        if (!first) return std::nullopt;
        if (twice) {
            auto again = prompt("Retype new password:");
            if (!again || *again != *first) {
                std::fprintf(stderr, "mailroom: fatal: passwords don't match\n");
                return std::nullopt;
            }
        }
        return first;
    }
    auto line = read_line(in);
    if (line && !line->empty() && line->back() == '\r') line->pop_back();
    return line;
}

}  // namespace

int pw_command(int argc, char** argv, std::FILE* in, std::FILE* out) {
    std::string scheme = "SHA512-CRYPT";
    std::optional<std::string> password, test_hash;
    bool verify = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-l") {
            std::fprintf(out, "%s\n", auth::password_scheme_list());
            return 0;
        }
        if (a == "-V") {
            verify = true;
        } else if ((a == "-s" || a == "-p" || a == "-t" || a == "-u") && i + 1 < argc) {
            std::string v = argv[++i];
            if (a == "-s") scheme = v;
            if (a == "-p") password = v;
            if (a == "-t") test_hash = v;
        } else {
            return usage();
        }
    }
    if (!password) password = read_password(in, !test_hash);
    if (!password) {
        std::fprintf(stderr, "mailroom: fatal: no password\n");
        return 1;
    }
    std::string hash;
    if (test_hash) {
        hash = *test_hash;
        verify = true;
    } else {
        auto made = auth::make_password(scheme, *password);
        if (!made) {
            std::fprintf(stderr, "mailroom: fatal: %s\n", made.error().message.c_str());
            return 1;
        }
        hash = *made;
    }
    if (verify) {
        switch (auth::verify_password(hash, *password)) {
            case auth::VerifyResult::kMatch:
                std::fprintf(out, "%s (verified)\n", hash.c_str());
                return 0;
            case auth::VerifyResult::kMismatch:
                std::fprintf(stderr, "mailroom: fatal: reverse password verification check failed: Password mismatch\n");
                return 1;
            case auth::VerifyResult::kUnsupported:
                std::fprintf(stderr, "mailroom: fatal: reverse password verification check failed: "
                                     "unknown scheme or malformed hash\n");
                return 1;
        }
    }
    std::fprintf(out, "%s\n", hash.c_str());
    return 0;
}

}  // namespace mailroom::ctl
