//! `net_lookup`: `wasi:sockets/ip-name-lookup` without network access, which is what a page
//! has (issue #12): `resolve-addresses` must fail with the error code wasmtime gives when
//! lookups are not allowed (`permanent-resolver-failure`; `invalid-argument` for a name that
//! is no host name), not trap.

use wasi::sockets::instance_network::instance_network;
use wasi::sockets::ip_name_lookup::resolve_addresses;

fn main() {
    let network = instance_network();
    for name in ["example.com", "localhost", "127.0.0.1", "not a host"] {
        match resolve_addresses(&network, name) {
            Ok(_) => println!("resolve {name:?}: a stream"),
            Err(code) => println!("resolve {name:?}: {}", code.name()),
        }
    }
    println!("done");
}
