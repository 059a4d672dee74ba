"""The end-to-end harness: real binaries and the real wallet library, across process boundaries.

HR runs `govid-issuer` on an issuer directory; its `publish` folder is served by a loopback static
HTTP server (the issuer's host). Phones are wallets opened through the generated Python bindings
over the compiled govid-ffi library, each with its own SoftwareKeyStore. Every gate code goes
through a PNG rendered by the wallet (`qr_png`) and decoded by `zbarimg`; the decoded text is
POSTed to a `govid-verifier serve` subprocess on a loopback port.

Paths (scripts/test.d/70-e2e builds them; the defaults follow scripts/test-all's target dir):
  GOVID_ISSUER       govid-issuer binary     ($CARGO_TARGET_DIR/debug/govid-issuer)
  GOVID_VERIFIER     govid-verifier binary   ($CARGO_TARGET_DIR/debug/govid-verifier)
  GOVID_PY_BINDINGS  generated govid_ffi.py + libgovid_ffi.so ($CARGO_TARGET_DIR/govid-bindings/python)
  GOVID_LIBFAKETIME  libfaketime.so.1 (Debian libfaketime), for the phone whose clock is behind

The engine (scripts/test.d/71-e2e-postgres runs the suite on PostgreSQL):
  GOVID_TEST_ENGINE  `sqlite` (the default): each issuer keeps DIR/issuer.db, each gate its
                     config's store; `postgres`: every issuer and every gate gets a database of
                     its own on the cluster at GOVID_TEST_PG_URL (`govid-issuer` through
                     GOVID_ISSUER_DB, the gate through a `[store]` table and a spool of its own)
  GOVID_TEST_PG_URL  a throwaway cluster where the suite may create databases, e.g.
                     postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
                     (scripts/pg-test-cluster start DIR prints one); with `postgres` only
"""

import base64
import csv
import ctypes
import glob
import http.server
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

TARGET_DIR = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/govid-target")
ISSUER_BIN = os.environ.get("GOVID_ISSUER") or os.path.join(TARGET_DIR, "debug", "govid-issuer")
VERIFIER_BIN = os.environ.get("GOVID_VERIFIER") or os.path.join(TARGET_DIR, "debug", "govid-verifier")
PY_BINDINGS = os.environ.get("GOVID_PY_BINDINGS") or os.path.join(TARGET_DIR, "govid-bindings", "python")
HERE = os.path.dirname(os.path.abspath(__file__))

_missing = [p for p in (ISSUER_BIN, VERIFIER_BIN, os.path.join(PY_BINDINGS, "govid_ffi.py")) if not os.path.exists(p)]
if _missing:
    pytest.exit(f"missing {', '.join(_missing)}: run scripts/test.d/70-e2e (it builds them)", returncode=2)
if shutil.which("zbarimg") is None:
    pytest.exit("zbarimg is missing: apt-get install -y zbar-tools", returncode=2)


# ---------------------------------------------------------------------------------------------
# The engine: where issuers and gates keep their records (GOVID_TEST_ENGINE).


def _psql(url, sql):
    """Runs `sql` on the database at `url` with psql; its rows, `|`-separated."""
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql {sql!r} on GOVID_TEST_PG_URL's cluster failed: {r.stderr.strip()}")
    return [line for line in r.stdout.splitlines() if line]


class Engine:
    """`sqlite` (each program on its own files, as configured) or `postgres` (a database of its
    own per issuer and per gate, on the cluster at `cluster`)."""

    def __init__(self, name, cluster=None):
        self.name = name
        self.cluster = cluster
        self.live = {}  # database name → Database not yet dropped

    @property
    def is_postgres(self):
        return self.name == "postgres"

    def database(self):
        """A new empty database of its own (postgres), or None (sqlite)."""
        return Database(self) if self.is_postgres else None

    def drop_all(self):
        """Drops what a test left behind (a failure before its teardown dropped it)."""
        for db in list(self.live.values()):
            db.drop()


class Database:
    """A database on the engine's cluster, `govid_e2e_<random>`; dropped with drop()."""

    def __init__(self, engine):
        self.engine = engine
        self.name = f"govid_e2e_{secrets.token_hex(8)}"
        _psql(engine.cluster, f"CREATE DATABASE {self.name}")
        engine.live[self.name] = self
        self.url = urllib.parse.urlsplit(engine.cluster)._replace(path="/" + self.name).geturl()

    def query(self, sql):
        return _psql(self.url, sql)

    def drop(self):
        if self.engine.live.pop(self.name, None) is not None:
            _psql(self.engine.cluster, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def _read_engine():
    """The engine GOVID_TEST_ENGINE names, or the reason the run cannot start: a run asked for
    PostgreSQL never quietly runs on SQLite."""
    name = os.environ.get("GOVID_TEST_ENGINE") or "sqlite"
    if name == "sqlite":
        return Engine("sqlite"), None
    if name != "postgres":
        return None, f"GOVID_TEST_ENGINE={name!r}: the end-to-end suite runs on `sqlite` (the default) or `postgres`"
    cluster = os.environ.get("GOVID_TEST_PG_URL", "")
    if not cluster:
        return None, ("GOVID_TEST_ENGINE=postgres needs GOVID_TEST_PG_URL: the URL of a throwaway PostgreSQL "
                      "cluster where the suite may create databases, e.g. "
                      "postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable "
                      "(scripts/pg-test-cluster start DIR prints one)")
    if not cluster.startswith(("postgres://", "postgresql://")):
        return None, f"GOVID_TEST_PG_URL={cluster}: not a postgres:// URL"
    if shutil.which("psql") is None:
        return None, "GOVID_TEST_ENGINE=postgres needs psql: apt-get install -y postgresql"
    try:
        _psql(cluster, "SELECT 1")
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        return None, f"GOVID_TEST_ENGINE=postgres: cannot reach GOVID_TEST_PG_URL: {e}"
    return Engine("postgres", cluster), None


ENGINE, _engine_error = _read_engine()


def pytest_configure(config):
    if _engine_error:
        raise pytest.UsageError(_engine_error)


def pytest_report_header(config):
    return f"engine: {ENGINE.name}" + (f" ({ENGINE.cluster})" if ENGINE.is_postgres else "")


def pytest_sessionfinish(session, exitstatus):
    ENGINE.drop_all()


def program_env(**extra):
    """The environment of a govid program the suite starts: the caller's, without the variables
    that would point it at another issuer directory, database or store."""
    env = dict(os.environ)
    for name in ("GOVID_ISSUER_DIR", "GOVID_ISSUER_DB", "GOVID_ISSUER_NOW", "GOVID_STORE_URL"):
        env.pop(name, None)
    env.update(extra)
    return env

sys.path.insert(0, PY_BINDINGS)
import govid_ffi as g  # noqa: E402  (the path is only known at run time)

GATE_AUD = "https://gates.e2e.example/hq/main-entrance"
PASSPHRASE = "e2e phone passphrase"
ADMIN_TOKEN = "e2e-admin-token-0123456789"
DAY = 86_400
WAIT_SECS = 20  # the longest any poll waits before failing


def wait_until(what, predicate, timeout=WAIT_SECS, detail=lambda: ""):
    """Polls `predicate` every 50 ms until it is true; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{detail()}")
        time.sleep(0.05)


def jwt_part(jwt, i):
    part = jwt.split("~")[0].split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# Where a QR round trip that went wrong is kept for diagnosis (the test's own folder is removed).
QR_MISMATCH_DIR = os.environ.get("GOVID_QR_MISMATCH_DIR", os.path.join(tempfile.gettempdir(), "govid-qr-mismatch"))


def zbar_decode(png_path, expected=None):
    """The independent decoder: what a gate's camera would read from the PNG. zbarimg looks for
    QR codes only: with every symbology on, a dense QR image can also yield a linear barcode
    read by mistake (a second line of output). When `expected` is given and the text read
    differs (or nothing is read), the PNG, the payload and the text read are kept in
    QR_MISMATCH_DIR and the test fails naming them."""
    r = subprocess.run(["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", png_path],
                       capture_output=True, text=True, timeout=30)
    read = r.stdout.strip()
    if expected is not None and read != expected:
        os.makedirs(QR_MISMATCH_DIR, exist_ok=True)
        base = os.path.join(QR_MISMATCH_DIR, f"{int(time.time() * 1000)}-{os.path.basename(png_path)}")
        shutil.copy(png_path, base)
        with open(base + ".payload.txt", "w", encoding="utf-8") as f:
            f.write(expected)
        with open(base + ".read.txt", "w", encoding="utf-8") as f:
            f.write(r.stdout)
        what = "read nothing" if not read else f"read {len(read)} characters of other text"
        pytest.fail(f"zbarimg {what} from {png_path} (exit {r.returncode}); kept as {base}[.payload.txt|.read.txt]")
    assert r.returncode == 0, f"zbarimg could not decode {png_path}: {r.stderr}"
    return read


# ---------------------------------------------------------------------------------------------
# The issuer's host: a static HTTP server on loopback serving the `publish --out` folder.


class StaticHost:
    """Serves `root` on 127.0.0.1 and counts the GETs of each path (how a test knows that a gate
    has fetched what HR just published)."""

    def __init__(self, root):
        self.root = str(root)
        os.makedirs(self.root, exist_ok=True)
        self.gets = {}
        self.lock = threading.Lock()
        host = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=host.root, **kwargs)

            def do_GET(self):  # noqa: N802 (http.server's name)
                with host.lock:  # counted as it starts: see wait_refetched
                    host.gets[self.path] = host.gets.get(self.path, 0) + 1
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, path):
        """How many GETs of `path` have started."""
        with self.lock:
            return self.gets.get(path, 0)

    def wait_refetched(self, path, since):
        """Waits until two GETs of `path` have started since `since` (a count taken once the
        publish has returned, so both got the new file). A gate's refresher fetches a URL once per
        round and starts the next round after caching what it fetched, so the second GET means
        the first one's new file has been checked and is in use."""
        wait_until(f"a gate to fetch {path} again", lambda: self.count(path) >= since + 2)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------
# HR: the real govid-issuer binary on an issuer directory.

ROSTER_HEADER = ["employee_number", "family_name", "given_name", "birth_date", "organization_name",
                 "organization_code", "department", "position", "grade", "clearance", "access_zones",
                 "valid_until"]
NAMES = [("Haddad", "Amira"), ("Nguyễn", "Thị Linh"), ("Петров", "Иван"), ("Παπαδοπούλου", "Ελένη"),
         ("田中", "陽翔"), ("김", "민준"), ("Okafor", "Chinedu"), ("Lindqvist", "Åsa"), ("शर्मा", "प्रिया"),
         ("Müller", "Jürgen"), ("García", "Lucía"), ("O'Brien", "Siobhán")]
_serial = itertools.count(1)


class Issuer:
    """One HR office: an issuer directory driven through `govid-issuer --json`, its database on
    the engine (DIR/issuer.db, or a PostgreSQL database of its own). close() drops that database;
    the fixtures and `make_issuer` do it at teardown."""

    def __init__(self, directory, name, did_web, org_code, status_base_url):
        self.dir = str(directory)
        self.org_code = org_code
        self.org_name = f"Ministry {org_code}"
        self.db = ENGINE.database()
        try:
            out = self.run("init", "--name", name, "--did-web", did_web, "--status-base-url", status_base_url)
            self.did = out["did"]
            assert self.did == f"did:web:{did_web}"
            # The records are where the engine says, and only there.
            sqlite_file = os.path.join(self.dir, "issuer.db")
            if self.db is None:
                assert os.path.isfile(sqlite_file), f"govid-issuer init made no {sqlite_file}"
            else:
                assert not os.path.exists(sqlite_file), f"govid-issuer init on PostgreSQL made {sqlite_file}"
                tables = self.db.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
                assert int(tables[0]) > 0, f"govid-issuer init made no tables in {self.db.name}"
        except BaseException:
            self.close()
            raise

    def env(self, now=None):
        """The environment of a `govid-issuer` command on this issuer: its database on the
        engine, and GOVID_ISSUER_NOW=`now` if given."""
        env = program_env()
        if self.db is not None:
            env["GOVID_ISSUER_DB"] = self.db.url
        if now is not None:
            env["GOVID_ISSUER_NOW"] = str(int(now))
        return env

    def close(self):
        if self.db is not None:
            self.db.drop()

    def run(self, *args, now=None):
        """`govid-issuer --dir DIR --json ARGS` (with GOVID_ISSUER_NOW=`now` if given); must
        succeed; returns its JSON answer."""
        r = subprocess.run([ISSUER_BIN, "--dir", self.dir, "--json", *args], capture_output=True, text=True,
                           env=self.env(now), timeout=60)
        assert r.returncode == 0, f"govid-issuer {' '.join(args)} failed: {r.stdout}{r.stderr}"
        return json.loads(r.stdout.strip().splitlines()[-1])

    def hire(self):
        """Imports one new staff member (a one-row roster CSV) and returns their roster row."""
        n = next(_serial)
        family, given = NAMES[n % len(NAMES)]
        row = {"employee_number": f"{self.org_code}-E2E-{n:04d}", "family_name": family, "given_name": given,
               "birth_date": "1988-05-17", "organization_name": self.org_name, "organization_code": self.org_code,
               "department": "Operations", "position": "Inspector", "grade": "G5", "clearance": "B",
               "access_zones": "HQ-A;HQ-B", "valid_until": "2099-12-31"}
        path = os.path.join(self.dir, f"roster-{n}.csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=ROSTER_HEADER)
            w.writeheader()
            w.writerow(row)
        assert self.run("staff", "import", path)["added"] == 1
        return row

    def offer_png(self, number):
        offers = self.run("offer", number)["offers"]
        assert [o["employee_number"] for o in offers] == [number]
        return offers[0]["qr_png"]

    def issue(self, number, *extra, now=None):
        out = self.run("issue", number, *extra, now=now)
        assert out["issued"] == 1, out
        return os.path.join(self.dir, "credentials", f"{number}.sd-jwt")

    def publish(self, out_dir, *extra, now=None):
        return self.run("publish", "--out", str(out_dir), *extra, now=now)

    def jwks(self):
        with open(os.path.join(self.dir, "public", "jwks.json"), encoding="utf-8") as f:
            return json.load(f)["keys"]


# ---------------------------------------------------------------------------------------------
# Phones: wallets over the real compiled library.


class Phone:
    """A staff member's phone: a wallet with a SoftwareKeyStore in its own directory."""

    def __init__(self, directory):
        self.dir = str(directory)
        self.keys_dir = os.path.join(self.dir, "keys")
        self.wallet_dir = os.path.join(self.dir, "wallet")
        self.key_store = g.SoftwareKeyStore.open(self.keys_dir, PASSPHRASE)
        self.wallet = g.Wallet.open(self.wallet_dir, self.key_store.as_key_store())
        self.codes = itertools.count(1)

    def enroll(self, issuer, number):
        """Scans HR's enrollment QR (PNG → zbarimg), makes the key proof, HR enrolls it."""
        offer = zbar_decode(issuer.offer_png(number))
        assert offer.startswith("GVE1:") and offer.endswith(":" + issuer.did)
        request = self.wallet.enroll_from_offer(offer, g.KeyAlgorithm.ES256)
        proof = os.path.join(self.dir, f"{number}-proof.jwt")
        with open(proof, "w", encoding="utf-8") as f:
            f.write(request.key_proof)
        assert issuer.run("enroll", "--proof", proof)["employee_number"] == number

    def trust(self, issuer):
        """The app learns HR's keys from the published JWKS (all of them, also after rotation)."""
        for jwk in issuer.jwks():
            self.wallet.trust_issuer(json.dumps(jwk), issuer.did)

    def receive(self, issuer, credential_file):
        self.trust(issuer)
        return self.wallet.accept_credential_file(credential_file)

    def show(self, credential_id, aud=GATE_AUD):
        """A fresh rotating entry code, rendered as a PNG by the wallet and read back by zbarimg."""
        presentation = self.wallet.present_rotating(credential_id, aud, g.GateProfileKind.ENTRY)
        png = os.path.join(self.dir, f"code-{next(self.codes)}.png")
        with open(png, "wb") as f:
            f.write(g.qr_png(presentation.payload, 4, g.QrEcc.M))
        return zbar_decode(png, expected=presentation.payload)


def libfaketime():
    explicit = os.environ.get("GOVID_LIBFAKETIME")
    if explicit:
        return explicit
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        pytest.fail("libfaketime is missing: apt-get install -y libfaketime (or set GOVID_LIBFAKETIME)")
    return found[0]


def show_with_clock_behind(phone, issuer, credential_file, behind_secs, aud=GATE_AUD):
    """The same wallet and key store, opened in another process whose clock is `behind_secs`
    behind (libfaketime): it accepts `credential_file` and renders an entry code PNG. Returns the
    code as zbarimg reads it."""
    png = os.path.join(phone.dir, f"code-{next(phone.codes)}.png")
    env = dict(os.environ, LD_PRELOAD=libfaketime(), FAKETIME=f"-{int(behind_secs)}",
               FAKETIME_DONT_FAKE_MONOTONIC="1", GOVID_PY_BINDINGS=PY_BINDINGS)
    args = {"keys": phone.keys_dir, "wallet": phone.wallet_dir, "passphrase": PASSPHRASE,
            "iss": issuer.did, "jwks": issuer.jwks(), "credential": credential_file, "aud": aud, "png": png}
    r = subprocess.run([sys.executable, os.path.join(HERE, "phone_process.py"), json.dumps(args)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, f"phone process failed: {r.stdout}{r.stderr}"
    shown = json.loads(r.stdout)
    assert shown["issued_at"] < time.time() - behind_secs + 60, "libfaketime did not move the phone's clock"
    return zbar_decode(png, expected=shown["payload"])


# ---------------------------------------------------------------------------------------------
# Gates: `govid-verifier serve` subprocesses.


def _die_with_parent():
    """In the child before exec: SIGTERM when the test process dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG), so no gate outlives a killed run; teardown stops them otherwise."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def toml_string(s):
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(s, ensure_ascii=False)


class Gate:
    """A running `govid-verifier serve --config DIR/gate.toml` on 127.0.0.1 (port chosen by the
    server, read from its `listening on` line). On PostgreSQL the config gets a `[store]` table:
    a database of its own (dropped by stop()) and a spool in DIR."""

    def __init__(self, directory, config):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.db = ENGINE.database()
        if self.db is not None:
            assert "[store]" not in config, "a gate config with its own [store]: the engine cannot add its database"
            # timeout_ms: a busy test machine must not turn a decision into a degraded one (the
            # gate's own suite tests PostgreSQL outages).
            config += (f"\n[store]\nurl = {toml_string(self.db.url)}\n"
                       f"spool = {toml_string(os.path.join(self.dir, 'gate.spool'))}\ntimeout_ms = 5000\n")
        self.config_path = os.path.join(self.dir, "gate.toml")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(config)
        self.log_path = os.path.join(self.dir, "gate.stderr.log")
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        try:
            self.proc = subprocess.Popen([VERIFIER_BIN, "serve", "--config", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log,
                                         env=program_env(GOVID_ADMIN_TOKEN=ADMIN_TOKEN),
                                         preexec_fn=_die_with_parent)
        except BaseException:
            self.log.close()
            if self.db is not None:
                self.db.drop()
            raise
        self.addr = None
        threading.Thread(target=self._read_stdout, daemon=True).start()
        try:
            wait_until("the gate to listen", lambda: self.addr is not None or self.proc.poll() is not None,
                       detail=self.stderr)
            assert self.addr, f"the gate exited ({self.proc.returncode}):\n{self.stderr()}"
            wait_until("/healthz", lambda: self._healthz() is not None, detail=self.stderr)
            # The replay keys and the log are where the engine says: a fleet store on PostgreSQL,
            # none (this gate alone) otherwise.
            replay = self.healthz()["replay"]
            assert replay["fleet"] == self.fleet_word(), replay
        except BaseException:
            self.stop()
            raise

    def fleet_word(self):
        """What this gate says of its fleet store (`fleet` in /healthz, `fleet_check` in every
        decision): `ok` on PostgreSQL, nothing without one."""
        return "ok" if self.db is not None else None

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.decode(errors="replace").strip()
            if line.startswith("listening on "):
                self.addr = line.removeprefix("listening on ")

    def stderr(self):
        self.log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()[-4000:]

    def url(self, path):
        return f"http://{self.addr}{path}"

    def _request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.url(path), data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def _healthz(self):
        try:
            status, body = self._request("GET", "/healthz")
        except OSError:
            return None
        return json.loads(body) if status == 200 else None

    def healthz(self):
        health = self._healthz()
        assert health is not None, self.stderr()
        return health

    def wait_status_list(self, uri):
        """Waits until the gate holds a fresh copy of the list at `uri` (which also means it has
        the issuer's keys: the list token is verified with them)."""
        def fresh():
            return any(entry["uri"] == uri and entry["age_secs"] is not None and not entry["stale"]
                       for entry in self.healthz()["status_lists"])
        wait_until(f"the gate to hold status list {uri}", fresh,
                   detail=lambda: f"{self.healthz()}\n{self.stderr()}")

    def verify(self, scanned):
        """POST /v1/verify with the scanned text, as the scanning page does; the decision JSON."""
        status, body = self._request("POST", "/v1/verify", scanned.encode(), {"Content-Type": "text/plain"})
        assert status == 200, f"/v1/verify answered {status}: {body!r}"
        decision = json.loads(body)
        assert decision.get("fleet_check") == self.fleet_word(), decision
        return decision

    def entries(self, limit):
        """The gate's newest `limit` log entries, newest first (GET /admin/entries). On PostgreSQL
        the gate delivers its spool to its database in the background, and the route shows what
        the database holds: first wait until nothing is left in the spool."""
        if self.db is not None:
            wait_until("the gate's spool to reach PostgreSQL", lambda: self.healthz()["replay"]["spooled"] == 0,
                       detail=lambda: f"{self.healthz()}\n{self.stderr()}")
        status, body = self._request("GET", f"/admin/entries?limit={int(limit)}",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert status == 200, f"/admin/entries answered {status}: {body!r}\n{self.stderr()}"
        return json.loads(body)["entries"]

    def reload(self):
        status, body = self._request("POST", "/admin/reload", b"",
                                     {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert status == 200, f"/admin/reload answered {status}: {body!r}\n{self.stderr()}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self.db is not None:
            self.db.drop()


def gate_config(*, gate_id, trust="", status="", extra_gate=""):
    """A gate.toml: entry profile, any mode, deny unknown status, no rate limit, 1 s refresh."""
    return f"""
[gate]
id = "{gate_id}"
audience = "{GATE_AUD}"
profile = "entry"
mode = "any"
unknown_status = "deny"
replay_window_secs = 60
{extra_gate}

[server]
listen = "127.0.0.1:0"
rate_limit_per_sec = 0
workers = 2

{trust}

[status]
refresh_secs = 1
{status}
"""


def online_gate_config(gate_id, issuer, host):
    """Trusts `issuer`'s did:web, its DID document fetched from `host`; keeps list 1 fresh."""
    return gate_config(
        gate_id=gate_id,
        trust=f"""
[[trust.dids]]
did = "{issuer.did}"
document_url = "{host.url('/.well-known/did.json')}"
""",
        status=f'lists = ["{host.url("/status/1")}"]',
    )


def offline_gate_config(gate_id, bundle, operator_jwk):
    """No network: issuers, keys and status lists come only from the operator-signed bundle."""
    return gate_config(
        gate_id=gate_id,
        trust=f"""
[trust]
bundle = "{bundle}"
bundle_operator_jwk = "{operator_jwk}"
""",
        status="lists = []\nfetch_discovered = false",
    )


def expected_disclosure(row):
    """What an entry gate is shown: exactly the profile's claims."""
    return {"given_name": row["given_name"], "family_name": row["family_name"],
            "organization": {"name": row["organization_name"], "code": row["organization_code"]}}


def assert_allowed(decision, issuer, row):
    assert (decision["decision"], decision["reason"]) == ("allow", "ok"), decision
    assert decision["credential_status"] == "valid", decision
    assert decision["issuer"] == issuer.did, decision
    assert decision["disclosed"] == expected_disclosure(row), decision


def assert_denied(decision, reason, credential_status=None):
    assert (decision["decision"], decision["reason"]) == ("deny", reason), decision
    assert decision["disclosed"] == {}, decision
    assert decision["credential_status"] == credential_status, decision


# ---------------------------------------------------------------------------------------------
# Fixtures.


@pytest.fixture(scope="session")
def hr_host(tmp_path_factory):
    host = StaticHost(tmp_path_factory.mktemp("hr-host"))
    yield host
    host.stop()


@pytest.fixture(scope="session")
def hr(tmp_path_factory, hr_host):
    """The trusted HR office (did:web), its status lists and DID document on `hr_host`."""
    issuer = Issuer(tmp_path_factory.mktemp("hr") / "issuer", "E2E Ministry of Transport HR", "hr.e2e.example",
                    "MOT", hr_host.url("/status"))
    try:
        # Status list 1 exists from the first issuance: one staff member with a phone HR enrolls
        # itself (`dev enroll-all`), so the gate has a list to fetch before the tests start.
        issuer.hire()
        issuer.run("dev", "enroll-all")
        assert issuer.run("issue", "--all")["issued"] == 1
        assert issuer.publish(hr_host.root)["ok"]
        yield issuer
    finally:
        issuer.close()


@pytest.fixture
def make_issuer():
    """Makes issuers as `Issuer(...)` does; their databases are dropped at the test's end."""
    made = []

    def make(*args):
        made.append(Issuer(*args))
        return made[-1]

    yield make
    for issuer in made:
        issuer.close()


@pytest.fixture(scope="session")
def gate(tmp_path_factory, hr, hr_host):
    """The online gate: trusts `hr` by did:web, keeps its status list 1 fresh (1 s refresh)."""
    gate = Gate(tmp_path_factory.mktemp("gate"), online_gate_config("e2e-online", hr, hr_host))
    try:
        gate.wait_status_list(hr_host.url("/status/1"))
        yield gate
    finally:
        gate.stop()


@pytest.fixture
def phone(tmp_path):
    return Phone(tmp_path / "phone")


@pytest.fixture
def make_phone(tmp_path):
    counter = itertools.count(1)
    return lambda: Phone(tmp_path / f"phone-{next(counter)}")


def onboard(issuer, phone, *issue_args, now=None):
    """HR hires a new person, the phone enrolls, HR issues, the phone accepts the ID file.
    Returns (roster row, credential summary, credential file)."""
    row = issuer.hire()
    number = row["employee_number"]
    phone.enroll(issuer, number)
    path = issuer.issue(number, *issue_args, now=now)
    summary = phone.receive(issuer, path) if now is None else None
    return row, summary, path
