#pragma once
// Everything a plugin needs to talk to Redis: RedisUrl, Client, Script,
// Reply, RedisError, RedisSettings and Subscriber.

#include "sluice/redis/Client.h"
#include "sluice/redis/RedisError.h"
#include "sluice/redis/RedisSettings.h"
#include "sluice/redis/RedisUrl.h"
#include "sluice/redis/Reply.h"
#include "sluice/redis/Script.h"
#include "sluice/redis/Subscriber.h"
