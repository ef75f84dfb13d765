//! Command line: `serve` (the default), `migrate`, `token`, `seed-demo`, `healthcheck`, `openapi`.

use clap::{Parser, Subcommand};
use intl_api::{access::Role, auth, config::Settings, db, openapi, Application};
use std::io::IsTerminal;

#[derive(Parser)]
#[command(version, about = "Region Västernorrland's international work API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a token signed with the configured HS256 secret: an operator's tool (for
    /// development, and for the operator of an instance), at most JWT_MAX_TTL long; warns when
    /// it signs with a configured JWT_SECRET.
    Token {
        /// A role to grant (repeatable): council, board, officer, integrator, reader.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// The subject (user or system id).
        #[arg(long, default_value = "dev")]
        sub: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Lifetime in seconds (at most JWT_MAX_TTL).
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Fill the database with demo data: SCALE projects and, in proportion, organisations,
    /// action plans, activities, memberships, report-backs and evaluations.
    SeedDemo {
        #[arg(long, default_value_t = 1000)]
        scale: usize,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Add demo data even to a database that holds real records.
        #[arg(long)]
        force: bool,
    },
    /// Exit 0 when the server on this machine is ready (`GET /readyz` answers 200), else 1:
    /// the container health check, with no HTTP client in the image.
    Healthcheck {
        /// The port to ask on 127.0.0.1 (default: the port of BIND, else 8080).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Print the OpenAPI document, or write it to a file.
    Openapi {
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
}

/// `GET /readyz` over loopback with a short timeout; Ok only for a 200.
fn healthcheck(port: u16) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::time::Duration;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("not ready: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|e| format!("not ready: {e}"))?;
    let mut head = [0u8; 16];
    let n = s.read(&mut head).map_err(|e| format!("not ready: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    if line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!("not ready: {}", line.lines().next().unwrap_or("")))
    }
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!("unknown role {s:?}; one of council, board, officer, integrator, reader")
    })
}

fn main() {
    limit_malloc_arenas();
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    logger.format_timestamp_millis();
    // A terminal gets each line as it comes, in colour; anything else gets them in batches.
    if !std::io::stderr().is_terminal() {
        logger.target(env_logger::Target::Pipe(Box::new(
            intl_api::logsink::stderr(),
        )));
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            intl_api::logsink::flush_on_panic();
            report(info)
        }));
    }
    logger.init();
    let cli = Cli::parse();
    let outcome = run(cli.command.unwrap_or(Command::Serve));
    intl_api::logsink::flush();
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// glibc gives threads that allocate at once arenas of their own (up to eight per core), and
/// each arena keeps what was freed in it. With the database work spread over the blocking
/// threads that was a quarter of the server's memory: peak RSS in the PostgreSQL read runs
/// 53.6 MB with the default, 39.1 MB with two arenas, throughput unchanged
/// (docs/performance-history.md, 21).
/// `MALLOC_ARENA_MAX` in the environment still decides when it is set.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: sets one allocator parameter, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Openapi { output } => {
            let json = openapi::spec_json();
            match output {
                Some(path) => {
                    std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))
                }
                None => {
                    print!("{json}");
                    Ok(())
                }
            }
        }
        Command::Token {
            roles,
            sub,
            name,
            ttl,
        } => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            let token = auth::mint(&settings.jwt, &sub, &roles, name, ttl)?;
            println!("{token}");
            Ok(())
        }
        Command::SeedDemo { scale, seed, force } => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            let pool = db::build_pool_with(
                &settings.database_url,
                intl_api::demo::SEED_WRITERS as u32 + 1,
                settings.sqlite_synchronous,
            );
            intl_api::app::prepare_database(&pool)?;
            let started = std::time::Instant::now();
            let counts =
                intl_api::demo::seed(&pool, scale, seed, force).map_err(|e| e.to_string())?;
            log::info!(
                "demo data written in {:.1} s: {counts:?}",
                started.elapsed().as_secs_f64()
            );
            println!("{counts:?}");
            Ok(())
        }
        Command::Healthcheck { port } => {
            let port = port
                .or_else(|| {
                    std::env::var("BIND")
                        .ok()
                        .and_then(|b| b.rsplit(':').next()?.parse().ok())
                })
                .unwrap_or(8080);
            healthcheck(port)
        }
        Command::Migrate => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            let pool = db::build_pool(&settings.database_url, 1);
            let mut conn = pool
                .get()
                .map_err(|e| format!("cannot reach the database: {e}"))?;
            db::migrate(&mut conn)?;
            log::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            log::info!(
                "starting on {} with {} database (pool {})",
                settings.bind,
                if settings.is_postgres() {
                    "PostgreSQL"
                } else {
                    "SQLite"
                },
                settings.pool_size
            );
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings).await?;
                log::info!("listening on port {}", app.port());
                app.run_until_stopped().await.map_err(|e| e.to_string())
            })
        }
    }
}
