//! `net_*` guests: `wasi:sockets` from a page, which has no network (issue #12).

use crate::harness::{guest, Invocation};

/// `resolve-addresses` fails with the code wasmtime gives when name lookup is not allowed
/// (`permanent-resolver-failure`, for IP literals too) and `invalid-argument` for a name that
/// is no host name, and the guest goes on. `-S allow-ip-name-lookup` changes nothing: a page
/// cannot resolve names.
#[test]
fn net_lookup_fails_as_wasmtime_without_name_lookup() {
    let expected = concat!(
        "resolve \"example.com\": permanent-resolver-failure\n",
        "resolve \"localhost\": permanent-resolver-failure\n",
        "resolve \"127.0.0.1\": permanent-resolver-failure\n",
        "resolve \"not a host\": invalid-argument\n",
        "done\n",
    );
    Invocation::new(guest("net_lookup"))
        .run()
        .assert(0, expected);
    Invocation::new(guest("net_lookup"))
        .flag("-Sallow-ip-name-lookup")
        .run()
        .assert(0, expected);
}
