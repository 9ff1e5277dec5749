"""The `golemite` command line against the real daemon (SPEC §1): client commands, accounts, serve --help."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from tests.helpers import GUESTS, ROOT

COUNTER = "golemite:counter/api"
PROMISE = "golemite:promise/api"
INTERRUPTION = "golemite:interruption/api"
CART = "golem:it/api"


def golemite(*args: str, daemon=None, token: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m api.cli ARGS`; client commands get the daemon's --url and a token."""
    argv = list(args)
    if daemon is not None:
        argv += ["--url", daemon.base]
        if token is None:
            token = (daemon.data_dir / "token").read_text().strip()
        if token:
            argv += ["--token", token]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOLEMITE_")}
    proc = subprocess.run([sys.executable, "-m", "api.cli", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    if ok:
        assert proc.returncode == 0, f"golemite {' '.join(args)} failed:\n{proc.stderr}"
    return proc


def out(*args: str, daemon, token: str | None = None):
    """The JSON a successful client command prints."""
    return json.loads(golemite(*args, daemon=daemon, token=token).stdout)


def wasm(name: str) -> str:
    return str(GUESTS / name / f"{name}.wasm")


def wait_status(daemon, tid: str, name: str, *statuses: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        meta = out("worker", "get", tid, name, daemon=daemon)
        if meta["status"] in statuses:
            return meta
        assert time.monotonic() < deadline, f"{name} stayed {meta['status']}, wanted {statuses}"
        time.sleep(0.05)


def test_template_and_worker_commands(daemon):
    t = out("template", "add", "--name", "counter", wasm("counter"), daemon=daemon)
    tid = t["versionedTemplateId"]["rawTemplateId"]
    assert t["versionedTemplateId"]["version"] == 0 and t["templateName"] == "counter"
    assert [x["versionedTemplateId"]["rawTemplateId"] for x in out("template", "list", daemon=daemon)] == [tid]
    assert out("template", "list", "--name", "nothing-like-it", daemon=daemon) == []
    t1 = out("template", "update", tid, wasm("counter"), daemon=daemon)
    assert t1["versionedTemplateId"] == {"rawTemplateId": tid, "version": 1}
    assert out("template", "list", "--name", "counter", daemon=daemon)[0]["versionedTemplateId"]["version"] == 1

    created = out("worker", "add", tid, "w1", "--arg", "a1", "--arg", "a2", "--env", "K=V=W", "--env", "E=",
                  daemon=daemon)
    assert created == {"workerId": {"rawTemplateId": tid, "workerName": "w1"}, "templateVersionUsed": 1}
    meta = out("worker", "get", tid, "w1", daemon=daemon)
    assert meta["args"] == ["a1", "a2"] and meta["env"] == {"K": "V=W", "E": ""} and meta["status"] == "Idle"

    assert out("worker", "invoke-and-await", tid, "w1", f"{COUNTER}/increment", daemon=daemon) == {"result": [1]}
    assert out("worker", "invoke", tid, "w1", f"{COUNTER}/increment", "[]", daemon=daemon) == {}
    assert out("worker", "invoke-and-await", tid, "w1", f"{COUNTER}/echo", '["hé"]', daemon=daemon) == {"result": ["hé"]}
    assert out("worker", "invoke-and-await", tid, "w1", f"{COUNTER}/get", daemon=daemon) == {"result": [2]}
    key = out("worker", "key", tid, "w1", daemon=daemon)["value"]
    for _ in range(2):  # the same key: run once, answered twice
        r = out("worker", "invoke-and-await", tid, "w1", f"{COUNTER}/increment", "--key", key, daemon=daemon)
        assert r == {"result": [3]}

    out("worker", "add", tid, "w2", daemon=daemon)
    names = [w["workerId"]["workerName"] for w in out("worker", "list", tid, daemon=daemon)["workers"]]
    assert sorted(names) == ["w1", "w2"]
    page = out("worker", "list", tid, "--filter", "name == w2", daemon=daemon)
    assert [w["workerId"]["workerName"] for w in page["workers"]] == ["w2"]
    page = out("worker", "list", tid, "--count", "1", daemon=daemon)
    assert len(page["workers"]) == 1 and page["cursor"]
    rest = out("worker", "list", tid, "--count", "1", "--cursor", page["cursor"], daemon=daemon)
    assert [w["workerId"]["workerName"] for w in rest["workers"]] == ["w2"]

    log = out("worker", "oplog", tid, "w1", "--from", "1", "--count", "2", daemon=daemon)
    assert [e["oplogIdx"] for e in log["entries"]] == [1, 2] and log["entries"][0]["type"] == "Create"
    assert log["next"] == 3
    log = out("worker", "oplog", tid, "w1", daemon=daemon)
    assert sum(e["type"] == "ExportedFunctionInvoked" for e in log["entries"]) == 5 and log["next"] is None

    assert out("worker", "delete", tid, "w1", daemon=daemon) == {}
    gone = golemite("worker", "get", tid, "w1", daemon=daemon, ok=False)
    assert gone.returncode == 1 and "HTTP 404" in gone.stderr and "Traceback" not in gone.stderr


def test_interrupt_resume_and_complete(daemon):
    tid = out("template", "add", "--name", "interruption", wasm("interruption"), daemon=daemon)[
        "versionedTemplateId"]["rawTemplateId"]
    ghost = golemite("worker", "interrupt", tid, "slow", daemon=daemon, ok=False)
    assert ghost.returncode == 1 and "HTTP 404" in ghost.stderr
    out("worker", "add", tid, "slow", daemon=daemon)
    assert out("worker", "interrupt", tid, "slow", daemon=daemon) is False  # idle: nothing to interrupt
    assert out("worker", "invoke", tid, "slow", f"{INTERRUPTION}/run", "[40, 50]", daemon=daemon) == {}
    wait_status(daemon, tid, "slow", "Running")
    assert out("worker", "interrupt", tid, "slow", daemon=daemon) is True
    assert out("worker", "get", tid, "slow", daemon=daemon)["status"] == "Interrupted"  # at once
    assert out("worker", "resume", tid, "slow", daemon=daemon) == {}
    wait_status(daemon, tid, "slow", "Running")
    assert out("worker", "interrupt", tid, "slow", "--recover-immediately", daemon=daemon) is True
    # Deleting interrupts what still runs.
    assert out("worker", "delete", tid, "slow", daemon=daemon) == {}

    ptid = out("template", "add", "--name", "promise", wasm("promise"), daemon=daemon)[
        "versionedTemplateId"]["rawTemplateId"]
    (pid,) = out("worker", "invoke-and-await", ptid, "p", f"{PROMISE}/create", daemon=daemon)["result"]
    assert out("worker", "invoke", ptid, "p", f"{PROMISE}/await", json.dumps([pid]), daemon=daemon) == {}
    wait_status(daemon, ptid, "p", "Suspended")
    idx = str(pid["oplog-idx"])
    assert out("worker", "complete", ptid, "p", idx, "hi", daemon=daemon) is True
    assert out("worker", "complete", ptid, "p", idx, "again", daemon=daemon) is False
    wait_status(daemon, ptid, "p", "Idle")
    log = out("worker", "oplog", ptid, "p", "--count", "1000", daemon=daemon)["entries"]
    completed = [e for e in log if e["type"] == "ExportedFunctionCompleted"]
    assert completed[-1]["result"] == [list(b"hi")]
    missing = golemite("worker", "complete", ptid, "p", "9999", "x", daemon=daemon, ok=False)
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr


def test_client_errors_are_one_line_and_exit_1(daemon, tmp_path):
    no_token = golemite("template", "list", daemon=daemon, token="", ok=False)
    assert no_token.returncode == 1 and "HTTP 401" in no_token.stderr
    wrong = golemite("template", "list", daemon=daemon, token="wrong", ok=False)
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stderr
    for args in (("template", "add", "--name", "x", str(tmp_path / "missing.wasm")),
                 ("worker", "invoke-and-await", "t", "w", "f", "not json")):
        proc = golemite(*args, daemon=daemon, ok=False)
        assert proc.returncode == 1 and proc.stderr.startswith("golemite: ") and "Traceback" not in proc.stderr
    bad_env = golemite("worker", "add", "t", "w", "--env", "NOEQUALS", daemon=daemon, ok=False)
    assert bad_env.returncode == 2 and "KEY=VALUE" in bad_env.stderr
    unreachable = golemite("template", "list", "--url", "http://127.0.0.1:9", "--token", "x", ok=False)
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
    assert "--token or set GOLEMITE_TOKEN" in no_token.stderr and "--token" not in wrong.stderr
    for url in ("http://[::1", "http://a b"):
        bad_url = golemite("template", "list", "--url", url, "--token", "x", ok=False)
        assert bad_url.returncode == 1 and "invalid --url" in bad_url.stderr and "Traceback" not in bad_url.stderr
    bad_hex = golemite("worker", "complete", "t", "w", "3", "xyz", "--hex", daemon=daemon, ok=False)
    assert bad_hex.returncode == 1 and "hex" in bad_hex.stderr


def test_names_with_url_characters_stay_one_path_segment(daemon):
    # Unescaped, 'victim#2' was cut at the '#' and the command deleted worker 'victim';
    # 'victim?x=1' likewise; a space made urllib raise a traceback.
    tid = out("template", "add", "--name", "counter", wasm("counter"), daemon=daemon)[
        "versionedTemplateId"]["rawTemplateId"]
    out("worker", "add", tid, "victim", daemon=daemon)
    for name in ("victim#2", "victim?x=1", "victim/..", "a b"):
        proc = golemite("worker", "delete", tid, name, daemon=daemon, ok=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "HTTP 400" in proc.stderr or "HTTP 404" in proc.stderr, proc.stderr
    assert out("worker", "get", tid, "victim", daemon=daemon)["status"] == "Idle"
    ghost = golemite("worker", "get", f"{tid}#", "victim", daemon=daemon, ok=False)
    assert ghost.returncode == 1 and "HTTP 404" in ghost.stderr


def test_complete_sends_hex_bytes(daemon):
    ptid = out("template", "add", "--name", "promise", wasm("promise"), daemon=daemon)[
        "versionedTemplateId"]["rawTemplateId"]
    (pid,) = out("worker", "invoke-and-await", ptid, "p", f"{PROMISE}/create", daemon=daemon)["result"]
    assert out("worker", "invoke", ptid, "p", f"{PROMISE}/await", json.dumps([pid]), daemon=daemon) == {}
    wait_status(daemon, ptid, "p", "Suspended")
    assert out("worker", "complete", ptid, "p", str(pid["oplog-idx"]), "ff00", "--hex", daemon=daemon) is True
    wait_status(daemon, ptid, "p", "Idle")
    log = out("worker", "oplog", ptid, "p", "--count", "1000", daemon=daemon)["entries"]
    assert [e for e in log if e["type"] == "ExportedFunctionCompleted"][-1]["result"] == [[255, 0]]


def _connect(daemon, tid: str, name: str, token: str | None = None) -> subprocess.Popen:
    argv = ["worker", "connect", tid, name, "--url", daemon.base, "--token",
            token if token is not None else (daemon.data_dir / "token").read_text().strip()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOLEMITE_")}
    return subprocess.Popen([sys.executable, "-m", "api.cli", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _connected(daemon, tid: str, name: str, proc: subprocess.Popen) -> None:
    """Wait until `proc` streams: a line the worker prints after the connect reaches it."""
    deadline = time.monotonic() + 15
    while True:
        out("worker", "invoke-and-await", tid, name, f"{CART}/initialize-cart", '["ping"]', daemon=daemon)
        line = proc.stdout.readline() if _readable(proc.stdout, 0.3) else ""
        if "ping" in line:
            return
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError(f"connect did not stream: {proc.communicate()[1]}")


def _readable(stream, timeout: float) -> bool:
    import select
    return bool(select.select([stream], [], [], timeout)[0])


def test_connect_ends_by_what_happened(daemon):
    tid = out("template", "add", "--name", "cart", wasm("shopping-cart"), daemon=daemon)[
        "versionedTemplateId"]["rawTemplateId"]
    out("worker", "add", tid, "w", daemon=daemon)
    # Refused connections: one line, exit 1, no traceback (they printed aiohttp's).
    for name, token, needle in (("nobody", None, "HTTP 404"), ("w", "wrong", "HTTP 401")):
        proc = _connect(daemon, tid, name, token)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 1 and needle in err and "Traceback" not in err, err
    # The worker deleted: the stream is over, exit 0.
    proc = _connect(daemon, tid, "w")
    _connected(daemon, tid, "w", proc)
    out("worker", "delete", tid, "w", daemon=daemon)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "deleted" in err, err
    # The daemon stopping is not the worker's end: exit 1 (it exited 0, like a deletion).
    out("worker", "add", tid, "w2", daemon=daemon)
    proc = _connect(daemon, tid, "w2")
    _connected(daemon, tid, "w2", proc)
    assert daemon.stop() == 0
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "Traceback" not in err, err


def test_serve_refuses_a_busy_data_dir_or_port_and_bad_options(daemon, tmp_path):
    from tests.e2e.conftest import free_port
    # A second daemon on the same data dir served beside the first, and each overwrote the
    # other's appends to the same oplogs.
    second = golemite("serve", "--port", str(free_port()), "--data-dir", str(daemon.data_dir), ok=False)
    assert second.returncode == 1 and "another golemite daemon" in second.stderr, second.stderr
    assert f"pid {daemon.proc.pid}" in second.stderr
    # A port in use is told before anything is recovered, without a traceback.
    busy = golemite("serve", "--port", str(daemon.port), "--data-dir", str(tmp_path / "other"), ok=False)
    assert busy.returncode == 1 and f"cannot listen on 127.0.0.1:{daemon.port}" in busy.stderr, busy.stderr
    assert "Traceback" not in busy.stderr and "recovering" not in busy.stderr
    assert daemon.request("GET", "/healthz")[0] == 200
    for option, value in (("--port", "85418"), ("--port", "0"), ("--invoke-timeout", "0"),
                          ("--guest-threads", "0"), ("--max-live-workers", "-1"), ("--max-memory-mb", "x"),
                          ("--max-workers-per-account", "0"), ("--max-invocation-seconds", "-1"),
                          ("--invoke-timeout", "nan")):
        bad = golemite("serve", option, value, "--data-dir", str(tmp_path / "never"), ok=False)
        assert bad.returncode == 2 and option in bad.stderr and "expected" in bad.stderr, (option, bad.stderr)
    assert not (tmp_path / "never").exists()


def test_accounts_create_refuses_a_data_dir_without_golemite_data_and_odd_names(daemon, tmp_path):
    missing = golemite("accounts", "create", "alice", "--data-dir", str(tmp_path / "typo"), ok=False)
    assert missing.returncode == 1 and "no golemite data" in missing.stderr
    assert not (tmp_path / "typo").exists()
    (tmp_path / "a-file").write_text("")
    not_a_dir = golemite("accounts", "create", "alice", "--data-dir", str(tmp_path / "a-file"), ok=False)
    assert not_a_dir.returncode == 1 and "Traceback" not in not_a_dir.stderr
    assert daemon.stop() == 0
    for name in ("", "a b/c", "x" * 101, "alice\n"):
        odd = golemite("accounts", "create", name, "--data-dir", str(daemon.data_dir), ok=False)
        assert odd.returncode == 1 and "invalid account name" in odd.stderr


def test_accounts_create_while_the_daemon_is_stopped(daemon):
    default_tid = out("template", "add", "--name", "counter", wasm("counter"), daemon=daemon)[
        "versionedTemplateId"]["rawTemplateId"]
    assert daemon.stop() == 0
    created = golemite("accounts", "create", "alice", "--data-dir", str(daemon.data_dir))
    token = created.stdout.strip()
    assert re.fullmatch(r"\S{16,}", token), created.stdout
    again = golemite("accounts", "create", "alice", "--data-dir", str(daemon.data_dir), ok=False)
    assert again.returncode == 1 and "alice" in again.stderr
    daemon.start()
    assert out("template", "list", daemon=daemon, token=token) == []  # alice sees none of default's templates
    tid = out("template", "add", "--name", "mine", wasm("counter"), daemon=daemon, token=token)[
        "versionedTemplateId"]["rawTemplateId"]
    r = out("worker", "invoke-and-await", tid, "w", f"{COUNTER}/increment", daemon=daemon, token=token)
    assert r == {"result": [1]}
    account = out("worker", "get", tid, "w", daemon=daemon, token=token)["accountId"]
    assert account and account != "default"
    hidden = golemite("worker", "list", default_tid, daemon=daemon, token=token, ok=False)
    assert "HTTP 404" in hidden.stderr
    # The default account's token still works.
    assert len(out("template", "list", daemon=daemon)) == 1


def test_serve_help_lists_every_option_with_its_default():
    _, _, text = " ".join(golemite("serve", "--help").stdout.split()).partition(" options: ")
    assert text, "no options section in serve --help"
    for option, default in (("--host", "127.0.0.1"), ("--port", "9881"), ("--data-dir", "./data"),
                            ("--max-workers-per-account", "10000"), ("--invoke-timeout", "60.0"),
                            ("--max-body-bytes", str(64 << 20)), ("--max-memory-mb", "256"),
                            ("--max-invocation-seconds", "0"), ("--max-live-workers", "1000"),
                            ("--durability", "sync"), ("--event-loop", "uvloop"),
                            ("--thread-policy", "batch"), ("--log-level", "info")):
        # The default must be in this option's own help, before the next option starts.
        m = re.search(re.escape(option) + r" \S+ ((?:(?! --).)*?)\(default: ([^)]*)\)", text)
        assert m, f"{option} or its default is missing from serve --help"
        assert m.group(2) == default, (option, m.group(2))
    assert "{sync,meta,none}" in text


def test_backup_while_serving_is_a_data_dir_of_its_own(daemon, tmp_path):
    from tests.e2e.conftest import Daemon, background, free_port
    tid = out("template", "add", "--name", "counter", wasm("counter"), daemon=daemon)[
        "versionedTemplateId"]["rawTemplateId"]
    for _ in range(5):
        out("worker", "invoke-and-await", tid, "w", f"{COUNTER}/increment", daemon=daemon)

    def keep_incrementing():
        for _ in range(200):
            daemon.invoke(tid, "w", f"{COUNTER}/increment")
    thread, _ = background(keep_incrementing)  # the copy is taken while commits go on
    dest = tmp_path / "backup"
    made = out("backup", str(dest), "--data-dir", str(daemon.data_dir), daemon=None)
    thread.join(60)
    assert made["backup"] == str(dest) and made["storeBytes"] > 0
    assert oct((dest / "token").stat().st_mode & 0o777) == "0o600"
    final = out("worker", "invoke-and-await", tid, "w", f"{COUNTER}/get", daemon=daemon)["result"][0]
    assert final == 205

    copy = Daemon(dest, free_port())
    copy.start()
    try:
        status, body = copy.invoke(tid, "w", f"{COUNTER}/get")
        assert status == 200 and 5 <= body["result"][0] <= 205   # the state as of one commit
        status, after = copy.invoke(tid, "w", f"{COUNTER}/increment")
        assert status == 200 and after["result"] == [body["result"][0] + 1]
        assert copy.request("GET", f"/v1/templates/{tid}")[0] == 200
    finally:
        copy.kill()
    # The original goes on, untouched by the copy or by what was done to it.
    assert out("worker", "invoke-and-await", tid, "w", f"{COUNTER}/get", daemon=daemon)["result"] == [205]

    again = golemite("backup", str(dest), "--data-dir", str(daemon.data_dir), ok=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    nothing = golemite("backup", str(tmp_path / "b2"), "--data-dir", str(tmp_path / "typo"), ok=False)
    assert nothing.returncode == 1 and "no golemite data" in nothing.stderr
    assert not (tmp_path / "b2").exists()
