// LifeboatRemote — the client side of a Lifeboat server.
//
// What it does: `RESTBackend` stores a repository on a Lifeboat server
// (`rest:https://host/TENANT/REPO`, protocol in docs/design.md §17) and maps the server's
// answers to `StorageError`s; `ServerEndpoint` holds a server's base URL and token and posts
// JSON to its API (an agent's run reports go through it). HTTP through AsyncHTTPClient.
//
// Main types: `RESTBackend` (a `Backend`; `open` parses the location and finds the token),
// `ServerEndpoint` (base URL, token, `postJSON`, `token(environment:)`). Internal: `RemoteHTTP`
// (the shared HTTP client, TLS trust from `LIFEBOAT_SERVER_CA`).
//
// Rules it keeps:
// - A `rest:` backend's token comes from `LIFEBOAT_SERVER_TOKEN_FILE` or
//   `LIFEBOAT_SERVER_TOKEN`, never from the URL; it travels only as `Authorization: Bearer`.
// - Status codes map to `StorageError` codes: 404 with `no-repository` is a missing container
//   (exit 10), 403 `append-only` says deletion happens on the server, 5xx are transient.
// - A listing from the server is validated (object names of the type, sizes not negative)
//   before a name is used in the next request's URL.
// - It knows no catalog, plan or report: objects and a JSON POST only.
//
// Imports: may import `LifeboatCore`, `LifeboatStorage`, `AsyncHTTPClient`, `NIOCore`,
// `NIOHTTP1`, `NIOSSL`, `Crypto`, `Foundation`. Used where `rest:` locations are opened
// (LifeboatBackends), by LifeboatOps (`RunReporter`) and LifeboatCLI (`push`).
//
// Where a change goes: the REST protocol from the client's side; the server's side is
// LifeboatServer's RepositoryEndpoint.swift, and both follow docs/design.md §17.
