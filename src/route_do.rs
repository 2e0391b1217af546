//! `RouteDo`, the Durable Object class bound as `ROUTE_DO_<ENV>`.
//!
//! It is the home of strong state (strong routes, click caps, read-your-writes
//! publishing). Ordinary links never touch it. Until those features land it answers
//! `GET /ping` so deployments and tests can prove the class is wired.

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

#[durable_object]
pub struct RouteDo {
    #[allow(dead_code)]
    state: State,
}

impl DurableObject for RouteDo {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/ping" => Response::ok("pong"),
            _ => Response::error("Not Found", 404),
        }
    }
}
