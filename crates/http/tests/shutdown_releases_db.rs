//! `Server::shutdown` returns only once every connection thread has released the `Db` it
//! served, so the data directory can be reopened at once (a remote-write test hit `Locked`
//! one run in three under load when connection threads dropped their API handle after
//! telling `shutdown` they were done).

mod common;

use promlite::{Db, Options};
use promlite_http::ApiOptions;

#[test]
fn the_data_directory_reopens_right_after_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..100 {
        let db = Db::open(dir.path(), Options::default())
            .unwrap_or_else(|e| panic!("round {round}: reopening after shutdown: {e}"));
        let server = common::start(db.clone(), ApiOptions::default());
        // Several connections, each closed by the server after its answer.
        for _ in 0..4 {
            let reply = common::get(server.local_addr(), "/api/v1/query?query=1");
            assert_eq!(reply.status, 200, "round {round}");
        }
        server.shutdown();
        drop(db);
    }
}
