#include "sluice/redis/Script.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA1Engine.h>

namespace sluice::redis {

Script::Script(std::string text) : _text(std::move(text)) {
    Poco::SHA1Engine engine;
    engine.update(_text);
    _sha1 = Poco::DigestEngine::digestToHex(engine.digest());
}

} // namespace sluice::redis
