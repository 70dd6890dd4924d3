// header-auth's contract, on the built header-auth.so: who is believed, what
// is refused, and which settings stop the start.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/testing/FakeServices.h"
#include "sluice/testing/PluginHarness.h"
#include "sluice/testing/RequestContextBuilder.h"
#include "sluice/testing/RunTests.h"

namespace {

using sluice::testing::RequestContextBuilder;

class HeaderAuthTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HeaderAuthTest);
    CPPUNIT_TEST(theProxysUserIsTheCaller);
    CPPUNIT_TEST(theTenantMayComeFromAHeader);
    CPPUNIT_TEST(aDirectClientIsRefusedWhateverItSends);
    CPPUNIT_TEST(aMissingOrDoubledOrOddIdentityIsRefused);
    CPPUNIT_TEST(modelsCanBeLimited);
    CPPUNIT_TEST(onlyTheSignOnProxiesAreBelieved);
    CPPUNIT_TEST(noSignOnProxyStopsTheStart);
    CPPUNIT_TEST(aBadHeaderNameStopsTheStartNamingTheKey);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _plugin = std::make_unique<sluice::testing::PluginHarness>(sluice::testing::pluginUnderTest());
        _services = std::make_unique<sluice::testing::FakeServices>();
    }

    void theProxysUserIsTheCaller() {
        auto auth = make();
        auto ctx = fromProxy().header("X-Forwarded-User", "ada@example.org").build();
        CPPUNIT_ASSERT(auth->authenticate(*ctx) == sluice::Verdict::Continue);
        CPPUNIT_ASSERT(ctx->principal.has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("sso"), ctx->principal->tenant);
        CPPUNIT_ASSERT_EQUAL(std::string("ada@example.org"), ctx->principal->keyId);
        CPPUNIT_ASSERT(ctx->principal->mayUse("llama3.2"));
    }

    void theTenantMayComeFromAHeader() {
        auto auth = make({{"header.tenant_header", "X-Forwarded-Groups"}});
        auto ctx = fromProxy().header("x-forwarded-user", "ada").header("x-forwarded-groups", "research").build();
        CPPUNIT_ASSERT(auth->authenticate(*ctx) == sluice::Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::string("research"), ctx->principal->tenant);

        auto noGroup = fromProxy().header("x-forwarded-user", "ada").build();
        CPPUNIT_ASSERT(auth->authenticate(*noGroup) == sluice::Verdict::Respond);
        CPPUNIT_ASSERT_EQUAL(401, noGroup->reply.status);
    }

    void aDirectClientIsRefusedWhateverItSends() {
        auto auth = make();
        auto ctx = RequestContextBuilder().openAiChat("llama3.2").peer("192.0.2.7").header("x-forwarded-user", "root").build();
        CPPUNIT_ASSERT(auth->authenticate(*ctx) == sluice::Verdict::Respond);
        CPPUNIT_ASSERT_EQUAL(401, ctx->reply.status);
        CPPUNIT_ASSERT(!ctx->principal.has_value());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, counter("untrusted_peer"));
    }

    void aMissingOrDoubledOrOddIdentityIsRefused() {
        auto auth = make();
        std::vector<std::unique_ptr<sluice::RequestContext>> refused;
        refused.push_back(fromProxy().build());
        refused.push_back(fromProxy().header("x-forwarded-user", "").build());
        refused.push_back(fromProxy().header("x-forwarded-user", "ada").header("x-forwarded-user", "root").build());
        refused.push_back(fromProxy().header("x-forwarded-user", "ada\x01").build());
        refused.push_back(fromProxy().header("x-forwarded-user", std::string(257, 'a')).build());
        refused.push_back(fromProxy().header("x-forwarded-user", "root, ada").build());  // a merged line
        for (auto& ctx : refused) {
            CPPUNIT_ASSERT(auth->authenticate(*ctx) == sluice::Verdict::Respond);
            CPPUNIT_ASSERT_EQUAL(401, ctx->reply.status);
            CPPUNIT_ASSERT(!ctx->principal.has_value());
        }
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{refused.size()}, counter("missing"));
    }

    void modelsCanBeLimited() {
        auto auth = make({{"header.models", "llama3.2, qwen2.5"}});
        auto ctx = fromProxy().header("x-forwarded-user", "ada").build();
        CPPUNIT_ASSERT(auth->authenticate(*ctx) == sluice::Verdict::Continue);
        CPPUNIT_ASSERT(ctx->principal->mayUse("qwen2.5"));
        CPPUNIT_ASSERT(!ctx->principal->mayUse("mistral"));
    }

    void onlyTheSignOnProxiesAreBelieved() {
        // A load balancer trusted for X-Forwarded-For is not a sign-on proxy.
        _services->mutableConfig().setString("server.trusted_proxies", "10.0.0.9");
        auto auth = make({{"header.proxies", "10.0.0.0/29, fd00::5"}});
        auto balancer = RequestContextBuilder().peer("10.0.0.9", true).header("x-forwarded-user", "root").build();
        CPPUNIT_ASSERT(auth->authenticate(*balancer) == sluice::Verdict::Respond);
        auto inRange = RequestContextBuilder().peer("10.0.0.7").header("x-forwarded-user", "ada").build();
        CPPUNIT_ASSERT(auth->authenticate(*inRange) == sluice::Verdict::Continue);
        auto mapped = RequestContextBuilder().peer("::ffff:10.0.0.3").header("x-forwarded-user", "ada").build();
        CPPUNIT_ASSERT(auth->authenticate(*mapped) == sluice::Verdict::Continue);
        auto v6 = RequestContextBuilder().peer("fd00::5").header("x-forwarded-user", "ada").build();
        CPPUNIT_ASSERT(auth->authenticate(*v6) == sluice::Verdict::Continue);
    }

    void noSignOnProxyStopsTheStart() {
        expectRefused({}, "auth.header.proxies");
        expectRefused({{"header.proxies", "10.0.0.0/33"}}, "auth.header.proxies");
        expectRefused({{"header.proxies", "sso.internal"}}, "auth.header.proxies");
    }

    void aBadHeaderNameStopsTheStartNamingTheKey() {
        expectRefused({{"header.proxies", "10.0.0.5"}, {"header.user_header", "x user"}}, "auth.header.user_header");
        expectRefused({{"header.proxies", "10.0.0.5"}, {"header.tenant", "a,b"}}, "auth.header.tenant");
    }

private:
    // The stage as an operator configures it: the proxy at 10.0.0.5, plus `properties`.
    std::unique_ptr<sluice::AuthStage> make(sluice::testing::Properties properties = {}) {
        properties.emplace("header.proxies", "10.0.0.5");
        return _plugin->auth("header", *_services, properties);
    }

    void expectRefused(const sluice::testing::Properties& properties, const std::string& key) {
        try {
            _plugin->auth("header", *_services, properties);
            CPPUNIT_FAIL("a bad " + key + " was accepted");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(key, e.key());
        }
    }

    static RequestContextBuilder fromProxy() {
        RequestContextBuilder builder;
        builder.openAiChat("llama3.2").peer("10.0.0.5").clientAddress("192.0.2.7");
        return builder;
    }

    std::uint64_t counter(const std::string& result) {
        return _services->metrics().counter("sluice_header_auth_total", "", {{"result", result}}).value();
    }

    std::unique_ptr<sluice::testing::PluginHarness> _plugin;  // loaded in setUp: a missing SLUICE_PLUGIN fails a test, not the runner
    std::unique_ptr<sluice::testing::FakeServices> _services;
};

CPPUNIT_TEST_SUITE_REGISTRATION(HeaderAuthTest);

} // namespace

int main(int argc, char** argv) { return sluice::testing::runTests(argc, argv); }
