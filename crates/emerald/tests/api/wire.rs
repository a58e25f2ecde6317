//! The Oz wire conventions every endpoint shares: trailing slashes, bare `?`, envelopes for
//! unknown routes and methods, body limits, request ids, version, OpenAPI and metrics.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn every_route_with_and_without_trailing_slash_and_bare_query(app) {
        let t = &app.admin_token;
        for path in ["/api/users", "/api/users/", "/api/users?", "/api/users/?", "/api/companies", "/api/companies/?"] {
            app.get(path, t).await.assert_status(200);
        }
        let login = json!({"credentials": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}});
        for path in ["/api/authorize/auth", "/api/authorize/auth/", "/api/authorize/auth?"] {
            app.send(Method::POST, path, None, Some(&login), None).await.assert_status(200);
        }
        app.send(Method::GET, "/api/version/", None, None, None).await.assert_status(200);
    }

    async fn unknown_routes_and_methods_answer_in_the_envelope(app) {
        let r = app.get("/api/nothing-here", &app.admin_token).await;
        r.assert_error(404, 10);
        let r = app.send(Method::PUT, "/api/users/", Some(&app.admin_token), None, None).await;
        r.assert_error(405, 1);
        assert_eq!(r.body["error_message"], "HTTP method not allowed on this endpoint");
        app.send(Method::DELETE, "/api/authorize/auth", None, None, None).await.assert_error(405, 1);
    }

    async fn bodies_are_bounded_and_must_be_json_objects(app) {
        let huge = "x".repeat(2 * 1024 * 1024);
        let res = app.client.post(app.url("/api/companies")).header("X-Forensic-Access-Token", &app.admin_token).body(huge).send().await.unwrap();
        let r = into_res(res).await;
        r.assert_error(413, 4);
        let res = app.client.post(app.url("/api/companies")).header("X-Forensic-Access-Token", &app.admin_token).body("\"just a string\"").send().await.unwrap();
        into_res(res).await.assert_error(400, 3);
        let res = app.client.post(app.url("/api/companies")).header("X-Forensic-Access-Token", &app.admin_token).body("{\"name\": ").send().await.unwrap();
        into_res(res).await.assert_error(400, 3);
    }

    async fn version_needs_no_token_and_names_the_backend(app) {
        let r = app.send(Method::GET, "/api/version", None, None, None).await;
        r.assert_status(200);
        assert_eq!(r.body["version"], "6.0.1-compatible");
        let backend = if app.backend == Backend::Sqlite { "sqlite" } else { "postgres" };
        assert_eq!(r.body["database"], backend);
        assert_eq!(r.text, format!(r#"{{"version": "6.0.1-compatible", "core": "{}", "components": ["auth", "stateful"], "database": "{backend}"}}"#, r.body["core"].as_str().unwrap()));
    }

    async fn request_ids_are_taken_from_x_lamb_xray_or_made(app) {
        let res = app.client.get(app.url("/api/version")).header("X-Lamb-XRay", "trace-123").send().await.unwrap();
        assert_eq!(res.headers()["x-request-id"], "trace-123");
        let res = app.client.get(app.url("/api/version")).send().await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok());
    }

    async fn openapi_documents_every_route(app) {
        let r = app.send(Method::GET, "/openapi.json", None, None, None).await;
        r.assert_status(200);
        let paths = r.body["paths"].as_object().unwrap();
        for (path, methods) in [
            ("/api/version", &["get"][..]),
            ("/api/authorize/auth", &["post"]),
            ("/api/authorize/refresh", &["post"]),
            ("/api/authorize/logout", &["post"]),
            ("/api/users/me", &["get"]),
            ("/api/audit", &["get"]),
            ("/api/audit.csv", &["get"]),
            ("/api/companies", &["get", "post"]),
            ("/api/companies/{company_id}", &["get", "patch", "delete"]),
            ("/api/companies/{company_id}/meta_data", &["get", "post", "patch", "delete"]),
            ("/api/companies/{company_id}/thresholds", &["get", "patch"]),
            ("/api/users", &["get", "post"]),
            ("/api/users/{user_id}", &["get", "patch", "delete"]),
            ("/api/users/{user_id}/meta_data", &["get", "post", "patch", "delete"]),
            ("/api/statistics/orders", &["get"]),
            ("/api/statistics/performance", &["get"]),
            ("/api/folders/{folder_id}/claim", &["post", "delete"]),
            ("/api/collections/{collection_id}", &["get", "patch", "delete"]),
        ] {
            for m in methods {
                assert!(paths[path].get(*m).is_some(), "{m} {path} in the OpenAPI document");
            }
        }
        assert!(r.body["components"]["securitySchemes"]["token"].is_object());
        // GAP-14: the thresholds' answer names each value's source and the installation's.
        let schemas = &r.body["components"]["schemas"];
        for (schema, field) in [("ThresholdsView", "sources"), ("ThresholdsView", "installation"), ("ThresholdsUpdate", "biometry")] {
            assert!(schemas[schema]["properties"][field].is_object(), "{schema}.{field}: {}", schemas[schema]);
        }
        assert!(schemas["CollectionRename"]["properties"]["alias"].is_object(), "{}", schemas["CollectionRename"]);
        for schema in ["ThresholdSources", "InstallationThresholds"] {
            assert!(schemas[schema]["properties"]["quality"].is_object(), "{schema} in the OpenAPI document");
        }
    }

    async fn metrics_count_requests_per_route(app) {
        app.get("/api/users", &app.admin_token).await.assert_status(200);
        let res = app.client.get(app.url("/metrics")).send().await.unwrap();
        let text = res.text().await.unwrap();
        assert!(text.contains("emerald_http_requests_total"), "{text}");
        assert!(text.contains("route=\"/api/users\""), "{text}");
        assert!(text.contains("emerald_http_request_duration_seconds"), "{text}");
    }
}
