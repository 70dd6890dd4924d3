#pragma once
// A Lua script and its SHA1, computed once: Client::evalScript sends only the
// SHA (EVALSHA) and sends the text only when Redis does not know it yet (after
// a restart or SCRIPT FLUSH). Make one per script at start-up and keep it.

#include <string>

namespace sluice::redis {

class Script {
public:
    explicit Script(std::string text);

    const std::string& text() const { return _text; }
    const std::string& sha1() const { return _sha1; }  // 40 lower-case hex digits, as Redis prints it

private:
    std::string _text;
    std::string _sha1;
};

} // namespace sluice::redis
