"""Where the lab's files live, resolved from this package, never from the current folder."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "data" / "devops_metrics.csv"
STORE_DB = ROOT / "mlflow.db"
ARTIFACTS_DIR = ROOT / "mlartifacts"
BACKUPS_DIR = ROOT / "backups"
SOLUTIONS_DIR = ROOT / "solutions"
CODE_DIR = ROOT / "code"
