//! The in-process reference server: `run` without `--target`, and `serve`.

use super::suite::{run_suite, Settings};
use super::{token_from_env, Exit, ServeArgs};
use scim_conformance::exit;
use scim_conformance::runner::RunOptions;
use scim_conformance::select::Selection;
use scim_conformance::Token;
use scim_reference_server::{Config, Fault};
use std::io::Write;
use std::time::Duration;

/// Parses `--fault` names; `list` prints the catalog of faults and ends the process.
fn faults(names: &[String]) -> Result<Vec<Fault>, Exit> {
    if names.iter().any(|n| n == "list") {
        print_faults();
        return Err(Exit {
            code: exit::SUCCESS,
            message: String::new(),
        });
    }
    names
        .iter()
        .map(|n| {
            n.parse::<Fault>()
                .map_err(|e| Exit::usage(format!("--fault {n}: {e} (`--list-faults` shows them)")))
        })
        .collect()
}

/// Prints every fault with what it breaks.
fn print_faults() {
    let mut out = std::io::stdout().lock();
    for fault in Fault::all() {
        let _ = writeln!(out, "{:<28} {}", fault.name(), fault.description());
    }
}

/// Starts the reference server on an ephemeral 127.0.0.1 port, runs the suite against it,
/// and stops it.
pub(crate) async fn run_embedded(
    fault_names: &[String],
    selection: Selection,
    timeout: Duration,
    settings: &Settings,
) -> Result<i32, Exit> {
    let faults = faults(fault_names)?;
    let label_faults: Vec<&str> = faults.iter().map(|f| f.name()).collect();
    // A second tenant with a per-run random token, so the tenant-isolation cases run.
    let second = scim_conformance::runner::random_prefix() + "second-tenant";
    let server = scim_reference_server::spawn(Config {
        faults,
        tenants: vec![
            ("default".to_owned(), Config::default_token().to_owned()),
            ("second".to_owned(), second.clone()),
        ],
        ..Config::default()
    })
    .await
    .map_err(|e| Exit::usage(format!("could not start the reference server: {e}")))?;
    let base_url = server.base_url();
    let target_label = if label_faults.is_empty() {
        format!("embedded reference server ({base_url})")
    } else {
        format!(
            "embedded reference server ({base_url}) with faults {}",
            label_faults.join(",")
        )
    };
    let options = RunOptions {
        base_url,
        token: Some(Token::new(server.token())),
        second_token: Some(Token::new(second)),
        timeout,
        selection,
        target_label,
        prefix: None,
        interrupt: Some(super::interrupt_flag()),
    };
    let result = run_suite(&options, settings).await;
    server.shutdown().await;
    result
}

/// The tenant names of `--tenant` values, for the start-up line (never the tokens).
fn config_tenant_names(specs: &[String]) -> Vec<&str> {
    specs
        .iter()
        .filter_map(|s| s.split_once('=').map(|(n, _)| n.trim()))
        .collect()
}

/// Reads `--tenant NAME=TOKEN` values.
fn tenants(specs: &[String]) -> Result<Vec<(String, String)>, Exit> {
    specs
        .iter()
        .map(|spec| match spec.split_once('=') {
            // `NAME=env:VAR` reads the token from a variable, keeping it out of `ps`.
            Some((name, token)) if token.trim().starts_with("env:") => {
                let name = name.trim();
                let var = token.trim().trim_start_matches("env:").trim();
                if var.is_empty() {
                    return Err(Exit::usage(format!(
                        "--tenant `{name}=env:`: the variable name after `env:` is empty \
                         (use --tenant {name}=env:VAR)"
                    )));
                }
                match std::env::var(var) {
                    Ok(value) if !value.trim().is_empty() => {
                        Ok((name.to_string(), value.trim().to_string()))
                    }
                    Ok(_) => Err(Exit::usage(format!(
                        "--tenant `{name}=env:{var}`: the variable {var} is empty"
                    ))),
                    Err(_) => Err(Exit::usage(format!(
                        "--tenant `{name}=env:{var}`: the variable {var} is not set; export it"
                    ))),
                }
            }
            Some((name, token)) if !name.trim().is_empty() && !token.trim().is_empty() => {
                Ok((name.trim().to_string(), token.trim().to_string()))
            }
            // The value holds a token: name only the tenant part in the message.
            _ => Err(Exit::usage(format!(
                "--tenant `{}`: expected NAME=TOKEN with both parts non-empty",
                spec.split('=').next().unwrap_or_default()
            ))),
        })
        .collect()
}

/// The smallest `--rate-limit` `serve` accepts, in requests per second.
const MIN_RATE_LIMIT: f64 = 0.1;

/// True when `addr` is a loopback socket address (`127.0.0.1:8080`, `[::1]:80`) or
/// `localhost:PORT`; anything else (0.0.0.0, a LAN address, another host name) is not.
fn loopback_addr(addr: &str) -> bool {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => a.ip().is_loopback(),
        Err(_) => addr
            .rsplit_once(':')
            .is_some_and(|(host, _)| host.eq_ignore_ascii_case("localhost")),
    }
}

/// Runs the reference server until Ctrl-C.
pub(crate) async fn serve(args: ServeArgs) -> Result<i32, Exit> {
    if args.list_faults {
        print_faults();
        return Ok(exit::SUCCESS);
    }
    let faults = faults(&args.fault)?;
    if let Some(rate) = args.rate_limit {
        // Below 0.1 a client would wait minutes to hours between requests (one token
        // every 1/R seconds), which no test of a client wants.
        if !(rate.is_finite() && rate >= MIN_RATE_LIMIT) {
            return Err(Exit::usage(format!(
                "--rate-limit must be at least {MIN_RATE_LIMIT} requests per second, got {rate}"
            )));
        }
    }
    let named = tenants(&args.tenant)?;
    let tenants = match std::env::var_os(&args.token_env) {
        _ if !named.is_empty() => named,
        Some(_) => vec![(
            "default".to_owned(),
            token_from_env(&args.token_env)?.expose().to_owned(),
        )],
        None => {
            if !loopback_addr(&args.addr) {
                return Err(Exit::usage(format!(
                    "--addr {} is not a loopback address, and with no token set anyone who \
                     reaches it could use the built-in development token; export {} (or give \
                     --tenant NAME=env:VAR) to serve on it",
                    args.addr, args.token_env
                )));
            }
            eprintln!(
                "scim-conformance: {} is not set; clients must send the built-in development token `{}`",
                args.token_env,
                scim_reference_server::DEFAULT_TOKEN
            );
            Vec::new()
        }
    };
    let config = Config {
        tenants,
        db: args.db.clone(),
        faults,
        rate_limit: args.rate_limit,
        max_patch_operations: Some(args.max_patch_ops),
    };
    // Everything the configuration can get wrong (tenants, limits, the store file) fails
    // here, before anything says it is serving.
    let prepared = scim_reference_server::prepare(&config).map_err(|e| {
        Exit::usage(match e {
            scim_reference_server::ServerError::Config(m) => format!("invalid configuration: {m}"),
            other => format!("cannot start the reference server: {other}"),
        })
    })?;
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| Exit::usage(format!("cannot listen on {}: {e}", args.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Exit::usage(format!("cannot read the bound address: {e}")))?;
    let names: Vec<&str> = config.faults.iter().map(|f| f.name()).collect();
    let tenant_names: Vec<&str> = config_tenant_names(&args.tenant);
    eprintln!(
        "scim-conformance: serving http://{addr}{} (tenants: {}; faults: {}); Ctrl-C stops",
        scim_reference_server::BASE_PATH,
        if tenant_names.is_empty() {
            "default".to_owned()
        } else {
            tenant_names.join(",")
        },
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(",")
        }
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    prepared
        .serve(listener, shutdown)
        .await
        .map_err(|e| Exit::usage(format!("the reference server stopped: {e}")))?;
    Ok(exit::SUCCESS)
}
