#include "sluice/redis/RedisUrl.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace sluice::redis {

namespace {

// Messages name the part that is wrong but never quote it: in a malformed
// URL the password may sit anywhere (a forgotten '@' makes it the "host").
[[noreturn]] void invalid(const std::string& problem) {
    throw std::invalid_argument("invalid Redis URL: " + problem);
}

bool startsWithNoCase(const std::string& text, const std::string& prefix) {
    return text.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
}

bool allDigits(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percentDecode(const std::string& text, const std::string& what) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        const int high = i + 2 < text.size() ? hexValue(text[i + 1]) : -1;
        const int low = i + 2 < text.size() ? hexValue(text[i + 2]) : -1;
        if (high < 0 || low < 0) invalid("bad %-escape in the " + what + " (write '%' as %25)");
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

bool validHostName(const std::string& host) {
    return std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
}

// An IPv6 address, optionally with a zone ("fe80::1%eth0", written %25 in a URL).
bool validIpv6(const std::string& host) {
    const auto percent = host.find('%');
    const auto address = host.substr(0, percent);
    const bool addressOk = address.find(':') != std::string::npos && std::all_of(address.begin(), address.end(), [](char c) {
                               return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
                           });
    if (percent == std::string::npos) return addressOk;
    const auto zone = host.substr(percent + 1);
    return addressOk && !zone.empty() && validHostName(zone);
}

// A whole number in [low, high], or -1.
long parseBounded(const std::string& text, long low, long high) {
    if (!allDigits(text) || text.size() > 10) return -1;
    const long value = std::stol(text);
    return value < low || value > high ? -1 : value;
}

} // namespace

std::string RedisUrl::display() const {
    std::string out = "redis://";
    if (!password.empty()) out += user + ":***@";
    out += host.find(':') == std::string::npos ? host : "[" + host + "]";
    out += ":" + std::to_string(port) + "/" + std::to_string(database);
    return out;
}

RedisUrl RedisUrl::parse(const std::string& url) {
    if (startsWithNoCase(url, "rediss://")) invalid("rediss:// (TLS) is not supported; use redis://");
    if (!startsWithNoCase(url, "redis://")) invalid("must start with redis://");
    std::string rest = url.substr(std::string("redis://").size());

    RedisUrl result;
    // The path holds only digits, so the last '@' ends the credentials even
    // when an unencoded password contains '@' or '/'.
    const auto at = rest.rfind('@');
    if (at != std::string::npos) {
        const auto credentials = rest.substr(0, at);
        rest.erase(0, at + 1);
        const auto colon = credentials.find(':');
        if (colon == std::string::npos) invalid("credentials must be written [user]:password@");
        result.user = percentDecode(credentials.substr(0, colon), "user name");
        result.password = percentDecode(credentials.substr(colon + 1), "password");
        if (result.password.empty()) invalid("the password after ':' is empty");
    }
    if (rest.find_first_of("?#") != std::string::npos) invalid("query parameters and fragments are not supported");

    const auto slash = rest.find('/');
    const auto hostPort = rest.substr(0, slash);
    const auto path = slash == std::string::npos ? std::string() : rest.substr(slash + 1);

    std::string portText;
    bool hasPort = false;
    if (!hostPort.empty() && hostPort.front() == '[') {
        const auto close = hostPort.find(']');
        if (close == std::string::npos) invalid("'[' without ']' around the IPv6 address");
        result.host = percentDecode(hostPort.substr(1, close - 1), "IPv6 address");
        const auto after = hostPort.substr(close + 1);
        if (!after.empty() && after.front() != ':') invalid("unexpected text after the IPv6 address");
        hasPort = !after.empty();
        if (hasPort) portText = after.substr(1);
        if (result.host.empty() || !validIpv6(result.host)) invalid("the IPv6 address in [] is not valid");
    } else {
        const auto colon = hostPort.find(':');
        if (colon != std::string::npos && hostPort.find(':', colon + 1) != std::string::npos)
            invalid("an IPv6 address must be written in [] (redis://[::1]:6379)");
        result.host = hostPort.substr(0, colon);
        hasPort = colon != std::string::npos;
        if (hasPort) portText = hostPort.substr(colon + 1);
        if (result.host.empty()) invalid("the host is missing");
        if (!validHostName(result.host)) invalid("the host contains a character not allowed in a host name");
    }
    if (hasPort) {
        const long port = parseBounded(portText, 1, 65535);
        if (port < 0) invalid("the port must be a number from 1 to 65535");
        result.port = static_cast<int>(port);
    }
    if (!path.empty()) {
        const long database = parseBounded(path, 0, 2147483647L);
        if (database < 0) invalid("the database after '/' must be a number (0, 1, ...)");
        result.database = static_cast<int>(database);
    }
    return result;
}

} // namespace sluice::redis
