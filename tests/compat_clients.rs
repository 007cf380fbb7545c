//! The compatible APIs (issue 13) through merchants' code written from the seed documents alone
//! (tests/compat/, Python, no PayIn code): a HashNut v3 merchant (seed 002) and a QieJiao merchant
//! (seed 003) each create, pay on the dev chains (EVM and `local-tron`), receive and check their
//! callbacks as the seeds' sample handlers do, query, and are refused as the seeds say — on
//! SQLite and on PostgreSQL.

mod support;

use payin_core::testing::{Backend, fresh_database};
use support::{anvil_installed, run_test_program};

async fn run(script: &str, backend: Backend) {
    if !anvil_installed() {
        return;
    }
    match backend {
        Backend::Sqlite => run_test_program("python3", script, &[]),
        Backend::Postgres => {
            let Some(db) = fresh_database(Backend::Postgres).await else {
                return;
            };
            run_test_program("python3", script, &["--database-url", &db.url]);
        }
    }
}

#[tokio::test]
async fn a_qiejiao_merchant_from_the_seed_on_sqlite() {
    run("tests/compat/qiejiao_merchant.py", Backend::Sqlite).await;
}

#[tokio::test]
async fn a_qiejiao_merchant_from_the_seed_on_postgres() {
    run("tests/compat/qiejiao_merchant.py", Backend::Postgres).await;
}

#[tokio::test]
async fn a_hashnut_merchant_from_the_seed_on_sqlite() {
    run("tests/compat/hashnut_merchant.py", Backend::Sqlite).await;
}

#[tokio::test]
async fn a_hashnut_merchant_from_the_seed_on_postgres() {
    run("tests/compat/hashnut_merchant.py", Backend::Postgres).await;
}
