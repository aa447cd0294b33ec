"""What ``python test/test_requests.py [--url URL] [--lang es|en]`` checks and says.

Test a running model server like a production API. Every check is one row: load
scenarios, a batch from the test split, served = in-process predictions, the payload
formats, bad requests (each must get a 4xx with a message, and the server must keep
answering) and a short load check. Exit code 0 when every check passes. Uses only the
standard library for HTTP.

test/test_requests.py is the entry point the guides name (and test_model_deployment.py
imports its names from there); the checks and their lines live here so that the catalog
tool extracts their messages with labkit's. A check's section, name and detail are plain
strings in the language chosen when the check ran.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import statistics
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from labkit.lab import FEATURES, STAGING_URI
from labkit import i18n
from labkit.commands.cli import add_lang
from labkit.i18n import early_language
from labkit.commands.serving import DEFAULT_PORT, HOST, SCENARIOS, ping

_, N_, _n = i18n.Domain("labkit").functions()

JSON = "application/json"
BATCH_ROWS = 50
FORMAT_ROWS = 3
LOAD_REQUESTS = 200
LOAD_CONNECTIONS = 4
TOLERANCE_MS = 1e-6  # served vs in-process predictions: JSON keeps every digit of a float

# What the table shows for each of SCENARIOS (whose keys stay the same in every language).
SCENARIO_NAMES = {"idle": N_("idle"), "normal": N_("normal"), "peak": N_("peak"),
                  "overloaded": N_("overloaded")}
# The table's sections.
SCENARIOS_SECTION = N_("scenarios")
FORMATS_SECTION = N_("formats")
BAD_REQUESTS_SECTION = N_("bad requests")
LOAD_SECTION = N_("load")


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
            return Reply(None, _("no answer: {error}", error=exc), (time.perf_counter() - started) * 1000)

    def post_json(self, payload) -> Reply:
        return self.post(json.dumps(payload))

    def close(self) -> None:
        self.connection.close()


def records(rows: list[dict]) -> dict:
    return {"dataframe_records": rows}


def all_finite(values, count: int) -> bool:
    return (values is not None and len(values) == count
            and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values))


def reply_check(section, name: str, reply: Reply, passed: bool, detail: str) -> Check:
    if reply.status != 200 and passed is False and reply.status is not None:
        detail = _("{detail}; server said: {answer}", detail=detail, answer=short(reply.message()))
    return Check(str(section), name, passed, detail, reply.status, reply.ms)


def short(text: str, width: int = 90) -> str:
    """The informative end of an MLflow error message, on one line."""
    text = text.rsplit("Error: ", 1)[-1].strip().splitlines()[0] if text.strip() else _("(empty)")
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
        detail = (_("predicts {value:.1f} ms", value=values[0]) if ok
                  else _("expected 200 with one finite number"))
        checks.append(reply_check(SCENARIOS_SECTION, str(SCENARIO_NAMES.get(name, name)), reply, ok, detail))
    idle, over = served["idle"], served["overloaded"]
    slower = idle is not None and over is not None and over > idle
    checks.append(Check(str(SCENARIOS_SECTION), _("overloaded slower than idle"), slower,
                        _("{over} ms vs {idle} ms", over=over, idle=idle) if not slower
                        else f"{over:.1f} > {idle:.1f} ms"))

    batch = test_rows.head(BATCH_ROWS)
    reply = client.post_json({"dataframe_split": batch.to_dict(orient="split", index=False)})
    values = reply.predictions()
    ok = all_finite(values, len(batch))
    checks.append(reply_check(SCENARIOS_SECTION, _("batch of {rows} test rows", rows=len(batch)), reply, ok,
                              _("{rows} finite predictions", rows=len(batch)) if ok else
                              _("expected 200 with {rows} finite numbers", rows=len(batch))))
    checks.append(check_same_as_in_process(model, SCENARIOS, served, batch, values))
    return checks


def check_same_as_in_process(model, scenarios, served, batch, batch_values) -> Check:
    import pandas as pd

    section, name = str(SCENARIOS_SECTION), _("served = in-process pyfunc")
    if model is None or None in served.values() or batch_values is None:
        return Check(section, name, False, _("skipped: needs the model and the answers above"))
    frame = pd.concat([pd.DataFrame(list(scenarios.values()), columns=FEATURES), batch])
    local = list(model.predict(frame.astype("float64")))
    remote = list(served.values()) + list(batch_values)
    worst = max(abs(a - b) for a, b in zip(local, remote))
    ok = worst <= TOLERANCE_MS
    detail = (_("{rows} rows, largest difference {worst:.2g} ms", rows=len(local), worst=worst) if ok else
              _("{rows} rows, largest difference {worst:.2g} ms: is the server serving the version "
                "`staging` points to now?", rows=len(local), worst=worst))
    return Check(section, name, ok, detail)


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
        detail = (_("{rows} rows ({content_type}), same predictions", rows=len(rows), content_type=content_type)
                  if ok else _("expected 200 with the {rows} in-process predictions", rows=len(rows)))
        checks.append(reply_check(FORMATS_SECTION, name, reply, ok, detail))
    return checks


def bad_requests() -> list[tuple[str, str, str, int, str]]:
    """(name, body, content type, status MLflow 3.17 answers, phrase its message contains).

    The phrase is MLflow's own English, whatever the language of the lab."""
    row = dict(SCENARIOS["normal"])
    renamed = {("cpu_pct" if k == "cpu_usage_pct" else k): v for k, v in row.items()}
    missing = {k: v for k, v in row.items() if k != "concurrent_users"}
    text_value = {**row, "cpu_usage_pct": "high"}
    return [
        (_("wrong column name"), json.dumps(records([renamed])), JSON, 400,
         "missing inputs ['cpu_usage_pct']"),
        (_("missing column"), json.dumps(records([missing])), JSON, 400,
         "missing inputs ['concurrent_users']"),
        (_("string in a numeric column"), json.dumps(records([text_value])), JSON, 400,
         "could not convert string to float"),
        (_("empty list"), json.dumps(records([])), JSON, 400, "missing inputs"),
        (_("malformed JSON"), json.dumps(records([row]))[:-4], JSON, 400, "valid JSON"),
        (_("wrong content type"), "cpu_usage_pct=25", "text/plain", 415, "content types"),
    ]


def check_bad_requests(client: Client, url: str) -> list[Check]:
    checks, section = [], str(BAD_REQUESTS_SECTION)
    for name, body, content_type, status, phrase in bad_requests():
        reply = client.post(body, content_type)
        message = reply.message()
        ok = reply.status == status and phrase.lower() in message.lower()
        detail = short(message) if ok else _("expected {status} with '{phrase}', got: {answer}",
                                             status=status, phrase=phrase, answer=short(message))
        checks.append(Check(section, name, ok, detail, reply.status, reply.ms))
    reply = client.post_json(records([SCENARIOS["normal"]]))
    ok = ping(url) and all_finite(reply.predictions(), 1)
    checks.append(reply_check(section, _("server still answers"), reply, ok,
                              _("/ping and a good request answered") if ok else
                              _("expected /ping and a one-row request to answer 200")))
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
    detail = _("{good}/{requests} answered 200 over {connections} connections: p50 {p50:.1f} ms, "
               "p95 {p95:.1f} ms, {rate:.0f} requests/s", good=good, requests=requests,
               connections=connections, p50=p50, p95=p95, rate=requests / seconds)
    return [Check(str(LOAD_SECTION), _("{requests} one-row requests", requests=requests), good == requests,
                  detail, ms=p50)]


# ---------------------------------------------------------------- running and printing


def load_in_process_model(tracking_uri: str):
    """The staged model loaded in this process, as task 4 loads it."""
    import mlflow

    from labkit import lab as names

    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.pyfunc.load_model(names.STAGING_URI)


def run_checks(url: str, tracking_uri: str) -> list[Check]:
    from labkit.lab import split_data

    checks = []
    try:
        model = load_in_process_model(tracking_uri)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, with its reason
        model = None
        checks.append(Check(str(SCENARIOS_SECTION), _("load the staged model in-process"), False,
                            short(str(exc))))
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
    """One row per check; pass and FAIL stay as they are in every language (issue 14)."""
    section, check, result, detail = _("section"), _("check"), _("result"), _("detail")
    # English keeps its widths; a longer word in a header (Spanish "resultado") widens its column.
    widths = [max(13, len(section) + 1), max(30, len(check) + 1), max(8, len(result) + 1)]
    print(f"{section:<{widths[0]}}{check:<{widths[1]}}{result:<{widths[2]}}{'HTTP':>5}{'ms':>8}  {detail}")
    print("-" * (110 + sum(widths) - 51))
    for c in checks:
        status = "-" if c.status is None else str(c.status)
        ms = "-" if c.ms is None else f"{c.ms:.1f}"
        outcome = "pass" if c.passed else "FAIL"
        print(f"{c.section:<{widths[0]}}{c.name:<{widths[1]}}{outcome:<{widths[2]}}{status:>5}{ms:>8}  {c.detail}")


def verdict(checks: list[Check]) -> str:
    failed = [c for c in checks if not c.passed]
    if not failed:
        return _("All {count} checks passed.", count=len(checks))
    names = ", ".join(f"{c.section}: {c.name}" for c in failed)
    # The same English either way; Spanish says "falló" for one, "fallaron" for more.
    return _n("{failed} of {total} checks failed ({names}).", "{failed} of {total} checks failed ({names}).",
              len(failed), failed=len(failed), total=len(checks), names=names)


def no_server_message(url: str) -> str:
    port = urlsplit(url).port or DEFAULT_PORT
    return _("No model server answers at {url}/ping. Did you start it with "
             "`mlflow models serve -m \"{model}\" --env-manager local -p {port}` (LAB.md, section 10)?",
             url=url, model=STAGING_URI, port=port)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    early_language(argv)  # `--lang es --help` shows the help in Spanish
    parser = argparse.ArgumentParser(description=_(
        "Test a running model server like a production API: `python test/test_requests.py [--url URL]`."))
    parser.add_argument("--url", default=f"http://{HOST}:{DEFAULT_PORT}",
                        help=_("the model server (default %(default)s)"))
    add_lang(parser)
    args = parser.parse_args(argv)
    i18n.set_language(getattr(args, "lang", None))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.url.rstrip("/")
    if not ping(url):
        print(no_server_message(url))
        return 2
    from labkit.store import tracking_uri

    checks = run_checks(url, tracking_uri())
    print_table(checks)
    print("\n" + verdict(checks))
    return 0 if all(c.passed for c in checks) else 1

