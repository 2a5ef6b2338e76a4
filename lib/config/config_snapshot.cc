// config_snapshot.cc - see config_snapshot.h.
#include "lib/config/config_snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "lib/util/strings.h"

namespace mailroom::config {

namespace {

constexpr std::string_view kMagic = "mailroom-config 1\n";

void append_section(std::string& out, std::string_view name, std::string_view body) {
    out.append(name);
    out.push_back(' ');
    out.append(std::to_string(body.size()));
    out.push_back('\n');
    out.append(body);
}

// Reads "NAME LEN\n<LEN bytes>" at `pos`.
Result<std::string_view> take_section(std::string_view bytes, size_t* pos, std::string_view* name) {
    size_t nl = bytes.find('\n', *pos);
    if (nl == std::string_view::npos) return make_error("configuration snapshot: truncated section header");
    std::string_view head = bytes.substr(*pos, nl - *pos);
    size_t sp = head.find(' ');
    if (sp == std::string_view::npos) return make_error("configuration snapshot: bad section header");
    *name = head.substr(0, sp);
    size_t len = 0;
    std::string_view digits = head.substr(sp + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || end != digits.data() + digits.size() || len > bytes.size() - nl - 1)
        return make_error("configuration snapshot: bad section length");
    *pos = nl + 1 + len;
    return bytes.substr(nl + 1, len);
}

}  // namespace

std::string encode_snapshot(const SnapshotText& text) {
    std::string out(kMagic);
    append_section(out, "main.cf", text.main_cf);
    if (text.master_cf) append_section(out, "master.cf", *text.master_cf);
    return out;
}

Result<SnapshotText> decode_snapshot(std::string_view bytes) {
    if (bytes.substr(0, kMagic.size()) != kMagic) return make_error("configuration snapshot: bad header");
    SnapshotText out;
    bool have_main = false;
    size_t pos = kMagic.size();
    while (pos < bytes.size()) {
        std::string_view name;
        Result<std::string_view> body = take_section(bytes, &pos, &name);
        if (!body) return body.error();
        if (name == "main.cf") {
            out.main_cf = std::string(*body);
            have_main = true;
        } else if (name == "master.cf") {
            out.master_cf = std::string(*body);
        } else {
            return make_error("configuration snapshot: unknown section " + std::string(name));
        }
    }
    if (!have_main) return make_error("configuration snapshot: no main.cf");
    return out;
}

Result<util::UniqueFd> make_snapshot_fd(std::string_view bytes) {
    if (bytes.size() > kMaxSnapshot) return make_error("configuration snapshot: too large");
    util::UniqueFd fd(::memfd_create("mailroom-config", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd.valid()) return make_error(util::format("memfd_create: %s", std::strerror(errno)));
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return make_error(util::format("write configuration snapshot: %s", std::strerror(errno)));
        done += static_cast<size_t>(n);
    }
    // Nobody, master included, can change what a child will read.
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return make_error(util::format("seal configuration snapshot: %s", std::strerror(errno)));
    return fd;
}

Result<std::string> read_snapshot_fd(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(util::format("read configuration snapshot: %s", std::strerror(errno)));
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > kMaxSnapshot) return make_error("configuration snapshot: too large");
    }
    return out;
}

}  // namespace mailroom::config
