//! Sweeps on cluster schedulers: `--emit slurm` run through a real single-node Slurm
//! cluster (munge, slurmctld and slurmd started here in a temporary folder, stopped by a
//! guard even when the test panics), and `--emit k8s` checked as YAML.
//!
//! Without Slurm and munge installed, or when not running as root (the test cluster runs
//! its daemons and jobs as root), the Slurm test is skipped with a message, unless
//! HOTFIX_REQUIRE_INTEROP is set (scripts/test sets it), which makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{hotfix, repo_root};

/// Skips (returns `None`) with a message, or panics under HOTFIX_REQUIRE_INTEROP.
fn skip(why: &str) -> Option<PathBuf> {
    if std::env::var_os("HOTFIX_REQUIRE_INTEROP").is_some() {
        panic!("Slurm test required (HOTFIX_REQUIRE_INTEROP is set) but {why}");
    }
    eprintln!(
        "skipped: {why} (install slurmctld slurmd slurm-client munge and run as root; \
         HOTFIX_REQUIRE_INTEROP=1 makes this a failure)"
    );
    None
}

/// A tool on PATH or in the sbin folders (daemons live in /usr/sbin).
fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// Runs `cmd` to completion and returns its stdout, or `None` when it fails.
fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls `ready` every 100 ms until it returns `Some` or `limit` passes.
fn wait_for<T>(limit: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = ready() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free TCP port on localhost (bound, then released for the daemon).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The test cluster: its folder, config and daemons. Dropping it cancels any job left
/// and stops the daemons (TERM, then KILL after a bounded wait).
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<(&'static str, Child)>,
}

impl Cluster {
    /// A Slurm client command against this cluster.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(tool(program).unwrap_or_else(|| PathBuf::from(program)));
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn spawn(&mut self, what: &'static str, cmd: &mut Command) {
        let log = |suffix: &str| {
            std::fs::File::create(self.dir.join(format!("{what}.{suffix}")))
                .expect("daemon log file")
        };
        let child = cmd
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(log("out"))
            .stderr(log("err"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        self.daemons.push((what, child));
    }

    /// Every daemon log, for failure messages.
    fn logs(&self) -> String {
        let mut s = String::new();
        for name in [
            "munged.out",
            "munged.err",
            "slurmctld.err",
            "slurmd.err",
            "work/results/logs/merge.log",
        ] {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            s.push_str(&format!("--- {name}\n"));
            for l in tail.into_iter().rev() {
                s.push_str(l);
                s.push('\n');
            }
        }
        for e in std::fs::read_dir(self.dir.join("work/results/logs"))
            .into_iter()
            .flatten()
            .flatten()
        {
            s.push_str(&format!("--- {}\n", e.path().display()));
            s.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
        s
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.daemons.is_empty() {
            let _ = self
                .cmd("scancel")
                .args(["--user", "root"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // slurmd first (it ends its job steps), then the controller, then munge.
        for (_, child) in self.daemons.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let stopped = wait_for(Duration::from_secs(10), || {
                child.try_wait().ok().flatten().map(|_| ())
            });
            if stopped.is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Starts munge, slurmctld and slurmd in `dir`, or says why it cannot.
fn start_cluster(dir: &Path) -> Result<Cluster, String> {
    for t in [
        "munged",
        "slurmctld",
        "slurmd",
        "sbatch",
        "squeue",
        "scontrol",
        "sinfo",
    ] {
        if tool(t).is_none() {
            return Err(format!("{t} is not installed"));
        }
    }
    let uid = output(Command::new("id").arg("-u")).unwrap_or_default();
    if uid.trim() != "0" {
        return Err("the test cluster runs as root and this is not root".into());
    }
    // The node as slurmd sees it: its name, CPUs and memory.
    let probe = output(Command::new(tool("slurmd").expect("slurmd")).arg("-C"))
        .ok_or("`slurmd -C` failed")?;
    let node_line = probe
        .lines()
        .find(|l| l.starts_with("NodeName="))
        .ok_or_else(|| format!("`slurmd -C` printed no NodeName line: {probe}"))?
        .to_owned();
    let node = node_line
        .split_whitespace()
        .next()
        .and_then(|w| w.strip_prefix("NodeName="))
        .ok_or("no node name")?
        .to_owned();
    for sub in ["munge", "state", "spool", "work"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
    }
    let d = dir.display();
    // munge: a key of random bytes, readable by its owner only.
    let mut key = vec![0u8; 1024];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut key))
        .map_err(|e| e.to_string())?;
    let key_path = dir.join("munge/munge.key");
    std::fs::write(&key_path, &key).map_err(|e| e.to_string())?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
    }
    let socket = dir.join("munge/munge.sock");
    let conf = dir.join("slurm.conf");
    let (ctld_port, d_port) = (free_port(), free_port());
    let text = format!(
        "ClusterName=hotfixtest\n\
         SlurmctldHost={node}(127.0.0.1)\n\
         SlurmUser=root\n\
         SlurmdUser=root\n\
         AuthType=auth/munge\n\
         CredType=cred/munge\n\
         AuthInfo=socket={socket}\n\
         ProctrackType=proctrack/linuxproc\n\
         TaskPlugin=task/none\n\
         SelectType=select/cons_tres\n\
         SelectTypeParameters=CR_Core\n\
         MpiDefault=none\n\
         JobAcctGatherType=jobacct_gather/none\n\
         AccountingStorageType=accounting_storage/none\n\
         ReturnToService=2\n\
         SlurmctldPort={ctld_port}\n\
         SlurmdPort={d_port}\n\
         StateSaveLocation={d}/state\n\
         SlurmdSpoolDir={d}/spool\n\
         SlurmctldPidFile={d}/slurmctld.pid\n\
         SlurmdPidFile={d}/slurmd.pid\n\
         SlurmctldLogFile={d}/slurmctld.log\n\
         SlurmdLogFile={d}/slurmd.log\n\
         {node_line} NodeAddr=127.0.0.1 State=UNKNOWN\n\
         PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP\n",
        socket = socket.display()
    );
    std::fs::write(&conf, text).map_err(|e| e.to_string())?;
    let mut cluster = Cluster {
        dir: dir.to_owned(),
        conf: conf.clone(),
        daemons: Vec::new(),
    };
    cluster.spawn(
        "munged",
        Command::new(tool("munged").expect("munged"))
            .arg("--foreground")
            .arg("--force")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--key-file={}", key_path.display()))
            .arg(format!("--pid-file={d}/munge/munged.pid"))
            .arg(format!("--log-file={d}/munge/munged.log"))
            .arg(format!("--seed-file={d}/munge/munged.seed")),
    );
    if wait_for(Duration::from_secs(20), || socket.exists().then_some(())).is_none() {
        return Err(format!(
            "munged did not create its socket\n{}",
            cluster.logs()
        ));
    }
    cluster.spawn(
        "slurmctld",
        Command::new(tool("slurmctld").expect("slurmctld"))
            .args(["-D", "-i", "-f"])
            .arg(&conf),
    );
    cluster.spawn(
        "slurmd",
        Command::new(tool("slurmd").expect("slurmd"))
            .args(["-D", "-N", &node, "-f"])
            .arg(&conf),
    );
    let up = wait_for(Duration::from_secs(120), || {
        let state = output(cluster.cmd("sinfo").args(["-h", "-o", "%T"]))?;
        state.trim().starts_with("idle").then_some(())
    });
    if up.is_none() {
        return Err(format!(
            "the node did not come up idle within 120 s\n{}",
            cluster.logs()
        ));
    }
    Ok(cluster)
}

/// `JobState` of a job from `scontrol show job`, with its `Reason`.
fn job_state(cluster: &Cluster, job: &str) -> Option<(String, String)> {
    let text = output(cluster.cmd("scontrol").args(["show", "job", job]))?;
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .map(str::to_owned)
    };
    Some((field("JobState=")?, field("Reason=").unwrap_or_default()))
}

#[test]
fn sweep_through_a_real_slurm_cluster_equals_the_local_sweep_byte_for_byte() {
    let tmp = tempfile::Builder::new()
        .prefix("hfslurm")
        .tempdir()
        .expect("tempdir");
    let cluster = match start_cluster(tmp.path()) {
        Ok(c) => c,
        Err(why) => {
            skip(&why);
            return;
        }
    };
    // A full scenario (model, package, runbook): every shard verifies and loads the same
    // input files, and the merge checks their digests.
    let scenario = repo_root().join("simulator/scenarios/install-standard.toml");
    let scenario = scenario.to_str().expect("utf-8 path");
    let script = hotfix()
        .args(["sim", "sweep", scenario, "--seeds", "0..12"])
        .args(["--emit", "slurm", "--shards", "4", "--cpus", "1"])
        .output()
        .expect("emit");
    assert!(
        script.status.success(),
        "{}",
        String::from_utf8_lossy(&script.stderr)
    );
    let work = tmp.path().join("work");
    let script_path = work.join("sweep.sh");
    std::fs::write(&script_path, &script.stdout).expect("write script");
    let submitted = cluster
        .cmd("bash")
        .arg(&script_path)
        .current_dir(&work)
        .env("HOTFIX", assert_cmd::cargo::cargo_bin("hotfix"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run the submit script");
    let said = String::from_utf8_lossy(&submitted.stdout).into_owned();
    assert!(
        submitted.status.success(),
        "submit script failed: {said}\n{}\n{}",
        String::from_utf8_lossy(&submitted.stderr),
        cluster.logs()
    );
    // "submitted job array A (4 shards) and merge job M (writes ...)"
    let merge_job = said
        .split("merge job ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no merge job id in: {said}"))
        .to_owned();
    let done = wait_for(Duration::from_secs(300), || {
        let (state, reason) = job_state(&cluster, &merge_job)?;
        match state.as_str() {
            "COMPLETED" => Some(Ok(())),
            "FAILED" | "CANCELLED" | "TIMEOUT" | "NODE_FAIL" | "OUT_OF_MEMORY" => {
                Some(Err(format!("merge job {state} ({reason})")))
            }
            _ if reason.contains("DependencyNeverSatisfied") => {
                Some(Err("a shard failed: the merge job will never run".into()))
            }
            _ => None,
        }
    });
    match done {
        Some(Ok(())) => {}
        Some(Err(e)) => panic!("{e}\n{}", cluster.logs()),
        None => panic!(
            "merge job {merge_job} did not complete within 300 s: {:?}\n{}",
            job_state(&cluster, &merge_job),
            cluster.logs()
        ),
    }
    let merged = std::fs::read(work.join("results/sweep.json")).expect("merged result");
    let local = hotfix()
        .args(["sim", "sweep", scenario, "--seeds", "0..12", "--jobs", "2"])
        .args(["--output-format", "json"])
        .output()
        .expect("local sweep");
    assert!(local.status.success());
    assert_eq!(
        String::from_utf8_lossy(&merged),
        String::from_utf8_lossy(&local.stdout),
        "the sweep run through Slurm differs from the local sweep"
    );
    // Every shard ran as its own array task and wrote only its seeds.
    for k in 0..4 {
        let shard = std::fs::read(work.join(format!("results/shard-{k}.json")))
            .unwrap_or_else(|e| panic!("shard {k}: {e}"));
        let v: serde_json::Value = serde_json::from_slice(&shard).expect("shard JSON");
        assert_eq!(v["shard"]["index"], k, "shard {k}");
        assert_eq!(v["runs"].as_array().map(Vec::len), Some(3), "shard {k}");
    }
    drop(cluster);
}

/// Parses `text` as YAML and returns its single document.
fn one_yaml_document(text: &str) -> yaml_rust2::Yaml {
    let mut docs = yaml_rust2::YamlLoader::load_from_str(text)
        .unwrap_or_else(|e| panic!("not well-formed YAML: {e}\n{text}"));
    assert_eq!(docs.len(), 1, "one document expected:\n{text}");
    docs.remove(0)
}

#[test]
fn emitted_kubernetes_indexed_job_is_well_formed_yaml() {
    let out = hotfix()
        .args(["sim", "sweep", "simulator/scenarios/scale-100k.toml"])
        .args(["--seeds", "0..1000", "--emit", "k8s", "--shards", "10"])
        .current_dir(repo_root())
        .output()
        .expect("emit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let job = one_yaml_document(&text);
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(job["spec"]["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(job["spec"]["completions"].as_i64(), Some(10));
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let cmd = container["args"][0].as_str().expect("shell command");
    assert!(
        cmd.contains("--shard \"${JOB_COMPLETION_INDEX}/10\"")
            && cmd.contains("--seeds 0..1000")
            && cmd.contains("results/shard-${JOB_COMPLETION_INDEX}.json"),
        "{cmd}"
    );
    // The manifest in the docs is this output, so it cannot drift from what the tool
    // emits.
    let doc_path = repo_root().join("docs/k8s/sweep-job.yaml");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&doc_path, &text).expect("update docs/k8s/sweep-job.yaml");
    }
    let documented = std::fs::read_to_string(&doc_path).expect("docs/k8s/sweep-job.yaml");
    one_yaml_document(&documented);
    assert_eq!(
        documented, text,
        "docs/k8s/sweep-job.yaml differs from `hotfix sim sweep simulator/scenarios/scale-100k.toml \
         --seeds 0..1000 --emit k8s --shards 10`; regenerate with UPDATE_FIXTURES=1"
    );
}

#[test]
fn emit_refuses_bad_options_before_printing_anything() {
    let out = hotfix()
        .args(["sim", "sweep", "simulator/scenarios/timing-batches.toml"])
        .args(["--seeds", "0..10", "--emit", "slurm", "--shards", "2"])
        .args(["--results", "my results"])
        .current_dir(repo_root())
        .output()
        .expect("emit");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--results") && err.contains("hint:"), "{err}");
    // A broken scenario is reported now, not by every shard on the cluster.
    let out = hotfix()
        .args(["sim", "sweep", "no-such-scenario.toml", "--seeds", "0..10"])
        .args(["--emit", "slurm", "--shards", "2"])
        .output()
        .expect("emit");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
