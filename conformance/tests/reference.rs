//! The suite against the in-process reference server: clean, with faults switched on (each
//! fault must fail exactly the cases that check its behaviour), and the safety promises
//! (cleanup, nothing else read or changed, the token never written).

use scim_conformance::case::Outcome;
use scim_conformance::cases::catalog;
use scim_conformance::runner::{run, RunOptions, RunResult};
use scim_conformance::select::Selection;
use scim_conformance::Token;
use scim_reference_server::{spawn, Config, Fault, RunningServer};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The second tenant every test server gets, so the tenant-isolation cases run.
const SECOND_TOKEN: &str = "scimconf-test-second-tenant-token";

fn two_tenants() -> Vec<(String, String)> {
    vec![
        ("default".into(), Config::default_token().into()),
        ("second".into(), SECOND_TOKEN.into()),
    ]
}

fn options(server: &RunningServer) -> RunOptions {
    RunOptions {
        base_url: server.base_url(),
        token: Some(Token::new(server.token())),
        second_token: Some(Token::new(SECOND_TOKEN)),
        timeout: Duration::from_secs(10),
        selection: Selection::default(),
        target_label: "reference".into(),
        prefix: None,
        interrupt: None,
    }
}

async fn run_with(faults: Vec<Fault>) -> RunResult {
    let server = spawn(Config {
        faults,
        tenants: two_tenants(),
        ..Config::default()
    })
    .await
    .expect("server starts");
    let result = run(&catalog(), &options(&server), &mut [])
        .await
        .expect("run");
    server.shutdown().await;
    result
}

/// Case id -> outcome, for every case that did not pass.
fn not_passing(result: &RunResult) -> BTreeMap<&'static str, Outcome> {
    result
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .map(|c| (c.id, c.outcome))
        .collect()
}

fn explain(result: &RunResult) -> String {
    result
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .map(|c| format!("{} {}: {}\n", c.outcome.label(), c.id, c.message))
        .collect()
}

/// Cases the reference server may skip, because its ServiceProviderConfig does not advertise
/// the feature they exercise; every other case must pass.
const MAY_SKIP: &[&str] = &[
    // The reference server stores no passwords (a password sent on create, PUT or PATCH is
    // discarded), so its ServiceProviderConfig says `changePassword.supported: false`.
    "rfc7643-5/change-password",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_reference_server_passes_every_case() {
    let result = run_with(Vec::new()).await;
    assert_eq!(result.cases.len(), catalog().len());
    let unexpected: Vec<_> = not_passing(&result)
        .into_iter()
        .filter(|(id, outcome)| !(*outcome == Outcome::Skip && MAY_SKIP.contains(id)))
        .collect();
    assert!(unexpected.is_empty(), "not passing:\n{}", explain(&result));
    assert!(
        result.cleanup.leftovers.is_empty(),
        "{:?}",
        result.cleanup.leftovers
    );
    assert!(!result.must_broken());
}

/// The cases an unreadable SCIM error body breaks: both error-format faults
/// (`error-status-number`, `error-wrapped`) fail exactly these.
fn error_body_cases() -> Vec<(&'static str, Outcome)> {
    use Outcome::{Fail, Warn};
    vec![
        ("rfc7643-4.1.1/duplicate-username-other-case-409", Warn),
        ("rfc7644-2/basic-scheme-rejected", Fail),
        ("rfc7644-3.11/me-endpoint", Warn),
        ("rfc7644-3.12/error-media-type", Warn),
        ("rfc7644-3.12/error-object-shape", Fail),
        ("rfc7644-3.12/get-unknown-group-404", Fail),
        ("rfc7644-3.12/invalid-json-400", Fail),
        ("rfc7644-3.12/missing-token-401", Fail),
        ("rfc7644-3.12/missing-username-400", Fail),
        ("rfc7644-3.12/okta-spec-unknown-user-404", Fail),
        ("rfc7644-3.12/okta-wrong-token-401", Fail),
        ("rfc7644-3.12/patch-unknown-404", Fail),
        ("rfc7644-3.12/put-unknown-404", Fail),
        ("rfc7644-3.12/wrong-json-type-400", Fail),
        ("rfc7644-3.14/delete-stale-if-match-412", Fail),
        ("rfc7644-3.14/patch-if-match", Fail),
        ("rfc7644-3.14/put-stale-if-match-412", Fail),
        ("rfc7644-3.3/concurrent-duplicate-creates", Fail),
        ("rfc7644-3.3/duplicate-username-409", Fail),
        ("rfc7644-3.3/entra-create-retry-409", Fail),
        ("rfc7644-3.3/entra-legacy-group-schema-not-5xx", Fail),
        ("rfc7644-3.3/okta-create-duplicate-409", Fail),
        ("rfc7644-3.4.1/get-unknown-user-404", Fail),
        ("rfc7644-3.4.2.2/deeply-nested-filter-not-5xx", Fail),
        ("rfc7644-3.4.2.2/entra-legacy-unquoted-value-not-5xx", Fail),
        ("rfc7644-3.4.2.2/filter-unknown-attribute-400", Fail),
        ("rfc7644-3.4.2.2/invalid-filter-400", Fail),
        ("rfc7644-3.4.2.2/long-filter-not-5xx", Fail),
        ("rfc7644-3.5.1/put-username-taken-409", Fail),
        ("rfc7644-3.5.1/put-without-username-400", Fail),
        ("rfc7644-3.5.2.2/remove-without-path-400", Fail),
        ("rfc7644-3.5.2/invalid-path-400", Fail),
        ("rfc7644-3.5.2/patch-not-patchop-400", Fail),
        ("rfc7644-3.5.2/patch-username-taken-409", Fail),
        ("rfc7644-3.5.2/unknown-op-400", Fail),
        ("rfc7644-3.6/delete-group-then-404", Fail),
        ("rfc7644-3.6/delete-twice-404", Fail),
        ("rfc7644-3.6/delete-unknown-user-404", Fail),
        ("rfc7644-3.6/delete-user-then-404", Fail),
        ("rfc7644-3.6/deleted-user-patch-404", Fail),
        ("rfc7644-7.4/tenant-cannot-change-other", Fail),
        ("rfc7644-7.4/tenant-cannot-read-other", Fail),
    ]
}

/// Each fault with the cases it must break, and how. `Error` marks cases whose setup the
/// fault breaks (a group with members cannot be created), so they cannot run.
fn fault_table() -> Vec<(&'static str, Vec<(&'static str, Outcome)>)> {
    use Outcome::{Error, Fail, Warn};
    vec![
        (
            "filter-case-sensitive",
            vec![("rfc7644-3.4.2.2/filter-eq-value-case-insensitive", Fail)],
        ),
        (
            "entra-remove-ignored",
            vec![
                ("rfc7644-3.5.2.2/entra-remove-member-value-array", Fail),
                ("rfc7644-3.5.2.2/jumpcloud-remove-member-value-array", Fail),
            ],
        ),
        ("error-status-number", error_body_cases()),
        (
            "no-match-404",
            vec![
                ("rfc7644-3.7.3/bulk-fail-on-errors", Fail),
                ("rfc7644-3.4.2.2/filter-and", Fail),
                ("rfc7644-3.4.2/entra-test-connection-group", Fail),
                ("rfc7644-3.4.2/entra-test-connection-user", Fail),
                ("rfc7644-3.4.2/filter-no-match-200-empty", Fail),
                ("rfc7644-3.4.2/okta-spec-filter-miss", Fail),
                ("rfc7644-3.6/deleted-user-not-listed", Fail),
                ("rfc7644-7.4/tenant-filter-isolated", Fail),
            ],
        ),
        (
            "duplicate-create-allowed",
            vec![
                ("rfc7644-3.7.3/bulk-fail-on-errors", Fail),
                ("rfc7643-4.1.1/duplicate-username-other-case-409", Warn),
                ("rfc7644-3.3/concurrent-duplicate-creates", Fail),
                ("rfc7644-3.3/duplicate-username-409", Fail),
                ("rfc7644-3.3/entra-create-retry-409", Fail),
                ("rfc7644-3.3/okta-create-duplicate-409", Fail),
            ],
        ),
        (
            "patch-op-case-sensitive",
            vec![
                ("rfc7644-3.5.2.1/entra-add-member-null-ref", Fail),
                ("rfc7644-3.5.2.1/entra-add-single-capitalised", Fail),
                ("rfc7644-3.5.2.1/entra-manager-bare-string", Fail),
                ("rfc7644-3.5.2.2/entra-remove-member-value-array", Fail),
                ("rfc7644-3.5.2.3/entra-replace-many-ops", Fail),
                ("rfc7644-3.5.2.3/entra-replace-username", Fail),
                ("rfc7644-3.5.2.3/entra-replace-work-email", Fail),
                ("rfc7644-3.5.2/entra-cycle-replay-idempotent", Error),
                ("rfc7644-3.5.2/entra-deactivate-lowercase-string", Fail),
                ("rfc7644-3.5.2/entra-deactivate-string-false", Fail),
                ("rfc7644-3.5.2/entra-mixed-replace-add", Fail),
                ("rfc7644-3.5.2/entra-op-capitalised", Fail),
                ("rfc7644-3.5.2/entra-reactivate-string-true", Fail),
            ],
        ),
        (
            "bool-string-rejected",
            vec![
                ("rfc7644-3.5.2/entra-cycle-replay-idempotent", Error),
                ("rfc7644-3.5.2/entra-deactivate-lowercase-string", Fail),
                ("rfc7644-3.5.2/entra-deactivate-string-false", Fail),
                ("rfc7644-3.5.2/entra-reactivate-string-true", Fail),
            ],
        ),
        (
            "startindex-zero-based",
            vec![
                ("rfc7644-3.4.2.2/okta-lookup-username-paged", Fail),
                ("rfc7644-3.4.2.4/items-per-page-matches", Fail),
                ("rfc7644-3.4.2.4/okta-test-connector-groups", Fail),
                ("rfc7644-3.4.2.4/pagination-start-index-count", Fail),
                ("rfc7644-3.4.2.4/pingfederate-group-page", Fail),
                ("rfc7644-3.4.2.4/start-index-below-one", Fail),
                ("rfc7644-3.4.2/okta-spec-list-one", Fail),
            ],
        ),
        (
            "count-zero-full-page",
            vec![
                ("rfc7644-3.4.2.4/count-negative-as-zero", Fail),
                ("rfc7644-3.4.2.4/count-zero-total-only", Warn),
            ],
        ),
        (
            "total-results-page-size",
            vec![
                ("rfc7644-3.4.2.4/count-negative-as-zero", Fail),
                ("rfc7644-3.4.2.4/count-zero-total-only", Warn),
                ("rfc7644-3.4.2.4/pagination-start-index-count", Fail),
                ("rfc7644-3.4.2.4/start-index-past-end", Fail),
                ("rfc7644-3.4.3/search-post-attributes-paging", Warn),
            ],
        ),
        (
            "delete-missing-204",
            vec![
                ("rfc7644-3.6/delete-twice-404", Fail),
                ("rfc7644-3.6/delete-unknown-user-404", Fail),
                ("rfc7644-7.4/tenant-cannot-change-other", Fail),
            ],
        ),
        ("error-wrapped", error_body_cases()),
        (
            "scimtype-nonstandard",
            vec![
                ("rfc7644-2/basic-scheme-rejected", Fail),
                ("rfc7644-3.11/me-endpoint", Warn),
                ("rfc7644-3.12/error-media-type", Warn),
                ("rfc7644-3.12/error-object-shape", Fail),
                ("rfc7644-3.12/get-unknown-group-404", Fail),
                ("rfc7644-3.12/missing-token-401", Fail),
                ("rfc7644-3.12/missing-username-400", Fail),
                ("rfc7644-3.12/okta-spec-unknown-user-404", Fail),
                ("rfc7644-3.12/okta-wrong-token-401", Fail),
                ("rfc7644-3.12/patch-unknown-404", Fail),
                ("rfc7644-3.12/put-unknown-404", Fail),
                ("rfc7644-3.14/delete-stale-if-match-412", Fail),
                ("rfc7644-3.14/patch-if-match", Fail),
                ("rfc7644-3.14/put-stale-if-match-412", Fail),
                ("rfc7644-3.3/entra-legacy-group-schema-not-5xx", Fail),
                ("rfc7644-3.4.1/get-unknown-user-404", Fail),
                ("rfc7644-3.5.1/put-without-username-400", Fail),
                ("rfc7644-3.6/delete-group-then-404", Fail),
                ("rfc7644-3.6/delete-twice-404", Fail),
                ("rfc7644-3.6/delete-unknown-user-404", Fail),
                ("rfc7644-3.6/delete-user-then-404", Fail),
                ("rfc7644-3.6/deleted-user-patch-404", Fail),
                ("rfc7644-7.4/tenant-cannot-change-other", Fail),
                ("rfc7644-7.4/tenant-cannot-read-other", Fail),
            ],
        ),
        (
            "content-type-reversed",
            vec![
                ("rfc7644-3.12/error-media-type", Warn),
                ("rfc7644-3.8/response-media-type", Warn),
            ],
        ),
        (
            "charset-rejected",
            vec![
                ("rfc7644-3.3/okta-create-duplicate-409", Fail),
                ("rfc7644-3.8/entra-request-charset-parameter", Fail),
            ],
        ),
        (
            "uniqueness-400",
            vec![
                ("rfc7643-4.1.1/duplicate-username-other-case-409", Warn),
                ("rfc7644-3.3/concurrent-duplicate-creates", Fail),
                ("rfc7644-3.3/duplicate-username-409", Fail),
                ("rfc7644-3.3/entra-create-retry-409", Fail),
                ("rfc7644-3.3/okta-create-duplicate-409", Fail),
                ("rfc7644-3.5.1/put-username-taken-409", Fail),
                ("rfc7644-3.5.2/patch-username-taken-409", Fail),
            ],
        ),
        (
            "conflict-bare",
            vec![
                ("rfc7643-4.1.1/duplicate-username-other-case-409", Warn),
                ("rfc7644-3.3/concurrent-duplicate-creates", Fail),
                ("rfc7644-3.3/duplicate-username-409", Fail),
                ("rfc7644-3.3/entra-create-retry-409", Fail),
                ("rfc7644-3.3/okta-create-duplicate-409", Fail),
                ("rfc7644-3.5.1/put-username-taken-409", Fail),
                ("rfc7644-3.5.2/patch-username-taken-409", Fail),
            ],
        ),
        (
            "etag-checked-after-patch",
            vec![("rfc7644-3.14/patch-if-match", Fail)],
        ),
        (
            "invalid-filter-returns-all",
            vec![
                ("rfc7644-3.4.2.2/deeply-nested-filter-not-5xx", Fail),
                ("rfc7644-3.4.2.2/invalid-filter-400", Fail),
                ("rfc7644-3.4.2.2/long-filter-not-5xx", Fail),
            ],
        ),
        (
            "empty-query-rejected",
            vec![
                ("rfc7644-3.4.2/empty-query-component-ignored", Warn),
                ("rfc7644-3.4.2/onelogin-lookup-trailing-ampersand", Warn),
            ],
        ),
        (
            "filter-double-decoded",
            vec![("rfc7644-3.4.2.2/filter-value-with-plus-sign", Fail)],
        ),
        (
            "members-ref-required",
            vec![
                ("rfc7644-3.7.2/bulk-id-reference", Fail),
                ("rfc7643-4.2/create-group-with-members", Fail),
                ("rfc7643-7/group-matches-published-schema", Error),
                ("rfc7644-3.4.1/okta-group-get-members", Error),
                ("rfc7644-3.4.2.2/google-group-membership-filter", Error),
                ("rfc7644-3.4.2.5/entra-get-group-excludes-members", Error),
                ("rfc7644-3.4.2.5/entra-lookup-group-excludes-members", Error),
                ("rfc7644-3.5.1/okta-aiw-group-put", Error),
                ("rfc7644-3.5.2.1/entra-add-member-null-ref", Error),
                ("rfc7644-3.5.2.1/group-add-member", Error),
                ("rfc7644-3.5.2.1/group-patch-1000-members", Fail),
                ("rfc7644-3.5.2.1/pingfederate-group-add-member", Error),
                ("rfc7644-3.5.2.1/re-add-member-not-409", Error),
                ("rfc7644-3.5.2.2/entra-remove-member-value-array", Error),
                ("rfc7644-3.5.2.2/jumpcloud-remove-member-value-array", Error),
                ("rfc7644-3.5.2.2/remove-member-value-filter", Error),
                ("rfc7644-3.5.2.3/okta-group-replace-members", Error),
                ("rfc7644-3.5.2.3/okta-group-replace-members-empty", Error),
                ("rfc7644-3.5.2/entra-cycle-replay-idempotent", Error),
                ("rfc7644-3.5.2/okta-group-membership-delta", Error),
                ("rfc7644-3.6/deleted-member-leaves-group", Error),
            ],
        ),
        (
            "externalid-filter-rejected",
            vec![
                ("rfc7644-3.4.2.2/entra-lookup-externalid", Fail),
                ("rfc7644-3.4.2.2/filter-and", Fail),
                ("rfc7644-3.4.2.2/filter-externalid-eq", Fail),
            ],
        ),
        (
            "pathless-patch-ignored",
            vec![
                ("rfc7644-3.5.2.1/entra-compliant-add-nopath-dotted", Fail),
                ("rfc7644-3.5.2.3/entra-pathless-dotted-keys", Fail),
                ("rfc7644-3.5.2.3/okta-group-rename-with-id", Fail),
                ("rfc7644-3.5.2.3/okta-pathless-reactivate", Fail),
                ("rfc7644-3.5.2.3/okta-pathless-replace-active", Fail),
            ],
        ),
        (
            "filter-hides-unmanaged",
            vec![("rfc7644-3.4.2.2/filter-finds-user-without-externalid", Fail)],
        ),
        (
            "resources-empty",
            vec![
                ("rfc7644-3.4.2.3/sort-ascending", Fail),
                ("rfc7644-3.4.2.3/sort-descending", Fail),
                ("rfc7643-5/advertised-filter-works", Fail),
                ("rfc7643-5/filter-max-results-honoured", Fail),
                ("rfc7644-3.4.2.2/diff-and", Fail),
                ("rfc7644-3.4.2.2/diff-co", Fail),
                ("rfc7644-3.4.2.2/diff-eq-boolean", Fail),
                ("rfc7644-3.4.2.2/diff-eq-case-insensitive", Fail),
                ("rfc7644-3.4.2.2/diff-eq-string", Fail),
                ("rfc7644-3.4.2.2/diff-ew", Fail),
                ("rfc7644-3.4.2.2/diff-ge-string", Fail),
                ("rfc7644-3.4.2.2/diff-grouping", Fail),
                ("rfc7644-3.4.2.2/diff-gt-datetime", Fail),
                ("rfc7644-3.4.2.2/diff-gt-string", Fail),
                ("rfc7644-3.4.2.2/diff-le-string", Fail),
                ("rfc7644-3.4.2.2/diff-lt-string", Fail),
                ("rfc7644-3.4.2.2/diff-multi-valued-sub", Fail),
                ("rfc7644-3.4.2.2/diff-ne", Fail),
                ("rfc7644-3.4.2.2/diff-not", Fail),
                ("rfc7644-3.4.2.2/diff-not-pr", Fail),
                ("rfc7644-3.4.2.2/diff-or", Fail),
                ("rfc7644-3.4.2.2/diff-pr", Fail),
                ("rfc7644-3.4.2.2/diff-precedence", Fail),
                ("rfc7644-3.4.2.2/diff-sub-attribute", Fail),
                ("rfc7644-3.4.2.2/diff-sw", Fail),
                ("rfc7644-3.4.2.2/diff-uppercase-operators", Fail),
                ("rfc7644-3.4.2.2/diff-value-path", Fail),
                ("rfc7644-3.4.2.2/diff-value-path-and", Fail),
                ("rfc7644-3.4.2.2/entra-lookup-externalid", Fail),
                ("rfc7644-3.4.2.2/entra-work-email-lookup", Fail),
                ("rfc7644-3.4.2.2/filter-and", Fail),
                ("rfc7644-3.4.2.2/filter-eq-case-insensitive-op", Fail),
                ("rfc7644-3.4.2.2/filter-eq-value-case-insensitive", Fail),
                ("rfc7644-3.4.2.2/filter-externalid-eq", Fail),
                ("rfc7644-3.4.2.2/filter-finds-user-without-externalid", Fail),
                ("rfc7644-3.4.2.2/filter-username-eq", Fail),
                ("rfc7644-3.4.2.2/filter-value-path", Fail),
                ("rfc7644-3.4.2.2/filter-value-with-plus-sign", Fail),
                ("rfc7644-3.4.2.2/google-group-membership-filter", Fail),
                ("rfc7644-3.4.2.2/okta-lookup-username-paged", Fail),
                ("rfc7644-3.4.2.2/pingfederate-user-lookup", Fail),
                ("rfc7644-3.4.2.2/pingone-filter-contains", Fail),
                ("rfc7644-3.4.2.2/pingone-filter-mixed-case", Fail),
                ("rfc7644-3.4.2.4/google-probe-count-one", Fail),
                ("rfc7644-3.4.2.4/items-per-page-matches", Fail),
                ("rfc7644-3.4.2.4/okta-test-connector-groups", Fail),
                ("rfc7644-3.4.2.4/pagination-start-index-count", Fail),
                ("rfc7644-3.4.2.4/pingfederate-group-page", Fail),
                ("rfc7644-3.4.2.4/start-index-below-one", Fail),
                ("rfc7644-3.4.2.5/attributes-on-list", Fail),
                ("rfc7644-3.4.2.5/entra-lookup-group-excludes-members", Fail),
                ("rfc7644-3.4.2/empty-query-component-ignored", Warn),
                ("rfc7644-3.4.2/entra-flag-query-parameter-tolerated", Warn),
                ("rfc7644-3.4.2/okta-spec-list-one", Fail),
                ("rfc7644-3.4.2/onelogin-lookup-trailing-ampersand", Warn),
                ("rfc7644-3.4.3/search-post", Warn),
                ("rfc7644-3.4.3/search-post-attributes-paging", Warn),
                ("rfc7644-3.5.2.3/deactivated-user-still-found", Fail),
            ],
        ),
        (
            "filter-remove-rejected",
            vec![
                ("rfc7644-3.5.2.2/remove-member-value-filter", Fail),
                ("rfc7644-3.5.2/okta-group-membership-delta", Fail),
            ],
        ),
        (
            "valuepath-replace-unsupported",
            vec![
                ("rfc7644-3.5.2.3/entra-replace-many-ops", Fail),
                ("rfc7644-3.5.2.3/entra-replace-work-email", Fail),
                ("rfc7644-3.5.2.3/replace-filter-no-match", Fail),
                ("rfc7644-3.5.2/entra-cycle-replay-idempotent", Error),
                ("rfc7644-3.5.2/entra-mixed-replace-add", Fail),
            ],
        ),
        (
            "extension-path-rejected",
            vec![
                ("rfc7644-3.5.2.1/entra-manager-bare-string", Fail),
                ("rfc7644-3.5.2.3/entra-replace-many-ops", Fail),
                ("rfc7644-3.5.2.3/replace-extension-path", Fail),
                ("rfc7644-3.5.2/entra-mixed-replace-add", Fail),
            ],
        ),
        (
            "manager-string-rejected",
            vec![("rfc7644-3.5.2.1/entra-manager-bare-string", Fail)],
        ),
        (
            "member-patch-slow",
            vec![("rfc7644-3.5.2.1/group-patch-1000-members", Fail)],
        ),
        (
            "unmapped-filter-returns-all",
            vec![("rfc7644-3.4.2.2/filter-unknown-attribute-400", Fail)],
        ),
        (
            "lowercase-operations-500",
            vec![
                ("rfc7643-2.1/patch-operations-key-any-case", Warn),
                ("rfc7644-3.5.2/patch-not-patchop-400", Fail),
            ],
        ),
        (
            "group-members-truncated",
            vec![("rfc7644-3.5.2.1/group-patch-1000-members", Fail)],
        ),
    ]
}

/// Faults the suite does not catch yet, with the reason; every other fault the server
/// offers must be in [`fault_table`].
const NOT_YET_CAUGHT: &[(&str, &str)] = &[];

#[test]
fn every_server_fault_is_accounted_for() {
    let table = fault_table();
    for fault in Fault::all() {
        let listed = table.iter().any(|(name, _)| *name == fault.name());
        let excused = NOT_YET_CAUGHT.iter().any(|(name, _)| *name == fault.name());
        assert!(
            listed != excused,
            "fault {} must be in exactly one of fault_table and NOT_YET_CAUGHT",
            fault.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_fails_exactly_its_cases() {
    // Measured against a clean run, so the check is the fault's own effect: every listed
    // case breaks as stated and passes without the fault, and nothing else newly breaks.
    let baseline = not_passing(&run_with(Vec::new()).await);
    let mut report = String::new();
    // While working on one fault, `SCIMCONF_FAULTS=a,b` checks only those.
    let only = std::env::var("SCIMCONF_FAULTS").ok();
    for (name, expected) in fault_table() {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|f| f == name))
        {
            continue;
        }
        let fault: Fault = name
            .parse()
            .unwrap_or_else(|e| panic!("unknown fault {name}: {e}"));
        let result = run_with(vec![fault]).await;
        let got = not_passing(&result);
        for (id, outcome) in &expected {
            if got.get(id) != Some(outcome) {
                report.push_str(&format!(
                    "fault {name}: {id} should be {outcome:?}, is {:?}\n",
                    got.get(id)
                ));
            }
            if baseline.contains_key(id) {
                report.push_str(&format!(
                    "fault {name}: {id} does not pass even without the fault\n"
                ));
            }
        }
        for (id, outcome) in &got {
            let listed = expected.iter().any(|(e, _)| e == id);
            if !listed && !baseline.contains_key(id) {
                let message = result
                    .cases
                    .iter()
                    .find(|c| c.id == *id)
                    .map_or("", |c| c.message.as_str());
                report.push_str(&format!(
                    "fault {name}: {id} unexpectedly {outcome:?}: {message}\n"
                ));
            }
        }
        assert!(
            result.cleanup.leftovers.is_empty(),
            "fault {name} left {:?}",
            result.cleanup.leftovers
        );
    }
    assert!(report.is_empty(), "{report}");
}

async fn list_all(server: &RunningServer, endpoint: &str) -> Value {
    let url = format!("{}{endpoint}", server.base_url());
    let reply = reqwest::Client::new()
        .get(url)
        .bearer_auth(server.token())
        .send()
        .await
        .expect("list");
    reply.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_leaves_nothing_behind_and_touches_nothing_else() {
    let server = spawn(Config {
        tenants: two_tenants(),
        ..Config::default()
    })
    .await
    .expect("server starts");
    let http = reqwest::Client::new();
    let bystander = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bystander-not-ours@example.com",
        "displayName": "Bystander"
    });
    let created: Value = http
        .post(format!("{}/Users", server.base_url()))
        .bearer_auth(server.token())
        .header("content-type", "application/scim+json")
        .body(bystander.to_string())
        .send()
        .await
        .expect("seed")
        .json()
        .await
        .expect("seed JSON");
    let result = run(&catalog(), &options(&server), &mut [])
        .await
        .expect("run");
    // Nothing the run recorded mentions the bystander: it never listed or read it.
    let recorded = serde_json::to_string(
        &result
            .cases
            .iter()
            .map(|c| &c.exchanges)
            .collect::<Vec<_>>(),
    )
    .expect("json");
    assert!(
        !recorded.contains("bystander-not-ours"),
        "the run saw a resource it did not create"
    );
    // Only the bystander is left, unchanged.
    let users = list_all(&server, "/Users").await;
    assert_eq!(users["totalResults"], 1, "{users}");
    assert_eq!(users["Resources"][0]["id"], created["id"]);
    assert_eq!(users["Resources"][0]["displayName"], "Bystander");
    let groups = list_all(&server, "/Groups").await;
    assert_eq!(groups["totalResults"], 0, "{groups}");
    assert!(
        result.cleanup.removed > 40,
        "removed {}",
        result.cleanup.removed
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_never_appears_in_stdout_stderr_or_json_report() {
    let secret = format!("tok-{}-never-print-me", std::process::id());
    let server = spawn(Config {
        tenants: vec![("t1".into(), secret.clone())],
        ..Config::default()
    })
    .await
    .expect("server starts");
    let dir = std::env::temp_dir().join(format!("scimconf-token-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let report = dir.join("report.json");
    let (base, env_secret, report_arg) = (server.base_url(), secret.clone(), report.clone());
    // Include a failing case so the human report prints full exchanges too.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
            .args([
                "run",
                "--target",
                &base,
                "--token-env",
                "SCIMCONF_TEST_TOKEN",
                "--json",
            ])
            .arg(&report_arg)
            .env("SCIMCONF_TEST_TOKEN", env_secret)
            .env("RUST_LOG", "debug")
            .output()
    })
    .await
    .expect("join")
    .expect("binary runs");
    server.shutdown().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json = std::fs::read_to_string(&report).expect("report written");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(stdout.contains(" passed, "), "the run happened: {stdout}");
    assert!(!stdout.contains(&secret), "token on stdout");
    assert!(!stderr.contains(&secret), "token on stderr");
    assert!(!json.contains(&secret), "token in the JSON report");
    let doc: Value = serde_json::from_str(&json).expect("report is JSON");
    assert_eq!(doc["schema_version"], 1);
    let auth = doc["cases"][0]["exchanges"][0]["request"]["headers"]["authorization"].as_str();
    assert_eq!(auth, Some("Bearer <redacted>"));
    let summary = &doc["summary"];
    let total: u64 = ["passed", "failed", "warned", "skipped", "errored"]
        .iter()
        .map(|k| summary[k].as_u64().expect("count"))
        .sum();
    assert_eq!(
        total as usize,
        doc["cases"].as_array().expect("cases").len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_token_env_runs_the_isolation_cases() {
    let server = spawn(Config {
        tenants: two_tenants(),
        ..Config::default()
    })
    .await
    .expect("server starts");
    let base = server.base_url();
    let run = |second: bool| {
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scim-conformance"));
            command
                .args(["run", "--target", &base, "--token-env", "SCIMCONF_T1"])
                .args(["--only", "rfc7644-7.4/*"])
                .env("SCIMCONF_T1", Config::default_token());
            if second {
                command
                    .args(["--second-token-env", "SCIMCONF_T2"])
                    .env("SCIMCONF_T2", SECOND_TOKEN);
            }
            command.output()
        })
    };
    let with = run(true).await.expect("join").expect("runs");
    let without = run(false).await.expect("join").expect("runs");
    server.shutdown().await;
    let with = String::from_utf8_lossy(&with.stdout).into_owned();
    let without = String::from_utf8_lossy(&without.stdout).into_owned();
    assert!(
        with.contains("4 passed, 0 failed, 0 warned, 0 skipped"),
        "{with}"
    );
    assert!(
        without.contains("0 passed, 0 failed, 0 warned, 4 skipped"),
        "{without}"
    );
    assert!(
        without.contains("--second-token-env"),
        "the skip says how: {without}"
    );
    assert!(
        !with.contains(SECOND_TOKEN),
        "the second token is never printed"
    );
}

/// A rate-limited target is waited out, not judged: with the reference server's rate limit
/// far below what the run sends, every case still passes, honouring `Retry-After`.
/// See: fresh-user trial, `run` reported 429 answers as MUST failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_target_is_waited_out() {
    let server = spawn(Config {
        tenants: two_tenants(),
        rate_limit: Some(3.0),
        ..Config::default()
    })
    .await
    .expect("server starts");
    let mut options = options(&server);
    options.selection = Selection {
        only: vec!["rfc7644-4/*".parse().expect("selector")],
        ..Selection::default()
    };
    let policy = scim_conformance::runner::Policy {
        jobs: 4,
        ..Default::default()
    };
    let result = scim_conformance::runner::run_with(&catalog(), &options, &policy, &mut [])
        .await
        .expect("run");
    server.shutdown().await;
    assert!(result.cases.len() >= 4, "{}", explain(&result));
    assert_eq!(
        not_passing(&result),
        BTreeMap::new(),
        "{}",
        explain(&result)
    );
    let throttled = result
        .cases
        .iter()
        .flat_map(|c| &c.exchanges)
        .filter(|e| e.response.as_ref().is_some_and(|r| r.status == 429))
        .count();
    assert!(
        throttled > 0,
        "the rate limit never answered 429; the test shows nothing"
    );
    assert_eq!(result.summary.rate_limited, 0);
}
