#include "test/plugins/resources/postgres/pg_test_env.h"
#include "test/store_conformance/store_conformance.h"

INSTANTIATE_STORE_CONFORMANCE(Postgres,
                              [] { return kuma::store::postgres::testing::makeCleanStore(); })
