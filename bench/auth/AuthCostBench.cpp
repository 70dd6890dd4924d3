// Prints what the apikey stage costs per request, measured through its real
// authenticate(): a key found in the in-process cache, and a cold check (one
// store read plus one argon2id verify) for a valid key, a wrong secret, an
// unknown key id and a malformed key, the last three showing that every bad
// key costs what a good one does. Uses the production argon2 defaults unless
// told otherwise:  sluice-auth-bench [time_cost memory_kib parallelism]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ApiKey.h"
#include "ApiKeyAuth.h"
#include "sluice/testing/FakeServices.h"
#include "KeyHasher.h"
#include "sluice/store/AuthStore.h"
#include "sluice/store/Migrations.h"

using Clock = std::chrono::steady_clock;

namespace {

struct Fixture {
    sluice::testing::FakeServices services;
    std::unique_ptr<sluice::auth::ApiKeyAuth> stage;

    Fixture(const std::string& storeUrl, const sluice::auth::Argon2Params& params, bool cache) {
        auto& config = services.mutableConfig();
        config.setString("store.url", storeUrl);
        config.setString("auth.argon2.time_cost", std::to_string(params.timeCost));
        config.setString("auth.argon2.memory_kib", std::to_string(params.memoryKiB));
        config.setString("auth.argon2.parallelism", std::to_string(params.parallelism));
        config.setString("auth.cache_ttl_s", cache ? "60" : "0");
        config.setString("auth.failure_cache_ttl_s", cache ? "10" : "0");
        config.setString("auth.failures_per_ip_per_min", "0");
        const sluice::StageSetup setup{"apikey", config, sluice::ConfigReader(config, "auth."), services};
        stage = std::make_unique<sluice::auth::ApiKeyAuth>(setup);
    }

    sluice::Verdict check(const std::string& key) {
        sluice::RequestContext ctx;
        ctx.clientAddress = "127.0.0.1";
        ctx.headers.emplace_back("authorization", "Bearer " + key);
        return stage->authenticate(ctx);
    }
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

void coldRow(Fixture& fixture, const char* what, const std::string& key, sluice::Verdict expected) {
    std::vector<double> ms;
    for (int i = 0; i < 7; ++i) {
        const auto start = Clock::now();
        const auto verdict = fixture.check(key);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (verdict != expected) std::fprintf(stderr, "unexpected verdict for %s\n", what);
    }
    std::printf("| cold: %-28s | %9.1f ms | %6.1f .. %.1f ms |\n", what, median(ms), *std::min_element(ms.begin(), ms.end()),
                *std::max_element(ms.begin(), ms.end()));
}

} // namespace

int main(int argc, char** argv) {
    sluice::auth::Argon2Params params;
    if (argc == 4) params = {static_cast<std::uint32_t>(std::stoul(argv[1])), static_cast<std::uint32_t>(std::stoul(argv[2])),
                             static_cast<std::uint32_t>(std::stoul(argv[3]))};
    const auto dir = std::filesystem::temp_directory_path() / ("sluice-auth-bench-" + std::to_string(::getpid()));
    const auto storeUrl = "sqlite:" + (dir / "bench.db").string();

    // One tenant and one key, made as sluicectl makes them.
    sluice::store::Database db(sluice::store::StoreUrl::parse(storeUrl));
    sluice::store::migrate(db);
    sluice::store::AuthStore store(db);
    sluice::store::TenantRecord tenant;
    tenant.name = "bench";
    tenant.grant.allowAll = true;
    store.createTenant(tenant);
    const auto fresh = sluice::auth::generateApiKey();
    sluice::store::KeyRecord record;
    record.keyId = fresh.keyId;
    record.tenant = "bench";
    record.secretHash = sluice::auth::hashSecret(fresh.secret, params);
    store.createKey(record);
    auto wrong = fresh.text;
    wrong.back() = wrong.back() == 'a' ? 'b' : 'a';

    std::printf("argon2id t=%u m=%u KiB p=%u, store SQLite, %u cores\n\n", params.timeCost, params.memoryKiB,
                params.parallelism, std::thread::hardware_concurrency());
    std::printf("| check                              | median       | spread            |\n");
    std::printf("| ---------------------------------- | ------------ | ----------------- |\n");
    {
        Fixture cold(storeUrl, params, false);
        coldRow(cold, "valid key", fresh.text, sluice::Verdict::Continue);
        coldRow(cold, "wrong secret", wrong, sluice::Verdict::Respond);
        coldRow(cold, "unknown key id", "slk_ZZZZZZZZZZZZ_" + std::string(43, 'q'), sluice::Verdict::Respond);
        coldRow(cold, "malformed key", "definitely-not-a-key", sluice::Verdict::Respond);
    }
    {
        Fixture cached(storeUrl, params, true);
        cached.check(fresh.text);
        constexpr int kCalls = 200000;
        std::vector<double> ns;
        for (int round = 0; round < 5; ++round) {
            const auto start = Clock::now();
            for (int i = 0; i < kCalls; ++i) cached.check(fresh.text);
            ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() / kCalls);
        }
        std::printf("| cached: valid key (whole request)  | %9.2f us | %6.2f .. %.2f us |\n", median(ns) / 1000,
                    *std::min_element(ns.begin(), ns.end()) / 1000, *std::max_element(ns.begin(), ns.end()) / 1000);
    }
    std::filesystem::remove_all(dir);
    return 0;
}
