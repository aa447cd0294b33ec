"""Test a running model server like a production API: `python test/test_requests.py [--url URL]`.

Start the server first (`python test/serve_model.py`). Every check prints one row:
load scenarios, a batch from the test split, served = in-process predictions, the
payload formats, bad requests (each must get a 4xx with a message, and the server
must keep answering) and a short load check. Exit code 0 when every check passes.
Uses only the standard library for HTTP.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from grader.lab import FEATURES
from labkit.commands.serving import DEFAULT_PORT, HOST, SCENARIOS, ping

JSON = "application/json"
BATCH_ROWS = 50
FORMAT_ROWS = 3
LOAD_REQUESTS = 200
LOAD_CONNECTIONS = 4
TOLERANCE_MS = 1e-6  # served vs in-process predictions: JSON keeps every digit of a float


@dataclass
class Check:
    section: str
    name: str
    passed: bool
    detail: str
    status: int | None = None
    ms: float | None = None


@dataclass
class Reply:
    status: int | None  # None: no answer at all
    text: str
    ms: float

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def predictions(self) -> list | None:
        """The prediction list of a 200 answer, or None."""
        body = self.json()
        if self.status != 200 or not isinstance(body, dict):
            return None
        values = body.get("predictions")
        return values if isinstance(values, list) else None

    def message(self) -> str:
        """The error message of a 4xx answer (JSON `message`, else the plain text)."""
        body = self.json()
        if isinstance(body, dict) and "message" in body:
            return str(body["message"])
        return self.text


class Client:
    """One keep-alive HTTP connection to the model server."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def post(self, body: bytes | str, content_type: str = JSON) -> Reply:
        data = body.encode() if isinstance(body, str) else body
        started = time.perf_counter()
        try:
            self.connection.request("POST", "/invocations", body=data,
                                    headers={"Content-Type": content_type})
            answer = self.connection.getresponse()
            text = answer.read().decode("utf-8", errors="replace")
            return Reply(answer.status, text, (time.perf_counter() - started) * 1000)
        except (OSError, http.client.HTTPException) as exc:
            self.connection.close()
            return Reply(None, f"no answer: {exc}", (time.perf_counter() - started) * 1000)

    def post_json(self, payload) -> Reply:
        return self.post(json.dumps(payload))

    def close(self) -> None:
        self.connection.close()


def records(rows: list[dict]) -> dict:
    return {"dataframe_records": rows}


def all_finite(values, count: int) -> bool:
    return (values is not None and len(values) == count
            and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values))


def reply_check(section: str, name: str, reply: Reply, passed: bool, detail: str) -> Check:
    if reply.status != 200 and passed is False and reply.status is not None:
        detail = f"{detail}; server said: {short(reply.message())}"
    return Check(section, name, passed, detail, reply.status, reply.ms)


def short(text: str, width: int = 90) -> str:
    """The informative end of an MLflow error message, on one line."""
    text = text.rsplit("Error: ", 1)[-1].strip().splitlines()[0] if text.strip() else "(empty)"
    return text if len(text) <= width else text[: width - 3] + "..."


# ---------------------------------------------------------------- the checks


def check_scenarios(client: Client, model, test_rows) -> list[Check]:
    """Single-row scenarios and a batch: 200, finite, and equal to the in-process model."""
    checks, served = [], {}
    for name, row in SCENARIOS.items():
        reply = client.post_json(records([row]))
        values = reply.predictions()
        ok = all_finite(values, 1)
        served[name] = values[0] if ok else None
        detail = f"predicts {values[0]:.1f} ms" if ok else "expected 200 with one finite number"
        checks.append(reply_check("scenarios", name, reply, ok, detail))
    idle, over = served["idle"], served["overloaded"]
    slower = idle is not None and over is not None and over > idle
    checks.append(Check("scenarios", "overloaded slower than idle", slower,
                        f"{over} ms vs {idle} ms" if not slower else f"{over:.1f} > {idle:.1f} ms"))

    batch = test_rows.head(BATCH_ROWS)
    reply = client.post_json({"dataframe_split": batch.to_dict(orient="split", index=False)})
    values = reply.predictions()
    ok = all_finite(values, len(batch))
    checks.append(reply_check("scenarios", f"batch of {len(batch)} test rows", reply, ok,
                              f"{len(batch)} finite predictions" if ok else
                              f"expected 200 with {len(batch)} finite numbers"))
    checks.append(check_same_as_in_process(model, SCENARIOS, served, batch, values))
    return checks


def check_same_as_in_process(model, scenarios, served, batch, batch_values) -> Check:
    import pandas as pd

    name = "served = in-process pyfunc"
    if model is None or None in served.values() or batch_values is None:
        return Check("scenarios", name, False, "skipped: needs the model and the answers above")
    frame = pd.concat([pd.DataFrame(list(scenarios.values()), columns=FEATURES), batch])
    local = list(model.predict(frame.astype("float64")))
    remote = list(served.values()) + list(batch_values)
    worst = max(abs(a - b) for a, b in zip(local, remote))
    ok = worst <= TOLERANCE_MS
    return Check("scenarios", name, ok,
                 f"{len(local)} rows, largest difference {worst:.2g} ms" + (
                     "" if ok else ": is the server serving the version `staging` points to now?"))


def format_payloads(rows) -> dict[str, tuple[str, str]]:
    """The same rows in each payload format the scoring server accepts."""
    split = rows.to_dict(orient="split", index=False)
    as_records = rows.to_dict(orient="records")
    return {
        "dataframe_split": (json.dumps({"dataframe_split": split}), JSON),
        "dataframe_records": (json.dumps(records(as_records)), JSON),
        "inputs": (json.dumps({"inputs": as_records}), JSON),
        "CSV": (rows.to_csv(index=False), "text/csv"),
    }


def check_formats(client: Client, model, test_rows) -> list[Check]:
    rows = test_rows.head(FORMAT_ROWS)
    expected = list(model.predict(rows)) if model is not None else None
    checks = []
    for name, (body, content_type) in format_payloads(rows).items():
        reply = client.post(body, content_type)
        values = reply.predictions()
        ok = all_finite(values, len(rows)) and (
            expected is None or max(abs(a - b) for a, b in zip(values, expected)) <= TOLERANCE_MS)
        detail = (f"{len(rows)} rows ({content_type}), same predictions" if ok
                  else f"expected 200 with the {len(rows)} in-process predictions")
        checks.append(reply_check("formats", name, reply, ok, detail))
    return checks


def bad_requests() -> list[tuple[str, str, str, int, str]]:
    """(name, body, content type, status MLflow 3.17 answers, phrase its message contains)."""
    row = dict(SCENARIOS["normal"])
    renamed = {("cpu_pct" if k == "cpu_usage_pct" else k): v for k, v in row.items()}
    missing = {k: v for k, v in row.items() if k != "concurrent_users"}
    text_value = {**row, "cpu_usage_pct": "high"}
    return [
        ("wrong column name", json.dumps(records([renamed])), JSON, 400,
         "missing inputs ['cpu_usage_pct']"),
        ("missing column", json.dumps(records([missing])), JSON, 400,
         "missing inputs ['concurrent_users']"),
        ("string in a numeric column", json.dumps(records([text_value])), JSON, 400,
         "could not convert string to float"),
        ("empty list", json.dumps(records([])), JSON, 400, "missing inputs"),
        ("malformed JSON", json.dumps(records([row]))[:-4], JSON, 400, "valid JSON"),
        ("wrong content type", "cpu_usage_pct=25", "text/plain", 415, "content types"),
    ]


def check_bad_requests(client: Client, url: str) -> list[Check]:
    checks = []
    for name, body, content_type, status, phrase in bad_requests():
        reply = client.post(body, content_type)
        message = reply.message()
        ok = reply.status == status and phrase.lower() in message.lower()
        detail = short(message) if ok else f"expected {status} with '{phrase}', got: {short(message)}"
        checks.append(Check("bad requests", name, ok, detail, reply.status, reply.ms))
    reply = client.post_json(records([SCENARIOS["normal"]]))
    ok = ping(url) and all_finite(reply.predictions(), 1)
    checks.append(reply_check("bad requests", "server still answers", reply, ok,
                              "/ping and a good request answered" if ok else
                              "expected /ping and a one-row request to answer 200"))
    return checks


def check_load(url: str, requests: int = LOAD_REQUESTS,
               connections: int = LOAD_CONNECTIONS) -> list[Check]:
    """A fixed number of one-row requests over a few keep-alive connections."""
    body = json.dumps(records([SCENARIOS["normal"]]))
    replies: list[Reply] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        client = Client(url)
        mine = [client.post(body) for _ in range(count)]
        client.close()
        with lock:
            replies.extend(mine)

    shares = [requests // connections + (i < requests % connections) for i in range(connections)]
    threads = [threading.Thread(target=worker, args=(n,)) for n in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    good = sum(1 for r in replies if r.status == 200)
    times = sorted(r.ms for r in replies)
    p50, p95 = statistics.median(times), times[max(0, math.ceil(0.95 * len(times)) - 1)]
    detail = (f"{good}/{requests} answered 200 over {connections} connections: p50 {p50:.1f} ms, "
              f"p95 {p95:.1f} ms, {requests / seconds:.0f} requests/s")
    return [Check("load", f"{requests} one-row requests", good == requests, detail, ms=p50)]


# ---------------------------------------------------------------- running and printing


def load_in_process_model(tracking_uri: str):
    """The staged model loaded in this process, as task 4 loads it."""
    import mlflow

    from grader import lab as names

    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.pyfunc.load_model(names.STAGING_URI)


def run_checks(url: str, tracking_uri: str) -> list[Check]:
    from grader.lab import split_data

    checks = []
    try:
        model = load_in_process_model(tracking_uri)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, with its reason
        model = None
        checks.append(Check("scenarios", "load the staged model in-process", False, short(str(exc))))
    test_rows = split_data().X_test
    client = Client(url)
    try:
        checks += check_scenarios(client, model, test_rows)
        checks += check_formats(client, model, test_rows)
        checks += check_bad_requests(client, url)
    finally:
        client.close()
    checks += check_load(url)
    return checks


def print_table(checks: list[Check]) -> None:
    print(f"{'section':<13}{'check':<30}{'result':<8}{'HTTP':>5}{'ms':>8}  detail")
    print("-" * 110)
    for c in checks:
        status = "-" if c.status is None else str(c.status)
        ms = "-" if c.ms is None else f"{c.ms:.1f}"
        result = "pass" if c.passed else "FAIL"
        print(f"{c.section:<13}{c.name:<30}{result:<8}{status:>5}{ms:>8}  {c.detail}")


def verdict(checks: list[Check]) -> str:
    failed = [c for c in checks if not c.passed]
    if not failed:
        return f"All {len(checks)} checks passed."
    names = ", ".join(f"{c.section}: {c.name}" for c in failed)
    return f"{len(failed)} of {len(checks)} checks failed ({names})."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://{HOST}:{DEFAULT_PORT}",
                        help="the model server (default %(default)s)")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    if not ping(url):
        print(f"No model server answers at {url}/ping. "
              "Did you start it with `python test/serve_model.py`?")
        return 2
    from labkit.store import tracking_uri

    checks = run_checks(url, tracking_uri())
    print_table(checks)
    print("\n" + verdict(checks))
    return 0 if all(c.passed for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
