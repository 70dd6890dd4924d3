// TrustedProxies: which X-Forwarded-For entry is the client, by who sent
// the request; CIDR matching for IPv4, IPv6 and IPv4-mapped peers; and the
// errors for bad `server.trusted_proxies` entries.
#include <stdexcept>
#include <string>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>

#include "front/TrustedProxies.h"

namespace {

using Poco::Net::IPAddress;
using sluice::kernel::TrustedProxies;

IPAddress ip(const std::string& text) { return IPAddress(text); }

// The client for a request from `peer` with X-Forwarded-For `header`.
std::string client(const TrustedProxies& proxies, const std::string& peer, const std::string& header) {
    return proxies.clientAddress(ip(peer), &header);
}

class TrustedProxiesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TrustedProxiesTest);
    CPPUNIT_TEST(untrustedPeerIgnoresHeader);
    CPPUNIT_TEST(noHeaderIsThePeer);
    CPPUNIT_TEST(trustedPeerGivesRightMostUntrustedHop);
    CPPUNIT_TEST(chainOfTrustedHopsIsSkipped);
    CPPUNIT_TEST(garbageStopsTheWalk);
    CPPUNIT_TEST(ipv4Prefixes);
    CPPUNIT_TEST(ipv6Prefixes);
    CPPUNIT_TEST(ipv4ZeroPrefixTrustsEveryIpv4);
    CPPUNIT_TEST(ipv6ZeroPrefixTrustsEveryIpv6);
    CPPUNIT_TEST(ipv4MappedPeer);
    CPPUNIT_TEST(ipv6Forwarding);
    CPPUNIT_TEST(badEntriesThrow);
    CPPUNIT_TEST_SUITE_END();

public:
    void untrustedPeerIgnoresHeader() {
        const TrustedProxies proxies({"10.0.0.0/8"});
        CPPUNIT_ASSERT_EQUAL(std::string("203.0.113.5"), client(proxies, "203.0.113.5", "1.2.3.4"));
        CPPUNIT_ASSERT_EQUAL(std::string("11.0.0.1"), client(proxies, "11.0.0.1", "10.0.0.1, 1.2.3.4"));
        // With no trusted proxies configured nobody's header counts.
        const TrustedProxies none;
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), client(none, "10.0.0.1", "1.2.3.4"));
        CPPUNIT_ASSERT(!none.trusts(ip("127.0.0.1")));
    }

    void noHeaderIsThePeer() {
        const TrustedProxies proxies({"10.0.0.0/8"});
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), proxies.clientAddress(ip("10.0.0.1"), nullptr));
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), client(proxies, "10.0.0.1", ""));
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), client(proxies, "10.0.0.1", "  "));
    }

    void trustedPeerGivesRightMostUntrustedHop() {
        const TrustedProxies proxies({"10.0.0.0/8"});
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), client(proxies, "10.0.0.1", "1.2.3.4"));
        // Entries to the left were written by the client: a spoofed one is ignored.
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), client(proxies, "10.0.0.1", "6.6.6.6, 1.2.3.4"));
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), client(proxies, "10.0.0.1", "6.6.6.6,1.2.3.4"));
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), client(proxies, "10.0.0.1", " 1.2.3.4 "));
    }

    void chainOfTrustedHopsIsSkipped() {
        const TrustedProxies proxies({"10.0.0.0/8", "192.168.1.1"});
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"),
                             client(proxies, "10.0.0.1", "6.6.6.6, 1.2.3.4, 192.168.1.1, 10.9.8.7"));
        // The client cannot hide behind a "proxy" it lists on the left.
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), client(proxies, "192.168.1.1", "10.0.0.2, 1.2.3.4, 10.0.0.3"));
        // Every hop trusted: the left-most one is the best there is.
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.5"), client(proxies, "10.0.0.1", "10.0.0.5, 10.0.0.6"));
    }

    void garbageStopsTheWalk() {
        const TrustedProxies proxies({"10.0.0.0/8"});
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), client(proxies, "10.0.0.1", "unknown"));
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), client(proxies, "10.0.0.1", "1.2.3.4, garbage"));
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), client(proxies, "10.0.0.1", "1.2.3.4, 5.6.7.8:1234"));
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), client(proxies, "10.0.0.1", "1.2.3.4, [2001:db8::1]"));
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), client(proxies, "10.0.0.1", "1.2.3.4,,"));
        // Past a trusted hop, garbage leaves the last address believed.
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.9"), client(proxies, "10.0.0.1", "1.2.3.4, <script>, 10.0.0.9"));
    }

    void ipv4Prefixes() {
        const TrustedProxies slash8({"10.0.0.0/8"});
        CPPUNIT_ASSERT(slash8.trusts(ip("10.255.255.255")));
        CPPUNIT_ASSERT(!slash8.trusts(ip("11.0.0.0")));
        CPPUNIT_ASSERT(!slash8.trusts(ip("9.255.255.255")));
        const TrustedProxies slash32({"192.0.2.7/32"});
        CPPUNIT_ASSERT(slash32.trusts(ip("192.0.2.7")));
        CPPUNIT_ASSERT(!slash32.trusts(ip("192.0.2.6")));
        CPPUNIT_ASSERT(!slash32.trusts(ip("192.0.2.8")));
        const TrustedProxies plain({"192.0.2.7"});  // no prefix: the one address
        CPPUNIT_ASSERT(plain.trusts(ip("192.0.2.7")));
        CPPUNIT_ASSERT(!plain.trusts(ip("192.0.2.70")));
        // Not on a byte boundary.
        const TrustedProxies slash12({"172.16.0.0/12"});
        CPPUNIT_ASSERT(slash12.trusts(ip("172.16.0.1")));
        CPPUNIT_ASSERT(slash12.trusts(ip("172.31.255.255")));
        CPPUNIT_ASSERT(!slash12.trusts(ip("172.32.0.0")));
        CPPUNIT_ASSERT(!slash12.trusts(ip("172.15.255.255")));
        // Host bits set in the network are ignored.
        const TrustedProxies sloppy({"10.1.2.3/8"});
        CPPUNIT_ASSERT(sloppy.trusts(ip("10.200.0.1")));
        // An IPv4 range never matches an IPv6 address.
        CPPUNIT_ASSERT(!slash8.trusts(ip("a00::1")));
    }

    void ipv6Prefixes() {
        const TrustedProxies proxies({"fd00::/8", "2001:db8::1/128", "::1"});
        CPPUNIT_ASSERT(proxies.trusts(ip("fd12:3456::1")));
        CPPUNIT_ASSERT(proxies.trusts(ip("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        CPPUNIT_ASSERT(!proxies.trusts(ip("fe00::1")));
        CPPUNIT_ASSERT(!proxies.trusts(ip("fc00::1")));
        CPPUNIT_ASSERT(proxies.trusts(ip("2001:db8::1")));
        CPPUNIT_ASSERT(!proxies.trusts(ip("2001:db8::2")));
        CPPUNIT_ASSERT(proxies.trusts(ip("::1")));
        CPPUNIT_ASSERT(!proxies.trusts(ip("::2")));
        CPPUNIT_ASSERT(!proxies.trusts(ip("127.0.0.1")));
        const TrustedProxies slash47({"2001:db8:abcd::/47"});
        CPPUNIT_ASSERT(slash47.trusts(ip("2001:db8:abcd:1::1")));
        CPPUNIT_ASSERT(!slash47.trusts(ip("2001:db8:abce::1")));
        CPPUNIT_ASSERT(!slash47.trusts(ip("10.0.0.1")));
    }

    void ipv4ZeroPrefixTrustsEveryIpv4() {
        const TrustedProxies proxies({"0.0.0.0/0"});
        CPPUNIT_ASSERT(proxies.trusts(ip("1.2.3.4")));
        CPPUNIT_ASSERT(proxies.trusts(ip("255.255.255.255")));
        CPPUNIT_ASSERT(proxies.trusts(ip("::ffff:1.2.3.4")));
        CPPUNIT_ASSERT(!proxies.trusts(ip("2001:db8::1")));
        // Every IPv4 hop is a proxy: the left-most one is the client.
        CPPUNIT_ASSERT_EQUAL(std::string("6.6.6.6"), client(proxies, "10.0.0.1", "6.6.6.6, 1.2.3.4"));
        const TrustedProxies ipv6All({"2000::/3"});
        CPPUNIT_ASSERT(ipv6All.trusts(ip("2001:db8::1")));
        CPPUNIT_ASSERT(!ipv6All.trusts(ip("fd00::1")));
    }

    // "::/0" trusts every IPv6 peer (Poco 1.11 cannot parse "::" by itself).
    void ipv6ZeroPrefixTrustsEveryIpv6() {
        const TrustedProxies proxies({"::/0"});
        CPPUNIT_ASSERT(proxies.trusts(ip("2001:db8::1")));
        CPPUNIT_ASSERT(proxies.trusts(ip("::1")));
        CPPUNIT_ASSERT(!proxies.trusts(ip("10.0.0.1")));
    }

    void ipv4MappedPeer() {
        const TrustedProxies proxies({"10.0.0.0/8"});
        CPPUNIT_ASSERT(proxies.trusts(ip("::ffff:10.1.2.3")));
        CPPUNIT_ASSERT(!proxies.trusts(ip("::ffff:11.1.2.3")));
        // A dual-stack socket reports an IPv4 peer as mapped; it is still trusted...
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), client(proxies, "::ffff:10.0.0.1", "1.2.3.4"));
        // ...and an untrusted one is reported in its plain IPv4 form.
        CPPUNIT_ASSERT_EQUAL(std::string("203.0.113.5"), client(proxies, "::ffff:203.0.113.5", "1.2.3.4"));
        // A mapped hop in the header is trusted and reported as IPv4 too.
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), client(proxies, "10.0.0.1", "1.2.3.4, ::ffff:10.0.0.8"));
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), client(proxies, "10.0.0.1", "::ffff:1.2.3.4"));
        // A mapped entry in the list means its IPv4 address.
        const TrustedProxies mapped({"::ffff:192.0.2.1"});
        CPPUNIT_ASSERT(mapped.trusts(ip("192.0.2.1")));
    }

    void ipv6Forwarding() {
        const TrustedProxies proxies({"fd00::/8"});
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::1"), client(proxies, "fd00::2", "2001:db8::1"));
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::1"), client(proxies, "fd00::2", "1.2.3.4, 2001:db8::1, fd00::9"));
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::2"), client(proxies, "2001:db8::2", "1.2.3.4"));
    }

    void badEntriesThrow() {
        for (const std::string entry : {"", "banana", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1",
                                        "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/1000", "/8", "10.0.0.0/8x",
                                        "fd00::/", "2001:db8::g/64", "10.0.0.0/08000"}) {
            try {
                const TrustedProxies proxies({"127.0.0.1", entry});
                CPPUNIT_FAIL("accepted '" + entry + "'");
            } catch (const std::invalid_argument& e) {
                // The message quotes the bad entry.
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("'" + entry + "'") != std::string::npos);
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TrustedProxiesTest);

} // namespace
