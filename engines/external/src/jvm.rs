//! The JVM side: where the real engines are installed, the job sources compiled against their
//! jars (once per version of the sources), and the command line that runs a job.

use crate::ExternalError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Java sources of the jobs, embedded so that the binary carries the version it expects.
const SOURCES: [(&str, &str); 7] = [
    ("Args.java", include_str!("../java/flowmark/Args.java")),
    ("Events.java", include_str!("../java/flowmark/Events.java")),
    ("LogClient.java", include_str!("../java/flowmark/LogClient.java")),
    ("ResultChannel.java", include_str!("../java/flowmark/ResultChannel.java")),
    ("Nexmark.java", include_str!("../java/flowmark/Nexmark.java")),
    ("FlinkJob.java", include_str!("../java/flowmark/FlinkJob.java")),
    ("SparkJob.java", include_str!("../java/flowmark/SparkJob.java")),
];

/// The module flags Java 17 needs for both engines: the union of what Flink's and Spark's own
/// launchers pass (`env.java.opts.all` in Flink's configuration, Spark's `JavaModuleOptions`).
const MODULE_FLAGS: &[&str] = &[
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.text=ALL-UNNAMED",
    "--add-opens=java.base/java.time=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
    "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
    "-Djdk.reflect.useDirectMethodHandle=false",
    "-Dio.netty.tryReflectionSetAccessible=true",
];

/// Which real engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Apache Flink.
    Flink,
    /// Apache Spark.
    Spark,
}

impl Kind {
    /// The engine's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Flink => "flink",
            Kind::Spark => "spark",
        }
    }

    fn main_class(self) -> &'static str {
        match self {
            Kind::Flink => "flowmark.FlinkJob",
            Kind::Spark => "flowmark.SparkJob",
        }
    }

    fn sources(self) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
        let other = match self {
            Kind::Flink => "SparkJob.java",
            Kind::Spark => "FlinkJob.java",
        };
        SOURCES.iter().filter(move |(name, _)| *name != other)
    }
}

/// Where the real engines are: the project-local environment `scripts/install-real-engines`
/// creates (or `FLOWMARK_ENGINES_VENV`), and the build directory beside it.
#[derive(Clone, Debug)]
pub struct Install {
    /// The Python virtual environment holding pyspark and apache-flink-libraries.
    pub venv: PathBuf,
    /// Compiled jobs, one directory per version of the sources.
    pub build: PathBuf,
}

impl Install {
    /// The default place: `$FLOWMARK_ENGINES_VENV`, else `.engines/venv` in the workspace.
    pub fn locate() -> Install {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let venv = std::env::var_os("FLOWMARK_ENGINES_VENV")
            .map_or_else(|| root.join(".engines/venv"), PathBuf::from);
        let build = venv.parent().unwrap_or(&root).join("build");
        Install { venv, build }
    }

    fn site_packages(&self) -> Result<PathBuf, ExternalError> {
        let lib = self.venv.join("lib");
        std::fs::read_dir(&lib)
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("site-packages"))
            .find(|p| p.is_dir())
            .ok_or_else(|| {
                ExternalError::NotInstalled(format!("no Python environment at {}", self.venv.display()))
            })
    }

    /// The directory of the engine's jars.
    pub fn jars(&self, kind: Kind) -> Result<PathBuf, ExternalError> {
        let dir = self.site_packages()?.join(match kind {
            Kind::Flink => "pyflink/lib",
            Kind::Spark => "pyspark/jars",
        });
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(ExternalError::NotInstalled(format!(
                "{} has no {} jars ({})",
                self.venv.display(),
                kind.name(),
                dir.display()
            )))
        }
    }

    /// The engine's compiled jobs as a jar, compiling them first if this version of the
    /// sources has not been compiled yet.
    pub fn job_jar(&self, kind: Kind) -> Result<PathBuf, ExternalError> {
        let jars = self.jars(kind)?;
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, text) in kind.sources() {
            for b in name.bytes().chain(text.bytes()) {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        let dir = self.build.join(format!("{}-{hash:016x}", kind.name()));
        let jar = dir.join(format!("flowmark-{}.jar", kind.name()));
        if jar.exists() {
            return Ok(jar);
        }
        let work = self.build.join(format!("{}-{hash:016x}.{}.tmp", kind.name(), std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        let src = work.join("src/flowmark");
        std::fs::create_dir_all(&src).map_err(ExternalError::io("create", &src))?;
        for (name, text) in kind.sources() {
            let path = src.join(name);
            std::fs::write(&path, text).map_err(ExternalError::io("write", &path))?;
        }
        let classes = work.join("classes");
        let mut javac = Command::new(java_tool("javac"));
        javac.arg("-nowarn").arg("-d").arg(&classes).arg("-cp").arg(jars.join("*"));
        for (name, _) in kind.sources() {
            javac.arg(src.join(name));
        }
        run_tool(javac, "javac")?;
        let mut pack = Command::new(java_tool("jar"));
        pack.arg("cf").arg(work.join(jar.file_name().expect("named"))).arg("-C").arg(&classes).arg(".");
        run_tool(pack, "jar")?;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&work, &dir).map_err(ExternalError::io("rename into", &dir))?;
        Ok(jar)
    }

    /// The command that runs `args` as the engine's job (not started).
    pub fn command(
        &self,
        kind: Kind,
        tmp: &Path,
        heap_mb: u64,
        args: &[(String, String)],
    ) -> Result<Command, ExternalError> {
        let jar = self.job_jar(kind)?;
        let classpath = format!("{}:{}", jar.display(), self.jars(kind)?.join("*").display());
        let mut cmd = Command::new(java_tool("java"));
        cmd.args(MODULE_FLAGS)
            .arg(format!("-Xmx{heap_mb}m"))
            .arg(format!("-Djava.io.tmpdir={}", tmp.display()))
            .arg("-cp")
            .arg(classpath)
            .arg(kind.main_class())
            .arg("--jar")
            .arg(&jar);
        for (k, v) in args {
            cmd.arg(format!("--{k}")).arg(v);
        }
        if kind == Kind::Spark {
            cmd.env("SPARK_LOCAL_IP", "127.0.0.1");
        }
        Ok(cmd)
    }
}

/// A JDK tool: from `$JAVA_HOME/bin` when set, else from the path.
fn java_tool(name: &str) -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map_or_else(|| PathBuf::from(name), |home| PathBuf::from(home).join("bin").join(name))
}

fn run_tool(mut cmd: Command, name: &str) -> Result<(), ExternalError> {
    let out = cmd
        .output()
        .map_err(|e| ExternalError::Compile(format!("cannot run {name}: {e} (is a JDK 17 installed?)")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ExternalError::Compile(format!(
            "{name} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}
