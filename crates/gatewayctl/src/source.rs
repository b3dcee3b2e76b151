//! Reading `routes.toml`: parse, compile for an environment, validate with the worker's code
//! (and, when given wrangler.toml, check the bindings it names; for `check`, also the routes
//! against their upstreams' contracts), and report every problem as
//! `file:line:column: subject: problem [environments]`.

use gateway::table::source::RouteFile;
use gateway::table::{Problem, RouteDocument, RouteTable, Subject};

use crate::args::Args;
use crate::bindings::WranglerToml;
use crate::locate::{line_col, Positions};
use crate::version;

/// A parsed route file with its text (for positions).
pub struct Source {
    /// The file name as given.
    pub name: String,
    /// The file's path.
    path: std::path::PathBuf,
    /// The parsed file.
    pub file: RouteFile,
    positions: Positions,
    wrangler: Option<WranglerToml>,
}

/// One located problem, with the environments it occurs in.
struct Located {
    line: usize,
    col: usize,
    message: String,
    envs: Vec<String>,
}

impl Source {
    /// Reads and parses `path`; a TOML error is reported with its position.
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        let file: RouteFile = toml::from_str(&text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(&text, s.start));
            format!(
                "{name}:{line}:{col}: {}\nnothing was changed",
                e.message().trim()
            )
        })?;
        let positions = Positions::of(&text);
        Ok(Self {
            name,
            path: path.to_owned(),
            file,
            positions,
            wrangler: None,
        })
    }

    /// Also checks the bindings the table names against the wrangler configuration
    /// (`--config`, default wrangler.toml); without that file, says so and skips the check.
    pub fn with_bindings(mut self, args: &Args) -> Result<Self, String> {
        let path = args.wrangler_toml();
        self.wrangler = WranglerToml::read(&path)?;
        if self.wrangler.is_none() {
            eprintln!(
                "note: {} not found; bindings were not checked (--config names the wrangler configuration)",
                path.display()
            );
        }
        Ok(self)
    }

    /// The directory the file is in (paths in it are relative to it).
    pub fn dir(&self) -> std::path::PathBuf {
        self.path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Line and column of a subject.
    pub fn locate(&self, subject: &Subject) -> (usize, usize) {
        self.positions.of_subject(subject, false)
    }

    /// Validates for each of `envs`; `Err` lists every problem, located.
    pub fn check(&self, envs: &[String]) -> Result<(), String> {
        self.check_with(envs, Vec::new())
    }

    /// [`check`](Self::check), with `more` problems (line, column, message) found in every
    /// environment.
    pub fn check_with(
        &self,
        envs: &[String],
        more: Vec<(usize, usize, String)>,
    ) -> Result<(), String> {
        let mut found: Vec<Located> = Vec::new();
        for env in envs {
            for (line, col, message) in self.problems(env) {
                match found
                    .iter_mut()
                    .find(|p| (p.line, p.col, &p.message) == (line, col, &message))
                {
                    Some(p) => p.envs.push(env.clone()),
                    None => found.push(Located {
                        line,
                        col,
                        message,
                        envs: vec![env.clone()],
                    }),
                }
            }
        }
        found.extend(more.into_iter().map(|(line, col, message)| Located {
            line,
            col,
            message,
            envs: envs.to_vec(),
        }));
        if found.is_empty() {
            return Ok(());
        }
        let mut out = String::new();
        for p in &found {
            out.push_str(&format!(
                "{}:{}:{}: {} [{}]\n",
                self.name,
                p.line,
                p.col,
                p.message,
                p.envs.join(", ")
            ));
        }
        let n = found.len();
        out.push_str(&format!(
            "{}: {n} problem{}; nothing was changed",
            self.name,
            if n == 1 { "" } else { "s" }
        ));
        Err(out)
    }

    /// The validated document for `env`, stamped with a new version id and checksum.
    pub fn compile(&self, env: &str) -> Result<RouteDocument, String> {
        self.check(&[env.to_owned()])?;
        let mut doc = self
            .file
            .compile(env)
            .map_err(|_| "checked above".to_owned())?;
        doc.checksum = version::checksum(&doc);
        doc.version = version::new_id(&doc.checksum);
        Ok(doc)
    }

    fn problems(&self, env: &str) -> Vec<(usize, usize, String)> {
        let (doc, compiled) = self.file.compile_partial(env);
        let located = |subject: &Subject, message: String, duplicate: bool| {
            let (line, col) = self.positions.of_subject(subject, duplicate);
            (line, col, message)
        };
        let mut out: Vec<_> = compiled
            .iter()
            .map(|p| located(&p.subject, p.to_string(), false))
            .collect();
        // What did not compile is left out of the document: references to it are not news.
        let left_out = |problem: &Problem| {
            compiled.iter().any(|c| match (&c.subject, problem) {
                (Subject::Upstream(a), Problem::UnknownUpstream(b)) => a == b,
                (Subject::Upstream(a), Problem::BadSplit(m)) => {
                    m.ends_with(&format!(": unknown upstream `{a}`"))
                }
                (Subject::Policy(a), Problem::UnknownPolicy(b)) => a == b,
                _ => false,
            })
        };
        let bindings = self.wrangler.as_ref().map(|w| w.problems(&doc));
        let probe = RouteDocument {
            version: "check".into(),
            ..doc
        };
        if let Err(errors) = RouteTable::try_from(probe) {
            out.extend(errors.0.iter().filter(|e| !left_out(&e.problem)).map(|e| {
                let duplicate = e.problem == Problem::DuplicateId;
                located(&e.subject, e.to_string(), duplicate)
            }));
        }
        for (subject, problem) in bindings.into_iter().flatten() {
            out.push(located(&subject, format!("{subject}: {problem}"), false));
        }
        out
    }
}

/// `check`: validates every environment (or the one asked for) and lists every problem.
pub fn check(args: &Args) -> Result<(), String> {
    let source = Source::read(&args.file)?.with_bindings(args)?;
    let envs = match &args.env {
        Some(env) => vec![env.clone()],
        None => source.file.environments(),
    };
    if envs.is_empty() {
        return Err(format!(
            "{}:1:1: no upstream names an environment",
            source.name
        ));
    }
    let contracts = crate::contract_verbs::check(&source);
    let checked = source.check_with(&envs, contracts.problems);
    if checked.is_err() {
        contracts.info.iter().for_each(|line| println!("{line}"));
        return checked;
    }
    println!(
        "{}: ok — {} routes, {} upstreams, environments: {}",
        source.name,
        source.file.routes.len(),
        source.file.upstreams.len(),
        envs.join(", ")
    );
    if contracts.upstreams > 0 {
        println!(
            "{}: every route reaches an operation of its upstream's contract ({} contract{})",
            source.name,
            contracts.upstreams,
            if contracts.upstreams == 1 { "" } else { "s" }
        );
    }
    contracts.info.iter().for_each(|line| println!("{line}"));
    Ok(())
}

/// `compile`: the JSON document for `--env`.
pub fn compile(args: &Args) -> Result<(), String> {
    let doc = Source::read(&args.file)?.compile(args.env())?;
    println!("{}", doc.to_json());
    Ok(())
}
