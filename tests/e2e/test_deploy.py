"""test_deploy.py -- the deployment files start a working server as written.

Procfile: its `web:` command is run the way a PaaS runs it (a shell, with PORT and
DATABASE_URL in the environment, in the app's root directory); it must bind 0.0.0.0,
answer /healthz, take a grid and serve it back.

deploy/ipborg.service: its ExecStart is expanded the way systemd expands it (the
unit's Environment= defaults, overridden by the EnvironmentFile -- here the shipped
deploy/ipborg.env.example -- then `${X}` as one argument and a lone `$X` split at
whitespace); the resulting argv must start a server on the unit's 127.0.0.1 that
answers /healthz and stops with status 0 on the unit's KillSignal.

Only PORT (0: any free port) and DATABASE_URL (a fresh test database) are overridden,
and /usr/local/bin/ipborg or build/ipborg is replaced by the binary under test.

Both are stopped as the platform and systemd stop them (a signal to the process
they started), and nothing they started may outlive that: the Procfile's shell
must exec the server, or the platform stops the shell and the server keeps the
port. And the harness itself notices processes a test leaves behind.
"""
import json
import os
import re
import shlex
import signal
import subprocess
import time

import harness
from harness import Server, eq, fresh_db, ok, path_of, read_vector, test

PROCFILE = os.path.join(harness.ROOT, "Procfile")
UNIT = os.path.join(harness.ROOT, "deploy", "ipborg.service")
ENV_EXAMPLE = os.path.join(harness.ROOT, "deploy", "ipborg.env.example")


class CommandServer(Server):
    """A server started from a given command line (not harness.Server's own), which
    must print the harness's `serving http://HOST:PORT/` line with the given host."""

    def __init__(self, argv, env, host, cwd=None):
        self.db_url = env.get("DATABASE_URL")
        self.log_path = os.path.join(harness.TMP, "deploy-%d-%f.log" % (os.getpid(), time.time()))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, env=env,
                                     cwd=cwd, start_new_session=True)
        line = self._read_line(20)
        m = re.search(r"serving http://([^/]+):(\d+)/", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not start from %r: %r; log: %s"
                                 % (argv, line, self.read_log()))
        eq(m.group(1), host, "listening address")
        self.port = int(m.group(2))
        self.base = "http://127.0.0.1:%d" % self.port

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the process that was started (as a platform does), then checks
        that nothing it started outlived it."""
        rc = super().stop(sig, timeout)
        left = harness.group_members(self.proc.pid)   # its own session: pgid = pid
        if left:
            names = "; ".join("pid %d: %s" % (p, harness.command_line(p)) for p in left)
            harness.stop_processes(left)
            raise AssertionError("still running after the started process stopped: " + names)
        return rc


def clean_env(**extra):
    e = dict(os.environ)
    for k in ("HASHIDS_PUBLIC_SALT", "HASHIDS_SECRET_SALT", "DATABASE_URL", "PORT",
              "IPBORG_PUBLIC_URL", "IPBORG_HOST", "IPBORG_OPTS"):
        e.pop(k, None)
    e.update(extra)
    return e


def check_serves(s):
    """/healthz is 200, and a posted grid comes back from /get and its page."""
    st, _, body = s.get("/healthz")
    eq(st, 200, "/healthz")
    eq(body, b"ok\n", "/healthz body")
    st, _, body = s.post(read_vector("posts", "valid_05.json"))
    eq(st, 200, "POST /post")
    hid = path_of(json.loads(body)["url"]).strip("/")
    eq(s.get("/get/" + hid)[0], 200, "/get of the posted grid")
    eq(s.get("/" + hid)[0], 200, "page of the posted grid")


# --- Procfile -------------------------------------------------------------------

def procfile_web():
    with open(PROCFILE) as f:
        lines = [ln.rstrip("\n") for ln in f if ln.strip() and not ln.startswith("#")]
    web = [ln[len("web:"):].strip() for ln in lines if ln.startswith("web:")]
    eq(len(web), 1, "web: lines in the Procfile")
    return web[0]


@test
def procfile_command_serves(backend):
    cmd = procfile_web()
    m = re.match(r"(exec )?build/ipborg ", cmd)
    ok(m, "the Procfile runs build/ipborg: %r" % cmd)
    # The binary under test may be another build (IPBORG_BIN); the rest is verbatim.
    cmd = (m.group(1) or "") + shlex.quote(harness.BIN) + cmd[m.end() - 1:]
    url = fresh_db(backend)
    if backend == "sqlite":
        # A space in the path: the Procfile must hand DATABASE_URL over as one word.
        d = os.path.join(harness.TMP, "procfile dir")
        os.makedirs(d, exist_ok=True)
        url = "sqlite:///" + os.path.join(d, "grids.db")
    env = clean_env(PORT="0", DATABASE_URL=url,
                    HASHIDS_PUBLIC_SALT="public", HASHIDS_SECRET_SALT="secret")
    # The test is about the Procfile's 0.0.0.0; it listens only while the test runs.
    s = CommandServer(["/bin/sh", "-c", cmd], env, "0.0.0.0", cwd=harness.ROOT)
    try:
        check_serves(s)
    finally:
        rc = s.stop()   # SIGTERM to the shell the platform started: the server goes
    eq(rc, 0, "exit status after SIGTERM")


@test(backends=None)
def procfile_execs_the_server():
    # A shell that merely starts the server stays its parent, and a platform's
    # SIGTERM stops the shell, not the server.
    cmd = procfile_web()
    ok(cmd.startswith("exec "), "the Procfile's command execs the server: %r" % cmd)


@test(backends=None)
def harness_finds_leftover_processes():
    ok(harness.SUBREAPER, "the runner is a child subreaper")
    # A shell that starts a process in the background and exits at once: the
    # process is an orphan, handed to the runner.
    out = subprocess.run(["/bin/sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, timeout=20).stdout
    pid = int(out.strip())
    try:
        left = dict(harness.leftover_processes())
        ok(pid in left, "the orphan is found: %r" % left)
        ok("sleep 300" in left[pid], left[pid])
        try:
            harness.check_no_leftovers(wait=0)
            raise AssertionError("check_no_leftovers passed with an orphan running")
        except AssertionError as e:
            ok("sleep 300" in str(e), "the failure names it: %s" % e)
        ok(pid not in dict(harness.leftover_processes()), "and it was stopped")
    finally:
        harness.stop_processes([pid])


# --- systemd unit ---------------------------------------------------------------

def unit_service_section():
    """[Service] of the unit as a list of (key, value), in order, continuation
    lines joined and comments dropped."""
    items, section, pending = [], None, ""
    with open(UNIT) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("["):
                section = s
                continue
            if section == "[Service]":
                k, _, v = s.partition("=")
                items.append((k.strip(), v.strip()))
    return items


def env_assignments(text):
    """KEY=VALUE assignments of an Environment= value (space separated, each
    optionally in double quotes) or of an EnvironmentFile line."""
    out = {}
    for word in shlex.split(text):
        k, eqsign, v = word.partition("=")
        if eqsign:
            out[k] = v
    return out


def unit_environment(service, env_file):
    env = {}
    for k, v in service:
        if k == "Environment":
            env.update(env_assignments(v))
    for k, v in service:
        if k == "EnvironmentFile":
            with open(env_file) as f:
                for line in f:
                    s = line.strip()
                    if s and s[0] not in "#;":
                        env.update(env_assignments(s))
    return env


def expand_exec(line, env):
    """systemd's ExecStart expansion: a word that is exactly $NAME becomes the value
    split at whitespace (zero or more words); ${NAME} anywhere becomes the value."""
    argv = []
    for word in shlex.split(line):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            argv.extend(env.get(m.group(1), "").split())
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""),
                           word))
    return argv


@test
def systemd_unit_execstart_serves(backend):
    service = unit_service_section()
    keys = dict(service)
    env = unit_environment(service, ENV_EXAMPLE)
    # The unit's own promises: the SQLite default lives in its state directory, and
    # systemd waits longer than ipborg's 10 s grace before it kills.
    state = keys.get("StateDirectory")
    ok(state, "the unit has a StateDirectory")
    ok(env["DATABASE_URL"].startswith("sqlite:////var/lib/%s/" % state),
       "default database in the state directory: %r" % env["DATABASE_URL"])
    eq(keys.get("KillSignal"), "SIGTERM", "KillSignal")
    ok(int(keys.get("TimeoutStopSec", "0").rstrip("s")) > 10, "TimeoutStopSec over ipborg's 10 s")

    env.update(PORT="0", DATABASE_URL=fresh_db(backend),
               HASHIDS_PUBLIC_SALT="public", HASHIDS_SECRET_SALT="secret")
    argv = expand_exec(keys["ExecStart"], env)
    eq(argv[0], "/usr/local/bin/ipborg", "ExecStart binary")
    argv[0] = harness.BIN
    ok("--max-connections-per-ip=0" in argv, "IPBORG_OPTS of the example reached the argv: %r" % argv)
    s = CommandServer(argv, clean_env(**env), env["IPBORG_HOST"], cwd=harness.TMP)
    try:
        check_serves(s)
    finally:
        rc = s.stop(getattr(signal, keys["KillSignal"]))
    eq(rc, 0, "exit status after %s" % keys["KillSignal"])


@test(backends=None)
def systemd_unit_without_env_file():
    # EnvironmentFile=- is optional: the unit's own defaults alone must give a valid
    # command line (checked with --help, which parses everything and opens nothing).
    service = [(k, v) for k, v in unit_service_section() if k != "EnvironmentFile"]
    env = unit_environment(service, ENV_EXAMPLE)
    argv = expand_exec(dict(service)["ExecStart"], env)
    argv[0] = harness.BIN
    p = subprocess.run(argv + ["--help"], env=clean_env(**env), capture_output=True, text=True,
                       timeout=20)
    eq(p.returncode, 0, "serve --help with the unit's defaults (stderr %r)" % p.stderr)
