"""Does the serving bonus speak Spanish to a Spanish class, and English to everyone else (issue 14)?

`python test/serve_model.py` and `python test/test_requests.py` run as a student runs
them, on the cheap real paths that need no model server: the port is taken (a socket
this test binds), and nothing listens at the address given. Their lines live in
labkit/commands/serve.py and labkit/commands/request_checks.py, in labkit's catalog.
(test_model_deployment.py reads test_requests.py's table in Spanish from a real server.)
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import free_port, run_python
from test_labkit_spanish import assert_spanish, language_env

from labkit.commands.serving import HOST

SERVE_SCRIPT = Path(__file__).resolve().parent / "serve_model.py"
REQUESTS_SCRIPT = Path(__file__).resolve().parent / "test_requests.py"

# (extra command-line options, language variables): each way a student asks for Spanish.
# The suite's environment says LAB_LANG=en: --lang es must win over it.
SPANISH = [
    pytest.param(["--lang", "es"], {"LAB_LANG": "en"}, id="--lang es"),
    pytest.param([], {"LAB_LANG": "es"}, id="LAB_LANG=es"),
    pytest.param([], {"LANG": "es_MX.UTF-8"}, id="LANG=es_MX"),
]
ENGLISH = [
    pytest.param([], {}, id="no language set"),
    pytest.param(["--lang", "en"], {"LAB_LANG": "es"}, id="--lang en"),
]


def run_script(script: Path, lab_store, args: list[str], language: dict[str, str]):
    result = run_python([script, *args], language_env(lab_store, **language), lab_store.folder, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def serve_on_a_taken_port(lab_store, options: list[str], language: dict[str, str]) -> tuple[int, str]:
    """serve_model.py's one line when its port is taken; the port."""
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_script(SERVE_SCRIPT, lab_store, ["--port", str(port), *options], language)
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stdout.splitlines()) == 1 and not result.stderr, result
    return port, result.stdout.strip()


@pytest.mark.parametrize(("options", "language"), SPANISH)
def test_serve_model_says_in_spanish_that_its_port_is_taken(lab_store, options, language):
    port, line = serve_on_a_taken_port(lab_store, options, language)
    assert line == (f"El puerto {port} está en uso. ¿Ya está en marcha el servidor del modelo "
                    f"(curl http://{HOST}:{port}/ping)? Si no, usa otro puerto: --port {port + 1}")
    assert_spanish([line])


@pytest.mark.parametrize(("options", "language"), ENGLISH)
def test_serve_model_says_it_in_english_by_default_or_with_lang_en(lab_store, options, language):
    port, line = serve_on_a_taken_port(lab_store, options, language)
    assert line == (f"Port {port} is in use. Is the model server already running "
                    f"(curl http://{HOST}:{port}/ping)? If not, use another port: --port {port + 1}")


def requests_with_no_server(lab_store, options: list[str], language: dict[str, str]) -> tuple[str, str]:
    """test_requests.py's one line when nothing listens at its --url; the url."""
    url = f"http://{HOST}:{free_port()}"  # nobody listens on it
    result = run_script(REQUESTS_SCRIPT, lab_store, ["--url", url, *options], language)
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stdout.splitlines()) == 1 and not result.stderr, result
    return url, result.stdout.strip()


@pytest.mark.parametrize(("options", "language"), SPANISH)
def test_requests_says_in_spanish_that_no_server_answers(lab_store, options, language):
    url, line = requests_with_no_server(lab_store, options, language)
    port = url.rsplit(":", 1)[1]
    assert line == (f"Ningún servidor del modelo responde en {url}/ping. ¿Lo iniciaste con "
                    f'`mlflow models serve -m "models:/api-response-time@staging" --env-manager local '
                    f"-p {port}` (LAB.es.md, sección 10)?")
    assert_spanish([line])


@pytest.mark.parametrize(("options", "language"), ENGLISH)
def test_requests_says_it_in_english_by_default_or_with_lang_en(lab_store, options, language):
    url, line = requests_with_no_server(lab_store, options, language)
    port = url.rsplit(":", 1)[1]
    assert line == (f"No model server answers at {url}/ping. Did you start it with "
                    f'`mlflow models serve -m "models:/api-response-time@staging" --env-manager local '
                    f"-p {port}` (LAB.md, section 10)?")


@pytest.mark.parametrize("script", [SERVE_SCRIPT, REQUESTS_SCRIPT], ids=lambda p: p.name)
def test_lang_es_shows_the_help_in_spanish_and_another_language_is_refused(lab_store, script):
    helped = run_script(script, lab_store, ["--lang", "es", "--help"], {"LAB_LANG": "en"})
    assert helped.returncode == 0, helped.stderr
    assert "el idioma de los mensajes" in helped.stdout, helped.stdout
    assert "(por defecto" in helped.stdout and "(default" not in helped.stdout, helped.stdout
    refused = run_script(script, lab_store, ["--lang", "fr"], {})
    assert refused.returncode == 2 and "invalid choice: 'fr'" in refused.stderr, refused.stderr
