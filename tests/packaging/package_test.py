"""The Debian package, installed for real: cpack -G DEB, dpkg -i, its files, dependencies and
unit, the installed binary serving with the packaged settings as the packaged user, then
dpkg --purge, leaving the machine as it was (also when a check fails midway).

usage: package_test.py <build dir>   (as root: CI runs as root; dpkg needs it)
Runs under a lock, so two checkouts testing at once on one machine take turns.
"""
import fcntl
import grp
import json
import os
import pwd
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
PACKAGE = "stampede"
UNIT = "/lib/systemd/system/stampede.service"
DEFAULTS = "/etc/default/stampede"
DATA = "/var/lib/stampede"
SECRETS_DIR = "/etc/stampede"
LOCK = "/run/lock/stampede-package-test.lock"
STATE = "/var/tmp/stampede-package-test.state"  # what to restore, while a run is under way
TEST_DEADLINE_S = 600  # well inside ctest's TIMEOUT, so cleanup always gets its turn
DPKG_LOCK_WAIT_S = 300  # another dpkg or apt run finishing first
SERVE_WAIT_S = 60


def run(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def dpkg(*args):
    """dpkg, waiting while another dpkg or apt holds its lock."""
    deadline = time.monotonic() + DPKG_LOCK_WAIT_S
    while True:
        r = run("dpkg", *args, check=False)
        locked = "lock" in r.stderr and ("locked" in r.stderr or "held" in r.stderr)
        if r.returncode == 0 or not locked or time.monotonic() > deadline:
            return r
        time.sleep(2)


def read_line(pipe, timeout_s):
    """The first line the process writes, or what came before `timeout_s` passed."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([pipe], [], [], left)[0]:
            break
        chunk = os.read(pipe.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def installed(package):
    r = run("dpkg-query", "-W", "-f=${Status}", package, check=False)
    return r.returncode == 0 and "install ok installed" in r.stdout


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def setting_lines(path):
    """The (key, value) of each Key=Value line, as systemd reads an EnvironmentFile= or a
    unit: blank lines, comments (# or ;) and [Section] headers skipped."""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith(("#", ";", "[")):
                key, _, value = line.partition("=")
                yield key.strip(), value.strip()


def environment_file(path):
    return {key: value.strip('"') for key, value in setting_lines(path)}


def unit_settings(path):
    """The unit's settings; repeated keys (EnvironmentFile=) collect into a list."""
    settings = {}
    for key, value in setting_lines(path):
        settings.setdefault(key, []).append(value)
    return settings


def http(port, method, path, token=None, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data=data, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class machine_state:
    """What the test may create, noted before it starts, so cleanup undoes exactly that. The
    note is kept in STATE until cleanup is done: a run killed midway (a CI timeout, kill -9)
    is cleaned up by the next run before it starts."""

    def __init__(self, saved=None):
        self.user = saved["user"] if saved else user_exists(PACKAGE)
        self.group = saved["group"] if saved else group_exists(PACKAGE)
        self.data = saved["data"] if saved else os.path.exists(DATA)
        self.secrets = saved["secrets"] if saved else os.path.exists(SECRETS_DIR)
        self.server_pid = saved.get("server_pid") if saved else None

    def save(self):
        with open(STATE + ".new", "w") as f:
            json.dump(self.__dict__, f)
        os.rename(STATE + ".new", STATE)

    def stop_server(self):
        """Kills the packaged server this run started, if it still runs (by its PID)."""
        if not self.server_pid:
            return
        try:
            if os.readlink("/proc/%d/exe" % self.server_pid) == "/usr/bin/stampede":
                os.kill(self.server_pid, signal.SIGKILL)
        except OSError:
            pass

    def restore(self):
        self.stop_server()
        problems = []
        if run("dpkg-query", "-W", PACKAGE, check=False).returncode == 0:
            r = dpkg("--purge", PACKAGE)
            if r.returncode != 0:
                problems.append("dpkg --purge: " + r.stderr)
        if not self.data:
            shutil.rmtree(DATA, ignore_errors=True)
        if not self.secrets:
            shutil.rmtree(SECRETS_DIR, ignore_errors=True)
        if not self.user and user_exists(PACKAGE):
            run("userdel", PACKAGE, check=False)
        if not self.group and group_exists(PACKAGE):
            run("groupdel", PACKAGE, check=False)
        if not problems and os.path.exists(STATE):
            os.remove(STATE)
        return problems


class deadline_passed(Exception):
    pass


def on_alarm(signum, frame):
    raise deadline_passed("the package test ran past %d s" % TEST_DEADLINE_S)


class Package(unittest.TestCase):
    """One ordered walk (each step needs the one before), in a single test."""

    def setUp(self):
        self.assertEqual(os.getuid(), 0, "the package test installs with dpkg: run it as root (CI does)")
        self.assertTrue(BUILD and os.path.exists(os.path.join(BUILD, "CPackConfig.cmake")),
                        "usage: package_test.py <build dir>")
        self.lock = open(LOCK, "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        if os.path.exists(STATE):  # an earlier run was killed before its cleanup
            with open(STATE) as f:
                self.assertEqual(machine_state(json.load(f)).restore(), [])
        self.assertFalse(installed(PACKAGE),
                         "a stampede package is installed on this machine already; "
                         "this test would replace and remove it, so it stops here")
        self.before = machine_state()
        self.before.save()
        self.work = tempfile.mkdtemp(prefix="stampede-package-")
        self.server = None
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TEST_DEADLINE_S)

    def tearDown(self):
        signal.alarm(0)
        problems = self.before.restore() if hasattr(self, "before") else []
        if self.server:
            self.server.communicate()  # killed by restore() if it still ran: reap it
        shutil.rmtree(getattr(self, "work", "/nonexistent"), ignore_errors=True)
        if hasattr(self, "lock"):
            self.lock.close()
        self.assertEqual(problems, [])
        if hasattr(self, "before"):
            self.assertFalse(installed(PACKAGE))
            self.assertEqual(user_exists(PACKAGE), self.before.user)
            self.assertEqual(os.path.exists(DATA), self.before.data)

    def test_the_package_installs_serves_and_leaves_nothing_behind(self):
        deb = self.build_package()
        r = dpkg("-i", deb)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_files_and_dependencies()
        self.check_unit()
        self.check_user_and_secrets()
        self.check_serving()

    def build_package(self):
        r = run("cpack", "-G", "DEB", "-B", self.work, "--config",
                os.path.join(BUILD, "CPackConfig.cmake"), check=False, cwd=self.work)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        debs = [f for f in os.listdir(self.work) if f.endswith(".deb")]
        self.assertEqual(len(debs), 1, debs)
        return os.path.join(self.work, debs[0])

    def check_files_and_dependencies(self):
        files = set(run("dpkg", "-L", PACKAGE).stdout.split())
        for path in ("/usr/bin/stampede", UNIT, DEFAULTS):
            self.assertIn(path, files)
            self.assertTrue(os.path.exists(path), path)
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", PACKAGE).stdout
        self.assertIn(DEFAULTS, conffiles)
        status = run("dpkg", "-s", PACKAGE).stdout
        depends = re.search(r"^Depends: (.*)$", status, re.M).group(1)
        depended = {d.strip().split(" ")[0] for d in depends.split(",")}
        self.assertIn("adduser", depended)
        # Every shared library the binary names (NEEDED: what it links directly, as
        # dpkg-shlibdeps reads it; their own dependencies are their packages' business) comes
        # from a package it depends on.
        needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                                run("readelf", "-d", "/usr/bin/stampede").stdout))
        self.assertIn("libcurl.so.4", needed)
        for line in run("ldd", "/usr/bin/stampede").stdout.splitlines():
            m = re.search(r"^\s*(\S+) => (/\S+)", line)
            if not m or m.group(1) not in needed:
                continue
            path = m.group(2)
            owner = run("dpkg", "-S", os.path.realpath(path), check=False).stdout
            if not owner:
                owner = run("dpkg", "-S", path, check=False).stdout
            self.assertTrue(owner, "no package owns " + path)
            package = owner.split(":")[0]
            self.assertIn(package, depended, "%s (from %s) is not in Depends: %s" % (
                package, path, depends))
            needed.discard(m.group(1))
        self.assertEqual(needed, set(), "NEEDED libraries that ldd did not find")
        # The settings file names every variable `stampede --help` knows.
        help_text = run("/usr/bin/stampede", "--help").stdout
        with open(DEFAULTS) as f:
            defaults = f.read()
        for variable in re.findall(r"\[(STAMPEDE_[A-Z0-9_]+)\]", help_text):
            self.assertIn(variable, defaults, "%s lacks %s (see stampede --help)" % (DEFAULTS, variable))

    def check_unit(self):
        r = run("systemd-analyze", "verify", UNIT, check=False)
        about_us = [l for l in (r.stdout + r.stderr).splitlines() if "stampede" in l]
        self.assertEqual((r.returncode, about_us), (0, []), r.stdout + r.stderr)
        unit = unit_settings(UNIT)
        for key, value in (("User", "stampede"), ("NoNewPrivileges", "yes"),
                           ("ProtectSystem", "strict"), ("ReadWritePaths", DATA),
                           ("ExecStart", "/usr/bin/stampede serve"), ("KillSignal", "SIGTERM")):
            self.assertEqual(unit.get(key), [value], key)
        self.assertGreaterEqual(int(unit["LimitNOFILE"][0]), 65536)
        self.assertIn("-" + DEFAULTS, unit["EnvironmentFile"])

    def check_user_and_secrets(self):
        user = pwd.getpwnam(PACKAGE)
        self.assertLess(user.pw_uid, 1000, "a system user")
        self.assertEqual(user.pw_shell, "/usr/sbin/nologin")
        st = os.stat(DATA)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (user.pw_uid, 0o750))
        secrets = os.path.join(SECRETS_DIR, "secrets")
        st = os.stat(secrets)
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (0, user.pw_gid, 0o640))
        self.assertRegex(environment_file(secrets)["STAMPEDE_JWT_SECRET"], r"^[0-9a-f]{64}$")

    def unit_environment(self, port):
        """What systemd would give the service: its EnvironmentFile= files in order (a later
        one wins), on a free port instead of 8080 so the test collides with nothing."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        for path in unit_settings(UNIT)["EnvironmentFile"]:
            optional = path.startswith("-")
            path = path.lstrip("-")
            if optional and not os.path.exists(path):
                continue
            env.update(environment_file(path))
        env["STAMPEDE_LISTEN"] = "127.0.0.1:%d" % port
        return env

    def start_as_service_user(self, env):
        """/usr/bin/stampede serve as the unit runs it: its user, directory and limits."""
        unit = unit_settings(UNIT)
        # The limit is raised while still root, as far as this machine allows (a container
        # without CAP_SYS_RESOURCE cannot pass its own hard limit; systemd as PID 1 can);
        # then the user, as the unit's User= does.
        nofile = min(int(unit["LimitNOFILE"][0]), resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        command = ["prlimit", "--nofile=%d" % nofile, "--",
                   "setpriv", "--reuid", unit["User"][0], "--regid", unit["Group"][0],
                   "--init-groups", "--no-new-privs", "--"] + unit["ExecStart"][0].split()
        self.server = subprocess.Popen(command, env=env, cwd=unit["WorkingDirectory"][0],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.before.server_pid = self.server.pid  # exec'd in place: the server's own PID
        self.before.save()
        line = read_line(self.server.stdout, SERVE_WAIT_S)
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.server.kill()
            self.fail("did not start within %d s: %r %r" % (SERVE_WAIT_S, line, self.server.communicate()))
        return int(m.group(1))

    def stop_with_sigterm(self):
        self.server.send_signal(signal.SIGTERM)
        _, err = self.server.communicate(timeout=SERVE_WAIT_S)
        err = err.decode(errors="replace")
        code = self.server.returncode
        self.server = None
        self.before.server_pid = None
        self.before.save()
        self.assertEqual(code, 0, err)
        self.assertIn("stampede: stopped", err)
        self.assertNotIn("development JWT secret", err, "the generated secret was not used")

    def check_serving(self):
        env = self.unit_environment(0)
        port = self.start_as_service_user(env)
        self.assertEqual(http(port, "GET", "/healthz")[0], 200)
        self.assertEqual(http(port, "GET", "/readyz")[0], 200)
        admin = run("/usr/bin/stampede", "token", "--sub", "ops", "--role", "admin", env=env).stdout.strip()
        status, body = http(port, "POST", "/v1/admin/products", admin,
                            {"id": "pkg-test", "name": "Packaged", "price": 100, "on_hand": 3})
        self.assertEqual(status, 201, body)
        self.stop_with_sigterm()
        owner = pwd.getpwnam(PACKAGE).pw_uid
        stored = os.listdir(DATA)
        self.assertIn("MANIFEST", stored)
        for name in stored:
            self.assertEqual(os.stat(os.path.join(DATA, name)).st_uid, owner, name)
        # Started again, the store has what the first run wrote.
        port = self.start_as_service_user(self.unit_environment(0))
        status, body = http(port, "GET", "/v1/products/pkg-test")
        self.assertEqual((status, body.get("available")), (200, 3), body)
        self.stop_with_sigterm()


if __name__ == "__main__":
    unittest.main(verbosity=2)
